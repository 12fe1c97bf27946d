"""The ONE pretrained-network source for network visualization and style transfer
(CS231n assignment 3 and EECS 498 A4).

Real path: torchvision's `squeezenet1_1` ImageNet weights from the torch hub cache and the
course's `imagenet_val_25.npz` (`./get_datasets.sh squeezenet imagenet_val`).

Fallback (no internet, no weights): the stand-in of `dl4cv.standins.cifar_cnn`, a small CNN
that the project trains on the CIFAR-10 subset on disk (seeded, ~20 s on 2 CPU cores, cached,
test accuracy reported) and CIFAR-10 test images. Its conv stack is also the feature network
for style transfer. Every entry point prints one line saying which is used.

    vm = load_vision_model()          # VisionModel: .model, .features, .image_size, ...
    X, y, class_names = load_images(vm, num=5)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from dl4cv.errors import DataMissingError
from dl4cv.images import SQUEEZENET_MEAN, SQUEEZENET_STD
from dl4cv.paths import data_dir
from dl4cv.report import note_data
# the stand-in (no ImageNet weights here); re-exported: pretrained.load_fallback_cnn, ...
from dl4cv.standins.cifar_cnn import (CifarCNN, cifar_test_images, load_fallback_cnn,  # noqa: F401
                                      normalize_cifar, write_imagenet_val_sample)

SQUEEZENET_FILE = "squeezenet1_1-b8a52dc0.pth"
IMAGENET_VAL_FILE = "imagenet_val_25.npz"


def squeezenet_weights_path() -> Path:
    """Where `./get_datasets.sh squeezenet` puts the weights (torch hub's checkpoint folder)."""
    from dl4cv.data.fetch import hub_dir
    return hub_dir() / SQUEEZENET_FILE


def imagenet_val_path() -> Path:
    return data_dir() / IMAGENET_VAL_FILE


def imagenet_class_names() -> Dict[int, str]:
    """The 1000 ImageNet class names (shipped with torchvision, no download)."""
    from torchvision.models import SqueezeNet1_1_Weights
    return dict(enumerate(SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"]))


def _forced_fallback() -> bool:
    return os.environ.get("DL4CV_FALLBACK", "").strip().lower() not in ("", "0", "false", "no")


def real_available() -> bool:
    """True when both the SqueezeNet weights and imagenet_val_25.npz are on disk."""
    return (not _forced_fallback() and squeezenet_weights_path().exists()
            and imagenet_val_path().exists())


# ----------------------------------------------------------------------------------------
# ImageNet val sample: the course's file format (X: (N, 224, 224, 3) uint8, y, label_map)
# ----------------------------------------------------------------------------------------
def load_imagenet_val(num=None, path=None):
    """The course's `load_imagenet_val`: X (N, 224, 224, 3) uint8, y (N,) int, class_names dict."""
    path = Path(path) if path is not None else imagenet_val_path()
    if not path.exists():
        raise DataMissingError("ImageNet val sample (imagenet_val_25.npz)", "imagenet_val", path)
    if num is not None and num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    with np.load(path, allow_pickle=True) as f:
        X, y, class_names = f["X"], f["y"], f["label_map"].item()
    if num is not None:
        X, y = X[:num], y[:num]
    return X, y, class_names


# ----------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------
class SizeChecked(nn.Module):
    """Wraps a classifier that expects (N, 3, S, S) normalized images; any other shape is a
    ValueError naming the shapes (instead of an obscure error deep inside the network)."""

    def __init__(self, net: nn.Module, image_size: int):
        super().__init__()
        self.net = net
        self.image_size = image_size

    def forward(self, x):
        s = self.image_size
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] != s or x.shape[3] != s:
            raise ValueError(f"this model expects images of shape (N, 3, {s}, {s}), "
                             f"got {tuple(x.shape)}")
        return self.net(x)


@dataclass
class VisionModel:
    """What the visualization / style-transfer notebooks need from a pretrained network."""
    model: nn.Module            # (N, 3, S, S) normalized images -> (N, K) scores; eval, frozen
    features: nn.Sequential     # conv feature stack (style transfer); eval, frozen
    name: str
    image_size: int             # S
    class_names: Dict[int, str]
    content_layer: int          # course-equivalent layer choices for style transfer
    style_layers: Tuple[int, ...]
    is_fallback: bool
    test_accuracy: Optional[float] = None
    info: dict = field(default_factory=dict)

    @property
    def notice(self) -> str:
        if not self.is_fallback:
            return f"Using {self.name} (pretrained ImageNet weights) and ImageNet val images."
        return (f"SqueezeNet weights / ImageNet val images not found (`./get_datasets.sh squeezenet "
                f"imagenet_val`): using the {self.name} trained by the project on the CIFAR-10 "
                f"subset (test accuracy {self.test_accuracy:.3f}) and CIFAR-10 test images.")


def _freeze(module: nn.Module, device) -> nn.Module:
    module = module.to(device).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def load_squeezenet(weights_path=None, device=None) -> nn.Module:
    """torchvision squeezenet1_1 with the ImageNet weights from the hub cache (eval, frozen)."""
    import torchvision
    path = Path(weights_path) if weights_path is not None else squeezenet_weights_path()
    if not path.exists():
        raise DataMissingError("SqueezeNet weights", "squeezenet", path)
    net = torchvision.models.squeezenet1_1(weights=None)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return _freeze(net, device or "cpu")


def load_vision_model(device=None, verbose=True, fallback=None) -> VisionModel:
    """The best available classifier + feature network, with one printed line saying which.

    fallback=None: SqueezeNet when its weights and the ImageNet sample are on disk, else the
    CIFAR-10 CNN (set DL4CV_FALLBACK=1 to force it); True / False force one or the other."""
    from dl4cv.device import get_device
    device = device or get_device()
    use_fallback = (not real_available()) if fallback is None else fallback
    if not use_fallback:
        net = load_squeezenet(device=device)
        vm = VisionModel(SizeChecked(net, 224).eval(), net.features, "SqueezeNet 1.1", 224,
                         imagenet_class_names(), 3, (1, 4, 6, 7), False)
    else:
        net, info = load_fallback_cnn(device=device, verbose=verbose)
        from dl4cv.data.cifar10 import CIFAR10_CLASSES
        vm = VisionModel(SizeChecked(net, 32).eval(), net.features, "small CIFAR-10 CNN", 32,
                         dict(enumerate(CIFAR10_CLASSES)), 4, (1, 4, 7), True,
                         test_accuracy=info["test_accuracy"], info=info)
    note_data(f"classifier: {vm.name}" + (f" trained on the CIFAR-10 images on disk ({info['num_train']:,})"
                                          if use_fallback else " ImageNet weights, ImageNet val sample"))
    if verbose:
        print(vm.notice, flush=True)
    return vm


def load_images(vm: VisionModel, num=5, seed=0):
    """Images that `vm` classifies: X (N, S, S, 3) uint8, y (N,), class_names dict.

    Real path: the first `num` ImageNet val images. Fallback: `num` CIFAR-10 test images that
    the fallback CNN classifies correctly (seeded choice), one per class while possible."""
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if not vm.is_fallback:
        return load_imagenet_val(num=num)
    xte, yte = cifar_test_images()
    dev = next(vm.model.parameters()).device
    with torch.no_grad():
        pred = vm.model(normalize_cifar(xte).to(dev)).argmax(1).cpu().numpy()
    order = np.random.default_rng(seed).permutation(len(xte))
    chosen, seen = [], set()
    for i in order:                       # first pass: one correct image per class
        if pred[i] == yte[i] and yte[i] not in seen:
            chosen.append(i)
            seen.add(yte[i])
        if len(chosen) == num:
            break
    for i in order:                       # more than 10 wanted: any correct image
        if len(chosen) == num:
            break
        if pred[i] == yte[i] and i not in chosen:
            chosen.append(i)
    chosen = np.array(chosen)
    return xte[chosen], yte[chosen].astype(np.int64), dict(vm.class_names)


def load_feature_network(device=None, verbose=True, fallback=None):
    """Style transfer's feature network -> (cnn: nn.Sequential, name, content_layer, style_layers).

    SqueezeNet's `features` when its weights are on disk (the ImageNet sample is not needed),
    else the fallback CNN's conv layers; prints one line saying which."""
    from dl4cv.device import get_device
    device = device or get_device()
    have_squeezenet = squeezenet_weights_path().exists() and not _forced_fallback()
    use_fallback = (not have_squeezenet) if fallback is None else fallback
    if not use_fallback:
        cnn = load_squeezenet(device=device).features
        note_data("feature network: SqueezeNet 1.1 (ImageNet weights)")
        out = (cnn, "SqueezeNet 1.1 features (ImageNet weights)", 3, (1, 4, 6, 7))
    else:
        net, info = load_fallback_cnn(device=device, verbose=verbose)
        note_data(f"feature network: the small CIFAR-10 CNN trained on the CIFAR-10 images on disk "
                  f"({info['num_train']:,})")
        out = (net.features, f"the small CIFAR-10 CNN's conv layers (test accuracy "
               f"{info['test_accuracy']:.3f}; SqueezeNet weights not found: "
               "`./get_datasets.sh squeezenet`)", 4, (1, 4, 7))
    if verbose:
        print(f"Style-transfer feature network: {out[1]}", flush=True)
    return out


def min_input_size(cnn: nn.Module) -> int:
    """Smallest square input side for which every layer of `cnn` still has >= 1 pixel."""
    side = 1
    for m in reversed(list(cnn.modules())):
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            p = m.padding if isinstance(m.padding, int) else m.padding[0]
            if k > 1 or s > 1:
                side = max(1, (side - 1) * s + k - 2 * p)
    return side


# ----------------------------------------------------------------------------------------
# Drivers shared by both courses (given code; the student-written pieces are passed in)
# ----------------------------------------------------------------------------------------
def check_feature_input(x, cnn):
    """ValueError unless x is (N, 3, H, W) with H, W large enough for every layer of `cnn`."""
    if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"expected an image batch of shape (N, 3, H, W), got {shape}")
    need = min_input_size(cnn)
    if min(x.shape[2], x.shape[3]) < need:
        raise ValueError(f"images of size {tuple(x.shape[2:])} are too small for this feature "
                         f"network: it needs H, W >= {need}")


def valid_pixel_range(device=None, dtype=torch.float32):
    """Per-channel (low, high) of normalized images whose pixels lie in [0, 1]: (1, 3, 1, 1) each."""
    mean = torch.as_tensor(SQUEEZENET_MEAN, dtype=dtype, device=device).view(1, 3, 1, 1)
    std = torch.as_tensor(SQUEEZENET_STD, dtype=dtype, device=device).view(1, 3, 1, 1)
    return -mean / std, (1 - mean) / std


def class_visualization_loop(step, jitter, blur, image_size, num_iterations=100, blur_every=10,
                             max_jitter=16, blur_sigma=0.5, frame_every=5, seed=0, device=None,
                             progress=True):
    """Gradient ascent on a random image (the course's create_class_visualization).

    step(img): one in-place update of img (the student's update function, target bound in);
    jitter(x, ox, oy), blur(x, sigma): the course helpers. Returns (img (1, 3, S, S) normalized,
    frames: list of (S, S, 3) uint8 images every `frame_every` iterations, for a GIF)."""
    from dl4cv.images import deprocess
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    img = (1.0 * torch.randn(1, 3, image_size, image_size, generator=gen)).to(device or "cpu")
    img.requires_grad_()
    low, high = valid_pixel_range(img.device)
    frames = []
    it = range(num_iterations)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="class visualization", leave=False)
    for t in it:
        ox, oy = (int(v) for v in rng.integers(0, max_jitter + 1, size=2))
        with torch.no_grad():
            img.copy_(jitter(img, ox, oy))
        step(img)
        with torch.no_grad():
            img.copy_(jitter(img, -ox, -oy))
            img.copy_(torch.max(torch.min(img, high), low))   # keep pixels displayable
            if t % blur_every == 0:
                img.copy_(blur(img, sigma=blur_sigma))
        if t % frame_every == 0 or t == num_iterations - 1:
            frames.append(deprocess(img, rescale=True))
    return img.detach(), frames


def style_transfer_loop(cnn, content_image, style_image, image_size, style_size, content_layer,
                        content_weight, style_layers, style_weights, tv_weight, *,
                        extract_features, content_loss, style_loss, tv_loss, gram_matrix,
                        init_random=False, num_iterations=200, initial_lr=3.0, decayed_lr=0.1,
                        seed=0, progress=True):
    """The course's style-transfer optimization (Adam on the pixels, lr 3.0 then 0.1 for the
    last 10%, pixels clamped to [-1.5, 1.5] until the last 5%) with the loss functions passed
    in. content_image / style_image: file paths or (H, W, 3) uint8 arrays.
    Returns (img (1, 3, H, W) normalized, history dict of per-iteration losses)."""
    from dl4cv.images import load_image, preprocess
    if len(style_layers) != len(style_weights):
        raise ValueError(f"{len(style_layers)} style layers but {len(style_weights)} style weights")
    device = next(cnn.parameters()).device

    def prep(image, size):
        arr = load_image(image, size=None) if isinstance(image, (str, Path)) else np.asarray(image)
        return preprocess(arr, size=size).to(device)

    content_img = prep(content_image, image_size)
    feats = extract_features(content_img, cnn)
    content_target = feats[content_layer].clone()
    style_img = prep(style_image, style_size)
    feats = extract_features(style_img, cnn)
    style_targets = [gram_matrix(feats[i].clone()) for i in style_layers]

    if init_random:
        gen = torch.Generator().manual_seed(seed)
        img = torch.rand(content_img.shape, generator=gen).to(device)
    else:
        img = content_img.clone()
    img.requires_grad_()
    optimizer = torch.optim.Adam([img], lr=initial_lr)
    decay_at, clamp_until = int(0.9 * num_iterations), int(0.95 * num_iterations)
    history = {"content": [], "style": [], "tv": [], "total": []}
    it = range(num_iterations)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="style transfer", leave=False)
    for t in it:
        if t < clamp_until:
            with torch.no_grad():
                img.clamp_(-1.5, 1.5)
        optimizer.zero_grad()
        feats = extract_features(img, cnn)
        c = content_loss(content_weight, feats[content_layer], content_target)
        s = style_loss(feats, style_layers, style_targets, style_weights)
        v = tv_loss(img, tv_weight)
        loss = c + s + v
        loss.backward()
        if t == decay_at:
            optimizer = torch.optim.Adam([img], lr=decayed_lr)
        optimizer.step()
        for k, val in zip(("content", "style", "tv", "total"), (c, s, v, loss)):
            history[k].append(val.item())
    return img.detach(), history
