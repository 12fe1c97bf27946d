"""Stand-in for the ImageNet SqueezeNet of network visualization and style transfer
(CS231n A3, EECS 498 A4) when its weights cannot be downloaded: a small CNN that the project
trains on the CIFAR-10 images on disk (seeded, ~20 s on 2 CPU cores, cached with
`dl4cv.standins.cache`, test accuracy reported), and CIFAR-10 test images for the ImageNet
validation sample. `dl4cv.pretrained` chooses between the real network and this one.
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv.errors import DataMissingError
from dl4cv.images import SQUEEZENET_MEAN, SQUEEZENET_STD
from dl4cv.standins.cache import cached_model, data_fingerprint, frozen
from dl4cv.torch_train import flipped_batches

FALLBACK_NAME = "cifar10_fallback_cnn_v1"     # data/cache/<name>.pt
FALLBACK_SEED = 0
FALLBACK_EPOCHS = 5
# ImageNet classes that stand for the CIFAR-10 classes in the generated imagenet_val sample.
CIFAR_TO_IMAGENET = (404, 817, 17, 281, 351, 207, 32, 339, 510, 867)


def cifar_test_images():
    """The CIFAR-10 test images on disk: (N, 32, 32, 3) uint8, (N,) int64."""
    from dl4cv.data.cifar10 import _load_batch, default_root
    path = default_root() / "test_batch"
    if not path.exists():
        raise DataMissingError("CIFAR-10", "cifar10", path)
    x, y = _load_batch(path)
    return x.astype(np.uint8), y


def write_imagenet_val_sample(path, num=25, seed=0, size=224):
    """Write a small file in exactly the imagenet_val_25.npz format, from real CIFAR-10 test
    images upscaled to `size` (seeded choice), labelled with a stand-in ImageNet class per
    CIFAR class. For tests and smoke runs; it is NOT ImageNet."""
    from PIL import Image

    from dl4cv.pretrained import imagenet_class_names
    xte, yte = cifar_test_images()
    idx = np.random.default_rng(seed).choice(len(xte), size=num, replace=False)
    X = np.stack([np.asarray(Image.fromarray(xte[i].astype(np.uint8)).resize((size, size), Image.BICUBIC))
                  for i in idx]).astype(np.uint8)
    y = np.array([CIFAR_TO_IMAGENET[c] for c in yte[idx]], dtype=np.int64)
    label_map = np.array(imagenet_class_names(), dtype=object)  # 0-d object array holding the dict
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X, y=y, label_map=label_map)
    return path


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


def normalize_cifar(x_uint8: np.ndarray) -> torch.Tensor:
    """(N, 32, 32, 3) [0, 255] -> (N, 3, 32, 32) float32 normalized with the ImageNet stats."""
    x = torch.from_numpy(np.ascontiguousarray(x_uint8, dtype=np.float32) / 255.0).permute(0, 3, 1, 2)
    mean = torch.from_numpy(SQUEEZENET_MEAN).view(1, 3, 1, 1)
    std = torch.from_numpy(SQUEEZENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def train_fallback_cnn(epochs=FALLBACK_EPOCHS, seed=FALLBACK_SEED, batch_size=128, verbose=True):
    """Train CifarCNN on the CIFAR-10 data on disk (seeded, CPU); -> (model, info dict with
    test_accuracy, num_train, num_test, epochs, seed)."""
    from dl4cv.data.cifar10 import load_cifar10
    xtr, ytr, xte, yte = load_cifar10(verbose=False)
    Xtr, Xte = normalize_cifar(xtr), normalize_cifar(xte)
    Ytr, Yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = CifarCNN()
    opt = torch.optim.Adam(model.parameters(), lr=4e-3, weight_decay=1e-4)
    steps = epochs * ((len(Xtr) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=steps)
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, desc="training the fallback CIFAR-10 CNN", disable=not verbose,
                   leave=False)
    except ImportError:  # pragma: no cover
        bar = None
    model.train()
    for _ in range(epochs):
        for xb, yb in flipped_batches(Xtr, Ytr, batch_size, gen):
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
    return model, {"test_accuracy": acc, "num_train": len(Xtr), "num_test": len(Xte),
                   "epochs": epochs, "seed": seed}


def load_fallback_cnn(device=None, verbose=True, retrain=False):
    """The cached fallback CNN (trained on first use, and again when the CIFAR-10 data on disk
    changes) -> (model: eval, frozen, info dict with test_accuracy)."""
    from dl4cv.data.cifar10 import default_root

    def train():
        model, info = train_fallback_cnn(verbose=verbose)
        return model.state_dict(), info
    state, info = cached_model(FALLBACK_NAME, data_fingerprint(default_root()), train,
                               retrain=retrain, verbose=verbose, what="fallback CIFAR-10 CNN")
    model = CifarCNN()
    model.load_state_dict(state)
    return frozen(model, device), info
