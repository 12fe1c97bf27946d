"""Helpers for EECS 498-007 A5 (object detection), written for dl4cv.

Same names as the course's helper module: the PASCAL VOC 2007 data set and loader
(`get_pascal_voc2007_data`, `pascal_voc2007_loader`, `voc_collate_fn`, `coord_trans`), the
MobileNet v2 `FeatureExtractor` (with a CIFAR-10-trained fallback when the ImageNet weights
are absent: `ensure_backbone_weights`), `GenerateGrid`, `ReferenceOnActivatedAnchors`,
`ObjectClassification`, the training loop `DetectionSolver` and `DetectionInference`, plus
what the course delegated to an external tool: drawing boxes (`detection_visualizer`) and the
PASCAL VOC mAP evaluation (`voc_ap`, `evaluate_detections`, `plot_pr_curves`).
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

from dl4cv.errors import DataMissingError

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


def hflip_boxes(boxes, w_batch):
    """Mirror (B, N, >=4) pixel boxes left-right in images of widths w_batch (B,):
    (x1, x2) -> (w - x2, w - x1); rows of -1 padding stay -1."""
    out = boxes.clone()
    w = torch.as_tensor(w_batch, dtype=boxes.dtype).view(-1, 1)
    valid = boxes[..., 0] != -1
    out[..., 0] = torch.where(valid, w - boxes[..., 2], boxes[..., 0])
    out[..., 2] = torch.where(valid, w - boxes[..., 0], boxes[..., 2])
    return out


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
def _mobilenet_weights_path():
    from dl4cv.data.fetch import hub_dir
    return hub_dir() / "mobilenet_v2-b0353104.pth"


# The fallback backbone when ImageNet weights are absent: MobileNet v2 trained on the
# CIFAR-10 training images on disk (seeded; cached in dl4cv.paths.cache_dir()).
CIFAR_BACKBONE_FILE = "mobilenet_v2_features_cifar10_a5_v1.pt"
CIFAR_BACKBONE_EPOCHS = 12
CIFAR_BACKBONE_SIZES = (32, 48, 64)     # input sides (CIFAR images upsampled), one per batch


def cifar10_backbone_path():
    from dl4cv.paths import cache_dir
    return cache_dir() / CIFAR_BACKBONE_FILE


def _cifar_to_tensor(x_uint8):
    """(N, 32, 32, 3) [0, 255] array -> (N, 3, 32, 32) float32, ImageNet-normalized (as the
    detection images are in voc_collate_fn)."""
    x = torch.from_numpy(np.asarray(x_uint8, dtype=np.float32) / 255.).permute(0, 3, 1, 2)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def pretrain_mobilenet_on_cifar10(epochs=CIFAR_BACKBONE_EPOCHS, seed=0, batch_size=64, lr=4e-3,
                                  sizes=CIFAR_BACKBONE_SIZES, verbose=True):
    """Train torchvision's MobileNet v2 (features + a linear classifier) on the CIFAR-10
    training images on disk; -> (features state_dict, info dict with test_accuracy, ...).

    The stand-in for ImageNet pretraining when the ImageNet weights cannot be fetched:
    seeded, CPU, random flips and 4-pixel translations, each batch upsampled to a side drawn
    from `sizes` so that the features see objects at several scales, as in the detection
    images. Accuracy is measured on the CIFAR-10 test images (never used for training).
    """
    import torch.nn.functional as F
    from torchvision import models

    from dl4cv.data import load_cifar10
    from dl4cv.torch_train import flipped_batches
    from tqdm.auto import tqdm
    xtr, ytr, xte, yte = load_cifar10(verbose=False)
    Xtr, Xte = _cifar_to_tensor(xtr), _cifar_to_tensor(xte)
    Ytr, Yte = torch.from_numpy(ytr).long(), torch.from_numpy(yte).long()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = models.mobilenet_v2(weights=None, num_classes=10)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps_per_epoch = (len(Xtr) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    bar = tqdm(total=epochs * steps_per_epoch, desc="MobileNet v2 on CIFAR-10", disable=not verbose)
    start = time.time()
    net.train()
    for _ in range(epochs):
        for xb, yb in flipped_batches(Xtr, Ytr, batch_size, gen):
            dx, dy = (int(v) for v in torch.randint(-4, 5, (2,), generator=gen))
            xb = torch.roll(F.pad(xb, (4, 4, 4, 4), mode='reflect'), (dy, dx), (2, 3))[:, :, 4:-4, 4:-4]
            side = sizes[int(torch.randint(len(sizes), (1,), generator=gen))]
            if side != 32:
                xb = F.interpolate(xb, size=(side, side), mode='bilinear', align_corners=False)
            loss = F.cross_entropy(net(xb), yb, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    net.eval()
    accs = {}
    with torch.no_grad():
        for side in sizes:
            correct = 0
            for i in range(0, len(Xte), 256):
                xb = Xte[i:i + 256]
                if side != 32:
                    xb = F.interpolate(xb, size=(side, side), mode='bilinear', align_corners=False)
                correct += int((net(xb).argmax(1) == Yte[i:i + 256]).sum())
            accs[side] = correct / len(Xte)
    info = {"test_accuracy": max(accs.values()), "test_accuracy_by_side": accs,
            "num_train": len(Xtr), "num_test": len(Xte), "epochs": epochs, "seed": seed,
            "sizes": list(sizes), "seconds": time.time() - start}
    return net.features.state_dict(), info


def load_cifar10_backbone(train_if_missing=False, verbose=True):
    """(features state_dict, info) of the cached CIFAR-10 MobileNet v2, or (None, None) when it
    is not cached and train_if_missing is False. Trains (minutes, once) and caches otherwise."""
    import os
    path = cifar10_backbone_path()
    if path.exists():
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        return ckpt["state_dict"], ckpt["info"]
    if not train_if_missing:
        return None, None
    if verbose:
        print("[dl4cv] training MobileNet v2 on the CIFAR-10 training images once "
              f"(cached in {path}) ...", flush=True)
    state, info = pretrain_mobilenet_on_cifar10(verbose=verbose)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"state_dict": state, "info": info}, tmp)
    os.replace(tmp, path)   # atomic: concurrent runs never read half a file
    return state, info


def ensure_backbone_weights(train_cifar_fallback=True):
    """Which weights FeatureExtractor will load: 'imagenet' when they are on disk; else
    'cifar10' once the CIFAR-10 fallback is cached (trained here first, minutes on a CPU,
    when train_cifar_fallback); else 'random'."""
    if _mobilenet_weights_path().exists():
        return 'imagenet'
    state, _ = load_cifar10_backbone(train_if_missing=train_cifar_fallback)
    return 'random' if state is None else 'cifar10'


class FeatureExtractor(nn.Module):
    """MobileNet v2 convolutional trunk: (N, 3, 224, 224) -> (N, 1280, 7, 7).

    Weights, best first: ImageNet from the torch hub cache (`./get_datasets.sh mobilenet_v2`;
    self.pretrained is True only then); else MobileNet v2 trained on the CIFAR-10 training
    images (`load_cifar10_backbone`, used when cached, or trained first when
    cifar_fallback='train'); else random. self.weights_source says which ('imagenet',
    'cifar10', 'random') and a one-line notice says so when it is not ImageNet.
    """

    def __init__(self, reshape_size=224, pooling=False, verbose=False, cifar_fallback='cached'):
        super().__init__()
        from torchvision import models
        if cifar_fallback not in ('cached', 'train', 'none'):
            raise ValueError(f"cifar_fallback must be 'cached', 'train' or 'none', got {cifar_fallback!r}")
        net = models.mobilenet_v2(weights=None)
        path = _mobilenet_weights_path()
        self.pretrained = path.exists()
        self.weights_source = 'imagenet' if self.pretrained else 'random'
        if self.pretrained:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        else:
            state, info = (None, None) if cifar_fallback == 'none' else \
                load_cifar10_backbone(train_if_missing=cifar_fallback == 'train')
            if state is not None:
                net.features.load_state_dict(state)
                self.weights_source = 'cifar10'
                print(f"[dl4cv] MobileNet v2 ImageNet weights not found ({path}): using MobileNet v2 "
                      f"trained on the {info['num_train']:,} CIFAR-10 training images on disk "
                      f"(CIFAR-10 test accuracy {info['test_accuracy']:.1%}) as the backbone "
                      f"(./get_datasets.sh mobilenet_v2 fetches the ImageNet weights)")
            else:
                print(f"[dl4cv] MobileNet v2 ImageNet weights not found ({path}): random init "
                      f"(./get_datasets.sh mobilenet_v2 fetches them)")
        self.mobilenet = net.features
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
class CachedFeatureLoader:
    """Backbone features computed once, served like a VOC loader.

    Iterating yields (features (B, 1280, 7, 7), boxes, w_batch, h_batch, img_ids): with the
    detector's feature extractor swapped for nn.Identity, the detector trains its heads on a
    frozen backbone at a fraction of the cost (what the CPU budget allows).
    """

    def __init__(self, feat_extractor, loader, device='cpu', shuffle=True, seed=0, progress=True,
                 hflip=False):
        """hflip: also cache the features of every image mirrored left-right, with its boxes
        mirrored (x -> width - x): twice the training batches (data augmentation)."""
        from tqdm.auto import tqdm
        self.batches = []
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self.mirrored = []          # whether batch i holds mirrored images
        feat_extractor = feat_extractor.to(device).eval()
        with torch.no_grad():
            for images, boxes, w, h, ids in tqdm(loader, desc="backbone features", disable=not progress):
                self.batches.append((feat_extractor(images.to(device)).cpu(), boxes, w, h, ids))
                self.mirrored.append(False)
                if hflip:
                    self.batches.append((feat_extractor(images.flip(-1).to(device)).cpu(),
                                         hflip_boxes(boxes, w), w, h, ids))
                    self.mirrored.append(True)
        self.dataset = loader.dataset

    def eval_view(self):
        """The cached batches of the original (not mirrored) images, in order, for evaluation."""
        view = CachedFeatureLoader.__new__(CachedFeatureLoader)
        view.__dict__.update(self.__dict__, shuffle=False)
        view.batches = [b for b, m in zip(self.batches, self.mirrored) if not m]
        view.mirrored = [False] * len(view.batches)
        return view

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        order = (torch.randperm(len(self.batches), generator=self.generator).tolist()
                 if self.shuffle else range(len(self.batches)))
        for i in order:
            yield self.batches[i]


def recalibrate_batchnorm(feat_extractor, loader, max_batches=None, device='cpu'):
    """Re-estimate BatchNorm running statistics on `loader`'s images (cumulative average).

    A randomly initialised MobileNet's running statistics (mean 0, var 1) do not match its
    activations; recomputing them keeps the frozen random features well scaled.
    """
    bns = [m for m in feat_extractor.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    feat_extractor.to(device).train()
    with torch.no_grad():
        for i, (images, *_rest) in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            feat_extractor(images.to(device))
    for m, momentum in zip(bns, momenta):  # blocks trained later keep tracking their stats
        m.momentum = momentum
    feat_extractor.eval()


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
                _write_cartucho(Path(output_dir), img_ids[i], det, gt, idx_to_class)
            if shown < num_visualize and dataset is not None:
                img, _ = dataset[len(detections) - 1]
                detection_visualizer(img, idx_to_class, torch.cat([gt[0], gt[1].unsqueeze(1).float()], 1),
                                     torch.cat([p, det[2].unsqueeze(1).float(), det[1].unsqueeze(1)], 1))
                shown += 1
    seconds = time.time() - start
    result = evaluate_detections(detections, ground_truths, num_classes=num_classes)
    result.update(detections=detections, ground_truths=ground_truths, seconds=seconds)
    return result


def _write_cartucho(out, img_id, det, gt, idx_to_class):
    (out / "detection-results").mkdir(parents=True, exist_ok=True)
    (out / "ground-truth").mkdir(parents=True, exist_ok=True)
    name = Path(img_id).stem + ".txt"
    with open(out / "ground-truth" / name, "w") as f:
        for b, c in zip(*gt):
            f.write(f"{idx_to_class[int(c)]} {b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f}\n")
    with open(out / "detection-results" / name, "w") as f:
        for b, s, c in zip(*det):
            f.write(f"{idx_to_class[int(c)]} {float(s):.6f} {b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f}\n")


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


# ----------------------------------------------------------------------------------------
# PASCAL VOC mAP (all-point interpolated average precision)
# ----------------------------------------------------------------------------------------
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


def evaluate_detections(detections, ground_truths, num_classes=NUM_CLASSES, iou_thresh=0.5):
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


def plot_pr_curves(result, idx_to_class=idx_to_class, ax=None, title=None):
    """Precision/recall curve of each class of an `evaluate_detections` result."""
    import matplotlib.pyplot as plt
    show = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    for c, (rec, prec) in result["pr"].items():
        ax.plot(np.concatenate(([0.], rec)), np.concatenate(([1.], prec)), drawstyle='steps-post',
                label=f"{idx_to_class[c]} AP={result['ap'][c]:.2f}")
    ax.set(xlabel='recall', ylabel='precision', xlim=(0, 1), ylim=(0, 1.05),
           title=title or f"mAP@0.5 = {result['mAP']:.3f}")
    ax.legend(fontsize=7)
    if show:
        plt.show()
    return ax


# ----------------------------------------------------------------------------------------
# Which data the notebooks use
# ----------------------------------------------------------------------------------------
def a5_data_root(num_synthetic=300, seed=0, prefer_real=True):
    """(folder holding VOCdevkit/, one-line description).

    Real PASCAL VOC 2007 from dl4cv.paths.data_dir() when it is there and prefer_real;
    otherwise the seeded synthetic set of dl4cv.synthetic_voc (written on first use).
    """
    from dl4cv.paths import data_dir
    from dl4cv.report import note_data
    from dl4cv.synthetic_voc import write_synthetic_voc
    real = data_dir()
    if prefer_real and (real / "VOCdevkit" / "VOC2007" / "Annotations").is_dir():
        note_data("PASCAL VOC 2007")
        return real, f"PASCAL VOC 2007 from {real / 'VOCdevkit'}"
    note_data(f"synthetic VOC-format set: {num_synthetic} images of CIFAR-10 objects (dl4cv.synthetic_voc)")
    root = write_synthetic_voc(num_images=num_synthetic, seed=seed)
    return root, (f"synthetic VOC-format set ({num_synthetic} images of CIFAR-10 objects pasted on "
                  f"backgrounds, seed {seed}, dl4cv.synthetic_voc) in {root}")


def split_backbone(feat_extractor, split_at=14):
    """Split FeatureExtractor's MobileNet v2 into (frozen, trainable) nn.Sequential parts.

    The frozen part's outputs can be cached once (CachedFeatureLoader(frozen, loader)); the
    trainable part then becomes the detector's feature extractor, so the last blocks of the
    backbone learn with the detection heads at a fraction of the cost of the full network.
    split_at=14 caches (B, 96, 14, 14) and trains blocks 14-18 (the 7 x 7 part).
    """
    m = feat_extractor.mobilenet
    if not 0 < split_at < len(m):
        raise ValueError(f"split_at must be in [1, {len(m) - 1}], got {split_at}")
    return m[:split_at], m[split_at:]


# ----------------------------------------------------------------------------------------
# A faster NMS (same result as the greedy loop the students write, and torchvision.ops.nms)
# ----------------------------------------------------------------------------------------
def nms_fast(boxes, scores, iou_threshold=0.5, topk=None):
    """Greedy non-maximum suppression without a Python loop over the kept boxes.

    Same inputs and output as single_stage_detector.nms: boxes (N, 4) (x_tl, y_tl, x_br,
    y_br), scores (N,); returns the int64 indices of the kept boxes in decreasing order of
    score (ties: lower index first, like torchvision.ops.nms).

    How: 1. rank the boxes by score (stable sort); 2. find the pairs that overlap by more than
    the threshold: sorted by x_tl, box p can only overlap the next few boxes p+1 .. p+D
    (torch.searchsorted), and a (boxes x D) band of IoUs built from strided views
    (Tensor.unfold) covers all such pairs; 3. the greedy result is the unique fixed point of
    "a box is kept iff no kept, higher-ranked box overlaps it": start from "all kept" and
    apply this rule to every box at once until nothing changes. When boxes are so crowded
    that the band would be nearly the full N x N matrix, the plain greedy loop is used.
    """
    if boxes.dim() != 2 or boxes.shape[-1] != 4 or scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"boxes must be (N, 4) and scores (N,), got {tuple(boxes.shape)} and "
                         f"{tuple(scores.shape)}")
    if (not boxes.numel()) or (not scores.numel()):
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        raise ValueError(f"boxes: box {boxes[bad][0].tolist()} has x2 < x1 or y2 < y1")
    n, dev = boxes.shape[0], boxes.device
    order = torch.sort(scores, descending=True, stable=True)[1]
    if iou_threshold < 0:  # every pair "overlaps" (IoU >= 0 > threshold): only the best stays
        return order[:1]
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=dev)
    by_x = torch.sort(boxes[:, 0], stable=True)[1]
    bx, rk = boxes[by_x], rank[by_x]
    x1, y1, x2, y2 = (bx[:, c].contiguous() for c in range(4))
    area = (x2 - x1) * (y2 - y1)
    # Box p (in x order) can only overlap boxes q > p with x1[q] < x2[p].
    counts = torch.searchsorted(x1, x2, right=False) - torch.arange(1, n + 1, device=dev)
    D = int(counts.max())
    if D > 1024:
        # Crowded boxes: the greedy loop is cheaper, since each kept box removes many others
        # and the candidate set is compacted as it shrinks.
        cur, idx, kept_pos = boxes[order], order, []
        while idx.numel():
            kept_pos.append(idx[:1])
            if topk is not None and len(kept_pos) >= topk:
                break
            top, cur, idx = cur[0], cur[1:], idx[1:]
            w = (torch.minimum(cur[:, 2], top[2]) - torch.maximum(cur[:, 0], top[0])).clamp_(min=0)
            h = (torch.minimum(cur[:, 3], top[3]) - torch.maximum(cur[:, 1], top[1])).clamp_(min=0)
            inter = w.mul_(h)
            area_top = (top[2] - top[0]) * (top[3] - top[1])
            iou = inter / (area_top + (cur[:, 2] - cur[:, 0]) * (cur[:, 3] - cur[:, 1]) - inter)
            stay = ~(iou.double() > iou_threshold)     # float64 comparison, as torchvision
            cur, idx = cur[stay], idx[stay]
        return torch.cat(kept_pos)
    src, dst = [], []
    if D > 0:
        band = [torch.cat([t, t.new_zeros(D)]).unfold(0, D + 1, 1)[:, 1:]
                for t in (x1, y1, x2, y2, area)]                      # (n, D) views: box p + d
        offsets = torch.arange(1, D + 1, device=dev)
        rows = max(1, 2 ** 21 // D)
        for lo in range(0, n, rows):  # row chunks bound the memory when many boxes overlap
            sl = slice(lo, lo + rows)
            qx1, qy1, qx2, qy2, qa = (t[sl] for t in band)
            w = (torch.minimum(qx2, x2[sl, None]) - torch.maximum(qx1, x1[sl, None])).clamp_(min=0)
            h = (torch.minimum(qy2, y2[sl, None]) - torch.maximum(qy1, y1[sl, None])).clamp_(min=0)
            inter = w.mul_(h)
            # torchvision's arithmetic: float IoU, compared with the threshold in float64
            hit = (inter / (area[sl, None] + qa - inter)).double() > iou_threshold
            hit &= offsets[None, :] <= counts[sl, None]
            r, d = torch.nonzero(hit, as_tuple=True)
            p = r + lo
            rp, rq = rk[p], rk[p + d + 1]
            src.append(torch.minimum(rp, rq))      # the higher-scoring box of the pair ...
            dst.append(torch.maximum(rp, rq))      # ... may suppress the other one
    kept = torch.ones(n, dtype=torch.bool, device=dev)
    if src:
        src, dst = torch.cat(src), torch.cat(dst)
        while True:
            suppressed = torch.zeros(n, dtype=torch.bool, device=dev)
            suppressed[dst[kept[src]]] = True
            if torch.equal(~suppressed, kept):
                break
            kept = ~suppressed
    keep = order[kept]  # kept is indexed by rank, so this is in decreasing score order
    if topk is not None:
        keep = keep[:topk]
    return keep
