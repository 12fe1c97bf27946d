"""Helpers for EECS 498-007 A5 (object detection), written for dl4cv.

Same names as the course's helper module: the PASCAL VOC 2007 data set and loader
(`get_pascal_voc2007_data`, `pascal_voc2007_loader`, `voc_collate_fn`, `coord_trans`), the
MobileNet v2 `FeatureExtractor`, `GenerateGrid`, `ReferenceOnActivatedAnchors`,
`ObjectClassification`, the training loop `DetectionSolver`, `DetectionEvaluater`,
`DetectionInference` and drawing boxes (`data_visualizer`).

Re-exported from the runtime for the notebooks' `from a5_helper import *` (not course code):
the PASCAL VOC mAP evaluation the course delegated to an external tool (`dl4cv.detection_eval`:
`voc_ap`, `evaluate_detections`, `plot_pr_curves`), the MobileNet stand-in for absent ImageNet
weights (`dl4cv.standins.mobilenet`: `ensure_backbone_weights`, ...) and the CPU-budget
training pieces (`dl4cv.standins.cpu_detection`: `split_backbone`, `CachedFeatureLoader`,
`recalibrate_batchnorm`, `hflip_boxes`, `nms_fast`).
"""
import math
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

from dl4cv.detection_eval import evaluate_detections, plot_pr_curves, voc_ap, write_cartucho  # noqa: F401
from dl4cv.errors import DataMissingError
from dl4cv.standins.cpu_detection import (CachedFeatureLoader, hflip_boxes, nms_fast,  # noqa: F401
                                          recalibrate_batchnorm, split_backbone)
from dl4cv.standins.mobilenet import (FALLBACKS, cifar10_backbone_path, ensure_backbone_weights,  # noqa: F401
                                      load_cifar10_backbone, mobilenet_v2_features,
                                      pretrain_mobilenet_on_cifar10)

# --- Pascal classes (the course's 20-class list and order) ---
class_to_idx = {'aeroplane': 0, 'bicycle': 1, 'bird': 2, 'boat': 3, 'bottle': 4,
                'bus': 5, 'car': 6, 'cat': 7, 'chair': 8, 'cow': 9, 'diningtable': 10,
                'dog': 11, 'horse': 12, 'motorbike': 13, 'person': 14, 'pottedplant': 15,
                'sheep': 16, 'sofa': 17, 'train': 18, 'tvmonitor': 19}
idx_to_class = {i: c for c, i in class_to_idx.items()}
NUM_CLASSES = len(class_to_idx)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def hello_helper():
    print("Hello from a5_helper.py!")


# ----------------------------------------------------------------------------------------
# Data: PASCAL VOC 2007 in the official layout
# ----------------------------------------------------------------------------------------
def parse_voc_annotation(xml_path):
    """One VOC XML file -> dict(filename, width, height, objects=[(name, x1, y1, x2, y2, difficult)],
    annotation=...): 'annotation' is the nested dict of torchvision's VOCDetection (the course's
    data set), {'filename', 'size': {'width', 'height', 'depth'}, 'object': [{'name',
    'bndbox': {'xmin', 'ymin', 'xmax', 'ymax'}, 'difficult'}, ...]} with the XML's text values,
    so the course's code that reads `ann['annotation']['object']` works on our data set too.

    Raises ValueError for an image without objects, an unknown class name or a box with
    xmax < xmin / ymax < ymin (the file is named in the message).
    """
    xml_path = Path(xml_path)
    root = ET.parse(xml_path).getroot()
    size = root.find("size")
    width, height = int(float(size.findtext("width"))), int(float(size.findtext("height")))
    objects, raw_objects = [], []
    for obj in root.findall("object"):
        name = obj.findtext("name").strip()
        if name not in class_to_idx:
            raise ValueError(f"{xml_path.name}: unknown class {name!r} (expected one of the 20 "
                             f"PASCAL VOC classes)")
        bb = obj.find("bndbox")
        x1, y1, x2, y2 = (float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        if x2 < x1 or y2 < y1:
            raise ValueError(f"{xml_path.name}: box of {name!r} has xmax < xmin or ymax < ymin: "
                             f"({x1}, {y1}, {x2}, {y2})")
        objects.append((name, x1, y1, x2, y2, int(obj.findtext("difficult") or 0)))
        raw_objects.append({"name": name, "difficult": obj.findtext("difficult") or "0",
                            "bndbox": {k: bb.findtext(k).strip() for k in ("xmin", "ymin", "xmax", "ymax")}})
    if not objects:
        raise ValueError(f"{xml_path.name}: image has no annotated objects")
    filename = root.findtext("filename") or xml_path.stem + ".jpg"
    annotation = {"filename": filename, "object": raw_objects,
                  "size": {"width": size.findtext("width"), "height": size.findtext("height"),
                           "depth": size.findtext("depth") or "3"}}
    return {"filename": filename, "width": width, "height": height, "objects": objects,
            "annotation": annotation}


class VOC2007Detection(Dataset):
    """VOCdevkit/VOC2007 under `image_root`, one split of ImageSets/Main.

    dataset[i] -> (PIL image, annotation dict as returned by `parse_voc_annotation`).
    All annotations are parsed (and validated) when the data set is built.
    """

    def __init__(self, image_root, split='train'):
        self.voc_dir = Path(image_root) / "VOCdevkit" / "VOC2007"
        split_file = self.voc_dir / "ImageSets" / "Main" / f"{split}.txt"
        if not (self.voc_dir / "Annotations").is_dir():
            raise DataMissingError("PASCAL VOC 2007 (VOCdevkit/VOC2007)", "voc2007", self.voc_dir)
        if not split_file.exists():
            raise ValueError(f"no split {split!r}: {split_file} does not exist")
        self.ids = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
        self.annotations = [parse_voc_annotation(self.voc_dir / "Annotations" / f"{i}.xml")
                            for i in self.ids]

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        from PIL import Image
        path = self.voc_dir / "JPEGImages" / f"{self.ids[index]}.jpg"
        with Image.open(path) as img:
            img = img.convert("RGB")
        return img, self.annotations[index]


def get_pascal_voc2007_data(image_root, split='train'):
    """The VOC 2007 `split` ('train', 'val', 'trainval', 'test') found under image_root."""
    return VOC2007Detection(image_root, split)


def voc_collate_fn(batch_lst, reshape_size=224):
    """Resize to reshape_size x reshape_size, normalize with the ImageNet statistics, pad boxes.

    Returns:
    - img_batch: (B, 3, reshape_size, reshape_size) float32
    - box_batch: (B, N, 5) boxes (x_tl, y_tl, x_br, y_br, class) in ORIGINAL image pixels,
      padded with rows of -1 (N = most objects in one image of the batch)
    - w_batch, h_batch: (B,) original widths and heights
    - img_id_list: list of B file names
    """
    from PIL import Image
    batch_size = len(batch_lst)
    img_batch = torch.zeros(batch_size, 3, reshape_size, reshape_size)
    max_num_box = max(len(ann["objects"]) for _, ann in batch_lst)
    box_batch = torch.full((batch_size, max_num_box, 5), -1.)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    w_list, h_list, img_id_list = [], [], []
    for i, (img, ann) in enumerate(batch_lst):
        w_list.append(img.size[0])
        h_list.append(img.size[1])
        img_id_list.append(ann["filename"])
        resized = img.resize((reshape_size, reshape_size), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(resized, dtype=np.float32) / 255.).permute(2, 0, 1)
        img_batch[i] = (x - mean) / std
        for j, (name, x1, y1, x2, y2, _) in enumerate(ann["objects"]):
            box_batch[i, j] = torch.tensor([x1, y1, x2, y2, class_to_idx[name]])
    return img_batch, box_batch, torch.tensor(w_list), torch.tensor(h_list), img_id_list


def pascal_voc2007_loader(dataset, batch_size, num_workers=0, shuffle=False):
    """DataLoader over a VOC data set with `voc_collate_fn` (no shuffling by default, as in
    the course, so that batch i holds images i*batch_size...)."""
    generator = torch.Generator().manual_seed(0) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                      collate_fn=voc_collate_fn, generator=generator)


def coord_trans(bbox, w_pixel, h_pixel, w_amap=7, h_amap=7, mode='a2p'):
    """Convert box coordinates between image pixels and the activation-map grid.

    Inputs:
    - bbox: boxes, anchors or proposals, of shape (B, *, >=4); only the first 4 values of the
      last dim are transformed; rows of -1 (padding) stay -1
    - w_pixel, h_pixel: (B,) tensors (or scalars) of original image widths / heights
    - w_amap, h_amap: activation map size (7 x 7 for a 224 x 224 MobileNet v2 input)
    - mode: 'p2a' (pixels -> activation map) or 'a2p' (activation map -> pixels)
    Output: boxes of the same shape as bbox.
    """
    if mode not in ('p2a', 'a2p'):
        raise ValueError(f"mode must be 'p2a' or 'a2p', got {mode!r}")
    if bbox.shape[-1] < 4:
        raise ValueError(f"bbox must have >= 4 values in its last dim, got shape {tuple(bbox.shape)}")
    if bbox.shape[0] == 0:
        return bbox
    resized = bbox.clone().reshape(bbox.shape[0], -1, bbox.shape[-1])
    invalid = resized == -1
    w_ratio = torch.as_tensor(w_pixel, dtype=resized.dtype, device=resized.device).reshape(-1, 1) / w_amap
    h_ratio = torch.as_tensor(h_pixel, dtype=resized.dtype, device=resized.device).reshape(-1, 1) / h_amap
    if mode == 'p2a':
        w_ratio, h_ratio = 1. / w_ratio, 1. / h_ratio
    resized[:, :, [0, 2]] *= w_ratio.unsqueeze(-1)
    resized[:, :, [1, 3]] *= h_ratio.unsqueeze(-1)
    resized.masked_fill_(invalid, -1)
    return resized.reshape(bbox.shape)


# ----------------------------------------------------------------------------------------
# Backbone and the given detection pieces
# ----------------------------------------------------------------------------------------
class FeatureExtractor(nn.Module):
    """MobileNet v2 convolutional trunk: (N, 3, 224, 224) -> (N, 1280, 7, 7).

    Weights (`dl4cv.standins.mobilenet`, the same lookup as A4's FeatureExtractor), best
    first: ImageNet from the torch hub cache (`./get_datasets.sh mobilenet_v2`; self.pretrained
    is True only then); else MobileNet v2 trained on the CIFAR-10 training images (used when
    cached, or trained first when cifar_fallback='train'); else a seeded random init with
    calibrated BatchNorm statistics (cifar_fallback='none': always). self.weights_source says
    which ('imagenet', 'cifar10', 'random') and a one-line notice says so when it is not ImageNet.
    """

    def __init__(self, reshape_size=224, pooling=False, verbose=False, cifar_fallback='cached'):
        super().__init__()
        if cifar_fallback not in FALLBACKS:
            raise ValueError(f"cifar_fallback must be 'cached', 'train' or 'none', got {cifar_fallback!r}")
        features, self.weights_source, _ = mobilenet_v2_features(cifar_fallback)
        self.pretrained = self.weights_source == 'imagenet'
        self.mobilenet = features
        if pooling:
            self.mobilenet.add_module('LastAvgPool', nn.AvgPool2d(math.ceil(reshape_size / 32.)))
        if verbose:
            print(self.mobilenet)

    def forward(self, img, verbose=False):
        """img: (N, 3, 224, 224) normalized images -> feat: (N, 1280, 7, 7) (or (N, 1280) pooled)."""
        feat = self.mobilenet(img)
        if feat.shape[-1] == 1 and feat.shape[-2] == 1:
            feat = feat.flatten(1)
        if verbose:
            print('Output feature shape: ', feat.shape)
        return feat


def GenerateGrid(batch_size, w_amap=7, h_amap=7, dtype=torch.float32, device='cpu'):
    """Centers of the activation-map cells, in activation-map coordinates.

    Output: grid of shape (B, H', W', 2); grid[b, i, j] = (j + 0.5, i + 0.5) = (x, y).
    """
    xs = torch.arange(w_amap, dtype=dtype, device=device) + 0.5
    ys = torch.arange(h_amap, dtype=dtype, device=device) + 0.5
    grid = torch.stack([xs.view(1, -1).expand(h_amap, w_amap),
                        ys.view(-1, 1).expand(h_amap, w_amap)], dim=-1)
    return grid.unsqueeze(0).repeat(batch_size, 1, 1, 1)


def ReferenceOnActivatedAnchors(anchors, bboxes, grid, iou_mat, pos_thresh=0.7, neg_thresh=0.3,
                                method='FasterRCNN'):
    """Pick positive (activated) and negative anchors and their training targets.

    YOLO: the grid cell whose center is nearest (Manhattan distance) to a GT box center is
    responsible for it, and among that cell's A anchors the one with the largest IoU is
    activated. Faster R-CNN: an anchor is positive if it has the largest IoU with some GT box
    or IoU > pos_thresh with any; its target is the GT box it overlaps most. Both: anchors
    whose largest IoU is below neg_thresh are negatives; M of them are sampled at random.

    Inputs:
    - anchors: (B, A, H', W', 4); bboxes: (B, N, 5) padded with -1; grid: (B, H', W', 2);
      iou_mat: (B, A*H'*W', N)
    Outputs:
    - activated_anc_ind: (M,) indices into the flattened (B*A*H'*W') anchors
    - negative_anc_ind: (M,) indices of sampled negative anchors
    - GT_conf_scores: (M,) IoU of each activated anchor with its GT box
    - GT_offsets: (M, 4) regression targets (t^x, t^y, t^w, t^h)
    - GT_class: (M,) int64 class of the GT box
    - activated_anc_coord, negative_anc_coord: (M, 4) anchor boxes (for drawing)
    """
    if method not in ('FasterRCNN', 'YOLO'):
        raise ValueError(f"method must be 'FasterRCNN' or 'YOLO', got {method!r}")
    B, A, h_amap, w_amap, _ = anchors.shape
    N = bboxes.shape[1]
    num_anc = A * h_amap * w_amap
    valid_box = bboxes[:, :, 0] != -1                                     # (B, N)
    max_iou_per_anc, max_iou_per_anc_ind = iou_mat.max(dim=-1)            # (B, A*H*W)

    if method == 'FasterRCNN':
        max_iou_per_box = iou_mat.max(dim=1, keepdim=True)[0]             # (B, 1, N)
        mask = (iou_mat == max_iou_per_box) & (max_iou_per_box > 0)
        mask |= iou_mat > pos_thresh
        mask &= valid_box.unsqueeze(1)
        activated_anc_mask = mask.any(dim=-1)                             # (B, A*H*W)
        activated_anc_ind = torch.nonzero(activated_anc_mask.view(-1)).squeeze(-1)
        GT_conf_scores = max_iou_per_anc.view(-1)[activated_anc_ind]
        flat_box = torch.gather(bboxes, 1, max_iou_per_anc_ind.unsqueeze(-1).expand(B, num_anc, 5))
        matched = flat_box.reshape(-1, 5)[activated_anc_ind]
    else:
        centers = (bboxes[:, :, :2] + bboxes[:, :, 2:4]) / 2.                 # (B, N, 2)
        dist = (grid.reshape(B, -1, 1, 2) - centers.unsqueeze(1)).abs().sum(-1)  # (B, H*W, N)
        grid_mask = (dist == dist.min(dim=1, keepdim=True)[0]).unsqueeze(1)      # (B, 1, H*W, N)
        iou4 = iou_mat.view(B, A, h_amap * w_amap, N)
        anc_mask = iou4 == iou4.max(dim=1, keepdim=True)[0]                      # (B, A, H*W, N)
        pair_mask = (grid_mask & anc_mask).view(B, num_anc, N) & valid_box.unsqueeze(1)
        pair_ind = torch.nonzero(pair_mask.view(-1)).squeeze(-1)                 # (anchor, box) pairs
        GT_conf_scores = iou_mat.reshape(-1)[pair_ind]
        b_of_pair = pair_ind // (num_anc * N)
        matched = bboxes[b_of_pair, pair_ind % N]
        activated_anc_ind = pair_ind // N

    GT_class = matched[:, 4].long()
    matched = matched[:, :4]
    activated_anc_coord = anchors.reshape(-1, 4)[activated_anc_ind]
    anc_wh = activated_anc_coord[:, 2:4] - activated_anc_coord[:, :2]
    wh_offsets = torch.log((matched[:, 2:4] - matched[:, :2]) / anc_wh)
    xy_offsets = (matched[:, :2] + matched[:, 2:4] - activated_anc_coord[:, :2]
                  - activated_anc_coord[:, 2:4]) / 2.
    if method == 'FasterRCNN':
        xy_offsets = xy_offsets / anc_wh
    GT_offsets = torch.cat((xy_offsets, wh_offsets), dim=-1)

    negative_pool = torch.nonzero((max_iou_per_anc < neg_thresh).view(-1)).squeeze(-1)
    M = activated_anc_ind.shape[0]
    if negative_pool.numel() == 0 and M > 0:
        raise ValueError(f"no anchor has IoU < neg_thresh={neg_thresh} with every GT box")
    pick = torch.randint(0, max(negative_pool.shape[0], 1), (M,), device=negative_pool.device)
    negative_anc_ind = negative_pool[pick] if M > 0 else negative_pool[:0]
    negative_anc_coord = anchors.reshape(-1, 4)[negative_anc_ind]
    return (activated_anc_ind, negative_anc_ind, GT_conf_scores, GT_offsets, GT_class,
            activated_anc_coord, negative_anc_coord)


def ObjectClassification(class_prob, GT_class, batch_size, anc_per_img, activated_anc_ind):
    """Softmax cross-entropy over the activated anchors, averaged within each image first and
    then over the batch (so images with many objects do not dominate).

    Inputs: class_prob: (M, C) logits; GT_class: (M,) int64; anc_per_img: anchors per image;
    activated_anc_ind: (M,) flattened anchor indices (image = index // anc_per_img).
    """
    all_loss = nn.functional.cross_entropy(class_prob, GT_class, reduction='none')
    image = torch.div(activated_anc_ind, int(anc_per_img), rounding_mode='floor')
    sums = torch.zeros(batch_size, dtype=all_loss.dtype, device=all_loss.device).index_add_(0, image, all_loss)
    counts = torch.bincount(image, minlength=batch_size).to(all_loss.dtype)
    return (sums / counts.clamp(min=1)).sum() / batch_size


# ----------------------------------------------------------------------------------------
# Training and inference loops
# ----------------------------------------------------------------------------------------
def DetectionSolver(detector, train_loader, learning_rate=3e-3, lr_decay=1, num_epochs=20,
                    dtype=torch.float32, device='cpu', optimizer='sgd', momentum=0.0,
                    weight_decay=0.0, time_budget_s=None, show_plot=True, progress=True, **kwargs):
    """Train `detector` (whose forward(images, boxes) returns the loss) on `train_loader`.

    Boxes from the loader are in image pixels and are converted to the 7x7 activation-map
    coordinates with coord_trans. optimizer: 'sgd' (the course's) or 'adam'. Stops early
    when `time_budget_s` is spent. Returns the per-iteration loss history (list of floats)
    and plots it (per iteration and per epoch) unless show_plot is False.
    """
    from tqdm.auto import tqdm
    detector.to(dtype=dtype, device=device)
    params = [p for p in detector.parameters() if p.requires_grad]
    if optimizer == 'adam':
        opt = optim.Adam(params, learning_rate, weight_decay=weight_decay)
    elif optimizer == 'sgd':
        opt = optim.SGD(params, learning_rate, momentum=momentum, weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    scheduler = optim.lr_scheduler.LambdaLR(opt, lambda epoch: lr_decay ** epoch)
    loss_history, epoch_loss_history = [], []
    start = time.time()
    detector.train()
    bar = tqdm(range(num_epochs), desc="epochs", disable=not progress)
    for _epoch in bar:
        epoch_loss, seen = 0.0, 0
        for images, boxes, w_batch, h_batch, _ in train_loader:
            resized_boxes = coord_trans(boxes, w_batch, h_batch, mode='p2a')
            images = images.to(dtype=dtype, device=device)
            resized_boxes = resized_boxes.to(dtype=dtype, device=device)
            loss = detector(images, resized_boxes)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_history.append(loss.item())
            epoch_loss += loss.item() * images.shape[0]
            seen += images.shape[0]
        epoch_loss_history.append(epoch_loss / max(seen, 1))
        bar.set_postfix(loss=f"{epoch_loss_history[-1]:.4f}")
        scheduler.step()
        if time_budget_s is not None and time.time() - start > time_budget_s:
            break
    detector.eval()
    if show_plot:
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        axes[0].plot(loss_history)
        axes[0].set(xlabel='Iteration', ylabel='Loss', title='Training loss history')
        axes[1].plot(epoch_loss_history)
        axes[1].set(xlabel='Epoch', ylabel='Loss', title='Loss per epoch')
        plt.tight_layout()
        plt.show()
    return loss_history


def DetectionEvaluater(detector, loader, dtype=torch.float32, device='cpu', **kwargs):
    """Mean training loss of `detector` (forward(images, boxes) -> loss) over `loader`,
    in eval mode and without gradients (the course's check after reloading saved weights).

    Returns the loss per image as a 0-dim tensor and prints it.
    """
    detector.to(dtype=dtype, device=device)
    detector.eval()
    total, seen = 0.0, 0
    with torch.no_grad():
        for images, boxes, w_batch, h_batch, _ in loader:
            resized_boxes = coord_trans(boxes, w_batch, h_batch, mode='p2a')
            images = images.to(dtype=dtype, device=device)
            resized_boxes = resized_boxes.to(dtype=dtype, device=device)
            total = total + detector(images, resized_boxes) * images.shape[0]
            seen += images.shape[0]
    epoch_loss = total / max(seen, 1)
    print(f'Epoch loss: {float(epoch_loss):.4f}')
    return epoch_loss


def DetectionInference(detector, data_loader, dataset=None, idx_to_class=idx_to_class, thresh=0.8,
                       nms_thresh=0.3, output_dir=None, dtype=torch.float32, device='cpu',
                       num_visualize=None, num_classes=NUM_CLASSES):
    """Run detector.inference over a loader; collect detections and ground truth in image
    pixels; draw the first `num_visualize` images (needs `dataset`); return the evaluation
    of `evaluate_detections` plus 'detections', 'ground_truths' and 'seconds'.

    output_dir: if given, also write one text file per image in the format of the
    Cartucho/mAP tool the course used (detection-results/ and ground-truth/).
    num_visualize: None (default) draws every image when `dataset` is given and `output_dir`
    is not, as the course's version did; else that many images (0: none).
    """
    if num_visualize is None:
        num_visualize = float('inf') if dataset is not None and output_dir is None else 0
    detector.to(dtype=dtype, device=device).eval()
    start = time.time()
    detections, ground_truths, shown = [], [], 0
    for images, boxes, w_batch, h_batch, img_ids in data_loader:
        with torch.no_grad():
            props, scores, classes = detector.inference(images.to(dtype=dtype, device=device),
                                                        thresh=thresh, nms_thresh=nms_thresh)
        for i in range(images.shape[0]):
            p = props[i].detach().cpu().float().reshape(-1, 4)
            p = coord_trans(p.unsqueeze(0), w_batch[i:i + 1], h_batch[i:i + 1], mode='a2p')[0]
            p[:, 0::2] = p[:, 0::2].clamp(0, float(w_batch[i]))
            p[:, 1::2] = p[:, 1::2].clamp(0, float(h_batch[i]))
            det = (p, scores[i].detach().cpu().float().reshape(-1), classes[i].detach().cpu().long().reshape(-1))
            valid = boxes[i][:, 0] != -1
            gt = (boxes[i][valid, :4], boxes[i][valid, 4].long())
            detections.append(det)
            ground_truths.append(gt)
            if output_dir is not None:
                write_cartucho(output_dir, img_ids[i], det, gt, idx_to_class)
            if shown < num_visualize and dataset is not None:
                img, _ = dataset[len(detections) - 1]
                detection_visualizer(img, idx_to_class, torch.cat([gt[0], gt[1].unsqueeze(1).float()], 1),
                                     torch.cat([p, det[2].unsqueeze(1).float(), det[1].unsqueeze(1)], 1))
                shown += 1
    seconds = time.time() - start
    result = evaluate_detections(detections, ground_truths, num_classes=num_classes)
    result.update(detections=detections, ground_truths=ground_truths, seconds=seconds)
    return result


# ----------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------
def detection_visualizer(img, idx_to_class=idx_to_class, bbox=None, pred=None, ax=None, title=None):
    """Draw an image with GT boxes (green) and predictions (red, with scores).

    Inputs:
    - img: PIL image, (H, W, 3) uint8 array or (3, H, W) tensor
    - bbox: (N, 4) or (N, 5) GT boxes (x_tl, y_tl, x_br, y_br[, class]) in image pixels
    - pred: (P, 4), (P, 5) or (P, 6) predicted boxes (+ class, + score) in image pixels
    """
    import matplotlib.pyplot as plt
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu()
        img = img.permute(1, 2, 0).numpy() if img.shape[0] == 3 else img.numpy()
    img = np.asarray(img)
    show = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(img)
    ax.axis('off')
    for boxes, color in ((bbox, 'lime'), (pred, 'red')):
        if boxes is None:
            continue
        for row in torch.as_tensor(boxes).tolist():
            x1, y1, x2, y2 = row[:4]
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color=color, lw=2))
            label = idx_to_class.get(int(row[4]), str(int(row[4]))) if len(row) > 4 else ""
            if len(row) > 5:
                label += f" {row[5]:.2f}"
            if label:
                ax.text(x1, y1, label, color='white', fontsize=8, va='bottom',
                        bbox=dict(facecolor=color, alpha=0.7, pad=1, lw=0))
    if title:
        ax.set_title(title)
    if show:
        plt.show()
    return ax


data_visualizer = detection_visualizer


