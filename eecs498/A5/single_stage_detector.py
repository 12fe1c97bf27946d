"""EECS 498-007 A5-1: a single-stage (YOLO v1/v2 style) object detector.

Coordinates inside the detector are in activation-map units: a 224 x 224 image becomes a
7 x 7 MobileNet v2 feature map, so x and y run from 0 to 7 (use a5_helper.coord_trans to go
to and from image pixels). Boxes are (x_tl, y_tl, x_br, y_br).
"""
import torch
import torch.nn as nn
import torchvision  # noqa: F401  (the course's students compare against torchvision.ops)

from a5_helper import *  # noqa: F401,F403  (the course's file re-exports its helpers: DetectionSolver, ...)
from a5_helper import (FeatureExtractor, GenerateGrid, ObjectClassification,  # noqa: F401
                       ReferenceOnActivatedAnchors, coord_trans)


def hello_single_stage_detector():
    print("Hello from single_stage_detector.py!")


def _check_last_dim(t, size, name):
    if not isinstance(t, torch.Tensor) or t.dim() < 1 or t.shape[-1] != size:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"{name} must be a tensor whose last dim is {size}, got {shape}")


def _check_corners(boxes, name, allow_padding=False):
    """ValueError if some box has x_br < x_tl or y_br < y_tl (rows of -1 padding excepted)."""
    bad = (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
    if allow_padding:
        bad &= ~(boxes[..., :4] == -1).all(-1)
    if bad.any():
        first = boxes[bad][0][:4].tolist()
        raise ValueError(f"{name}: box {first} has x2 < x1 or y2 < y1")


def GenerateAnchor(anc, grid):
    """
    Anchor generator.

    Inputs:
    - anc: Tensor of shape (A, 2) giving the shapes of anchor boxes to consider at each
      point in the grid. anc[a] = (w, h) gives the width and height of the a'th anchor shape.
    - grid: Tensor of shape (B, H', W', 2) giving the (x, y) coordinates of the center of
      each feature from the backbone feature map (the output of GenerateGrid).

    Outputs:
    - anchors: Tensor of shape (B, A, H', W', 4); anchors[b, a, h, w] is the box of shape
      anc[a] centered at grid[b, h, w], as (x_tl, y_tl, x_br, y_br).
    """
    _check_last_dim(anc, 2, "anc")
    _check_last_dim(grid, 2, "grid")
    if anc.dim() != 2 or grid.dim() != 4:
        raise ValueError(f"anc must be (A, 2) and grid (B, H', W', 2), got {tuple(anc.shape)} "
                         f"and {tuple(grid.shape)}")
    anchors = None
    # TODO: Place every anchor shape at every grid center, for every image of the batch, with
    # broadcasting (no loops): the top-left corner is center - (w, h) / 2 and the bottom-right
    # corner is center + (w, h) / 2. Output shape (B, A, H', W', 4).
    # *****START OF YOUR CODE*****
    half = (anc / 2).view(1, -1, 1, 1, 2)                 # (1, A, 1, 1, 2)
    centers = grid.unsqueeze(1)                           # (B, 1, H', W', 2)
    anchors = torch.cat([centers - half, centers + half], dim=-1)
    # *****END OF YOUR CODE*****
    return anchors


def GenerateProposal(anchors, offsets, method='YOLO'):
    """
    Proposal generator: apply predicted transforms to anchors.

    Inputs:
    - anchors: (B, A, H', W', 4) anchor boxes (x_tl, y_tl, x_br, y_br).
    - offsets: (B, A, H', W', 4) transforms (t^x, t^y, t^w, t^h), one per anchor. For YOLO,
      t^x and t^y are in (-0.5, 0.5).
    - method: 'YOLO' or 'FasterRCNN'.
      With anchor center (x^a, y^a) and size (w^a, h^a), the proposal is
      YOLO:       x^p = x^a + t^x,        y^p = y^a + t^y
      FasterRCNN: x^p = x^a + t^x * w^a,  y^p = y^a + t^y * h^a
      both:       w^p = w^a * exp(t^w),   h^p = h^a * exp(t^h)

    Outputs:
    - proposals: (B, A, H', W', 4) proposals (x_tl, y_tl, x_br, y_br).
    """
    if method not in ('YOLO', 'FasterRCNN'):
        raise ValueError(f"method must be 'YOLO' or 'FasterRCNN', got {method!r}")
    _check_last_dim(anchors, 4, "anchors")
    if offsets.shape != anchors.shape:
        raise ValueError(f"offsets {tuple(offsets.shape)} must have the shape of anchors "
                         f"{tuple(anchors.shape)}")
    proposals = None
    # TODO: Convert the anchors to center/size form, apply the transforms of `method` above
    # and convert back to corners. Vectorized, any number of leading dims.
    # *****START OF YOUR CODE*****
    wh_a = anchors[..., 2:] - anchors[..., :2]
    center_a = (anchors[..., :2] + anchors[..., 2:]) / 2
    shift = offsets[..., :2] if method == 'YOLO' else offsets[..., :2] * wh_a
    center_p = center_a + shift
    half_p = wh_a * torch.exp(offsets[..., 2:]) / 2
    proposals = torch.cat([center_p - half_p, center_p + half_p], dim=-1)
    # *****END OF YOUR CODE*****
    return proposals


def IoU(proposals, bboxes):
    """
    Intersection over union between proposals and ground-truth boxes.

    Inputs:
    - proposals: (B, A, H', W', 4) proposals (x_tl, y_tl, x_br, y_br)
    - bboxes: (B, N, 5) GT boxes (x_tl, y_tl, x_br, y_br, class), padded with rows of -1

    Outputs:
    - iou_mat: (B, A*H'*W', N); iou_mat[b, i, n] = IoU(proposals[b].view(-1, 4)[i], bboxes[b, n]).
      Boxes without area (e.g. the padding) have IoU 0 with everything.
    """
    _check_last_dim(proposals, 4, "proposals")
    _check_last_dim(bboxes, 5, "bboxes")
    if bboxes.dim() != 3 or proposals.shape[0] != bboxes.shape[0]:
        raise ValueError(f"proposals (B, ..., 4) and bboxes (B, N, 5) need the same B, got "
                         f"{tuple(proposals.shape)} and {tuple(bboxes.shape)}")
    _check_corners(proposals, "proposals")
    _check_corners(bboxes, "bboxes", allow_padding=True)
    iou_mat = None
    # TODO: Compute all IoUs at once with broadcasting (no loops). The intersection is the box
    # from the larger top-left to the smaller bottom-right corner, clamped to zero size when the
    # boxes do not overlap; union = area(proposal) + area(box) - intersection. Make the result
    # 0 (not NaN) when the union is 0.
    # *****START OF YOUR CODE*****
    B = proposals.shape[0]
    p = proposals.reshape(B, -1, 1, 4)
    g = bboxes[:, None, :, :4]
    wh = (torch.minimum(p[..., 2:], g[..., 2:]) - torch.maximum(p[..., :2], g[..., :2])).clamp_(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area_p = (p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1])         # (B, P, 1)
    area_g = (g[..., 2] - g[..., 0]) * (g[..., 3] - g[..., 1])         # (B, 1, N)
    union = (area_p + area_g - inter).clamp_(min=torch.finfo(inter.dtype).tiny)
    iou_mat = inter / union
    # *****END OF YOUR CODE*****
    return iou_mat


class PredictionNetwork(nn.Module):
    def __init__(self, in_dim, hidden_dim=128, num_anchors=9, num_classes=20, drop_ratio=0.3):
        super().__init__()
        if num_classes <= 0 or num_anchors <= 0:
            raise ValueError(f"num_classes and num_anchors must be positive, got {num_classes}, {num_anchors}")
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.pred_layer = None
        # TODO: Build self.pred_layer, an nn.Sequential of a 1x1 convolution to hidden_dim
        # channels, Dropout(p=drop_ratio), LeakyReLU and a 1x1 convolution to 5*A + C channels
        # (A = num_anchors, C = num_classes): per anchor (conf, t^x, t^y, t^w, t^h), then C
        # class scores shared by the anchors of a cell.
        # *****START OF YOUR CODE*****
        self.pred_layer = nn.Sequential(
            nn.Conv2d(in_dim, hidden_dim, kernel_size=1),
            nn.Dropout(p=drop_ratio),
            nn.LeakyReLU(),
            nn.Conv2d(hidden_dim, 5 * num_anchors + num_classes, kernel_size=1),
        )
        # *****END OF YOUR CODE*****

    def _extract_anchor_data(self, anchor_data, anchor_idx):
        """
        - anchor_data: (B, A, D, H, W), a length-D vector per anchor
        - anchor_idx: (M,) int64 indices into the flattened (B, A, H, W) anchors
        Returns (M, D).
        """
        B, A, D, H, W = anchor_data.shape
        return anchor_data.permute(0, 1, 3, 4, 2).reshape(-1, D)[anchor_idx]

    def _extract_class_scores(self, all_scores, anchor_idx):
        """
        - all_scores: (B, C, H, W) class scores per cell
        - anchor_idx: (M,) int64 indices into the flattened (B, A, H, W) anchors
        Returns (M, C): the scores of each anchor's cell.
        """
        B, C, H, W = all_scores.shape
        A = self.num_anchors
        scores = all_scores.permute(0, 2, 3, 1).reshape(B, 1, H, W, C).expand(B, A, H, W, C)
        return scores.reshape(B * A * H * W, C)[anchor_idx]

    def forward(self, features, pos_anchor_idx=None, neg_anchor_idx=None):
        """
        Inputs:
        - features: (B, in_dim, 7, 7) backbone features
        - pos_anchor_idx, neg_anchor_idx: (M,) int64 indices of positive / negative anchors,
          given at training time only

        Outputs (training):
        - conf_scores: (2M, 1) confidences of the positive then the negative anchors
        - offsets: (M, 4) transforms of the positive anchors
        - class_scores: (M, C) class scores of the positive anchors
        Outputs (inference):
        - conf_scores: (B, A, H, W); offsets: (B, A, 4, H, W); class_scores: (B, C, H, W)

        Confidences go through a sigmoid; t^x and t^y through sigmoid - 0.5 (so they are in
        (-0.5, 0.5)); t^w, t^h and the class scores are left as they are.
        """
        conf_scores, offsets, class_scores = None, None, None
        # TODO: Run self.pred_layer, split its output into the per-anchor part, viewed as
        # (B, A, 5, H, W), and the class scores (B, C, H, W); squash as described above. At
        # training time extract the positive/negative anchors with the helper methods.
        # *****START OF YOUR CODE*****
        B, _, H, W = features.shape
        A = self.num_anchors
        out = self.pred_layer(features)
        anchor_out = out[:, :5 * A].reshape(B, A, 5, H, W)
        class_scores = out[:, 5 * A:]
        conf = torch.sigmoid(anchor_out[:, :, :1])                        # (B, A, 1, H, W)
        offsets = torch.cat([torch.sigmoid(anchor_out[:, :, 1:3]) - 0.5, anchor_out[:, :, 3:]], dim=2)
        if pos_anchor_idx is not None:
            conf_scores = torch.cat([self._extract_anchor_data(conf, pos_anchor_idx),
                                     self._extract_anchor_data(conf, neg_anchor_idx)], dim=0)
            offsets = self._extract_anchor_data(offsets, pos_anchor_idx)
            class_scores = self._extract_class_scores(class_scores, pos_anchor_idx)
        else:
            conf_scores = conf[:, :, 0]
        # *****END OF YOUR CODE*****
        return conf_scores, offsets, class_scores


def ConfScoreRegression(conf_scores, GT_conf_scores):
    """
    Sum-squared error of the confidences, as in YOLO: target 1 for the M positive anchors and
    0 for the M negative ones.

    Inputs:
    - conf_scores: (2M, 1) predicted confidences (positives first)
    - GT_conf_scores: (M,) GT confidences of the positives (only the count M is used)
    """
    target = torch.cat([torch.ones_like(GT_conf_scores), torch.zeros_like(GT_conf_scores)]).view(-1, 1)
    return torch.sum((conf_scores - target) ** 2) / max(target.shape[0], 1)


def BboxRegression(offsets, GT_offsets):
    """
    Sum-squared error of the box transforms (t^x, t^y, t^w, t^h), as in YOLO.

    Inputs: offsets, GT_offsets: (M, 4)
    """
    return torch.sum((offsets - GT_offsets) ** 2) / max(GT_offsets.shape[0], 1)


def _check_images_boxes(images, bboxes):
    if images.dim() != 4:
        raise ValueError(f"images must be (B, 3, H, W) (or cached backbone features), got "
                         f"{tuple(images.shape)}")
    if bboxes.dim() != 3 or bboxes.shape[-1] != 5 or bboxes.shape[0] != images.shape[0]:
        raise ValueError(f"bboxes must be (B, N, 5) with B = {images.shape[0]}, got {tuple(bboxes.shape)}")
    _check_corners(bboxes, "bboxes", allow_padding=True)


class SingleStageDetector(nn.Module):
    def __init__(self):
        super().__init__()
        self.anchor_list = torch.tensor([[1., 1], [2, 2], [3, 3], [4, 4], [5, 5],
                                         [2, 3], [3, 2], [3, 5], [5, 3]])  # READ ONLY
        self.feat_extractor = FeatureExtractor()
        self.num_classes = 20
        self.pred_network = PredictionNetwork(1280, num_anchors=self.anchor_list.shape[0],
                                              num_classes=self.num_classes)

    def forward(self, images, bboxes):
        """
        Training-time forward pass.

        Inputs:
        - images: (B, 3, 224, 224) input images
        - bboxes: (B, N, 5) GT boxes in activation-map coordinates, padded with -1

        Output:
        - total_loss: scalar, w_conf * conf_loss + w_reg * reg_loss + w_cls * cls_loss
        """
        _check_images_boxes(images, bboxes)
        w_conf, w_reg, w_cls = 1, 1, 1
        total_loss = None
        # TODO: i) backbone features; ii) grid (GenerateGrid, on the features' device) and
        # anchors; iii) IoU between anchors and GT boxes and ReferenceOnActivatedAnchors
        # (method='YOLO', neg_thresh=0.2) for the positive/negative anchors and their targets;
        # iv) the prediction network on those anchors; v) ConfScoreRegression, BboxRegression
        # and ObjectClassification, weighted and summed.
        # *****START OF YOUR CODE*****
        features = self.feat_extractor(images)
        B, _, H, W = features.shape
        grid = GenerateGrid(B, W, H, dtype=features.dtype, device=features.device)
        anchors = GenerateAnchor(self.anchor_list.to(features), grid)
        iou_mat = IoU(anchors, bboxes)
        pos_ind, neg_ind, GT_conf, GT_offsets, GT_class, _, _ = ReferenceOnActivatedAnchors(
            anchors, bboxes, grid, iou_mat, neg_thresh=0.2, method='YOLO')
        conf_scores, offsets, class_scores = self.pred_network(features, pos_ind, neg_ind)
        conf_loss = ConfScoreRegression(conf_scores, GT_conf)
        reg_loss = BboxRegression(offsets, GT_offsets)
        anc_per_img = anchors.shape[1] * H * W
        cls_loss = ObjectClassification(class_scores, GT_class, B, anc_per_img, pos_ind)
        total_loss = w_conf * conf_loss + w_reg * reg_loss + w_cls * cls_loss
        # *****END OF YOUR CODE*****
        return total_loss

    def inference(self, images, thresh=0.5, nms_thresh=0.7):
        """
        Inference-time forward pass.

        Inputs:
        - images: (B, 3, 224, 224)
        - thresh: keep anchors whose confidence is > thresh
        - nms_thresh: IoU threshold of the (class-agnostic, per image) NMS

        Outputs (lists of B tensors, P_i kept boxes for image i):
        - final_proposals: (P_i, 4) boxes in activation-map coordinates
        - final_conf_scores: (P_i, 1) confidences
        - final_class: (P_i, 1) int64 class (argmax of the cell's class scores)
        """
        if images.dim() != 4:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        final_proposals, final_conf_scores, final_class = [], [], []
        # TODO: Same steps as forward without targets: features, grid, anchors, all predictions,
        # GenerateProposal (YOLO). Then per image: keep confidences > thresh, run nms with
        # nms_thresh, and append the kept boxes, confidences (unsqueezed to (P, 1)) and classes.
        # Use torch.no_grad().
        # *****START OF YOUR CODE*****
        with torch.no_grad():
            features = self.feat_extractor(images)
            B, _, H, W = features.shape
            grid = GenerateGrid(B, W, H, dtype=features.dtype, device=features.device)
            anchors = GenerateAnchor(self.anchor_list.to(features), grid)
            conf_scores, offsets, class_scores = self.pred_network(features)
            proposals = GenerateProposal(anchors, offsets.permute(0, 1, 3, 4, 2), method='YOLO')
            A = anchors.shape[1]
            cell_class = class_scores.argmax(dim=1)                          # (B, H, W)
            anchor_class = cell_class.unsqueeze(1).expand(B, A, H, W)
            for b in range(B):
                mask = conf_scores[b] > thresh
                boxes, scores, classes = proposals[b][mask], conf_scores[b][mask], anchor_class[b][mask]
                keep = nms(boxes, scores, nms_thresh)
                final_proposals.append(boxes[keep])
                final_conf_scores.append(scores[keep].unsqueeze(1))
                final_class.append(classes[keep].unsqueeze(1))
        # *****END OF YOUR CODE*****
        return final_proposals, final_conf_scores, final_class


def nms(boxes, scores, iou_threshold=0.5, topk=None):
    """
    Non-maximum suppression.

    Inputs:
    - boxes: (N, 4) boxes (x_tl, y_tl, x_br, y_br)
    - scores: (N,) scores
    - iou_threshold: a box is discarded if its IoU with a kept, higher-scoring box is
      > iou_threshold
    - topk: if not None, return only the topk highest-scoring kept boxes

    Output:
    - keep: (num_kept,) int64 indices of the kept boxes, in decreasing order of score (ties:
      lower index first, like torchvision.ops.nms)

    (a5_helper.nms_fast gives the same result without a Python loop over the kept boxes.)
    """
    if boxes.dim() != 2 or boxes.shape[-1] != 4 or scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"boxes must be (N, 4) and scores (N,), got {tuple(boxes.shape)} and "
                         f"{tuple(scores.shape)}")
    if (not boxes.numel()) or (not scores.numel()):
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    _check_corners(boxes, "boxes")
    keep = None
    # TODO: Greedy NMS, on the device of the inputs:
    #   1. take the highest-scoring box among the remaining ones and keep it;
    #   2. remove it and every remaining box whose IoU with it is > iou_threshold;
    #   3. while boxes remain (and fewer than topk are kept), go to 1.
    # Rank the boxes with a stable sort so that tied scores keep the lower index first, as
    # torchvision.ops.nms does (it also compares the IoU with the threshold in float64).
    # Return the kept indices as an int64 tensor.
    # *****START OF YOUR CODE*****
    order = torch.sort(scores, descending=True, stable=True)[1]
    x1, y1, x2, y2 = boxes.unbind(dim=1)
    areas = (x2 - x1) * (y2 - y1)
    kept = []
    while order.numel() > 0:
        i, rest = order[0], order[1:]
        kept.append(i)
        if topk is not None and len(kept) >= topk:
            break
        w = (torch.minimum(x2[rest], x2[i]) - torch.maximum(x1[rest], x1[i])).clamp(min=0)
        h = (torch.minimum(y2[rest], y2[i]) - torch.maximum(y1[rest], y1[i])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        # compared in float64 as torchvision does (a float32 IoU of 0.3 is > 0.3); a NaN IoU
        # (two empty boxes) suppresses nothing
        order = rest[~(iou.double() > iou_threshold)]
    keep = torch.stack(kept)
    # *****END OF YOUR CODE*****
    return keep
