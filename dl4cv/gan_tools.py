"""GAN plumbing shared by CS231n A3 (`cs231n/gan_pytorch.py`) and EECS A6 (`gan.py`).

Each course keeps its own student-facing functions (noise, models, losses) and its own
`run_a_gan`; this module holds what both training loops need and students never write:
the MNIST loader (every MNIST image on disk), the alternating D/G update loop with a
progress bar and optional random translation of D's inputs (for training on a fraction of
MNIST), fixed-noise sample grids collected during training and written as a small looping
GIF, and scoring of the final generator with `dl4cv.standins.mnist_scorer`.
"""
import functools
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from dl4cv.images import image_grid, save_gif

IMAGE_SHAPE = (1, 28, 28)


class Flatten(nn.Module):
    """(N, C, H, W) -> (N, C*H*W). Used by both courses' GAN modules (course-given code)."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)


class Unflatten(nn.Module):
    """(N, C*H*W) -> (N, C, H, W); N=-1 infers the batch size. A ValueError names the shapes
    when the input cannot hold images of size (C, H, W)."""

    def __init__(self, N=-1, C=128, H=7, W=7):
        super().__init__()
        self.N, self.C, self.H, self.W = N, C, H, W

    def forward(self, x):
        per_image = self.C * self.H * self.W
        if x.dim() == 0 or x[0].numel() != per_image:
            raise ValueError(f"Unflatten expects {per_image} values per image "
                             f"({self.C}x{self.H}x{self.W}), got input of shape {tuple(x.shape)}")
        return x.reshape(self.N, self.C, self.H, self.W)


def mnist_gan_images(num_images=None, verbose=True) -> torch.Tensor:
    """All MNIST images on disk (train then test) as float32 (N, 1, 28, 28) in [0, 1].

    The GANs only need images, so the mirror's 3,678 training and 10,000 test images are
    pooled (13,678); with the full data set this is 70,000. `num_images` keeps the first
    ones (smoke mode).
    """
    from dl4cv.data import load_mnist
    parts = [load_mnist(split, verbose=verbose)[0] for split in ("train", "test")]
    images = np.concatenate(parts)
    if num_images is not None:
        if num_images < 1:
            raise ValueError(f"num_images must be >= 1, got {num_images}")
        images = images[:num_images]
    if verbose:
        print(f"GAN training images: {len(images):,} (MNIST train + test on disk)")
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def mnist_loader(batch_size=128, num_images=None, seed=0, verbose=True):
    """A shuffling DataLoader of (x, y) batches, x: (B, 1, 28, 28) in [0, 1]; y is a dummy 0
    (the course's loaders yield (image, label) pairs). Incomplete last batches are dropped."""
    from torch.utils.data import DataLoader, TensorDataset
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    x = mnist_gan_images(num_images, verbose=verbose)
    if len(x) < batch_size:
        raise ValueError(f"{len(x)} images are fewer than one batch of {batch_size}")
    ds = TensorDataset(x, torch.zeros(len(x), dtype=torch.long))
    return DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=True,
                      generator=torch.Generator().manual_seed(seed))


def check_image_batch(x, batch_size=None):
    """ValueError unless x is (B, 1, 28, 28) (or (B, 784)) with B == batch_size when given."""
    ok = (x.dim() == 4 and tuple(x.shape[1:]) == IMAGE_SHAPE) or (x.dim() == 2 and x.shape[1] == 784)
    if not ok:
        raise ValueError(f"expected MNIST image batches of shape (B, 1, 28, 28) or (B, 784), "
                         f"got {tuple(x.shape)}")
    if batch_size is not None and x.shape[0] != batch_size:
        raise ValueError(f"expected batches of {batch_size} images, got {x.shape[0]}")


def to_uint8(images, value_range=(-1.0, 1.0)) -> np.ndarray:
    """(N, 784) or (N, 1, 28, 28) images in value_range -> (N, 28, 28) uint8."""
    lo, hi = value_range
    x = images.detach().float().cpu().reshape(-1, 28, 28)
    return ((x - lo) / (hi - lo)).clamp(0, 1).mul(255).round().byte().numpy()


def random_translate(x, max_shift, fill=-1.0) -> torch.Tensor:
    """Shift each image by its own random whole-pixel offset, filling the uncovered border.

    x: (B, 784) or (B, 1, 28, 28); returns (B, 1, 28, 28). Offsets dy, dx are uniform in
    [-max_shift, max_shift] (torch's global generator, so seeded runs repeat). `fill` is the
    background value (-1 for tanh-scaled MNIST). Differentiable in x: the gradient of a kept
    pixel flows back to where it came from, so the generator learns through the shift.
    """
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    check_image_batch(x)
    b = x.shape[0]
    images = x.reshape(b, 28, 28)
    if max_shift == 0:
        return images.reshape(b, *IMAGE_SHAPE)
    padded = torch.nn.functional.pad(images, (max_shift,) * 4, value=fill)
    dy, dx = (torch.randint(0, 2 * max_shift + 1, (b,)).to(x.device) for _ in range(2))
    pixels = torch.arange(28, device=x.device)
    rows = (dy[:, None] + pixels)[:, :, None]     # (B, 28, 1)
    cols = (dx[:, None] + pixels)[:, None, :]     # (B, 1, 28)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, rows, cols].reshape(b, *IMAGE_SHAPE)


@torch.no_grad()
def generate(G, noise, batch_size=500):
    """G's outputs for `noise`, in eval mode (BatchNorm running statistics), on G's device."""
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    out = torch.cat([G(noise[i:i + batch_size].to(device)).cpu() for i in range(0, len(noise), batch_size)])
    G.train(was_training)
    return out


def train_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train, noise_fn,
              show_every=250, batch_size=128, noise_size=96, num_epochs=10, max_iters=None,
              frame_every=None, gif_path=None, device=None, verbose=True, on_show=None,
              augment_shift=0):
    """The course's alternating GAN update on MNIST.

    Per iteration: one discriminator step on a real batch (scaled to [-1, 1]) and a detached
    fake batch, then one generator step on a fresh fake batch. With `augment_shift` > 0 every
    image D sees, real or fake, in both steps, is first moved by up to that many pixels
    (`random_translate`, the translation of "DiffAugment", Zhao et al. 2020). That method is
    meant for small data sets, where D sees each image many times and can learn them by
    heart. Fakes are shifted the same way as reals, so G gains nothing by drawing shifted
    digits. `noise_fn(n)` returns (n, noise_size) noise (the course module's `sample_noise`).
    Every `show_every` iterations the generator's current batch is kept (and passed to
    `on_show(images, it)`); every `frame_every` iterations a fixed-noise 8x8 grid is kept as a
    GIF frame.

    Returns a dict: images (list of (16, 784) numpy arrays in [-1, 1]), frames (uint8 grids),
    d_losses, g_losses, iterations, seconds, seconds_per_epoch, gif (path or None).
    """
    from tqdm.auto import tqdm
    if augment_shift < 0:
        raise ValueError(f"augment_shift must be >= 0, got {augment_shift}")
    device = torch.device(device) if device is not None else next(G.parameters()).device
    # What D sees: random_translate(images, 0) only reshapes and draws no random numbers, so
    # the course's loop (augment_shift=0) repeats exactly.
    view = functools.partial(random_translate, max_shift=augment_shift)
    iters_per_epoch = len(loader_train)
    total = num_epochs * iters_per_epoch if max_iters is None else min(max_iters, num_epochs * iters_per_epoch)
    frame_every = frame_every or max(1, total // 40)
    fixed_noise = noise_fn(64).detach().clone()
    hist = {"images": [], "frames": [], "d_losses": [], "g_losses": [], "iterations": 0, "gif": None}
    start = time.perf_counter()
    bar = tqdm(total=total, desc="GAN", disable=not verbose)
    it = 0
    for _epoch in range(num_epochs):
        for x, _ in loader_train:
            if it >= total:
                break
            check_image_batch(x)
            if len(x) != batch_size:
                continue
            real = (2 * x - 1).to(device)  # generator outputs tanh values in [-1, 1]
            D_solver.zero_grad()
            logits_real = D(view(real))
            fake = G(noise_fn(batch_size).to(device)).detach()
            logits_fake = D(view(fake))
            d_total_error = discriminator_loss(logits_real, logits_fake)
            d_total_error.backward()
            D_solver.step()

            G_solver.zero_grad()
            fake = G(noise_fn(batch_size).to(device))
            g_error = generator_loss(D(view(fake)))
            g_error.backward()
            G_solver.step()

            hist["d_losses"].append(d_total_error.item())
            hist["g_losses"].append(g_error.item())
            if it % show_every == 0:
                imgs = fake[:16].detach().cpu().reshape(-1, 784).numpy()
                hist["images"].append(imgs)
                if on_show is not None:
                    on_show(imgs, it)
            if it % frame_every == 0 or it == total - 1:
                hist["frames"].append(image_grid(to_uint8(generate(G, fixed_noise)), ncols=8))
            it += 1
            bar.update(1)
            bar.set_postfix(D=f"{d_total_error.item():.3f}", G=f"{g_error.item():.3f}")
        if it >= total:
            break
    bar.close()
    hist["iterations"] = it
    hist["seconds"] = time.perf_counter() - start
    hist["seconds_per_epoch"] = hist["seconds"] * iters_per_epoch / max(1, it)
    if gif_path is not None and hist["frames"]:
        # 16 grey levels: a GIF of noisy early samples stays small (LZW compresses them far better).
        frames = [(f // 16 * 17).astype(np.uint8) for f in hist["frames"]]
        hist["gif"] = save_gif(frames, gif_path, fps=6, max_side=256)
    return hist


def score_generator(G, noise_fn, n=1000, model=None):
    """Score n generated samples with the project's MNIST classifier (see dl4cv.standins.mnist_scorer)."""
    from dl4cv.standins.mnist_scorer import score_samples
    samples = generate(G, noise_fn(n))
    return score_samples(samples.reshape(n, 1, 28, 28), model=model, value_range=(-1, 1))


def gif_path(name) -> Path:
    """build/<name>.gif (e.g. build/gan/cs231n_vanilla_gan.gif)."""
    from dl4cv.paths import build_dir
    return build_dir() / "gan" / f"{name}.gif"
