"""EECS 498 A5 PASCAL VOC mAP (all-point interpolation) against values computed by hand."""
import numpy as np
import pytest
import torch

from dl4cv_tools.testing import course_module


@pytest.fixture(scope="module")
def helper():
    return course_module("eecs498/A5", "a5_helper")


def _gt():
    # image 0: two objects of class 0; image 1: one object of class 0, one of class 1
    return [(np.array([[0., 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 0])),
            (np.array([[0., 0, 10, 10], [50, 50, 60, 70]]), np.array([0, 1]))]


def test_perfect_detections_give_one(helper):
    gt = _gt()
    dets = [(g[0], np.linspace(0.9, 0.5, len(g[0])), g[1]) for g in gt]
    res = helper.evaluate_detections(dets, gt, num_classes=3)
    assert res["mAP"] == 1.0
    assert set(res["ap"]) == {0, 1}          # class 2 has no GT: not averaged


def test_hand_computed_ap_with_duplicates(helper):
    gt = _gt()
    hit = lambda b: b + np.array([0.5, 0, 0.5, 0])  # noqa: E731  IoU 0.905 with b
    # class 0, ranked by score: TP, FP (no overlap), TP, duplicate of the first (FP), TP
    dets = [(np.array([hit(gt[0][0][0]), [70., 70, 80, 80], hit(gt[0][0][0]), hit(gt[0][0][1])]),
             np.array([0.9, 0.8, 0.6, 0.5]), np.array([0, 0, 0, 0])),
            (np.array([hit(gt[1][0][0])]), np.array([0.7]), np.array([0]))]
    res = helper.evaluate_detections(dets, gt, num_classes=2)
    # ranks: 0.9 TP, 0.8 FP, 0.7 TP, 0.6 FP (duplicate), 0.5 TP; 3 GT of class 0
    # precision 1, 1/2, 2/3, 2/4, 3/5 at recall 1/3, 1/3, 2/3, 2/3, 1
    # interpolated: recall (0, 1/3] -> 1, (1/3, 2/3] -> 2/3, (2/3, 1] -> 3/5
    expected_ap0 = (1 + 2 / 3 + 3 / 5) / 3
    assert res["ap"][0] == pytest.approx(expected_ap0, abs=1e-12)
    assert res["ap"][1] == 0.0                 # class 1 never detected
    assert res["mAP"] == pytest.approx(expected_ap0 / 2, abs=1e-12)
    rec, prec = res["pr"][0]
    np.testing.assert_allclose(prec, [1, 1 / 2, 2 / 3, 2 / 4, 3 / 5])
    np.testing.assert_allclose(rec, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])


def test_shuffled_scores(helper):
    # Same 4 detections of class 0 (3 TP + 1 FP); only the ranking changes the AP.
    gt = [(np.array([[0., 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]]), np.array([0, 0, 0]))]
    boxes = np.array([[0., 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [70, 0, 80, 10]])
    best = helper.evaluate_detections([(boxes, np.array([0.9, 0.8, 0.7, 0.1]), np.zeros(4, int))], gt, 1)
    assert best["mAP"] == pytest.approx(1.0)
    # FP first: precision 0, 1/2, 2/3, 3/4 at recall 0, 1/3, 2/3, 1 -> AP = (3/4) (all steps)
    worst = helper.evaluate_detections([(boxes, np.array([0.5, 0.6, 0.7, 0.9]), np.zeros(4, int))], gt, 1)
    assert worst["mAP"] == pytest.approx(3 / 4)
    # FP second: precision 1, 1/2, 2/3, 3/4 -> AP = 1/3 * 1 + 2/3 * 3/4
    mid = helper.evaluate_detections([(boxes, np.array([0.9, 0.5, 0.4, 0.8]), np.zeros(4, int))], gt, 1)
    assert mid["mAP"] == pytest.approx(1 / 3 + 2 / 3 * 3 / 4)


def test_voc_ap_interpolation(helper):
    assert helper.voc_ap([0.5, 1.0], [1.0, 1.0]) == pytest.approx(1.0)
    assert helper.voc_ap([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert helper.voc_ap([], []) == 0.0


def test_iou_threshold_inclusive_and_empty_detections(helper):
    gt = [(np.array([[0., 0, 10, 10]]), np.array([0]))]
    half = np.array([[0., 0, 10, 20]])  # IoU exactly 0.5
    assert helper.evaluate_detections([(half, np.array([1.]), np.array([0]))], gt, 1)["mAP"] == 1.0
    empty = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, int))
    assert helper.evaluate_detections([empty], gt, 1)["mAP"] == 0.0


def test_bad_input(helper):
    gt = _gt()
    dets = [(g[0], np.ones(len(g[0])), g[1]) for g in gt]
    with pytest.raises(ValueError, match="x2 < x1"):
        bad = [(np.array([[5., 0, 1, 1]]), np.ones(1), np.zeros(1, int)), dets[1]]
        helper.evaluate_detections(bad, gt, 2)
    with pytest.raises(ValueError, match="outside"):
        helper.evaluate_detections(dets, gt, num_classes=1)   # class 1 unknown
    with pytest.raises(ValueError):
        helper.evaluate_detections(dets[:1], gt, 2)            # image count mismatch
    with pytest.raises(ValueError):
        helper.evaluate_detections([(g[0], np.ones(1), g[1]) for g in gt], gt, 2)  # lengths
