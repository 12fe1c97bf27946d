"""Stand-in for the course's pretrained SimCLR weights (CS231n A3 Self_Supervised_Learning).

The course ships `pretrained_simclr_model.pth`, a SimCLR ResNet-50 trained for ~18 GPU hours
on CIFAR-10 (`./get_datasets.sh simclr_weights` puts it in
data/pretrained_model/pretrained_simclr_model.pth). Without it, the project trains the same
architecture (the course's `Model`: ResNet-50 encoder `f` with a 3x3 stem and no max-pool,
projection head `g`) with the SimCLR recipe on the CIFAR-10 training images on disk, for as
long as one CPU core allows in about ten minutes: STEPS Adam steps (lr 1e-3, weight decay
1e-6, the course's optimizer) on batches of BATCH images, two augmented views each (the
course's augmentations), NT-Xent with temperature 0.5, seeded; cached in data/cache with the
data's fingerprint (`dl4cv.standins.cache`). This is a fraction of one epoch: a weak encoder,
named as such wherever it is used. Smoke mode trains SMOKE_STEPS steps of SMOKE_BATCH images
(seconds), cached under its own name.

    state, line = load_simclr_weights()      # real file when on disk, else the stand-in
    print(line)
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv.paths import data_dir
from dl4cv.standins.cache import cached_model, data_fingerprint

WEIGHTS_FILE = "pretrained_model/pretrained_simclr_model.pth"   # under data/ (get_datasets.sh)
NAME, SMOKE_NAME = "simclr_resnet50_standin_v1", "simclr_resnet50_standin_smoke_v1"
SEED = 0
# ~16 s of one CPU core per step (measured): ~9 minutes; 917 s wall on a busy shared 2-core box
STEPS, BATCH = 32, 64
SMOKE_STEPS, SMOKE_BATCH = 2, 16   # ~10 s
TEMPERATURE, LR, WEIGHT_DECAY = 0.5, 1e-3, 1e-6
CIFAR_MEAN, CIFAR_STD = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]   # the course's


class SimCLRModel(nn.Module):
    """The course's SimCLR network (same layers, same state_dict keys as cs231n/simclr/model.py
    `Model`): encoder f = ResNet-50 with a 3x3 stride-1 first convolution, without max-pool and
    fc; head g: 2048 -> 512 -> BN -> ReLU -> feature_dim.
    forward(x: (N, 3, 32, 32)) -> (normalized h: (N, 2048), normalized z: (N, feature_dim))."""

    def __init__(self, feature_dim=128):
        super().__init__()
        from torchvision.models.resnet import resnet50
        layers = []
        for name, module in resnet50().named_children():
            if name == 'conv1':    # CIFAR images are small: keep full resolution in the stem
                module = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            if not isinstance(module, (nn.Linear, nn.MaxPool2d)):
                layers.append(module)
        self.f = nn.Sequential(*layers)
        self.g = nn.Sequential(nn.Linear(2048, 512, bias=False), nn.BatchNorm1d(512),
                               nn.ReLU(inplace=True), nn.Linear(512, feature_dim, bias=True))

    def forward(self, x):
        h = torch.flatten(self.f(x), start_dim=1)
        return F.normalize(h, dim=-1), F.normalize(self.g(h), dim=-1)


def augmentation():
    """The course's SimCLR training augmentation (crop, flip, colour jitter, grayscale)."""
    from torchvision import transforms as T
    return T.Compose([T.RandomResizedCrop(32), T.RandomHorizontalFlip(p=0.5),
                      T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
                      T.RandomGrayscale(p=0.2), T.ToTensor(), T.Normalize(CIFAR_MEAN, CIFAR_STD)])


def nt_xent(z1, z2, tau):
    """NT-Xent of two batches of views z1, z2: (N, D) -> scalar (the course's L)."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    logits = (z @ z.t()) / tau
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float('-inf'))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, target)


def train_standin(steps=STEPS, batch=BATCH, seed=SEED, verbose=True):
    """Train SimCLRModel on the CIFAR-10 training images on disk -> (state_dict, info)."""
    from PIL import Image

    from dl4cv.data.cifar10_torchvision import CIFAR10
    images = CIFAR10(train=True).data                      # (N, 32, 32, 3) uint8
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = SimCLRModel()
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    aug = augmentation()
    order = torch.randperm(len(images), generator=gen)
    model.train()
    start, losses = time.time(), []
    for step in range(steps):
        idx = order[(step * batch) % len(images):][:batch]
        pil = [Image.fromarray(images[i]) for i in idx.tolist()]
        x1 = torch.stack([aug(p) for p in pil])
        x2 = torch.stack([aug(p) for p in pil])
        loss = nt_xent(model(x1)[1], model(x2)[1], TEMPERATURE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if verbose and (step % 8 == 0 or step == steps - 1):
            print(f"  stand-in step {step + 1}/{steps}: loss {loss.item():.4f} "
                  f"({time.time() - start:.0f} s)", flush=True)
    info = {"steps": steps, "batch_size": batch, "seed": seed, "temperature": TEMPERATURE,
            "images_seen": steps * batch, "num_train": len(images),
            "first_loss": losses[0], "last_loss": losses[-1],
            "train_seconds": round(time.time() - start, 1)}
    return model.state_dict(), info


def load_standin(smoke=None, verbose=True, retrain=False):
    """(state_dict, info) of the cached stand-in (trained on first use and again when the
    CIFAR-10 data on disk changes). smoke=None: the current mode's."""
    from dl4cv.data.cifar10 import default_root
    from dl4cv.mode import is_smoke
    smoke = is_smoke() if smoke is None else smoke
    steps, batch = (SMOKE_STEPS, SMOKE_BATCH) if smoke else (STEPS, BATCH)
    return cached_model(SMOKE_NAME if smoke else NAME, data_fingerprint(default_root()),
                        lambda: train_standin(steps, batch, verbose=verbose), retrain=retrain,
                        verbose=verbose, what="SimCLR stand-in (ResNet-50)")


def describe(info) -> str:
    return (f"SimCLR weights: the project's STAND-IN (course's ResNet-50 SimCLR Model, "
            f"{info['steps']} steps x {info['batch_size']} images = {info['images_seen']:,} "
            f"of the {info['num_train']:,} CIFAR-10 training images on disk, seed {info['seed']}; "
            f"NT-Xent {info['first_loss']:.3f} -> {info['last_loss']:.3f}), not the course's "
            f"18-hour pretrained weights (./get_datasets.sh simclr_weights)")


def load_simclr_weights(verbose=True):
    """The SimCLR state_dict to start from and one line naming it: the course's pretrained
    file when on disk (data/pretrained_model/pretrained_simclr_model.pth), else the stand-in."""
    path = data_dir() / WEIGHTS_FILE
    if path.exists():
        state = torch.load(path, map_location='cpu')
        return state, f"SimCLR weights: the course's pretrained file {path}"
    state, info = load_standin(verbose=verbose)
    return state, describe(info)
