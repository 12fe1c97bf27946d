"""Object-detection evaluation: PASCAL VOC mAP (all-point interpolated average precision),
precision/recall curves, and the text files of the Cartucho/mAP tool that EECS 498 A5 used.

    result = evaluate_detections(detections, ground_truths, num_classes=20)
    result["mAP"], result["ap"][c], result["pr"][c] = (recall, precision)
"""
from pathlib import Path

import numpy as np
import torch

# The 20 PASCAL VOC classes in the usual (alphabetical) order.
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')


def voc_ap(rec, prec):
    """Area under the precision/recall curve after making precision monotonically
    non-increasing (VOC 2010+ 'all points' interpolation).

    rec, prec: 1-D arrays of recall and precision after each ranked detection.
    """
    mrec = np.concatenate(([0.], np.asarray(rec, dtype=np.float64), [1.]))
    mpre = np.concatenate(([0.], np.asarray(prec, dtype=np.float64), [0.]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def _pairwise_iou(a, b):
    """a: (P, 4), b: (G, 4) float64 numpy -> (P, G) IoU."""
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _as_numpy(x, dtype):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _check_boxes(boxes, what):
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{what}: boxes must have shape (K, 4), got {boxes.shape}")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        raise ValueError(f"{what}: box {boxes[np.flatnonzero(bad)[0]].tolist()} has x2 < x1 or y2 < y1")


def evaluate_detections(detections, ground_truths, num_classes=len(VOC_CLASSES), iou_thresh=0.5):
    """PASCAL VOC mAP at `iou_thresh`.

    Inputs (one entry per image, tensors or arrays):
    - detections[i] = (boxes (P, 4), scores (P,), classes (P,))
    - ground_truths[i] = (boxes (G, 4), classes (G,))
    For each class, detections of all images are ranked by score; a detection is a true
    positive if its IoU with a not-yet-matched GT box of its class in its image is
    >= iou_thresh (the GT box it overlaps most), otherwise a false positive (so duplicate
    detections of one object count as false positives). AP is `voc_ap` of the resulting
    precision/recall; mAP averages AP over the classes that have at least one GT box.

    Returns dict(mAP, ap={class: AP}, pr={class: (recall, precision)}, num_gt={class: G}).
    """
    if len(detections) != len(ground_truths):
        raise ValueError(f"got {len(detections)} detection lists for {len(ground_truths)} images")
    per_class_dets = {c: [] for c in range(num_classes)}   # (score, image, box)
    gt_by = {}                                              # (image, class) -> boxes
    num_gt = np.zeros(num_classes, dtype=np.int64)
    for i, (det, gt) in enumerate(zip(detections, ground_truths)):
        d_boxes, d_scores, d_cls = (_as_numpy(det[0], np.float64).reshape(-1, 4),
                                    _as_numpy(det[1], np.float64).reshape(-1),
                                    _as_numpy(det[2], np.int64).reshape(-1))
        g_boxes, g_cls = _as_numpy(gt[0], np.float64).reshape(-1, 4), _as_numpy(gt[1], np.int64).reshape(-1)
        if not (len(d_boxes) == len(d_scores) == len(d_cls)):
            raise ValueError(f"image {i}: {len(d_boxes)} boxes, {len(d_scores)} scores, {len(d_cls)} classes")
        if len(g_boxes) != len(g_cls):
            raise ValueError(f"image {i}: {len(g_boxes)} GT boxes but {len(g_cls)} GT classes")
        _check_boxes(d_boxes, f"image {i} detections")
        _check_boxes(g_boxes, f"image {i} ground truth")
        for cls in (d_cls, g_cls):
            if cls.size and (cls.min() < 0 or cls.max() >= num_classes):
                raise ValueError(f"image {i}: class index {int(cls.min() if cls.min() < 0 else cls.max())} "
                                 f"outside [0, {num_classes})")
        for c in np.unique(g_cls):
            gt_by[(i, int(c))] = g_boxes[g_cls == c]
            num_gt[c] += int((g_cls == c).sum())
        for b, s, c in zip(d_boxes, d_scores, d_cls):
            per_class_dets[int(c)].append((s, i, b))

    ap, pr = {}, {}
    for c in range(num_classes):
        if num_gt[c] == 0:
            continue
        dets = per_class_dets[c]
        order = np.argsort(-np.array([d[0] for d in dets]), kind='stable') if dets else []
        matched = {key: np.zeros(len(v), bool) for key, v in gt_by.items() if key[1] == c}
        tp = np.zeros(len(dets))
        for rank, k in enumerate(order):
            _, img, box = dets[k]
            gts = gt_by.get((img, c))
            if gts is None:
                continue
            ious = _pairwise_iou(box[None], gts)[0]
            j = int(np.argmax(ious))
            if ious[j] >= iou_thresh and not matched[(img, c)][j]:
                matched[(img, c)][j] = True
                tp[rank] = 1
        ctp = np.cumsum(tp)
        rec = ctp / num_gt[c]
        prec = ctp / np.arange(1, len(tp) + 1)
        ap[c] = voc_ap(rec, prec)
        pr[c] = (rec, prec)
    mAP = float(np.mean(list(ap.values()))) if ap else 0.0
    return {"mAP": mAP, "ap": ap, "pr": pr, "num_gt": {c: int(n) for c, n in enumerate(num_gt) if n}}


def plot_pr_curves(result, idx_to_class=None, ax=None, title=None):
    """Precision/recall curve of each class of an `evaluate_detections` result."""
    import matplotlib.pyplot as plt
    if idx_to_class is None:
        idx_to_class = dict(enumerate(VOC_CLASSES))
    show = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    for c, (rec, prec) in result["pr"].items():
        ax.plot(np.concatenate(([0.], rec)), np.concatenate(([1.], prec)), drawstyle='steps-post',
                label=f"{idx_to_class.get(c, c)} AP={result['ap'][c]:.2f}")
    ax.set(xlabel='recall', ylabel='precision', xlim=(0, 1), ylim=(0, 1.05),
           title=title or f"mAP@0.5 = {result['mAP']:.3f}")
    ax.legend(fontsize=7)
    if show:
        plt.show()
    return ax


def write_cartucho(out, img_id, det, gt, idx_to_class):
    """Write one image's detections (boxes, scores, classes) and ground truth (boxes, classes)
    as text files in the format of the Cartucho/mAP tool the course used:
    out/detection-results/<id>.txt and out/ground-truth/<id>.txt."""
    out = Path(out)
    (out / "detection-results").mkdir(parents=True, exist_ok=True)
    (out / "ground-truth").mkdir(parents=True, exist_ok=True)
    name = Path(img_id).stem + ".txt"
    with open(out / "ground-truth" / name, "w") as f:
        for b, c in zip(*gt):
            f.write(f"{idx_to_class[int(c)]} {b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f}\n")
    with open(out / "detection-results" / name, "w") as f:
        for b, s, c in zip(*det):
            f.write(f"{idx_to_class[int(c)]} {float(s):.6f} {b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f}\n")
