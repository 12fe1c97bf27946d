"""EECS 498-007 A5-2: a two-stage (Faster R-CNN style) object detector.

Stage one, the region proposal network (RPN), scores every anchor as object / background and
regresses a box for it; stage two pools the backbone features inside each proposal with
RoI Align (torchvision.ops.roi_align) and classifies the region. Coordinates are in
activation-map units (7 x 7 for a 224 x 224 image), as in single_stage_detector.py.
"""
import torch
import torch.nn as nn
import torchvision

from a5_helper import *  # noqa: F401,F403  (the course's file re-exports its helpers)
from a5_helper import FeatureExtractor, GenerateGrid, ReferenceOnActivatedAnchors  # noqa: F401
from single_stage_detector import (GenerateAnchor, GenerateProposal, IoU, PredictionNetwork,
                                   _check_images_boxes, nms)


def hello_two_stage_detector():
    print("Hello from two_stage_detector.py!")


class ProposalModule(nn.Module):
    def __init__(self, in_dim, hidden_dim=256, num_anchors=9, drop_ratio=0.3):
        super().__init__()
        if num_anchors <= 0:
            raise ValueError(f"num_anchors must be positive, got {num_anchors}")
        self.num_anchors = num_anchors
        self.pred_layer = None
        # TODO: Build self.pred_layer, an nn.Sequential of a 3x3 convolution to hidden_dim
        # channels (padding that keeps the 7x7 size), Dropout(p=drop_ratio), LeakyReLU and a
        # 1x1 convolution to 6*A channels: per anchor 2 object/background scores and 4 transforms.
        # *****START OF YOUR CODE*****
        self.pred_layer = nn.Sequential(
            nn.Conv2d(in_dim, hidden_dim, kernel_size=3, padding=1),
            nn.Dropout(p=drop_ratio),
            nn.LeakyReLU(),
            nn.Conv2d(hidden_dim, 6 * num_anchors, kernel_size=1),
        )
        # *****END OF YOUR CODE*****

    # the same per-anchor gather as the single-stage detector's prediction network
    _extract_anchor_data = PredictionNetwork._extract_anchor_data

    def forward(self, features, pos_anchor_coord=None, pos_anchor_idx=None, neg_anchor_idx=None):
        """
        Inputs:
        - features: (B, in_dim, H', W') backbone features
        - pos_anchor_coord: (M, 4) positive anchors (training only)
        - pos_anchor_idx, neg_anchor_idx: (M,) int64 anchor indices (training only)

        Outputs (training):
        - conf_scores: (2M, 2) object/background scores of the positive then negative anchors
        - offsets: (M, 4) transforms of the positive anchors
        - proposals: (M, 4) the positive anchors transformed (Faster R-CNN parameterization)
        Outputs (inference): conf_scores (B, A, 2, H', W') and offsets (B, A, 4, H', W').
        """
        if pos_anchor_coord is None or pos_anchor_idx is None or neg_anchor_idx is None:
            mode = 'eval'
        else:
            mode = 'train'
        conf_scores, offsets, proposals = None, None, None
        # TODO: Run self.pred_layer and view the output as (B, A, 6, H', W'): channels 0-1 are
        # the scores, 2-5 the transforms. In training mode extract the positive and negative
        # anchors' scores and the positive anchors' transforms, and apply the transforms to
        # pos_anchor_coord with GenerateProposal(method='FasterRCNN').
        # *****START OF YOUR CODE*****
        B, _, H, W = features.shape
        out = self.pred_layer(features).reshape(B, self.num_anchors, 6, H, W)
        conf_scores, offsets = out[:, :, :2], out[:, :, 2:]
        if mode == 'train':
            conf_scores = torch.cat([self._extract_anchor_data(conf_scores, pos_anchor_idx),
                                     self._extract_anchor_data(conf_scores, neg_anchor_idx)], dim=0)
            offsets = self._extract_anchor_data(offsets, pos_anchor_idx)
            proposals = GenerateProposal(pos_anchor_coord, offsets, method='FasterRCNN')
        # *****END OF YOUR CODE*****
        if mode == 'train':
            return conf_scores, offsets, proposals
        return conf_scores, offsets


def ConfScoreRegression(conf_scores, batch_size):
    """
    Binary cross-entropy (with logits) of the object/background scores: the first M rows
    (positives) have target (1, 0), the last M (negatives) target (0, 1); summed and divided
    by the batch size.
    """
    M = conf_scores.shape[0] // 2
    target = torch.zeros_like(conf_scores)
    target[:M, 0] = 1.
    target[M:, 1] = 1.
    return nn.functional.binary_cross_entropy_with_logits(conf_scores, target, reduction='sum') / batch_size


def BboxRegression(offsets, GT_offsets, batch_size):
    """
    Smooth L1 loss of the box transforms, as in Faster R-CNN; summed, divided by batch size.
    """
    return nn.functional.smooth_l1_loss(offsets, GT_offsets, reduction='sum') / batch_size


class RPN(nn.Module):
    def __init__(self):
        super().__init__()
        # READ ONLY
        self.anchor_list = torch.tensor([[1., 1], [2, 2], [3, 3], [4, 4], [5, 5],
                                         [2, 3], [3, 2], [3, 5], [5, 3]])
        self.feat_extractor = FeatureExtractor()
        self.prop_module = ProposalModule(1280, num_anchors=self.anchor_list.shape[0])

    def forward(self, images, bboxes, output_mode='loss'):
        """
        Training-time forward pass of the RPN.

        Inputs:
        - images: (B, 3, 224, 224); bboxes: (B, N, 5) GT boxes in activation-map coordinates
        - output_mode: 'loss' -> total_loss; 'all' -> (total_loss, pos_conf_scores (M, 1),
          proposals (M, 4), features, GT_class (M,), pos_anchor_idx (M,), anc_per_img)
        """
        w_conf, w_reg = 1, 5
        if output_mode not in ('loss', 'all'):
            raise ValueError(f"output_mode must be 'loss' or 'all', got {output_mode!r}")
        _check_images_boxes(images, bboxes)
        total_loss = None
        conf_scores, proposals, features, GT_class, pos_anchor_idx, anc_per_img = \
            None, None, None, None, None, None
        # TODO: i) features; ii) grid and anchors; iii) IoU and ReferenceOnActivatedAnchors
        # (method='FasterRCNN'); iv) the proposal module on the positive/negative anchors;
        # v) total_loss = w_conf * ConfScoreRegression + w_reg * BboxRegression. For 'all',
        # conf_scores are the positive anchors' object scores, (M, 1).
        # *****START OF YOUR CODE*****
        features = self.feat_extractor(images)
        B, _, H, W = features.shape
        grid = GenerateGrid(B, W, H, dtype=features.dtype, device=features.device)
        anchors = GenerateAnchor(self.anchor_list.to(features), grid)
        iou_mat = IoU(anchors, bboxes)
        pos_anchor_idx, neg_anchor_idx, _, GT_offsets, GT_class, pos_coord, _ = \
            ReferenceOnActivatedAnchors(anchors, bboxes, grid, iou_mat, method='FasterRCNN')
        conf_scores, offsets, proposals = self.prop_module(features, pos_coord, pos_anchor_idx,
                                                           neg_anchor_idx)
        total_loss = (w_conf * ConfScoreRegression(conf_scores, B)
                      + w_reg * BboxRegression(offsets, GT_offsets, B))
        anc_per_img = anchors.shape[1] * H * W
        conf_scores = conf_scores[:pos_anchor_idx.shape[0], :1]
        # *****END OF YOUR CODE*****
        if output_mode == 'loss':
            return total_loss
        return total_loss, conf_scores, proposals, features, GT_class, pos_anchor_idx, anc_per_img

    def inference(self, images, thresh=0.5, nms_thresh=0.7, mode='RPN'):
        """
        Inference-time forward pass of the RPN.

        Inputs:
        - images: (B, 3, H, W)
        - thresh: keep anchors whose object probability (sigmoid of the object score) > thresh
        - nms_thresh: IoU threshold of the per-image NMS
        - mode: 'RPN' or 'FasterRCNN' (then the backbone features are returned too)

        Outputs:
        - final_proposals: list of B tensors (P_i, 4)
        - final_conf_probs: list of B tensors (P_i, 1) of object probabilities
        - features: (B, D, H', W') backbone features ('FasterRCNN'), else a list of dummies
        """
        if mode not in ('RPN', 'FasterRCNN'):
            raise ValueError(f"mode must be 'RPN' or 'FasterRCNN', got {mode!r}")
        features, final_conf_probs, final_proposals = None, [], []
        # TODO: Features, grid, anchors, all scores and transforms; proposals with
        # GenerateProposal(method='FasterRCNN'); per image keep sigmoid(object score) > thresh
        # and run nms. Use torch.no_grad().
        # *****START OF YOUR CODE*****
        with torch.no_grad():
            features = self.feat_extractor(images)
            B, _, H, W = features.shape
            grid = GenerateGrid(B, W, H, dtype=features.dtype, device=features.device)
            anchors = GenerateAnchor(self.anchor_list.to(features), grid)
            conf_scores, offsets = self.prop_module(features)
            probs = torch.sigmoid(conf_scores[:, :, 0])                         # (B, A, H, W)
            proposals = GenerateProposal(anchors, offsets.permute(0, 1, 3, 4, 2), method='FasterRCNN')
            for b in range(B):
                mask = probs[b] > thresh
                boxes, scores = proposals[b][mask], probs[b][mask]
                keep = nms(boxes, scores, nms_thresh)
                final_proposals.append(boxes[keep])
                final_conf_probs.append(scores[keep].unsqueeze(1))
        # *****END OF YOUR CODE*****
        if mode == 'RPN':
            features = [torch.zeros_like(p) for p in final_conf_probs]  # dummy
        return final_proposals, final_conf_probs, features


def _clip_to_map(boxes, features):
    """(K, 4) boxes clipped to the (H', W') feature map; NaN -> 0."""
    H, W = features.shape[-2:]
    boxes = boxes.nan_to_num(0.0)
    return torch.stack([boxes[:, 0].clamp(0, W), boxes[:, 1].clamp(0, H),
                        boxes[:, 2].clamp(0, W), boxes[:, 3].clamp(0, H)], dim=1)


class TwoStageDetector(nn.Module):
    def __init__(self, in_dim=1280, hidden_dim=256, num_classes=20, roi_output_w=2,
                 roi_output_h=2, drop_ratio=0.3):
        super().__init__()
        if num_classes <= 0:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = num_classes
        self.roi_output_w, self.roi_output_h = roi_output_w, roi_output_h
        self.rpn = None
        self.cls_layer = None
        # TODO: self.rpn = an RPN; self.cls_layer = nn.Sequential of Linear(in_dim, hidden_dim),
        # Dropout(p=drop_ratio), ReLU and Linear(hidden_dim, num_classes).
        # *****START OF YOUR CODE*****
        self.rpn = RPN()
        self.cls_layer = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.Dropout(p=drop_ratio),
            nn.ReLU(),
            nn.Linear(hidden_dim, num_classes),
        )
        # *****END OF YOUR CODE*****

    def forward(self, images, bboxes):
        """
        Training-time forward pass.

        Inputs: images (B, 3, H, W); bboxes (B, N, 5) in activation-map coordinates.
        Output: total_loss = RPN loss + cross-entropy of the region classification (summed
        over the positive anchors' proposals, divided by B).
        """
        total_loss = None
        # TODO: i) the RPN with output_mode='all'; ii) RoI Align (torchvision.ops.roi_align,
        # output (roi_output_h, roi_output_w), spatial_scale 1 since proposals are in feature
        # coordinates) of each (detached) proposal on the features of its own image (image
        # index = pos_anchor_idx // anc_per_img), averaged over space; iii) self.cls_layer;
        # iv) cross-entropy with GT_class; v) total_loss = rpn_loss + cls_loss.
        # Clip the proposals to the feature map first (_clip_to_map): early in training the
        # predicted exp(t^w) can be huge, and RoI Align cannot sample an unbounded box.
        # *****START OF YOUR CODE*****
        rpn_loss, _, proposals, features, GT_class, pos_anchor_idx, anc_per_img = \
            self.rpn(images, bboxes, output_mode='all')
        image_of = torch.div(pos_anchor_idx, anc_per_img, rounding_mode='floor').to(features)
        rois = torch.cat([image_of.unsqueeze(1), _clip_to_map(proposals.detach(), features)], dim=1)
        pooled = torchvision.ops.roi_align(features, rois, (self.roi_output_h, self.roi_output_w))
        class_scores = self.cls_layer(pooled.mean(dim=(2, 3)))
        cls_loss = nn.functional.cross_entropy(class_scores, GT_class, reduction='sum') / images.shape[0]
        total_loss = rpn_loss + cls_loss
        # *****END OF YOUR CODE*****
        return total_loss

    def inference(self, images, thresh=0.5, nms_thresh=0.7):
        """
        Inference-time forward pass.

        Inputs: images (B, 3, H, W); thresh: object probability threshold of the RPN;
        nms_thresh: IoU threshold of the RPN's NMS.
        Outputs (lists of B tensors): final_proposals (P_i, 4), final_conf_probs (P_i, 1),
        final_class (P_i, 1) int64 (argmax of the region classifier).
        """
        if images.dim() != 4:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        final_proposals, final_conf_probs, final_class = None, None, None
        # TODO: RPN inference in 'FasterRCNN' mode for proposals, probabilities and features;
        # RoI Align every image's proposals (a list of boxes per image is accepted by
        # roi_align), average over space, classify, and split the classes back per image.
        # *****START OF YOUR CODE*****
        with torch.no_grad():
            final_proposals, final_conf_probs, features = self.rpn.inference(
                images, thresh, nms_thresh, mode='FasterRCNN')
            pooled = torchvision.ops.roi_align(features, [_clip_to_map(p, features) for p in final_proposals],
                                               (self.roi_output_h, self.roi_output_w))
            classes = self.cls_layer(pooled.mean(dim=(2, 3))).argmax(dim=1, keepdim=True)
            final_class = list(torch.split(classes, [p.shape[0] for p in final_proposals]))
        # *****END OF YOUR CODE*****
        return final_proposals, final_conf_probs, final_class
