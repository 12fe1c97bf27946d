"""Replay of the EECS 498-007 FA2020 A5 notebooks' own checks (single_stage_detector_yolo,
two_stage_detector_faster_rcnn) against our modules: the course's fixed inputs, its hard-coded
expected values and its stated thresholds.

The course's data-dependent checks use three PASCAL VOC 2007 training images, sampled as
torch.linspace(0, 2499, 3) of the 2,500-image training subset: 000012.jpg (500 x 333), 004955.jpg
(500 x 374) and 009959.jpg (500 x 375). Their ground-truth boxes (pixels, class) are those the
course's notebook prints; the image sizes are the ones that reproduce the course's expected
targets (each is the unique VOC-sized solution). Nothing here needs the data set.

Thresholds: the notebooks say "errors on the order of 1e-8 or less" (anchors, IoU, YOLO losses)
or "1e-7 or less" (anchor targets, prediction network, proposal module, RPN losses). "On the
order of 1e-N" is enforced as < 1e-(N-1). Two exceptions, both because the course's expected
values are float32 results of its GPU: the YOLO loss check inherits the prediction network's
~2e-7 CPU/GPU difference (so < 1e-6, the prediction network's own bound), and the proposal
module check is < 1e-5 (the course's own printed errors were 7.9e-07 and 1.3e-06).
"""
import math

import pytest
import torch
import torchvision

from dl4cv_tools.testing import course_module

A5 = "eecs498/A5"

ANCHOR_SHAPES = [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [2, 3], [3, 2], [3, 5], [5, 3]]
# the course's three sampled training images: GT boxes (x_tl, y_tl, x_br, y_br, class) in pixels
COURSE_BOXES = [[[156, 97, 351, 270, 6]],
                [[97, 16, 382, 291, 7], [1, 225, 441, 373, 19]],
                [[192, 142, 330, 187, 6]]]
COURSE_W = [500., 500., 500.]
COURSE_H = [333., 374., 375.]


@pytest.fixture(scope="module")
def mods():
    return (course_module(A5, "a5_helper"), course_module(A5, "single_stage_detector"),
            course_module(A5, "two_stage_detector"))


@pytest.fixture(scope="module")
def rel_error():
    from eecs598.grad import rel_error
    return rel_error


def _reset_seed(seed=0):
    from eecs598 import reset_seed
    reset_seed(seed)


def _course_boxes(helper):
    """The notebook's box_list (3, 40, 5) padded with -1, and resized_box_list (7x7 units)."""
    box_list = torch.full((3, 40, 5), -1.)
    for i, boxes in enumerate(COURSE_BOXES):
        box_list[i, :len(boxes)] = torch.tensor(boxes, dtype=torch.float32)
    w_list, h_list = torch.tensor(COURSE_W), torch.tensor(COURSE_H)
    return box_list, helper.coord_trans(box_list, w_list, h_list, mode='p2a')


def _anchors(helper, ssd):
    grid_list = helper.GenerateGrid(3)
    anc_list = ssd.GenerateAnchor(torch.tensor(ANCHOR_SHAPES).float(), grid_list)
    return grid_list, anc_list


def test_generate_anchor(mods, rel_error):
    helper, ssd, _ = mods
    _, anc_list = _anchors(helper, ssd)
    assert anc_list.shape == torch.Size([3, 9, 7, 7, 4])
    expected_anc_list_mean = torch.tensor(
        [[-1.25, -0.875, 2.25, 1.875], [1.75, -0.875, 5.25, 1.875], [4.75, -0.875, 8.25, 1.875],
         [-1.25, 1.125, 2.25, 3.875], [1.75, 1.125, 5.25, 3.875], [4.75, 1.125, 8.25, 3.875],
         [-1.25, 3.125, 2.25, 5.875], [1.75, 3.125, 5.25, 5.875], [4.75, 3.125, 8.25, 5.875],
         [-1.25, 5.125, 2.25, 7.875], [1.75, 5.125, 5.25, 7.875], [4.75, 5.125, 8.25, 7.875]])
    got = anc_list[0, [1, 3, 6, 8], ::2, ::3, :].view(-1, 12, 4).mean(0)
    assert rel_error(expected_anc_list_mean, got) < 1e-7


def _center_size(boxes):
    return (boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]


@pytest.mark.parametrize("method,shift", [("YOLO", 0.5), ("FasterRCNN", 1.0)])
def test_generate_proposal(mods, rel_error, method, shift):
    """The course's sanity check: offsets (s, s, 1, 1) on the 1x1 anchors of the top row
    (centers (j + 0.5, 0.5)). YOLO (s = 0.5) moves the center by 0.5; Faster R-CNN (s = 1)
    by one anchor size (1); both scale the size by e."""
    helper, ssd, _ = mods
    _, anc_list = _anchors(helper, ssd)
    offsets = torch.ones_like(anc_list)
    offsets[..., :2] = shift
    props = ssd.GenerateProposal(anc_list, offsets, method)
    center, size = _center_size(props[0, 0, 0])
    expected_center = torch.tensor([[j + 0.5 + shift, 0.5 + shift] for j in range(7)])
    expected_size = torch.full((7, 2), math.e)
    assert rel_error(center, expected_center) < 1e-7
    assert rel_error(size, expected_size) < 1e-7


def test_iou(mods, rel_error):
    helper, ssd, _ = mods
    sample_bbox = torch.tensor([[[1, 1, 11, 11, 0], [20, 20, 30, 30, 0]]], dtype=torch.float32)
    sample_proposals = torch.tensor([[[[[5, 5, 15, 15], [27, 27, 37, 37]]]]], dtype=torch.float32)
    result = ssd.IoU(sample_proposals, sample_bbox)
    expected_result = torch.tensor([[[0.21951219, 0.00000000], [0.00000000, 0.04712042]]])
    assert rel_error(expected_result, result) < 1e-7
    _, resized_box_list = _course_boxes(helper)
    _, anc_list = _anchors(helper, ssd)
    iou_mat = ssd.IoU(anc_list, resized_box_list)
    expected_iou_mat = torch.tensor([0.11666405, 0.15146968, 0.02956639])
    assert rel_error(expected_iou_mat, iou_mat[:, :, 0].mean(1)) < 1e-7


def test_reference_on_activated_anchors_yolo(mods, rel_error):
    helper, ssd, _ = mods
    _, resized_box_list = _course_boxes(helper)
    grid_list, anc_list = _anchors(helper, ssd)
    iou_mat = ssd.IoU(anc_list, resized_box_list)
    _, _, GT_conf_scores, GT_offsets, GT_class, _, _ = helper.ReferenceOnActivatedAnchors(
        anc_list, resized_box_list, grid_list, iou_mat, neg_thresh=0.2, method='YOLO')
    expected_GT_conf_scores = torch.tensor([0.74538743, 0.72793430, 0.76044953, 0.37116671])
    expected_GT_offsets = torch.tensor([[0.04900002, 0.35735703, -0.09431065, 0.19244696],
                                        [-0.14700007, 0.37299442, -0.00250307, 0.25213102],
                                        [-0.40600014, 0.09625626, 0.20863886, -0.07974572],
                                        [0.15399981, -0.42933345, -0.03459148, -0.86750042]])
    expected_GT_class = torch.tensor([6, 7, 19, 6])
    assert rel_error(GT_conf_scores, expected_GT_conf_scores) < 1e-6
    assert rel_error(GT_offsets, expected_GT_offsets) < 1e-6
    assert rel_error(GT_class, expected_GT_class) < 1e-6


def _course_features():
    return torch.linspace(-10., 10., steps=3 * 1280 * 7 * 7).view(3, 1280, 7, 7)


def _prediction_network_outputs(ssd):
    _reset_seed(0)
    pred_network = ssd.PredictionNetwork(1280, drop_ratio=0)
    pos_anchor_idx = torch.tensor([122, 605, 871, 955])
    neg_anchor_idx = torch.tensor([1048, 1292, 1124, 1092])
    return pred_network(_course_features(), pos_anchor_idx, neg_anchor_idx)


def test_prediction_network(mods, rel_error):
    _, ssd, _ = mods
    conf_scores, offsets, class_prob = _prediction_network_outputs(ssd)
    expected_conf_scores = torch.tensor([[0.85080749], [0.55230302], [0.45239496], [0.51819414],
                                         [0.38467780], [0.82627463], [0.53837817], [0.538446366]])
    expected_offsets = torch.tensor([[-0.16344640, 0.45598251, -1.56108809, -1.96177566],
                                     [0.09087485, -0.11321104, 0.46109992, 0.13557276],
                                     [0.14098871, -0.04003078, -0.14689390, 0.01480492],
                                     [-0.22611487, 0.14513946, -1.26124716, 0.58137202]])
    expected_class_prob = torch.tensor([0.88649291, 1.08752346, 0.90241265, 1.28021181, 0.77324629,
                                        -0.93609941, 1.44269419, -1.01072836, 0.09888625, -0.09179375,
                                        -0.48814785, -1.14749694, 0.24533349, -0.19522685, 0.21445289,
                                        0.91779679, 0.97305167, 1.01984429, -0.11932681, 0.34998628])
    assert rel_error(conf_scores, expected_conf_scores) < 1e-6
    assert rel_error(offsets, expected_offsets) < 1e-6
    assert rel_error(class_prob.mean(0), expected_class_prob) < 1e-6


def test_yolo_losses(mods, rel_error):
    helper, ssd, _ = mods
    _, resized_box_list = _course_boxes(helper)
    grid_list, anc_list = _anchors(helper, ssd)
    iou_mat = ssd.IoU(anc_list, resized_box_list)
    activated_anc_ind, _, GT_conf_scores, GT_offsets, GT_class, _, _ = helper.ReferenceOnActivatedAnchors(
        anc_list, resized_box_list, grid_list, iou_mat, neg_thresh=0.2, method='YOLO')
    conf_scores, offsets, class_prob = _prediction_network_outputs(ssd)
    anc_per_img = torch.prod(torch.tensor(anc_list.shape[1:-1]))
    conf_loss = ssd.ConfScoreRegression(conf_scores, GT_conf_scores)
    reg_loss = ssd.BboxRegression(offsets, GT_offsets)
    cls_loss = helper.ObjectClassification(class_prob, GT_class, 3, anc_per_img, activated_anc_ind)
    loss_all = torch.tensor([conf_loss.item(), reg_loss.item(), cls_loss.item()])
    expected_loss = torch.tensor([0.27064770460128784, 2.9750006198883057, 2.3919472694396973])
    assert rel_error(loss_all, expected_loss) < 1e-6


def test_nms_course_boxes(mods):
    """The course's NMS check: 5,000 random boxes, IoU thresholds 0.3, 0.5, 0.7; the kept sets
    must differ from torchvision.ops.nms's by < 1% (integer boxes: some IoUs equal a
    threshold exactly, where float32 and torchvision's float64 comparison can differ)."""
    _, ssd, _ = mods
    _reset_seed(0)
    boxes = (100. * torch.rand(5000, 4)).round()
    boxes[:, 2] = boxes[:, 2] + boxes[:, 0] + 1.
    boxes[:, 3] = boxes[:, 3] + boxes[:, 1] + 1.
    scores = torch.randn(5000)
    for iou_threshold in [0.3, 0.5, 0.7]:
        my_keep = ssd.nms(boxes, scores, iou_threshold)
        tv_keep = torchvision.ops.nms(boxes, scores, iou_threshold)
        intersect = len(set(tv_keep.tolist()).intersection(my_keep.tolist())) / len(tv_keep)
        assert 1. - intersect < 1e-2


def _faster_rcnn_targets(helper, ssd):
    """The two-stage notebook's cell: reset_seed(0), grid, anchors, IoU, targets (the negatives
    are sampled with torch.randint, so the seed fixes them)."""
    _, resized_box_list = _course_boxes(helper)
    _reset_seed(0)
    grid_list, anc_list = _anchors(helper, ssd)
    iou_mat = ssd.IoU(anc_list, resized_box_list)
    return helper.ReferenceOnActivatedAnchors(anc_list, resized_box_list, grid_list, iou_mat)


def test_reference_on_activated_anchors_faster_rcnn(mods, rel_error):
    helper, ssd, _ = mods
    _, _, GT_conf_scores, GT_offsets, GT_class, _, _ = _faster_rcnn_targets(helper, ssd)
    expected_GT_conf_scores = torch.tensor([0.74538743, 0.72793430, 0.71128041, 0.70029843,
                                            0.75670898, 0.76044953, 0.37116671, 0.37116671])
    expected_GT_offsets = torch.tensor([[0.01633334, 0.11911901, -0.09431065, 0.19244696],
                                        [-0.03675002, 0.09324861, -0.00250307, 0.25213102],
                                        [-0.03675002, -0.15675139, -0.00250307, 0.25213102],
                                        [-0.02940002, 0.07459889, -0.22564663, 0.02898745],
                                        [0.11879997, 0.03208542, 0.20863886, -0.07974572],
                                        [-0.08120003, 0.03208542, 0.20863886, -0.07974572],
                                        [0.07699990, 0.28533328, -0.03459148, -0.86750042],
                                        [0.07699990, -0.21466672, -0.03459148, -0.86750042]])
    expected_GT_class = torch.tensor([6, 7, 7, 7, 19, 19, 6, 6])
    assert rel_error(GT_conf_scores, expected_GT_conf_scores) < 1e-6
    assert rel_error(GT_offsets, expected_GT_offsets) < 1e-6
    assert rel_error(GT_class, expected_GT_class) < 1e-6


def _proposal_module_outputs(helper, ssd, tsd):
    activated_anc_ind, negative_anc_ind, _, GT_offsets, _, activated_anc_coord, _ = \
        _faster_rcnn_targets(helper, ssd)
    _reset_seed(0)
    prop_module = tsd.ProposalModule(1280, drop_ratio=0)
    conf_scores, offsets, proposals = prop_module(_course_features(), activated_anc_coord,
                                                  pos_anchor_idx=activated_anc_ind,
                                                  neg_anchor_idx=negative_anc_ind)
    return conf_scores, offsets, proposals, GT_offsets


def test_proposal_module_and_rpn_losses(mods, rel_error):
    helper, ssd, tsd = mods
    conf_scores, offsets, _, GT_offsets = _proposal_module_outputs(helper, ssd, tsd)
    expected_conf_scores = torch.tensor([[-0.50843990, 2.62025023], [-0.55775326, -0.29983672],
                                         [-0.55796617, -0.30000290], [0.17819080, -0.42211828],
                                         [-0.51439995, -0.47708601], [-0.51439744, -0.47703803],
                                         [0.63225138, 2.71269488], [0.63224381, 2.71290708]])
    expected_offsets = torch.tensor([[1.62754285, 1.35253453, -1.85451591, -1.77882397],
                                     [-0.33651856, -0.14402901, -0.07458937, -0.27201492],
                                     [-0.33671042, -0.14398587, -0.07479107, -0.27199429],
                                     [0.06847382, 0.21062726, 0.09334904, -0.02446130],
                                     [0.16506940, -0.30296192, 0.29626080, 0.32173073],
                                     [0.16507357, -0.30302414, 0.29625297, 0.32169008],
                                     [1.59992146, -0.75236654, 1.66449440, 2.05138564],
                                     [1.60008609, -0.75249159, 1.66474164, 2.05162382]])
    assert rel_error(conf_scores[:8], expected_conf_scores) < 1e-5
    assert rel_error(offsets, expected_offsets) < 1e-5
    conf_loss = tsd.ConfScoreRegression(conf_scores, 3)
    reg_loss = tsd.BboxRegression(offsets, GT_offsets, 3)
    loss_all = torch.tensor([conf_loss.item(), reg_loss.item()])
    expected_loss = torch.tensor([8.55673981, 5.10593748])
    assert rel_error(loss_all, expected_loss) < 1e-6


def test_course_names_importable_where_the_course_had_them(mods):
    """`from single_stage_detector import DetectionSolver, SingleStageDetector` and the helpers
    the course's notebooks take from `from a5_helper import *` (its detector files star-import
    a5_helper too)."""
    helper, ssd, tsd = mods
    for name in ("DetectionSolver", "DetectionInference", "DetectionEvaluater", "coord_trans",
                 "GenerateGrid", "ReferenceOnActivatedAnchors", "ObjectClassification",
                 "FeatureExtractor", "get_pascal_voc2007_data", "pascal_voc2007_loader",
                 "voc_collate_fn", "class_to_idx", "idx_to_class", "hello_helper"):
        assert hasattr(helper, name), name
        assert getattr(ssd, name) is getattr(helper, name), name
        assert getattr(tsd, name) is getattr(helper, name), name
    for name in ("GenerateAnchor", "GenerateProposal", "IoU"):
        assert getattr(tsd, name) is getattr(ssd, name)
