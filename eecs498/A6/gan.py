"""Generative adversarial networks on MNIST (EECS 498-007 Fall 2020, A6).

Images travel as (N, 1, 28, 28) (real, scaled to [-1, 1]) or (N, 784) (generator output,
tanh values in [-1, 1]); discriminators return one logit per image, shape (N, 1).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from a6_helper import Flatten, Unflatten

NOISE_DIM = 96


def hello_gan():
    print("Hello from gan.py!")


def sample_noise(batch_size, noise_dim, dtype=torch.float, device="cpu"):
    """Uniform random noise in (-1, 1).

    Inputs:
    - batch_size: number N of noise vectors (>= 1).
    - noise_dim: dimension D of each vector (>= 1).
    - dtype, device: of the returned tensor.

    Returns: tensor (N, D).
    """
    if batch_size < 1 or noise_dim < 1:
        raise ValueError(f"batch_size and noise_dim must be >= 1, got {batch_size}, {noise_dim}")
    noise = None
    # TODO: draw (batch_size, noise_dim) independent samples, uniform in (-1, 1), with the
    # requested dtype and device. Hint: torch.rand is uniform on [0, 1).
    # *****START OF YOUR CODE*****
    noise = torch.rand(batch_size, noise_dim, dtype=dtype, device=device).mul_(2).sub_(1)
    # *****END OF YOUR CODE*****
    return noise


def discriminator():
    """Fully connected discriminator: Flatten, Linear(784, 256), LeakyReLU(0.01),
    Linear(256, 256), LeakyReLU(0.01), Linear(256, 1). Input (N, 1, 28, 28) or (N, 784)."""
    model = None
    # TODO: build the nn.Sequential described above.
    # *****START OF YOUR CODE*****
    layers = [Flatten()]
    for d_in, d_out in ((784, 256), (256, 256)):
        layers += [nn.Linear(d_in, d_out), nn.LeakyReLU(0.01)]
    model = nn.Sequential(*layers, nn.Linear(256, 1))
    # *****END OF YOUR CODE*****
    return model


def generator(noise_dim=NOISE_DIM):
    """Fully connected generator: Linear(noise_dim, 1024), ReLU, Linear(1024, 1024), ReLU,
    Linear(1024, 784), Tanh. Input (N, noise_dim); output (N, 784) in [-1, 1]."""
    if noise_dim < 1:
        raise ValueError(f"noise_dim must be >= 1, got {noise_dim}")
    model = None
    # TODO: build the nn.Sequential described above.
    # *****START OF YOUR CODE*****
    model = nn.Sequential(nn.Linear(noise_dim, 1024), nn.ReLU(),
                          nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 784), nn.Tanh())
    # *****END OF YOUR CODE*****
    return model


def discriminator_loss(logits_real, logits_fake):
    """Vanilla GAN discriminator loss.

    Inputs: logits_real (N, 1) scores for real data, logits_fake (N, 1) for fake data.
    Returns: scalar tensor: mean BCE of logits_real against label 1 plus mean BCE of
    logits_fake against label 0.
    """
    loss = None
    # TODO: use torch.nn.functional.binary_cross_entropy_with_logits (numerically stable).
    # *****START OF YOUR CODE*****
    real_term = F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
    fake_term = F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
    loss = real_term + fake_term
    # *****END OF YOUR CODE*****
    return loss


def generator_loss(logits_fake):
    """Non-saturating generator loss: mean BCE of logits_fake (N, 1) against label 1."""
    loss = None
    # TODO: the generator is rewarded when its fakes are scored as real.
    # *****START OF YOUR CODE*****
    loss = F.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))
    # *****END OF YOUR CODE*****
    return loss


def get_optimizer(model):
    """Adam, learning rate 1e-3, beta1 = 0.5, beta2 = 0.999."""
    optimizer = None
    # TODO: construct and return the optimizer for model's parameters.
    # *****START OF YOUR CODE*****
    optimizer = optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    # *****END OF YOUR CODE*****
    return optimizer


def ls_discriminator_loss(scores_real, scores_fake):
    """Least-squares discriminator loss: 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2], batch means.

    Inputs: scores_real, scores_fake: (N, 1). Returns a scalar tensor.
    """
    if scores_real.shape != scores_fake.shape:
        raise ValueError(f"scores_real {tuple(scores_real.shape)} and scores_fake "
                         f"{tuple(scores_fake.shape)} must have the same shape")
    loss = None
    # TODO: implement the formula above.
    # *****START OF YOUR CODE*****
    loss = 0.5 * (scores_real - 1).pow(2).mean() + 0.5 * scores_fake.pow(2).mean()
    # *****END OF YOUR CODE*****
    return loss


def ls_generator_loss(scores_fake):
    """Least-squares generator loss: 0.5 E[(D(G(z)) - 1)^2]. Input (N, 1); scalar output."""
    loss = None
    # TODO: implement the formula above.
    # *****START OF YOUR CODE*****
    loss = 0.5 * (scores_fake - 1).pow(2).mean()
    # *****END OF YOUR CODE*****
    return loss


def build_dc_classifier():
    """DCGAN discriminator. Input (N, 784) or (N, 1, 28, 28); output (N, 1) logits.

    Unflatten to (N, 1, 28, 28); Conv2d(1, 32, 5), LeakyReLU(0.01), MaxPool2d(2, 2);
    Conv2d(32, 64, 5), LeakyReLU(0.01), MaxPool2d(2, 2); Flatten; Linear(4*4*64, 4*4*64),
    LeakyReLU(0.01); Linear(4*4*64, 1).
    """
    model = None
    # TODO: build the nn.Sequential above (spatial size 28 -> 24 -> 12 -> 8 -> 4).
    # *****START OF YOUR CODE*****
    model = nn.Sequential(
        Unflatten(-1, 1, 28, 28),
        nn.Conv2d(1, 32, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        Flatten(),
        nn.Linear(64 * 4 * 4, 64 * 4 * 4), nn.LeakyReLU(0.01),
        nn.Linear(64 * 4 * 4, 1),
    )
    # *****END OF YOUR CODE*****
    return model


def build_dc_generator(noise_dim=NOISE_DIM):
    """DCGAN generator. Input (N, noise_dim); output (N, 784) in [-1, 1].

    Linear(noise_dim, 1024), ReLU, BatchNorm1d(1024); Linear(1024, 7*7*128), ReLU,
    BatchNorm1d; Unflatten to (N, 128, 7, 7); ConvTranspose2d(128, 64, 4, stride=2,
    padding=1), ReLU, BatchNorm2d(64); ConvTranspose2d(64, 1, 4, stride=2, padding=1), Tanh;
    Flatten.
    """
    if noise_dim < 1:
        raise ValueError(f"noise_dim must be >= 1, got {noise_dim}")
    model = None
    # TODO: build the nn.Sequential above (7x7 -> 14x14 -> 28x28).
    # *****START OF YOUR CODE*****
    model = nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
        nn.Linear(1024, 128 * 7 * 7), nn.ReLU(), nn.BatchNorm1d(128 * 7 * 7),
        Unflatten(-1, 128, 7, 7),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),
        Flatten(),
    )
    # *****END OF YOUR CODE*****
    return model


def run_a_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train,
              show_every=250, batch_size=128, noise_size=NOISE_DIM, num_epochs=10, device="cpu",
              *, max_iters=None, gif_path=None, frame_every=None, history=None, verbose=True,
              augment_shift=0):
    """Train a GAN (given code; the loop lives in dl4cv.gan_tools.train_gan).

    loader_train yields (x, y) with x (B, 1, 28, 28) in [0, 1]. Every show_every iterations
    the generator's current samples are kept. max_iters caps the iterations; gif_path writes
    fixed-noise sample grids (every frame_every iterations) as a looping GIF; history (a dict)
    receives losses, timings and frames; augment_shift > 0 moves every image D sees by up to
    that many pixels (see train_gan; 0 is the course's loop). Returns the list of kept
    (16, 784) sample arrays.
    """
    from dl4cv.gan_tools import train_gan
    D.to(device)
    G.to(device)
    hist = train_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train,
                     noise_fn=lambda n: sample_noise(n, noise_size, device=device),
                     show_every=show_every, batch_size=batch_size, noise_size=noise_size,
                     num_epochs=num_epochs, max_iters=max_iters, frame_every=frame_every,
                     gif_path=gif_path, device=device, verbose=verbose, augment_shift=augment_shift)
    if history is not None:
        history.update(hist)
    return hist["images"]
