"""EECS 498 A5 heads and detectors against an independent reference, in float64, in train
mode (dropout with the mask the student's module drew, read back with a forward hook) and in
eval mode.

The references are plain torch.nn layers built from the course's layer specs, with the
student's weights copied in:
- PredictionNetwork: 1x1 conv (in -> hidden), Dropout(drop_ratio), LeakyReLU, 1x1 conv
  (hidden -> 5A + C); per anchor (conf, t^x, t^y, t^w, t^h), then the cell's C class scores;
  sigmoid on conf, sigmoid - 0.5 on t^x, t^y.
- ProposalModule: 3x3 conv (padding 1, in -> hidden), Dropout, LeakyReLU, 1x1 conv
  (hidden -> 6A); per anchor (object, background, t^x, t^y, t^w, t^h).
- TwoStageDetector.cls_layer: Linear (in -> hidden), Dropout, ReLU, Linear (hidden -> C).
The detectors' forward and inference passes are checked on fixed features (the backbone
swapped for nn.Identity) against these references plus closed-form anchors and proposals,
torchvision.ops.box_iou / nms / roi_align and the course's given target assignment and losses.
"""
import inspect

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from dl4cv_tools.testing import course_module

A5 = "eecs498/A5"
ANCHORS = torch.tensor([[1., 1], [2, 2], [3, 3], [4, 4], [5, 5], [2, 3], [3, 2], [3, 5], [5, 3]],
                       dtype=torch.float64)
TOL = dict(rtol=1e-9, atol=1e-10)


@pytest.fixture(scope="module")
def mods():
    return (course_module(A5, "a5_helper"), course_module(A5, "single_stage_detector"),
            course_module(A5, "two_stage_detector"))


# --------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------
def _only(module, kind, count):
    found = [m for m in module.modules() if isinstance(m, kind)]
    assert len(found) == count, f"expected {count} {kind.__name__} layer(s), found {len(found)}"
    return found


def _copy(dst, src):
    dst.load_state_dict(src.state_dict())


def _dropout_mask_recorder(module):
    """Hook on the module's one nn.Dropout: the masks it applies (output != 0), in order."""
    drop = _only(module, nn.Dropout, 1)[0]
    masks = []
    drop.register_forward_hook(lambda m, inp, out: masks.append((out != 0).to(out.dtype)))
    return drop.p, masks


def _apply_dropout(x, p, mask):
    return x if mask is None else x * mask / (1 - p)


def _conv_head(ours, p, mask, kernel, in_dim, hidden, out_dim):
    """Reference conv -> dropout(mask) -> LeakyReLU -> 1x1 conv with our weights copied in."""
    conv1 = nn.Conv2d(in_dim, hidden, kernel, padding=kernel // 2).double()
    conv2 = nn.Conv2d(hidden, out_dim, 1).double()
    c1, c2 = _only(ours, nn.Conv2d, 2)
    assert c1.kernel_size == (kernel, kernel) and c2.kernel_size == (1, 1)
    _copy(conv1, c1)
    _copy(conv2, c2)
    return lambda x: conv2(F.leaky_relu(_apply_dropout(conv1(x), p, mask), 0.01))


def _prediction_reference(net, feats, p, mask, A=9, C=20):
    """(conf (B, A, H, W), offsets (B, A, 4, H, W), class scores (B, C, H, W)) of the course spec."""
    B, D, H, W = feats.shape
    out = _conv_head(net, p, mask, 1, D, _only(net, nn.Conv2d, 2)[0].out_channels, 5 * A + C)(feats)
    per_anchor = out[:, :5 * A].reshape(B, A, 5, H, W)
    conf = torch.sigmoid(per_anchor[:, :, 0])
    offsets = torch.cat([torch.sigmoid(per_anchor[:, :, 1:3]) - 0.5, per_anchor[:, :, 3:]], dim=2)
    return conf, offsets, out[:, 5 * A:]


def _proposal_reference(mod, feats, p, mask, A=9):
    """(scores (B, A, 2, H, W), offsets (B, A, 4, H, W)) of the course spec."""
    B, D, H, W = feats.shape
    out = _conv_head(mod, p, mask, 3, D, _only(mod, nn.Conv2d, 2)[0].out_channels, 6 * A)(feats)
    out = out.reshape(B, A, 6, H, W)
    return out[:, :, :2], out[:, :, 2:]


def _per_anchor(t):
    """(B, A, D, H, W) -> (B*A*H*W, D), rows in the flattened (B, A, H, W) anchor order."""
    B, A, D, H, W = t.shape
    return t.permute(0, 1, 3, 4, 2).reshape(-1, D)


def _cell_scores(scores, A=9):
    """(B, C, H, W) -> (B*A*H*W, C): each anchor gets its cell's class scores."""
    B, C, H, W = scores.shape
    return scores.permute(0, 2, 3, 1).unsqueeze(1).expand(B, A, H, W, C).reshape(-1, C)


def _anchors(B, H=7, W=7):
    """Closed form: anchor a at cell (i, j) is centered at (j + 0.5, i + 0.5), size ANCHORS[a]."""
    ii, jj = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64),
                            indexing='ij')
    w, h = ANCHORS[:, 0].view(-1, 1, 1), ANCHORS[:, 1].view(-1, 1, 1)
    a = torch.stack([jj + .5 - w / 2, ii + .5 - h / 2, jj + .5 + w / 2, ii + .5 + h / 2], -1)
    return a.unsqueeze(0).expand(B, -1, -1, -1, -1)


def _decode(anchors, offsets, method):
    wa, ha = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    xa, ya = anchors[..., 0] + wa / 2, anchors[..., 1] + ha / 2
    tx, ty, tw, th = offsets.unbind(-1)
    xp = xa + (tx if method == 'YOLO' else tx * wa)
    yp = ya + (ty if method == 'YOLO' else ty * ha)
    wp, hp = wa * torch.exp(tw), ha * torch.exp(th)
    return torch.stack([xp - wp / 2, yp - hp / 2, xp + wp / 2, yp + hp / 2], -1)


def _iou(anchors, boxes):
    """(B, A*H*W, N) IoU via torchvision.ops.box_iou; padded GT rows (-1) give 0."""
    B, N = boxes.shape[:2]
    out = torch.zeros(B, anchors[0].numel() // 4, N, dtype=anchors.dtype)
    for b in range(B):
        valid = boxes[b, :, 0] != -1
        out[b][:, valid] = torchvision.ops.box_iou(anchors[b].reshape(-1, 4), boxes[b, valid, :4])
    return out


class _TargetRecorder:
    """Wraps the given ReferenceOnActivatedAnchors: checks the anchors and IoU it receives
    against the closed form and torchvision, and keeps its outputs for the reference loss (its
    negatives are sampled at random, so the reference must use the same ones)."""

    def __init__(self, real, method, **expected_kwargs):
        self.real, self.method, self.expected_kwargs, self.calls = real, method, expected_kwargs, []

    def __call__(self, *args, **kwargs):
        bound = inspect.signature(self.real).bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        assert a['method'] == self.method
        for k, v in self.expected_kwargs.items():
            assert a[k] == v, (k, a[k])
        torch.testing.assert_close(a['anchors'].double(), _anchors(a['anchors'].shape[0]), **TOL)
        torch.testing.assert_close(a['iou_mat'].double(), _iou(_anchors(a['anchors'].shape[0]), a['bboxes'].double()),
                                   **TOL)
        out = self.real(*args, **kwargs)
        self.calls.append(out)
        return out


# --------------------------------------------------------------------------------------------
# heads
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("train", [False, True])
@pytest.mark.reference("eecs498/A5", "single_stage_detector.py::PredictionNetwork.__init__",
                       "single_stage_detector.py::PredictionNetwork.forward")
def test_prediction_network_matches_torch_reference(mods, train):
    _, ssd, _ = mods
    torch.manual_seed(0)
    net = ssd.PredictionNetwork(32, hidden_dim=16, num_anchors=9, num_classes=20, drop_ratio=0.3).double()
    net.train(train)
    p, masks = _dropout_mask_recorder(net)
    feats = torch.randn(2, 32, 7, 7, dtype=torch.float64)
    conf, offsets, scores = net(feats)
    mask = masks[-1] if train else None
    r_conf, r_off, r_scores = _prediction_reference(net, feats, p, mask)
    torch.testing.assert_close(conf, r_conf, **TOL)
    torch.testing.assert_close(offsets, r_off, **TOL)
    torch.testing.assert_close(scores, r_scores, **TOL)
    # training-time outputs: the positive then negative anchors, gathered
    pos, neg = torch.tensor([0, 60, 500, 881]), torch.tensor([3, 4, 441, 700])
    conf_t, off_t, cls_t = net(feats, pos, neg)
    mask = masks[-1] if train else None
    r_conf, r_off, r_scores = _prediction_reference(net, feats, p, mask)
    torch.testing.assert_close(conf_t, r_conf.reshape(-1, 1)[torch.cat([pos, neg])], **TOL)
    torch.testing.assert_close(off_t, _per_anchor(r_off)[pos], **TOL)
    torch.testing.assert_close(cls_t, _cell_scores(r_scores)[pos], **TOL)
    if train:
        assert 0 < masks[-1].mean() < 1, "dropout must be active in train mode"


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.reference("eecs498/A5", "two_stage_detector.py::ProposalModule.__init__",
                       "two_stage_detector.py::ProposalModule.forward")
def test_proposal_module_matches_torch_reference(mods, train):
    _, ssd, tsd = mods
    torch.manual_seed(1)
    mod = tsd.ProposalModule(32, hidden_dim=16, num_anchors=9, drop_ratio=0.3).double()
    mod.train(train)
    p, masks = _dropout_mask_recorder(mod)
    feats = torch.randn(2, 32, 7, 7, dtype=torch.float64)
    scores, offsets = mod(feats)
    r_scores, r_off = _proposal_reference(mod, feats, p, masks[-1] if train else None)
    torch.testing.assert_close(scores, r_scores, **TOL)
    torch.testing.assert_close(offsets, r_off, **TOL)
    pos, neg = torch.tensor([24, 100, 600]), torch.tensor([0, 441, 881])
    coords = _anchors(2).reshape(-1, 4)[pos]
    s_t, o_t, p_t = mod(feats, coords, pos, neg)
    r_scores, r_off = _proposal_reference(mod, feats, p, masks[-1] if train else None)
    torch.testing.assert_close(s_t, _per_anchor(r_scores)[torch.cat([pos, neg])], **TOL)
    torch.testing.assert_close(o_t, _per_anchor(r_off)[pos], **TOL)
    torch.testing.assert_close(p_t.reshape(-1, 4), _decode(coords, _per_anchor(r_off)[pos], 'FasterRCNN'), **TOL)


def _cls_reference(det, x, p, mask):
    l1, l2 = _only(det.cls_layer, nn.Linear, 2)
    r1, r2 = nn.Linear(l1.in_features, l1.out_features).double(), nn.Linear(l2.in_features, l2.out_features).double()
    _copy(r1, l1)
    _copy(r2, l2)
    return r2(F.relu(_apply_dropout(r1(x), p, mask)))


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.reference("eecs498/A5", "two_stage_detector.py::TwoStageDetector.__init__")
def test_two_stage_init_layer_spec(mods, train):
    """TwoStageDetector.__init__: an RPN, and cls_layer = Linear(in, hidden), Dropout, ReLU,
    Linear(hidden, C), checked by values against the reference (dims from the arguments)."""
    _, _, tsd = mods
    torch.manual_seed(2)
    det = tsd.TwoStageDetector(in_dim=48, hidden_dim=24, num_classes=7, drop_ratio=0.4).double()
    assert isinstance(det.rpn, tsd.RPN)
    l1, l2 = _only(det.cls_layer, nn.Linear, 2)
    assert (l1.in_features, l1.out_features, l2.in_features, l2.out_features) == (48, 24, 24, 7)
    det.train(train)
    p, masks = _dropout_mask_recorder(det.cls_layer)
    assert p == pytest.approx(0.4)
    x = torch.randn(5, 48, dtype=torch.float64)
    out = det.cls_layer(x)
    torch.testing.assert_close(out, _cls_reference(det, x, p, masks[-1] if train else None), **TOL)


# --------------------------------------------------------------------------------------------
# detectors: forward (loss) and inference on fixed features
# --------------------------------------------------------------------------------------------
# GT boxes (activation-map units) whose matched anchors lie well inside the 7 x 7 map
BOXES = torch.tensor([[[2.5, 2.5, 4.5, 4.5, 3], [1.5, 2.0, 4.5, 5.0, 11], [-1, -1, -1, -1, -1]],
                      [[3.0, 0.5, 6.0, 2.5, 7], [1.1, 3.3, 3.6, 6.2, 0], [4.5, 4.4, 6.5, 6.4, 14]]],
                     dtype=torch.float64)


def _features(seed, D=64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, D, 7, 7, generator=g, dtype=torch.float64)


def _single_stage(ssd):
    torch.manual_seed(3)
    det = ssd.SingleStageDetector()
    det.feat_extractor = nn.Identity()
    det.pred_network = ssd.PredictionNetwork(64, hidden_dim=32, num_anchors=9, num_classes=20)
    return det.double()


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.reference("eecs498/A5", "single_stage_detector.py::SingleStageDetector.forward")
def test_single_stage_forward_matches_reference(mods, monkeypatch, train):
    helper, ssd, _ = mods
    det = _single_stage(ssd)
    det.train(train)
    rec = _TargetRecorder(helper.ReferenceOnActivatedAnchors, 'YOLO', neg_thresh=0.2)
    monkeypatch.setattr(ssd, "ReferenceOnActivatedAnchors", rec)
    p, masks = _dropout_mask_recorder(det.pred_network)
    feats = _features(4)
    loss = det(feats, BOXES)
    assert len(rec.calls) == 1
    pos, neg, GT_conf, GT_offsets, GT_class, _, _ = rec.calls[0]
    conf, offsets, scores = _prediction_reference(det.pred_network, feats, p, masks[-1] if train else None)
    expected = (ssd.ConfScoreRegression(conf.reshape(-1, 1)[torch.cat([pos, neg])], GT_conf)
                + ssd.BboxRegression(_per_anchor(offsets)[pos], GT_offsets)
                + helper.ObjectClassification(_cell_scores(scores)[pos], GT_class, 2, 9 * 49, pos))
    torch.testing.assert_close(loss, expected, **TOL)


@pytest.mark.reference("eecs498/A5", "single_stage_detector.py::SingleStageDetector.inference")
def test_single_stage_inference_matches_reference(mods):
    _, ssd, _ = mods
    det = _single_stage(ssd).eval()
    feats = _features(5)
    thresh, nms_thresh = 0.5, 0.3
    props, confs, classes = det.inference(feats, thresh=thresh, nms_thresh=nms_thresh)
    conf, offsets, scores = _prediction_reference(det.pred_network, feats, 0.0, None)
    boxes = _decode(_anchors(2), offsets.permute(0, 1, 3, 4, 2), 'YOLO')
    cell_class = scores.argmax(1).unsqueeze(1).expand(2, 9, 7, 7)
    assert len(props) == len(confs) == len(classes) == 2
    for b in range(2):
        keep_mask = conf[b] > thresh
        bx, sc, cl = boxes[b][keep_mask], conf[b][keep_mask], cell_class[b][keep_mask]
        assert bx.shape[0] > 5, "the fixed input should keep several boxes"
        keep = torchvision.ops.nms(bx, sc, nms_thresh)
        assert 0 < keep.numel() < bx.shape[0], "NMS should remove some boxes here"
        torch.testing.assert_close(props[b].reshape(-1, 4), bx[keep], **TOL)
        torch.testing.assert_close(confs[b].reshape(-1), sc[keep], **TOL)
        assert torch.equal(classes[b].reshape(-1).long(), cl[keep])


def _rpn_parts(tsd, det_or_rpn):
    rpn = det_or_rpn.rpn if hasattr(det_or_rpn, "rpn") else det_or_rpn
    torch.manual_seed(6)
    rpn.feat_extractor = nn.Identity()
    rpn.prop_module = tsd.ProposalModule(64, hidden_dim=32, num_anchors=9)
    last = _only(rpn.prop_module, nn.Conv2d, 2)[1]
    with torch.no_grad():   # small transforms: the proposals stay on the 7 x 7 map
        last.weight.mul_(0.05)
        last.bias.mul_(0.05)
    return rpn


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.reference("eecs498/A5", "two_stage_detector.py::RPN.forward")
def test_rpn_forward_matches_reference(mods, monkeypatch, train):
    helper, _, tsd = mods
    rpn = _rpn_parts(tsd, tsd.RPN()).double()
    rpn.train(train)
    rec = _TargetRecorder(helper.ReferenceOnActivatedAnchors, 'FasterRCNN')
    monkeypatch.setattr(tsd, "ReferenceOnActivatedAnchors", rec)
    p, masks = _dropout_mask_recorder(rpn.prop_module)
    feats = _features(7)
    loss, conf_pos, proposals, features, GT_class_out, pos_out, anc_per_img = rpn(feats, BOXES, output_mode='all')
    pos, neg, _, GT_offsets, GT_class, pos_coord, _ = rec.calls[0]
    scores, offsets = _proposal_reference(rpn.prop_module, feats, p, masks[-1] if train else None)
    s, o = _per_anchor(scores), _per_anchor(offsets)
    expected = tsd.ConfScoreRegression(s[torch.cat([pos, neg])], 2) + 5 * tsd.BboxRegression(o[pos], GT_offsets, 2)
    torch.testing.assert_close(loss, expected, **TOL)
    torch.testing.assert_close(proposals.reshape(-1, 4), _decode(pos_coord, o[pos], 'FasterRCNN'), **TOL)
    torch.testing.assert_close(conf_pos.reshape(-1), s[pos][:, 0], **TOL)
    assert torch.equal(pos_out, pos) and torch.equal(GT_class_out, GT_class) and int(anc_per_img) == 9 * 49
    torch.testing.assert_close(features, feats)


def _two_stage(tsd):
    torch.manual_seed(8)
    det = tsd.TwoStageDetector(in_dim=64, hidden_dim=32, num_classes=20)
    _rpn_parts(tsd, det)
    return det.double()


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.reference("eecs498/A5", "two_stage_detector.py::TwoStageDetector.forward")
def test_two_stage_forward_matches_reference(mods, monkeypatch, train):
    helper, _, tsd = mods
    det = _two_stage(tsd)
    det.train(train)
    rec = _TargetRecorder(helper.ReferenceOnActivatedAnchors, 'FasterRCNN')
    monkeypatch.setattr(tsd, "ReferenceOnActivatedAnchors", rec)
    p_rpn, rpn_masks = _dropout_mask_recorder(det.rpn.prop_module)
    p_cls, cls_masks = _dropout_mask_recorder(det.cls_layer)
    feats = _features(9)
    loss = det(feats, BOXES)
    pos, neg, _, GT_offsets, GT_class, pos_coord, _ = rec.calls[0]
    scores, offsets = _proposal_reference(det.rpn.prop_module, feats, p_rpn, rpn_masks[-1] if train else None)
    s, o = _per_anchor(scores), _per_anchor(offsets)
    rpn_loss = tsd.ConfScoreRegression(s[torch.cat([pos, neg])], 2) + 5 * tsd.BboxRegression(o[pos], GT_offsets, 2)
    proposals = _decode(pos_coord, o[pos], 'FasterRCNN')
    assert proposals.min() >= 0 and proposals.max() <= 7, "fixed input: proposals inside the map"
    rois = torch.cat([(pos // (9 * 49)).to(feats).unsqueeze(1), proposals], dim=1)
    pooled = torchvision.ops.roi_align(feats, rois, (2, 2)).mean((2, 3))
    logits = _cls_reference(det, pooled, p_cls, cls_masks[-1] if train else None)
    expected = rpn_loss + F.cross_entropy(logits, GT_class, reduction='sum') / 2
    torch.testing.assert_close(loss, expected, **TOL)


@pytest.mark.reference("eecs498/A5", "two_stage_detector.py::TwoStageDetector.inference")
def test_two_stage_inference_matches_reference(mods):
    """RPN inference (object probability > thresh, NMS) and the region classifier. The
    proposal module is set so that only the 1 x 1 anchors score high and the transforms are
    zero: the proposals are the anchors themselves, inside the map."""
    _, _, tsd = mods
    det = _two_stage(tsd).eval()
    last = _only(det.rpn.prop_module, nn.Conv2d, 2)[1]
    with torch.no_grad():
        w = last.weight.view(9, 6, -1)
        w[:, 2:] = 0                      # no transforms
        b = last.bias.view(9, 6)
        b[:, 2:] = 0
        b[:, 0] = -4.0                    # object score low for every anchor ...
        b[0, 0] = 4.0                     # ... but the 1 x 1 one
    feats = _features(10)
    thresh, nms_thresh = 0.5, 0.3
    props, probs, classes = det.inference(feats, thresh=thresh, nms_thresh=nms_thresh)
    scores, offsets = _proposal_reference(det.rpn.prop_module, feats, 0.0, None)
    prob = torch.sigmoid(scores[:, :, 0])
    boxes = _decode(_anchors(2), offsets.permute(0, 1, 3, 4, 2), 'FasterRCNN')
    for b_i in range(2):
        m = prob[b_i] > thresh
        bx, sc = boxes[b_i][m], prob[b_i][m]
        keep = torchvision.ops.nms(bx, sc, nms_thresh)
        assert keep.numel() > 10
        torch.testing.assert_close(props[b_i].reshape(-1, 4), bx[keep], **TOL)
        torch.testing.assert_close(probs[b_i].reshape(-1), sc[keep], **TOL)
        pooled = torchvision.ops.roi_align(feats[b_i:b_i + 1], [bx[keep]], (2, 2)).mean((2, 3))
        expected = _cls_reference(det, pooled, 0.0, None).argmax(1)
        assert torch.equal(classes[b_i].reshape(-1).long(), expected)


@pytest.mark.reference("eecs498/A5", "two_stage_detector.py::RPN.inference")
@pytest.mark.parametrize("mode", ["RPN", "FasterRCNN"])
def test_rpn_inference_matches_reference(mods, mode):
    """RPN.inference on fixed features: the proposal-module reference, closed-form anchors and
    FasterRCNN decoding, sigmoid(object score) > thresh, then torchvision.ops.nms per image."""
    _, _, tsd = mods
    rpn = _rpn_parts(tsd, tsd.RPN()).double().eval()
    last = _only(rpn.prop_module, nn.Conv2d, 2)[1]
    with torch.no_grad():   # object scores clearly above (anchors 0-3) or below the threshold
        b = last.bias.view(9, 6)
        b[:, 0] = -1.0
        b[:4, 0] = 1.0
    feats = _features(11)
    thresh, nms_thresh = 0.5, 0.3
    props, probs, features = rpn.inference(feats, thresh=thresh, nms_thresh=nms_thresh, mode=mode)
    scores, offsets = _proposal_reference(rpn.prop_module, feats, 0.0, None)
    prob = torch.sigmoid(scores[:, :, 0])
    boxes = _decode(_anchors(2), offsets.permute(0, 1, 3, 4, 2), 'FasterRCNN')
    assert len(props) == len(probs) == 2
    for b_i in range(2):
        m = prob[b_i] > thresh
        bx, sc = boxes[b_i][m], prob[b_i][m]
        keep = torchvision.ops.nms(bx, sc, nms_thresh)
        assert 10 < keep.numel() < bx.shape[0], "the fixed input should keep some boxes, drop others"
        torch.testing.assert_close(props[b_i].reshape(-1, 4), bx[keep], **TOL)
        torch.testing.assert_close(probs[b_i].reshape(-1), sc[keep], **TOL)
    if mode == "FasterRCNN":
        torch.testing.assert_close(features, feats, rtol=0, atol=0)
