"""A small MNIST classifier that the project trains once, and scores for generated digits.

The generative notebooks (CS231n A3 GANs, EECS A6 VAE/GAN) judge their samples with it:

    from dl4cv.standins.mnist_scorer import load_scorer, score_samples
    scorer = load_scorer()                       # trains (seeded) and caches on first use
    stats = score_samples(images, requested=labels, model=scorer)

`images` are (N, 1, 28, 28) or (N, 784) tensors/arrays in [0, 1] (pass `value_range=(-1, 1)`
for tanh outputs). The classifier is trained on the MNIST training images on disk only (the
mirror's 3,678, or the full 60,000), with random affine augmentation, and its accuracy is
measured on the full MNIST test set (10,000). The trained weights are cached with
`dl4cv.standins.cache` (keyed to the MNIST files on disk): `mnist_scorer_full.pt` (full
recipe) or `mnist_scorer_smoke.pt` (a one-epoch recipe that smoke mode trains when no full
model is cached).
"""
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv.mode import is_smoke
from dl4cv.standins.cache import cached_model, data_fingerprint, load_cached

FULL_RECIPE = dict(epochs=40, batch_size=64, lr=3e-3, weight_decay=5e-4, augment=True)
SMOKE_RECIPE = dict(epochs=1, batch_size=64, lr=3e-3, weight_decay=5e-4, augment=False)
SEED = 1234
_CACHED = {}


class MnistNet(nn.Module):
    """Two conv blocks (28 -> 14 -> 7) and a small MLP head; about 0.2M parameters."""

    def __init__(self, width=32):
        super().__init__()
        w = width

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(2))

        self.features = nn.Sequential(block(1, w), block(w, 2 * w))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(2 * w * 7 * 7, 128),
                                  nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x):
        # Inputs in [0, 1]; standardize with the MNIST pixel mean/std.
        return self.head(self.features((x - 0.1307) / 0.3081))


def _as_images(images, value_range=(0.0, 1.0)) -> torch.Tensor:
    """Tensor/array (N, 784), (N, 28, 28) or (N, 1, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    x = x.detach().to("cpu", torch.float32)
    n = x.shape[0] if x.dim() > 0 else 0
    if x.dim() not in (2, 3, 4) or x[0].numel() != 784 or (x.dim() == 4 and x.shape[1] != 1):
        raise ValueError(f"expected MNIST-sized images (N, 784), (N, 28, 28) or (N, 1, 28, 28); "
                         f"got shape {tuple(x.shape)}")
    lo, hi = value_range
    x = (x.reshape(n, 1, 28, 28) - lo) / (hi - lo)
    return x.clamp_(0.0, 1.0)


def random_affine(x: torch.Tensor, generator: torch.Generator, max_rot=12.0, max_shift=0.1,
                  scale=(0.9, 1.1), max_shear=0.15) -> torch.Tensor:
    """Random rotation/scale/shear/translation of a batch (N, 1, H, W), one matrix per image."""
    n = x.shape[0]
    u = torch.rand(n, 5, generator=generator)
    ang = (u[:, 0] * 2 - 1) * math.radians(max_rot)
    s = scale[0] + u[:, 1] * (scale[1] - scale[0])
    sh = (u[:, 2] * 2 - 1) * max_shear
    t = (u[:, 3:5] * 2 - 1) * max_shift * 2  # affine_grid coordinates span [-1, 1]
    cos, sin = torch.cos(ang) / s, torch.sin(ang) / s
    theta = torch.stack([torch.stack([cos, -sin + sh * cos, t[:, 0]], 1),
                         torch.stack([sin, cos + sh * sin, t[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def _load_split(split):
    from dl4cv.data import load_mnist
    images, labels = load_mnist(split)
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(labels)


@torch.no_grad()
def predict_proba(images, model=None, value_range=(0.0, 1.0), batch_size=1000) -> torch.Tensor:
    """Class probabilities (N, 10) for MNIST-sized images (see `_as_images`)."""
    model = model if model is not None else load_scorer()
    x = _as_images(images, value_range)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [F.softmax(model(x[i:i + batch_size].to(device)), dim=1).cpu()
           for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, 10)


def evaluate(model, images, labels, batch_size=1000) -> float:
    """Accuracy of `model` on images (N, 1, 28, 28) in [0, 1] with labels (N,)."""
    pred = predict_proba(images, model=model, batch_size=batch_size).argmax(1)
    return (pred == torch.as_tensor(labels)).float().mean().item()


def train_scorer(recipe=None, seed=SEED, device=None, verbose=True):
    """Train `MnistNet` on the MNIST training images on disk; returns (model, info dict)."""
    from tqdm.auto import tqdm
    recipe = dict(FULL_RECIPE if recipe is None else recipe)
    device = torch.device(device or "cpu")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, ytr = _load_split("train")
    model = MnistNet().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    bs, epochs = recipe["batch_size"], recipe["epochs"]
    steps = epochs * math.ceil(len(xtr) / bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe["lr"], total_steps=steps, pct_start=0.2)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="MNIST scorer", disable=not verbose)
    for _ in bar:
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            x, y = xtr[idx], ytr[idx]
            if recipe["augment"]:
                x = random_affine(x, gen)
            loss = F.cross_entropy(model(x.to(device)), y.to(device), label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    info = {"recipe": recipe, "seed": seed, "train_images": len(xtr),
            "train_seconds": time.perf_counter() - start}
    xte, yte = _load_split("test")
    info["test_images"] = len(xte)
    info["test_accuracy"] = evaluate(model, xte, yte)
    model.eval()
    return model.cpu(), info


def _cache_name(kind):
    return f"mnist_scorer_{kind}"     # data/cache/mnist_scorer_{full,smoke}.pt


def load_scorer(device=None, verbose=True, retrain=False):
    """The cached scorer (eval mode), training it first if needed.

    Full mode trains (and caches) the full recipe; smoke mode uses a cached full model when
    there is one, else trains and caches the one-epoch smoke recipe. A scorer trained on other
    MNIST files (the mirror subset, before the full set was downloaded) is retrained, not
    reused (`dl4cv.standins.cache`). `scorer.info` holds the recipe, training set size and
    MNIST test accuracy.
    """
    from dl4cv.data.mnist import default_root
    data = data_fingerprint(default_root())
    model = None
    if not retrain:
        for kind in (["full", "smoke"] if is_smoke() else ["full"]):
            cached = _CACHED.get(kind)
            if cached is None or cached.info.get("data_fingerprint") != data:
                state, info = load_cached(_cache_name(kind), data)
                if state is None:
                    continue
                cached = MnistNet()
                cached.load_state_dict(state)
                cached.info = info
                cached.eval()
            model = _CACHED[kind] = cached
            break
    if model is None:
        kind = "smoke" if is_smoke() else "full"

        def train():
            net, info = train_scorer(SMOKE_RECIPE if kind == "smoke" else FULL_RECIPE, verbose=verbose)
            return net.state_dict(), dict(info, kind=kind)
        state, info = cached_model(_cache_name(kind), data, train, retrain=True, verbose=False)
        model = MnistNet()
        model.load_state_dict(state)
        model.info = info
        model.eval()
        _CACHED[kind] = model
    if verbose:
        info = model.info
        print(f"MNIST scorer ({info['kind']} recipe, {info['train_images']:,} training images): "
              f"test accuracy {info['test_accuracy']:.4f} on {info['test_images']:,} MNIST test images")
    return model.to(device or "cpu")


def class_histogram(images, model=None, value_range=(0.0, 1.0)) -> np.ndarray:
    """Counts (10,) of the predicted class over the images."""
    pred = predict_proba(images, model, value_range).argmax(1)
    return np.bincount(pred.numpy(), minlength=10)


def fraction_classified_as(images, requested, model=None, value_range=(0.0, 1.0)) -> float:
    """Fraction of images whose predicted class equals `requested` (int or (N,) labels)."""
    probs = predict_proba(images, model, value_range)
    requested = torch.as_tensor(requested).long().expand(len(probs)) if np.ndim(requested) == 0 \
        else torch.as_tensor(np.asarray(requested)).long()
    if requested.shape != (len(probs),):
        raise ValueError(f"requested labels shape {tuple(requested.shape)} does not match {len(probs)} images")
    if len(requested) and (requested.min() < 0 or requested.max() > 9):
        raise ValueError(f"requested labels must be digits 0-9, got range "
                         f"[{requested.min().item()}, {requested.max().item()}]")
    return (probs.argmax(1) == requested).float().mean().item()


def mean_max_probability(images, model=None, value_range=(0.0, 1.0)) -> float:
    """Mean over images of the classifier's largest class probability (its confidence)."""
    return predict_proba(images, model, value_range).max(1).values.mean().item()


def score_samples(images, requested=None, model=None, value_range=(0.0, 1.0)) -> dict:
    """All scores at once: histogram, class fractions, min class fraction, mean max-prob and,
    if `requested` is given, the fraction classified as requested."""
    probs = predict_proba(images, model, value_range)
    pred = probs.argmax(1)
    hist = np.bincount(pred.numpy(), minlength=10)
    out = {"n": len(probs), "histogram": hist, "class_fractions": hist / max(1, len(probs)),
           "min_class_fraction": float(hist.min() / max(1, len(probs))),
           "mean_max_prob": probs.max(1).values.mean().item()}
    if requested is not None:
        out["fraction_as_requested"] = fraction_classified_as(images, requested, model, value_range)
    return out


def format_scores(stats, name="samples") -> str:
    hist = " ".join(f"{d}:{c}" for d, c in enumerate(stats["histogram"]))
    text = (f"{name}: {stats['n']} samples, per-class counts [{hist}], smallest class "
            f"{stats['min_class_fraction']:.1%}, mean max-probability {stats['mean_max_prob']:.3f}")
    if "fraction_as_requested" in stats:
        text += f", classified as requested {stats['fraction_as_requested']:.1%}"
    return text


if __name__ == "__main__":  # python -m dl4cv.standins.mnist_scorer [--retrain]: train/cache and report
    import sys
    scorer = load_scorer(retrain="--retrain" in sys.argv)
    print(scorer.info)
