"""EECS 498 A5 box arithmetic: grid, anchors, proposals (closed forms), IoU (vs
torchvision.ops.box_iou) and NMS (vs torchvision.ops.nms): the students' greedy `nms` and the
given faster `a5_helper.nms_fast` must keep the same boxes, in the same order."""
import pytest
import torch
import torchvision

from dl4cv_tools.testing import course_module

A5 = "eecs498/A5"


@pytest.fixture(scope="module")
def ssd():
    return course_module(A5, "single_stage_detector")


@pytest.fixture(scope="module")
def helper():
    return course_module(A5, "a5_helper")


def test_generate_grid_closed_form(helper):
    grid = helper.GenerateGrid(2, w_amap=5, h_amap=3, dtype=torch.float64)
    assert grid.shape == (2, 3, 5, 2)
    for i in range(3):
        for j in range(5):
            assert grid[1, i, j].tolist() == [j + 0.5, i + 0.5]


@pytest.mark.reference("eecs498/A5", "single_stage_detector.py::GenerateAnchor")
def test_generate_anchor_closed_form(ssd, helper):
    anc = torch.tensor([[1., 1], [2, 3], [5, 3]], dtype=torch.float64)
    grid = helper.GenerateGrid(2, dtype=torch.float64)
    anchors = ssd.GenerateAnchor(anc, grid)
    assert anchors.shape == (2, 3, 7, 7, 4)
    for a, (w, h) in enumerate(anc.tolist()):
        for i, j in [(0, 0), (3, 6), (6, 2)]:
            cx, cy = j + 0.5, i + 0.5
            expected = torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=torch.float64)
            torch.testing.assert_close(anchors[1, a, i, j], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["YOLO", "FasterRCNN"])
@pytest.mark.reference("eecs498/A5", "single_stage_detector.py::GenerateProposal")
def test_generate_proposal_closed_form(ssd, method):
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(2, 3, 4, 5, 2, generator=g, dtype=torch.float64) * 7
    wh = torch.rand(2, 3, 4, 5, 2, generator=g, dtype=torch.float64) * 3 + 0.5
    anchors = torch.cat([xy, xy + wh], -1)
    offsets = torch.rand(2, 3, 4, 5, 4, generator=g, dtype=torch.float64) - 0.5
    props = ssd.GenerateProposal(anchors, offsets, method=method)
    # element by element, from the formulas
    for idx in [(0, 0, 0, 0), (1, 2, 3, 4), (0, 1, 2, 3)]:
        x1, y1, x2, y2 = anchors[idx].tolist()
        tx, ty, tw, th = offsets[idx].tolist()
        wa, ha, xa, ya = x2 - x1, y2 - y1, (x1 + x2) / 2, (y1 + y2) / 2
        if method == "YOLO":
            xp, yp = xa + tx, ya + ty
        else:
            xp, yp = xa + tx * wa, ya + ty * ha
        import math
        wp, hp = wa * math.exp(tw), ha * math.exp(th)
        expected = torch.tensor([xp - wp / 2, yp - hp / 2, xp + wp / 2, yp + hp / 2], dtype=torch.float64)
        torch.testing.assert_close(props[idx], expected, rtol=0, atol=1e-12)
    # zero offsets give the anchors back
    torch.testing.assert_close(ssd.GenerateProposal(anchors, torch.zeros_like(offsets), method), anchors)


def test_generate_proposal_bad_method(ssd):
    with pytest.raises(ValueError):
        ssd.GenerateProposal(torch.zeros(1, 1, 1, 1, 4), torch.zeros(1, 1, 1, 1, 4), method="SSD")


def _random_boxes(n, g, scale=7.0, dtype=torch.float64):
    xy = torch.rand(n, 2, generator=g, dtype=dtype) * scale
    wh = torch.rand(n, 2, generator=g, dtype=dtype) * scale / 2 + 0.01
    return torch.cat([xy, xy + wh], 1)


@pytest.mark.reference("eecs498/A5", "single_stage_detector.py::IoU")
def test_iou_matches_torchvision(ssd):
    g = torch.Generator().manual_seed(0)
    B, A, H, W, N = 2, 3, 4, 5, 6
    props = _random_boxes(B * A * H * W, g).view(B, A, H, W, 4)
    gt = _random_boxes(B * N, g).view(B, N, 4)
    bboxes = torch.cat([gt, torch.randint(0, 20, (B, N, 1), generator=g).double()], -1)
    bboxes[1, 4:] = -1  # padding rows
    iou = ssd.IoU(props, bboxes)
    assert iou.shape == (B, A * H * W, N)
    for b in range(B):
        ref = torchvision.ops.box_iou(props[b].reshape(-1, 4), gt[b])
        if b == 1:
            ref[:, 4:] = 0  # padding boxes have no area -> IoU 0
        torch.testing.assert_close(iou[b], ref, rtol=1e-12, atol=1e-12)
    assert torch.isfinite(iou).all()


def test_iou_identical_and_disjoint(ssd):
    p = torch.tensor([[0., 0, 2, 2], [10, 10, 11, 11]]).view(1, 2, 1, 1, 4)
    b = torch.tensor([[[0., 0, 2, 2, 3]]])
    assert ssd.IoU(p, b)[0, :, 0].tolist() == [1.0, 0.0]


def test_iou_bad_input(ssd):
    p = torch.tensor([[2., 0, 1, 2]]).view(1, 1, 1, 1, 4)  # x2 < x1
    b = torch.tensor([[[0., 0, 2, 2, 3]]])
    with pytest.raises(ValueError, match="x2 < x1"):
        ssd.IoU(p, b)
    with pytest.raises(ValueError, match="x2 < x1"):
        ssd.IoU(b[..., :4].view(1, 1, 1, 1, 4), torch.tensor([[[0., 3, 2, 2, 3]]]))
    with pytest.raises(ValueError):
        ssd.IoU(p, torch.zeros(2, 1, 5))  # batch mismatch


def _nms_cases():
    g = torch.Generator().manual_seed(3)
    cases = []
    for n, scale, size in [(1, 100, 40), (50, 100, 40), (400, 100, 40), (300, 30, 30)]:
        xy = torch.rand(n, 2, generator=g) * scale
        wh = torch.rand(n, 2, generator=g) * size + 1
        boxes = torch.cat([xy, xy + wh], 1)
        scores = torch.randint(0, 8, (n,), generator=g).float()       # many ties
        if n > 10:
            boxes[n // 2:n // 2 + 4] = boxes[1]                           # identical boxes ...
            scores[n // 2:n // 2 + 2] = scores[1]                         # ... with tied scores
        cases.append((boxes, scores))
    return cases


def _nms_functions(ssd, helper):
    return {"nms": ssd.nms, "nms_fast": helper.nms_fast}


@pytest.mark.parametrize("fn", ["nms", "nms_fast"])
def test_nms_crowded_matches_torchvision(ssd, helper, fn):
    # most pairs overlap (nms_fast: more than 1024 x-overlaps per box, its greedy-loop branch)
    g = torch.Generator().manual_seed(4)
    boxes = torch.rand(1100, 4, generator=g) * 20
    boxes[:, 2:] += boxes[:, :2] + 30
    scores = torch.rand(1100, generator=g)
    nms = _nms_functions(ssd, helper)[fn]
    assert torch.equal(nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5))


def _assert_greedy_nms(keep, boxes, scores, thresh):
    """`keep` is what greedy NMS returns for SOME order of tied scores: kept boxes in
    non-increasing score order, no kept pair overlapping > thresh, and every dropped box
    overlapping > thresh with a kept box scored at least as high. (The course's greedy loop may
    break ties in any order; torchvision's order is one of them.)"""
    assert keep.dtype == torch.long and len(set(keep.tolist())) == len(keep)
    iou = torchvision.ops.box_iou(boxes.double(), boxes.double())
    kept_scores = scores[keep]
    assert torch.all(kept_scores[:-1] >= kept_scores[1:])
    pair = iou[keep][:, keep] - torch.eye(len(keep), dtype=iou.dtype)
    assert torch.all(pair <= thresh), "two kept boxes overlap above the threshold"
    dropped = torch.ones(len(boxes), dtype=torch.bool)
    dropped[keep] = False
    for i in torch.nonzero(dropped).flatten().tolist():
        covers = (iou[i, keep] > thresh) & (scores[keep] >= scores[i])
        assert covers.any(), f"box {i} was dropped but no kept box suppresses it"


@pytest.mark.parametrize("fn", ["nms", "nms_fast"])
@pytest.mark.parametrize("case", range(4))
@pytest.mark.parametrize("thresh", [0.0, 0.3, 0.7])
def test_nms_matches_torchvision(ssd, helper, fn, case, thresh):
    boxes, scores = _nms_cases()[case]
    ours = _nms_functions(ssd, helper)[fn](boxes, scores, thresh)
    ref = torchvision.ops.nms(boxes, scores, thresh)
    if fn == "nms_fast":           # ours, outside the student regions: torchvision's tie order
        assert ours.dtype == torch.long and torch.equal(ours, ref)
    else:                          # the student's greedy loop: any tie order is correct
        _assert_greedy_nms(ours, boxes, scores, thresh)


@pytest.mark.parametrize("thresh", [0.3, 0.7])
@pytest.mark.reference("eecs498/A5", "single_stage_detector.py::nms")
def test_nms_distinct_scores_equal_torchvision(ssd, thresh):
    # without ties greedy NMS has one answer: exactly torchvision's
    boxes, _ = _nms_cases()[2]
    scores = torch.rand(len(boxes), generator=torch.Generator().manual_seed(5))
    assert torch.equal(ssd.nms(boxes, scores, thresh), torchvision.ops.nms(boxes, scores, thresh))


def test_greedy_property_check_rejects_wrong_answers():
    boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _assert_greedy_nms(torch.tensor([0, 2]), boxes, scores, 0.5)
    for wrong in ([0, 1, 2], [0], [2, 0], [1, 2]):   # overlap kept, box lost, order, lower kept
        with pytest.raises(AssertionError):
            _assert_greedy_nms(torch.tensor(wrong), boxes, scores, 0.5)


@pytest.mark.parametrize("fn", ["nms", "nms_fast"])
def test_nms_float64(ssd, helper, fn):
    boxes, scores = _nms_cases()[2]
    boxes, scores = boxes.double(), scores.double()
    nms = _nms_functions(ssd, helper)[fn]
    for thresh in (0.3, 0.5):
        keep = nms(boxes, scores, thresh)
        if fn == "nms_fast":
            assert torch.equal(keep, torchvision.ops.nms(boxes, scores, thresh))
        else:
            _assert_greedy_nms(keep, boxes, scores, thresh)


def test_nms_fast_degenerate_boxes(helper):
    """Zero-area boxes: IoU 0/0 = NaN suppresses nothing, as in torchvision (the course does
    not ask this of the students' loop)."""
    boxes, scores = _nms_cases()[2]
    boxes[:3] = torch.tensor([5., 5., 5., 5.])     # three identical points
    for thresh in (0.3, 0.5):
        assert torch.equal(helper.nms_fast(boxes, scores, thresh), torchvision.ops.nms(boxes, scores, thresh))


# ---- nms_fast on crowded boxes: its block-at-a-time greedy branch (_nms_blocked)

def _crowded_cases():
    """(name, boxes, scores): more than 1024 boxes overlap each box's x range, so nms_fast
    takes its crowded branch (checked by the test)."""
    g = torch.Generator().manual_seed(7)
    cases = []
    n = 3000
    xy = torch.rand(n, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 100 + 1], 1)
    cases.append(("random", boxes, torch.rand(n, generator=g)))
    # scores from 8 values (ties everywhere), and runs of identical boxes with tied scores,
    # some of them straddling the 64-box blocks
    scores = torch.randint(0, 8, (n,), generator=g).float()
    dup = boxes.clone()
    for start in (0, 60, 500, 1700):
        dup[start:start + 9] = dup[start]
        scores[start:start + 5] = scores[start]
    cases.append(("ties+duplicates", dup, scores))
    # integer corners: many IoUs exactly 1/2, 1/3, ... sit on the thresholds
    xy = torch.randint(0, 12, (n, 2), generator=g).float()
    grid = torch.cat([xy, xy + torch.randint(1, 5, (n, 2), generator=g).float()], 1)
    cases.append(("integer grid", grid, torch.rand(n, generator=g)))
    # zero-area boxes mixed in: IoU 0 / 0 = NaN suppresses nothing
    flat = boxes.clone()
    flat[::7, 2] = flat[::7, 0]
    flat[:40:3] = torch.tensor([5., 5., 5., 5.])
    cases.append(("zero-area", flat, torch.rand(n, generator=g)))
    return cases


@pytest.fixture
def blocked_calls(monkeypatch):
    """Counts the calls of nms_fast's crowded branch."""
    from dl4cv.standins import cpu_detection
    calls = []
    inner = cpu_detection._nms_blocked

    def counted(*args):
        calls.append(args)
        return inner(*args)

    monkeypatch.setattr(cpu_detection, "_nms_blocked", counted)
    return calls


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", range(4))
@pytest.mark.parametrize("thresh", [0.0, 0.3, 0.5, 0.7])
def test_nms_fast_crowded_matches_torchvision(helper, blocked_calls, case, thresh, dtype):
    name, boxes, scores = _crowded_cases()[case]
    boxes, scores = boxes.to(dtype), scores.to(dtype)
    keep = helper.nms_fast(boxes, scores, thresh)
    assert len(blocked_calls) == 1, "not the crowded branch"
    ref = torchvision.ops.nms(boxes, scores, thresh)
    assert keep.dtype == torch.long and torch.equal(keep, ref), name
    assert len(ref) > 1


@pytest.mark.parametrize("topk", [1, 5, 63, 64, 65, 130, 10**6])
def test_nms_fast_crowded_topk(helper, blocked_calls, topk):
    _, boxes, scores = _crowded_cases()[1]
    ref = torchvision.ops.nms(boxes, scores, 0.7)
    assert len(ref) > 130
    assert torch.equal(helper.nms_fast(boxes, scores, 0.7, topk=topk), ref[:topk])
    assert len(blocked_calls) == 1


def test_iou_cut_compares_float32_as_float64():
    """v > _iou_cut(float32, t) must equal float64(v) > t for every float32 v: checked on the
    float32 values around each threshold, which do not all equal it in float64."""
    import numpy as np
    from dl4cv.standins.cpu_detection import _iou_cut
    for t in (0.3, 0.5, 0.7, 1 / 3, 0.1 + 0.2, 0.0, 1.0):
        cut = _iou_cut(np.dtype(np.float32), t)
        below = above = [np.float32(t)]
        for _ in range(3):
            below = below + [np.nextafter(below[-1], np.float32(-np.inf))]
            above = above + [np.nextafter(above[-1], np.float32(np.inf))]
        near = np.array(below + above, dtype=np.float32)
        np.testing.assert_array_equal(near > cut, near.astype(np.float64) > t)
    assert _iou_cut(np.dtype(np.float64), 0.3) == 0.3


@pytest.mark.parametrize("fn", ["nms", "nms_fast"])
def test_nms_topk_empty_and_bad_input(ssd, helper, fn):
    nms = _nms_functions(ssd, helper)[fn]
    boxes, scores = _nms_cases()[2]
    torch.testing.assert_close(nms(boxes, scores, 0.5, topk=7), torchvision.ops.nms(boxes, scores, 0.5)[:7])
    empty = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == torch.long
    with pytest.raises(ValueError, match="x2 < x1"):
        nms(torch.tensor([[0., 0, 1, 1], [3, 0, 2, 1]]), torch.tensor([0.5, 0.4]))
    with pytest.raises(ValueError):
        nms(torch.zeros(3, 4), torch.zeros(2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_nms_fast_x_overlap_counts_host_and_torch_paths_agree(dtype):
    # the torch path is the one boxes on a GPU take; here both run on the CPU. Reference: the
    # counts straight from their definition (later boxes in x order starting before box p ends)
    from dl4cv.standins.cpu_detection import _x_overlap_counts
    g = torch.Generator().manual_seed(7)
    xy = torch.randint(0, 60, (300, 2), generator=g).to(dtype)   # integer corners: many ties
    wh = torch.randint(1, 15, (300, 2), generator=g).to(dtype)
    boxes = torch.cat([xy, xy + wh], dim=1)
    host = _x_overlap_counts(boxes, on_host=True)
    dev = _x_overlap_counts(boxes, on_host=False)
    assert torch.equal(host[0], dev[0]) and torch.equal(host[1], dev[1])
    by_x = host[0]
    x1, x2 = boxes[by_x, 0].double(), boxes[by_x, 2].double()
    expected = torch.tensor([int((x1[p + 1:] < x2[p]).sum()) for p in range(len(x1))])
    assert torch.equal(host[1], expected)
    assert torch.equal(by_x, torch.sort(boxes[:, 0], stable=True)[1])
