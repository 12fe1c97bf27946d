"""Generative adversarial networks on MNIST (CS231n 2020, assignment 3, PyTorch).

Images are flattened to 784 values; the generator outputs tanh values in [-1, 1] and real
images are scaled to [-1, 1] before they reach the discriminator. Discriminators output one
raw score (logit) per image, shape (N, 1).
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.nn import init

from dl4cv.gan_tools import Flatten, Unflatten  # noqa: F401  (course names, shared by both courses)
from torch.utils.data import sampler

NOISE_DIM = 96

dtype = torch.float


def sample_noise(batch_size, dim, seed=None):
    """Uniform noise in (-1, 1).

    Inputs:
    - batch_size: number of noise vectors N (>= 1).
    - dim: dimension D of each vector (>= 1).
    - seed: if given, seed torch's generator first so the draw is reproducible.

    Returns: tensor (N, D).
    """
    if batch_size < 1 or dim < 1:
        raise ValueError(f"batch_size and dim must be >= 1, got batch_size={batch_size}, dim={dim}")
    if seed is not None:
        torch.manual_seed(seed)
    # TODO: return a (batch_size, dim) tensor of independent uniform samples in (-1, 1).
    # Hint: torch.rand draws from [0, 1); rescale it.
    # *****START OF YOUR CODE*****
    return torch.rand(batch_size, dim) * 2 - 1
    # *****END OF YOUR CODE*****


def initialize_weights(m):
    """Xavier-uniform weights for linear and transposed-conv layers (the course's init)."""
    if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
        init.xavier_uniform_(m.weight.data)


def discriminator(seed=None):
    """The fully connected discriminator: 784 -> 256 -> 256 -> 1, LeakyReLU(0.01).

    Input (N, 1, 28, 28) or (N, 784); output (N, 1) logits.
    """
    if seed is not None:
        torch.manual_seed(seed)
    model = None
    # TODO: build an nn.Sequential: Flatten, Linear(784, 256), LeakyReLU(0.01),
    # Linear(256, 256), LeakyReLU(0.01), Linear(256, 1).
    # *****START OF YOUR CODE*****
    model = nn.Sequential(
        Flatten(),
        nn.Linear(784, 256), nn.LeakyReLU(0.01),
        nn.Linear(256, 256), nn.LeakyReLU(0.01),
        nn.Linear(256, 1),
    )
    # *****END OF YOUR CODE*****
    return model


def generator(noise_dim=NOISE_DIM, seed=None):
    """The fully connected generator: noise_dim -> 1024 -> 1024 -> 784, ReLU, tanh output.

    Input (N, noise_dim); output (N, 784) in [-1, 1].
    """
    if noise_dim < 1:
        raise ValueError(f"noise_dim must be >= 1, got {noise_dim}")
    if seed is not None:
        torch.manual_seed(seed)
    model = None
    # TODO: build an nn.Sequential: Linear(noise_dim, 1024), ReLU, Linear(1024, 1024), ReLU,
    # Linear(1024, 784), Tanh.
    # *****START OF YOUR CODE*****
    model = nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(),
        nn.Linear(1024, 1024), nn.ReLU(),
        nn.Linear(1024, 784), nn.Tanh(),
    )
    # *****END OF YOUR CODE*****
    return model


def _check_same_shape(**tensors):
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"inputs must have the same shape, got {shapes}")


def bce_loss(input, target):
    """Mean binary cross-entropy between sigmoid(input) and target, computed stably.

    Inputs:
    - input: (N,) raw scores (logits).
    - target: (N,) targets in {0, 1}.

    Returns: scalar tensor, mean over the N elements of
    -[t log sigmoid(s) + (1 - t) log(1 - sigmoid(s))].
    """
    _check_same_shape(input=input, target=target)
    # TODO: compute the mean BCE without forming sigmoid(s) (it overflows/underflows for large
    # |s|). Use the identity  loss = max(s, 0) - s * t + log(1 + exp(-|s|)).
    # *****START OF YOUR CODE*****
    loss = input.clamp(min=0) - input * target + torch.log1p(torch.exp(-input.abs()))
    return loss.mean()
    # *****END OF YOUR CODE*****


def discriminator_loss(logits_real, logits_fake):
    """Vanilla GAN discriminator loss.

    Inputs: logits_real (N, 1) / (N,) scores of real images, logits_fake likewise for fakes.
    Returns: scalar, mean BCE(real, 1) + mean BCE(fake, 0).
    """
    loss = None
    # TODO: real images should be classified 1 and fakes 0; use bce_loss for each term.
    # *****START OF YOUR CODE*****
    loss = bce_loss(logits_real, torch.ones_like(logits_real)) + \
        bce_loss(logits_fake, torch.zeros_like(logits_fake))
    # *****END OF YOUR CODE*****
    return loss


def generator_loss(logits_fake):
    """Non-saturating generator loss: mean BCE(fake, 1). Input (N, 1) / (N,); returns a scalar."""
    loss = None
    # TODO: the generator wants its fakes classified as real (target 1).
    # *****START OF YOUR CODE*****
    loss = bce_loss(logits_fake, torch.ones_like(logits_fake))
    # *****END OF YOUR CODE*****
    return loss


def get_optimizer(model):
    """Adam with learning rate 1e-3 and betas (0.5, 0.999) over model's parameters."""
    optimizer = None
    # TODO: construct the optimizer.
    # *****START OF YOUR CODE*****
    optimizer = optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    # *****END OF YOUR CODE*****
    return optimizer


def ls_discriminator_loss(scores_real, scores_fake):
    """Least-squares GAN discriminator loss.

    Inputs: scores_real, scores_fake: (N, 1) / (N,) raw scores.
    Returns: scalar 0.5 * mean((scores_real - 1)^2) + 0.5 * mean(scores_fake^2).
    """
    _check_same_shape(scores_real=scores_real, scores_fake=scores_fake)
    loss = None
    # TODO: implement the formula above.
    # *****START OF YOUR CODE*****
    loss = 0.5 * ((scores_real - 1) ** 2).mean() + 0.5 * (scores_fake ** 2).mean()
    # *****END OF YOUR CODE*****
    return loss


def ls_generator_loss(scores_fake):
    """Least-squares GAN generator loss: 0.5 * mean((scores_fake - 1)^2). Returns a scalar."""
    loss = None
    # TODO: implement the formula above.
    # *****START OF YOUR CODE*****
    loss = 0.5 * ((scores_fake - 1) ** 2).mean()
    # *****END OF YOUR CODE*****
    return loss


def build_dc_classifier(batch_size=128):
    """The convolutional discriminator (DCGAN-style) for 28x28 images.

    Unflatten to (N, 1, 28, 28); Conv2d(1, 32, 5) + LeakyReLU(0.01) + MaxPool(2, 2);
    Conv2d(32, 64, 5) + LeakyReLU(0.01) + MaxPool(2, 2); Flatten; Linear(4*4*64, 4*4*64) +
    LeakyReLU(0.01); Linear(4*4*64, 1). Output (N, 1) logits.
    `batch_size` is the course's argument; the batch size is inferred, so any N works.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model = None
    # TODO: build the nn.Sequential described above (28 -> 24 -> 12 -> 8 -> 4 spatially).
    # *****START OF YOUR CODE*****
    model = nn.Sequential(
        Unflatten(-1, 1, 28, 28),
        nn.Conv2d(1, 32, kernel_size=5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, kernel_size=5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        Flatten(),
        nn.Linear(4 * 4 * 64, 4 * 4 * 64), nn.LeakyReLU(0.01),
        nn.Linear(4 * 4 * 64, 1),
    )
    # *****END OF YOUR CODE*****
    return model


def build_dc_generator(noise_dim=NOISE_DIM):
    """The DCGAN generator: (N, noise_dim) -> (N, 784) in [-1, 1].

    Linear(noise_dim, 1024) + ReLU + BatchNorm1d; Linear(1024, 7*7*128) + ReLU + BatchNorm1d;
    Unflatten to (N, 128, 7, 7); ConvTranspose2d(128, 64, 4, stride 2, padding 1) + ReLU +
    BatchNorm2d -> 14x14; ConvTranspose2d(64, 1, 4, stride 2, padding 1) + Tanh -> 28x28; Flatten.
    """
    if noise_dim < 1:
        raise ValueError(f"noise_dim must be >= 1, got {noise_dim}")
    model = None
    # TODO: build the nn.Sequential described above.
    # *****START OF YOUR CODE*****
    model = nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
        nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128),
        Unflatten(-1, 128, 7, 7),
        nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),
        nn.ConvTranspose2d(64, 1, kernel_size=4, stride=2, padding=1), nn.Tanh(),
        Flatten(),
    )
    # *****END OF YOUR CODE*****
    return model


def run_a_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train,
              show_every=250, batch_size=128, noise_size=96, num_epochs=10, *, max_iters=None,
              gif_path=None, frame_every=None, history=None, verbose=True, augment_shift=0):
    """Train a GAN (given code).

    Inputs: the models D, G and their optimizers; the loss functions to use; loader_train
    yielding (x, y) with x (B, 1, 28, 28) in [0, 1]; show_every (keep G's current samples
    every that many iterations); batch_size; noise_size; num_epochs.
    Extras: max_iters caps the iterations (smoke mode); gif_path writes the fixed-noise sample
    grids taken every frame_every iterations as a looping GIF; history (a dict) receives the
    losses, timings and frames; augment_shift > 0 moves every image D sees by up to that many
    pixels (see dl4cv.gan_tools.train_gan; 0 is the course's loop).

    Returns: list of (16, 784) numpy arrays of samples in [-1, 1], one per show_every.
    """
    from dl4cv.gan_tools import train_gan
    hist = train_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train,
                     noise_fn=lambda n: sample_noise(n, noise_size).type(dtype),
                     show_every=show_every, batch_size=batch_size, noise_size=noise_size,
                     num_epochs=num_epochs, max_iters=max_iters, frame_every=frame_every,
                     gif_path=gif_path, verbose=verbose, augment_shift=augment_shift)
    if history is not None:
        history.update(hist)
    return hist["images"]


class ChunkSampler(sampler.Sampler):
    """Samples indices start, start+1, ..., start+num_samples-1 in order."""

    def __init__(self, num_samples, start=0):
        self.num_samples = num_samples
        self.start = start

    def __iter__(self):
        return iter(range(self.start, self.start + self.num_samples))

    def __len__(self):
        return self.num_samples


def preprocess_img(x):
    """[0, 1] -> [-1, 1]."""
    return 2 * x - 1.0


def deprocess_img(x):
    """[-1, 1] -> [0, 1]."""
    return (x + 1.0) / 2.0


def rel_error(x, y):
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def count_params(model):
    """Number of parameters in the model."""
    return sum(p.numel() for p in model.parameters())
