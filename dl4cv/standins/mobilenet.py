"""The ONE MobileNet v2 backbone stand-in, for EECS 498 A4 (captioning features) and A5
(detection backbone), when torchvision's ImageNet weights cannot be downloaded.

Weights, best first (`mobilenet_v2_features` returns the `features` trunk and says which):
1. 'imagenet': torchvision's ImageNet checkpoint in the torch hub cache
   (`./get_datasets.sh mobilenet_v2`), the weights both courses use;
2. 'cifar10': MobileNet v2 trained by the project on the CIFAR-10 training images on disk
   (`pretrain_mobilenet_on_cifar10`: seeded, about 17 minutes on one CPU core), a real
   supervised pretraining that stands in for ImageNet's. It is trained only when asked
   (fallback='train'; A5 in full mode, or `python -m dl4cv.standins.mobilenet`) and then
   cached, so every later run of either notebook uses it;
3. 'random': a seeded random initialization whose BatchNorm running statistics are measured
   on 64 CIFAR-10 images upsampled to 112 x 112 (seconds; cached). With the default
   statistics (mean 0, variance 1) the activations of a random deep network vanish layer
   after layer and every image gets the same features; calibrated ones keep the features
   apart. A5 re-measures them on its detection images (`a5_helper.recalibrate_batchnorm`).

Both cached models go through `dl4cv.standins.cache`, keyed to the CIFAR-10 files on disk.
"""
import time

import numpy as np
import torch
import torch.nn as nn

from dl4cv.standins.cache import cache_path, cached_model, data_fingerprint

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_FILE = "mobilenet_v2-b0353104.pth"            # torchvision's checkpoint name
CIFAR_NAME = "mobilenet_v2_features_cifar10_v1"         # data/cache/<name>.pt
RANDOM_NAME = "mobilenet_v2_random_bn_calibrated_v2"
CIFAR_EPOCHS = 12
CIFAR_SIZES = (32, 48, 64)     # input sides (CIFAR images upsampled), one per batch
FALLBACKS = ("cached", "train", "none")
_NOTICE = {"shown": set()}


def imagenet_weights_path():
    """Where `./get_datasets.sh mobilenet_v2` puts the ImageNet weights (torch hub's folder)."""
    from dl4cv.data.fetch import hub_dir
    return hub_dir() / IMAGENET_FILE


def cifar10_backbone_path():
    """The cache file of the CIFAR-10 MobileNet v2 (`dl4cv.standins.cache`)."""
    return cache_path(CIFAR_NAME)


def _cifar_fingerprint():
    from dl4cv.data.cifar10 import default_root
    return data_fingerprint(default_root())


def cifar_to_tensor(x_uint8):
    """(N, 32, 32, 3) [0, 255] array -> (N, 3, 32, 32) float32, ImageNet-normalized (as the
    detection images are in voc_collate_fn)."""
    x = torch.from_numpy(np.asarray(x_uint8, dtype=np.float32) / 255.).permute(0, 3, 1, 2)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def pretrain_mobilenet_on_cifar10(epochs=CIFAR_EPOCHS, seed=0, batch_size=64, lr=4e-3,
                                  sizes=CIFAR_SIZES, verbose=True):
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
    Xtr, Xte = cifar_to_tensor(xtr), cifar_to_tensor(xte)
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
    """(features state_dict, info) of the CIFAR-10 MobileNet v2 cached for the CIFAR-10 data on
    disk, or (None, None) when it is not cached and train_if_missing is False. Trains (minutes,
    once) and caches otherwise."""
    train = (lambda: pretrain_mobilenet_on_cifar10(verbose=verbose)) if train_if_missing else None
    return cached_model(CIFAR_NAME, _cifar_fingerprint(), train, verbose=verbose,
                        what="MobileNet v2 on the CIFAR-10 training images")


def calibrated_random_features(verbose=True):
    """(features state_dict, info) of the seeded random-init MobileNet v2 whose BatchNorm
    statistics are measured on 64 CIFAR-10 images at 112 x 112 (smooth random images when
    CIFAR-10 is missing). Cached: a pure function of the seed and those images."""
    from torchvision import models

    def calibrate():
        rng_state = torch.random.get_rng_state()
        try:
            torch.manual_seed(0)
            net = models.mobilenet_v2(weights=None)
            try:
                from dl4cv.data import load_cifar10
                images = torch.from_numpy(load_cifar10(verbose=False)[0][:64]).permute(0, 3, 1, 2)
                images = images.float().div(255.0)
            except Exception:   # noqa: BLE001  (no CIFAR-10 on disk: smooth random images)
                images = torch.rand(64, 3, 8, 8)
            images = nn.functional.interpolate(images, size=(112, 112), mode="bilinear",
                                               align_corners=False)
            mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            images = (images - mean) / std
            for layer in net.modules():
                if isinstance(layer, nn.BatchNorm2d):
                    layer.reset_running_stats()
                    layer.momentum = None          # cumulative average over the batches
            net.train()
            with torch.no_grad():
                for chunk in images.split(32):
                    net.features(chunk)
        finally:
            torch.random.set_rng_state(rng_state)
        return net.features.state_dict(), {"seed": 0, "calibration_images": len(images)}
    return cached_model(RANDOM_NAME, _cifar_fingerprint(), calibrate, verbose=False)


def backbone_source(fallback="cached"):
    """Which weights `mobilenet_v2_features(fallback)` would load, without loading them:
    'imagenet', 'cifar10' (cached, or to be trained with fallback='train') or 'random'."""
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    if imagenet_weights_path().exists():
        return "imagenet"
    if fallback == "train":
        return "cifar10"
    if fallback == "cached" and load_cifar10_backbone(train_if_missing=False, verbose=False)[0] is not None:
        return "cifar10"
    return "random"


def mobilenet_v2_features(fallback="cached", verbose=True, once=False):
    """MobileNet v2's convolutional trunk (torchvision's `mobilenet_v2().features`, 1280
    output channels) -> (features: nn.Sequential, source, info).

    fallback, when the ImageNet weights are absent: 'cached' uses the CIFAR-10 backbone if it
    is cached, else the calibrated random one; 'train' trains the CIFAR-10 backbone first if
    needed; 'none' always takes the calibrated random one. source is 'imagenet', 'cifar10' or
    'random'; one line says which unless verbose is False (once=True: once per process and
    source, for code that builds many extractors).
    """
    from torchvision import models
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    net = models.mobilenet_v2(weights=None)
    path = imagenet_weights_path()
    if path.exists():
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net.features, "imagenet", {}
    state, info = (None, None) if fallback == "none" else \
        load_cifar10_backbone(train_if_missing=fallback == "train", verbose=verbose)
    source = "cifar10"
    if state is None:
        state, info = calibrated_random_features(verbose=verbose)
        source = "random"
    net.features.load_state_dict(state)
    if verbose and not (once and source in _NOTICE["shown"]):
        _NOTICE["shown"].add(source)
        if source == "cifar10":
            print(f"[dl4cv] MobileNet v2 ImageNet weights not found ({path}): using MobileNet v2 "
                  f"trained on the {info['num_train']:,} CIFAR-10 training images on disk "
                  f"(CIFAR-10 test accuracy {info['test_accuracy']:.1%}) as the backbone "
                  f"(./get_datasets.sh mobilenet_v2 fetches the ImageNet weights)", flush=True)
        else:
            print(f"[dl4cv] MobileNet v2 ImageNet weights not found ({path}): using a seeded "
                  f"random-init backbone, BatchNorm statistics calibrated on CIFAR-10 images "
                  f"(./get_datasets.sh mobilenet_v2 fetches them)", flush=True)
    return net.features, source, info


def ensure_backbone_weights(train_cifar_fallback=True):
    """Which weights the MobileNet backbone will load: 'imagenet' when they are on disk; else
    'cifar10' once the CIFAR-10 backbone is cached (trained here first, minutes on a CPU,
    when train_cifar_fallback); else 'random'."""
    if imagenet_weights_path().exists():
        return "imagenet"
    state, _ = load_cifar10_backbone(train_if_missing=train_cifar_fallback)
    return "random" if state is None else "cifar10"


if __name__ == "__main__":  # python -m dl4cv.standins.mobilenet: train/cache the CIFAR-10 backbone
    _, info = load_cifar10_backbone(train_if_missing=True)
    print(info)
