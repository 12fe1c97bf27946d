"""The ONE pretrained-network source for network visualization and style transfer
(CS231n assignment 3 and EECS 498 A4).

Real path: torchvision's `squeezenet1_1` ImageNet weights from the torch hub cache and the
course's `imagenet_val_25.npz` (`./get_datasets.sh squeezenet imagenet_val`).

Fallback (no internet, no weights): a small CNN that the project trains on the CIFAR-10
subset on disk (seeded, ~20 s on 2 CPU cores, cached in `dl4cv.paths.cache_dir()`, test
accuracy reported) and CIFAR-10 test images. Its conv stack is also the feature network
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
import torch.nn.functional as F

from dl4cv.errors import DataMissingError
from dl4cv.images import SQUEEZENET_MEAN, SQUEEZENET_STD
from dl4cv.paths import cache_dir, data_dir

SQUEEZENET_FILE = "squeezenet1_1-b8a52dc0.pth"
IMAGENET_VAL_FILE = "imagenet_val_25.npz"
FALLBACK_FILE = "cifar10_fallback_cnn_v1.pt"
FALLBACK_SEED = 0
FALLBACK_EPOCHS = 10
# ImageNet classes that stand for the CIFAR-10 classes in the generated imagenet_val sample.
CIFAR_TO_IMAGENET = (404, 817, 17, 281, 351, 207, 32, 339, 510, 867)


def hub_dir() -> Path:
    """torch hub's checkpoint folder ($TORCH_HOME/hub/checkpoints), where get_datasets.sh puts weights."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def squeezenet_weights_path() -> Path:
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


def write_imagenet_val_sample(path, num=25, seed=0, size=224):
    """Write a small file in exactly the imagenet_val_25.npz format, from real CIFAR-10 test
    images upscaled to `size` (seeded choice), labelled with a stand-in ImageNet class per
    CIFAR class. For tests and smoke runs; it is NOT ImageNet."""
    from PIL import Image
    from dl4cv.data.cifar10 import load_cifar10
    _, _, xte, yte = load_cifar10(verbose=False)
    idx = np.random.default_rng(seed).choice(len(xte), size=num, replace=False)
    X = np.stack([np.asarray(Image.fromarray(xte[i].astype(np.uint8)).resize((size, size), Image.BICUBIC))
                  for i in idx]).astype(np.uint8)
    y = np.array([CIFAR_TO_IMAGENET[c] for c in yte[idx]], dtype=np.int64)
    label_map = np.array(imagenet_class_names(), dtype=object)  # 0-d object array holding the dict
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X, y=y, label_map=label_map)
    return path


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


class CifarCNN(nn.Module):
    """Small CIFAR-10 classifier; `features` is an nn.Sequential like squeezenet's, so the
    style-transfer code indexes its layers the same way."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 0-2: 16x16
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 3-5: 8x8
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 6-8: 4x4
        )
        self.classifier = nn.Linear(64 * 4 * 4, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


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


def _normalize_cifar(x_uint8: np.ndarray) -> torch.Tensor:
    """(N, 32, 32, 3) [0, 255] -> (N, 3, 32, 32) float32 normalized with the ImageNet stats."""
    x = torch.from_numpy(np.ascontiguousarray(x_uint8, dtype=np.float32) / 255.0).permute(0, 3, 1, 2)
    mean = torch.from_numpy(SQUEEZENET_MEAN).view(1, 3, 1, 1)
    std = torch.from_numpy(SQUEEZENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def train_fallback_cnn(epochs=FALLBACK_EPOCHS, seed=FALLBACK_SEED, batch_size=64, verbose=True):
    """Train CifarCNN on the CIFAR-10 data on disk (seeded, CPU); -> (model, test accuracy)."""
    from dl4cv.data.cifar10 import load_cifar10
    xtr, ytr, xte, yte = load_cifar10(verbose=False)
    Xtr, Xte = _normalize_cifar(xtr), _normalize_cifar(xte)
    Ytr, Yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = CifarCNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * ((len(Xtr) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, desc="training the fallback CIFAR-10 CNN", disable=not verbose,
                   leave=False)
    except ImportError:  # pragma: no cover
        bar = None
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xtr), generator=gen)
        for i in range(0, len(Xtr), batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = Xtr[idx], Ytr[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5          # random horizontal flips
            xb = torch.where(flip.view(-1, 1, 1, 1), xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    model.eval()
    with torch.no_grad():
        acc = (model(Xte).argmax(1) == Yte).double().mean().item()
    return model, acc


def load_fallback_cnn(device=None, verbose=True, retrain=False):
    """The cached fallback CNN (trained on first use) -> (model, info dict with test_accuracy)."""
    path = cache_dir() / FALLBACK_FILE
    model = CifarCNN()
    if path.exists() and not retrain:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(ckpt["state_dict"])
        info = ckpt["info"]
    else:
        if verbose:
            print("Training the fallback CIFAR-10 CNN once (cached in data/cache) ...", flush=True)
        model, acc = train_fallback_cnn(verbose=verbose)
        from dl4cv.data.cifar10 import load_cifar10
        xtr, _, xte, _ = load_cifar10(verbose=False)
        info = {"test_accuracy": acc, "num_train": len(xtr), "num_test": len(xte),
                "epochs": FALLBACK_EPOCHS, "seed": FALLBACK_SEED}
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save({"state_dict": model.state_dict(), "info": info}, tmp)
        os.replace(tmp, path)  # atomic: concurrent runs never read half a file
    return _freeze(model, device or "cpu"), info


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
    from dl4cv.data.cifar10 import load_cifar10
    _, _, xte, yte = load_cifar10(verbose=False)
    xte = xte.astype(np.uint8)
    dev = next(vm.model.parameters()).device
    with torch.no_grad():
        pred = vm.model(_normalize_cifar(xte).to(dev)).argmax(1).cpu().numpy()
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
        out = (cnn, "SqueezeNet 1.1 features (ImageNet weights)", 3, (1, 4, 6, 7))
    else:
        net, info = load_fallback_cnn(device=device, verbose=verbose)
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
