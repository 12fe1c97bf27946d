"""Training PyTorch image classifiers on CIFAR-10, shared by CS231n's PyTorch.ipynb and
EECS 498 A4's pytorch_autograd_and_nn notebook.

- `cifar10_loaders(...)`: CIFAR-10 (full set or the mirror subset, via `dl4cv.data`) as
  normalized float32 tensors in memory, served by `TensorLoader`s (the courses' 64-image
  batches, train / val / test; val is carved from the end of the training images).
- `TensorLoader`: a DataLoader-like iterator over in-memory tensors; random flip + crop
  augmentation is done per batch, vectorized, on whatever device the data lives on.
- `train(model, loader_train, epochs, ...)`: the loop both notebooks use: tqdm progress bar,
  optional one-cycle schedule, mixed precision (bf16 autocast) and channels-last on CUDA,
  per-epoch validation accuracy and images/second.
- `evaluate(model, loader)`: top-1 accuracy.
- `stock_preresnet(...)`: the EECS pre-activation ResNet written directly with stock
  `torch.nn` layers (the independent reference for tests and benchmarks).
"""
import math
import time
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv.device import get_device

# Per-channel statistics of the 50,000 CIFAR-10 training images, in [0, 1] units.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def to_normalized_tensor(x_nhwc) -> torch.Tensor:
    """(N, 32, 32, 3) pixels in [0, 255] (numpy) -> (N, 3, 32, 32) float32, per-channel
    standardized with the CIFAR-10 training mean/std."""
    x = np.asarray(x_nhwc)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3), got {x.shape}")
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1) * 255
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1) * 255
    return (t - mean) / std


def random_flip_crop(x: torch.Tensor, pad: int = 4, generator: torch.Generator = None) -> torch.Tensor:
    """Standard CIFAR augmentation on a batch x: (N, C, H, W): zero-pad by `pad`, take a random
    HxW crop per image, and flip each image horizontally with probability 1/2. Vectorized
    (two gathers), with no per-image Python loop."""
    if x.ndim != 4:
        raise ValueError(f"expected a batch (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    dev = x.device
    flip = (torch.rand(n, generator=generator) < 0.5).to(dev)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
    xp = F.pad(x, (pad, pad, pad, pad)) if pad else x
    # two gathers: the H rows of each crop, then its W columns (reversed for flipped images)
    rows = oy[:, None] + torch.arange(h, device=dev)[None]                    # (N, H)
    x_rows = xp.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * pad))
    cols = torch.arange(w, device=dev)[None].expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + ox[:, None]      # (N, W)
    return x_rows.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def flipped_batches(X: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator):
    """One epoch of shuffled minibatches (xb: (B, C, H, W), yb: (B,)), each image mirrored
    left-right with probability 1/2. All randomness comes from `generator`, drawn in a fixed
    order (the permutation, then one flip draw per batch), so seeded runs repeat exactly."""
    perm = torch.randperm(len(X), generator=generator)
    for i in range(0, len(X), batch_size):
        idx = perm[i:i + batch_size]
        flip = torch.rand(len(idx), generator=generator) < 0.5
        xb = X[idx]
        yield torch.where(flip.view(-1, 1, 1, 1), xb.flip(3), xb), y[idx]


class TensorLoader:
    """Mini-batches from in-memory tensors X: (N, C, H, W), y: (N,), DataLoader-style:
    `for x, y in loader`, `len(loader)` batches, `loader.dataset.train` (True for batches drawn
    from the CIFAR training images, train and val splits alike, as the courses' loaders)."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int = 64, shuffle: bool = False,
                 augment: bool = False, drop_last: bool = False, split: str = "train", seed: int = 0):
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} images but y has {y.shape[0]} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.X, self.y = X, y
        self.batch_size, self.shuffle, self.augment, self.drop_last = batch_size, shuffle, augment, drop_last
        self.split = split
        self.dataset = SimpleNamespace(train=split in ("train", "val"), X=X, y=y)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        n = self.X.shape[0]
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self) * self.batch_size if self.drop_last else self.X.shape[0]

    def to(self, device):
        """Move the data once (e.g. to the GPU), so that batches need no host-device copy."""
        self.X, self.y = self.X.to(device), self.y.to(device)
        self.dataset.X, self.dataset.y = self.X, self.y
        return self

    def __iter__(self):
        n = self.X.shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for b in range(len(self)):
            if order is None:
                xb = self.X[b * self.batch_size:(b + 1) * self.batch_size]
                yb = self.y[b * self.batch_size:(b + 1) * self.batch_size]
            else:
                ib = order[b * self.batch_size:(b + 1) * self.batch_size].to(self.X.device)
                xb, yb = self.X[ib], self.y[ib]
            if self.augment:
                xb = random_flip_crop(xb, generator=self.generator)
            yield xb, yb


def cifar10_tensors(num_train: int = None, num_val: int = 1000, num_test: int = None, root=None):
    """CIFAR-10 on disk as normalized tensors: dict X_train (N, 3, 32, 32) float32, y_train
    (N,) int64, and the same for val (the last training images, as the courses) and test.
    Sizes are capped by what is on disk (the mirror holds 5,170 / 1,017 images)."""
    from dl4cv.data.cifar10 import load_cifar10, split_sizes
    xtr, ytr, xte, yte = load_cifar10(root)
    avail = len(xtr)
    want_train = avail - num_val if num_train is None else num_train
    n_train, n_val = split_sizes(avail, want_train, num_val)
    n_test = len(xte) if num_test is None else min(num_test, len(xte))
    return {
        "X_train": to_normalized_tensor(xtr[:n_train]), "y_train": torch.from_numpy(ytr[:n_train]),
        "X_val": to_normalized_tensor(xtr[avail - n_val:]), "y_val": torch.from_numpy(ytr[avail - n_val:]),
        "X_test": to_normalized_tensor(xte[:n_test]), "y_test": torch.from_numpy(yte[:n_test]),
    }


def cifar10_loaders(batch_size: int = 64, num_train: int = None, num_val: int = 1000,
                    num_test: int = None, augment: bool = False, device=None, root=None,
                    eval_batch_size: int = 500, seed: int = 0):
    """-> (loader_train, loader_val, loader_test) over CIFAR-10 tensors (see cifar10_tensors).
    The training loader shuffles (seeded) and, if `augment`, flips and crops; `device` puts the
    whole data set on that device once (worth it on a GPU)."""
    d = cifar10_tensors(num_train, num_val, num_test, root)
    loaders = (
        TensorLoader(d["X_train"], d["y_train"], batch_size, shuffle=True, augment=augment,
                     split="train", seed=seed),
        TensorLoader(d["X_val"], d["y_val"], eval_batch_size, split="val"),
        TensorLoader(d["X_test"], d["y_test"], eval_batch_size, split="test"),
    )
    if device is not None:
        for loader in loaders:
            loader.to(device)
    print(f"CIFAR-10 tensors: {len(d['y_train'])} train / {len(d['y_val'])} val / "
          f"{len(d['y_test'])} test images, batch size {batch_size}"
          + (", flip+crop augmentation" if augment else ""))
    return loaders


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
def _amp_dtype(device: torch.device):
    """bf16 autocast on CUDA (no loss scaling needed); none on CPU, where it rarely pays."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "cuda":
        return torch.float16
    return None


def _prepare(model: nn.Module, device, channels_last):
    device = torch.device(device) if device is not None else get_device()
    if channels_last is None:
        channels_last = device.type == "cuda"
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return device, channels_last


def _to_input(x, device, channels_last):
    x = x.to(device, dtype=torch.float32, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.ndim == 4 else x


@torch.no_grad()
def evaluate(model: nn.Module, loader, device=None, amp: bool = None, channels_last: bool = None) -> float:
    """Top-1 accuracy of `model` over every batch of `loader` (eval mode; restores the mode)."""
    was_training = model.training
    device, channels_last = _prepare(model, device, channels_last)
    dtype = _amp_dtype(device) if amp in (None, True) else None
    model.eval()
    correct = total = 0
    for x, y in loader:
        x = _to_input(x, device, channels_last)
        y = y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            scores = model(x)
        correct += (scores.argmax(1) == y).sum().item()
        total += y.shape[0]
    model.train(was_training)
    return correct / max(total, 1)


def onecycle_sgd(model: nn.Module, epochs: int, steps_per_epoch: int, max_lr: float = 0.1,
                 momentum: float = 0.9, weight_decay: float = 5e-4, pct_start: float = 0.25,
                 nesterov: bool = True):
    """SGD + a one-cycle schedule (linear warm-up to max_lr over pct_start of the steps, then
    cosine annealing to ~0): -> (optimizer, scheduler); step the scheduler every iteration.
    BatchNorm and bias parameters get no weight decay."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=max_lr, momentum=momentum, nesterov=nesterov)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=max(1, epochs * steps_per_epoch), pct_start=pct_start,
        anneal_strategy="cos", div_factor=10.0, final_div_factor=100.0, cycle_momentum=False)
    return optimizer, scheduler


def train(model: nn.Module, loader_train, epochs: int = 1, optimizer=None, scheduler=None,
          loader_val=None, device=None, amp: bool = None, channels_last: bool = None,
          label_smoothing: float = 0.0, max_iters: int = None, desc: str = "train",
          progress: bool = True, verbose: bool = True, callback=None):
    """Train `model` with cross-entropy for `epochs` passes over `loader_train`.

    optimizer: default `onecycle_sgd(model, epochs, len(loader_train))` (with its scheduler);
    scheduler: stepped after every iteration if given. amp / channels_last: default on for CUDA.
    max_iters: stop early after that many iterations in total (smoke runs).
    callback: called as callback(t, loss) after iteration t (0-based, counted over all epochs),
    e.g. to check validation accuracy every 100 iterations as the courses' loops do.
    Returns a dict: loss (per iteration), lr (per iteration), val_acc / train_loss /
    epoch_time / images_per_s (per epoch), iters (iterations done).
    """
    from tqdm.auto import tqdm
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device, channels_last = _prepare(model, device, channels_last)
    if optimizer is None:
        optimizer, scheduler = onecycle_sgd(model, epochs, len(loader_train))
    dtype = _amp_dtype(device) if amp in (None, True) else None
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    hist = {"loss": [], "lr": [], "val_acc": [], "train_loss": [], "epoch_time": [],
            "images_per_s": [], "iters": 0}
    total = epochs * len(loader_train)
    if max_iters is not None:
        total = min(total, max_iters)
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=True)
    done = False
    for epoch in range(epochs):
        model.train()
        t0, seen, losses = time.perf_counter(), 0, []
        for x, y in loader_train:
            x = _to_input(x, device, channels_last)
            y = y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.detach())
            hist["lr"].append(optimizer.param_groups[0]["lr"])
            seen += y.shape[0]
            hist["iters"] += 1
            bar.update(1)
            if callback is not None:
                callback(hist["iters"] - 1, loss.detach())
            if hist["iters"] % 20 == 0:
                bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1].item():.3f}")
            if hist["iters"] >= total:
                done = True
                break
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        epoch_losses = torch.stack(losses).float().cpu().tolist()
        hist["loss"] += epoch_losses
        hist["train_loss"].append(float(np.mean(epoch_losses)))
        hist["epoch_time"].append(dt)
        hist["images_per_s"].append(seen / dt)
        msg = (f"epoch {epoch + 1}/{epochs}: train loss {hist['train_loss'][-1]:.3f}, "
               f"{dt:.1f} s ({seen / dt:.0f} images/s)")
        if loader_val is not None:
            acc = evaluate(model, loader_val, device, amp, channels_last)
            hist["val_acc"].append(acc)
            msg += f", val acc {100 * acc:.2f}%"
            bar.set_postfix(epoch=epoch + 1, loss=f"{hist['train_loss'][-1]:.3f}", val=f"{100 * acc:.1f}%")
        if verbose:
            bar.write(msg) if progress else print(msg)
        if done:
            break
    bar.close()
    return hist


# --------------------------------------------------------------------------------------------
# Reference: the EECS 498 pre-activation ResNet written straight from stock torch.nn layers
# --------------------------------------------------------------------------------------------
def _stock_block(kind: str, cin: int, cout: int, downsample: bool) -> nn.Module:
    s = 2 if downsample else 1
    if kind == "bottleneck":
        m = cout // 4
        main = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, m, 1, stride=s),
                             nn.BatchNorm2d(m), nn.ReLU(), nn.Conv2d(m, m, 3, padding=1),
                             nn.BatchNorm2d(m), nn.ReLU(), nn.Conv2d(m, cout, 1))
    else:
        main = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 3, stride=s, padding=1),
                             nn.BatchNorm2d(cout), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1))
    if kind == "plain":
        return main
    short = nn.Identity() if (cin == cout and not downsample) else nn.Conv2d(cin, cout, 1, stride=s)
    return _Sum(main, short)


class _Sum(nn.Module):
    def __init__(self, main, short):
        super().__init__()
        self.main, self.short = main, short

    def forward(self, x):
        return self.main(x) + self.short(x)


def stock_preresnet(stage_args, kind: str = "residual", Cin: int = 3, num_classes: int = 10) -> nn.Module:
    """Stem (3x3 conv + ReLU) -> stages of `kind` blocks ('plain' | 'residual' | 'bottleneck')
    given as (Cin, Cout, num_blocks, downsample) -> global average pool -> linear. Parameters
    are registered in the order the EECS modules register theirs (stem, blocks in order, each
    main path before its shortcut, then fc), so weights can be copied across by position."""
    if kind not in ("plain", "residual", "bottleneck"):
        raise ValueError(f"unknown block kind {kind!r}")
    layers = [nn.Conv2d(Cin, stage_args[0][0], 3, padding=1), nn.ReLU()]
    for cin, cout, num_blocks, down in stage_args:
        layers.append(_stock_block(kind, cin, cout, down))
        layers += [_stock_block(kind, cout, cout, False) for _ in range(num_blocks - 1)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(stage_args[-1][1], num_classes)]
    return nn.Sequential(*layers)


def copy_weights_by_position(src: nn.Module, dst: nn.Module) -> None:
    """Copy every parameter and buffer of src into dst, matched by registration order and
    checked by shape (the two models must be the same architecture)."""
    a, b = list(src.state_dict().values()), dst.state_dict()
    if len(a) != len(b):
        raise ValueError(f"models differ: {len(a)} vs {len(b)} tensors in their state dicts")
    new = {}
    for (name, t_dst), t_src in zip(b.items(), a):
        if t_dst.shape != t_src.shape:
            raise ValueError(f"shape mismatch at {name}: {tuple(t_src.shape)} vs {tuple(t_dst.shape)}")
        new[name] = t_src.clone()
    dst.load_state_dict(new)
