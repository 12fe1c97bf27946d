"""The course's own fixed-input checks of EECS 498-007 FA2020 A6, replayed against our modules.

Inputs, expected values and thresholds as the official notebooks (variational_autoencoders,
generative_adversarial_networks) have them; `rel_error` is the course's
(`eecs598.grad.rel_error`: max|x - y| / max(|x| + |y|), eps-guarded), written out here so that
these checks do not depend on our copy of it.
"""

import pytest
import torch

from dl4cv_tools.testing import course_module
from eecs598 import reset_seed


def rel_error(x, y, eps=1e-10):
    top = (x - y).abs().max().item()
    bot = (x.abs() + y.abs()).clamp(min=eps).max().item()
    return top / bot


@pytest.fixture
def vae():
    return course_module("eecs498/A6", "vae")


@pytest.fixture
def gan():
    return course_module("eecs498/A6", "gan")


@pytest.fixture
def helper():
    return course_module("eecs498/A6", "a6_helper")


# ---- variational_autoencoders.ipynb ----------------------------------------------------------
def test_course_reparametrize(vae):
    """'verify your mean and std error are at or less than 1e-4'."""
    reset_seed(0)
    latent_size = 15
    size = (1, latent_size)
    mu = torch.zeros(size)
    logvar = torch.ones(size)
    z = vae.reparametrize(mu, logvar)
    expected_mean = torch.FloatTensor([-0.4363])
    expected_std = torch.FloatTensor([1.6860])
    assert z.size() == size
    assert rel_error(torch.mean(z, dim=-1), expected_mean) <= 1e-4
    assert rel_error(torch.std(z, dim=-1), expected_std) <= 1e-4


def test_course_loss_function(vae):
    """'Your relative error should be less than or equal to 1e-5'. The course passes the
    sigmoid images as (x_hat, x) = (image, image_hat), probabilities both."""
    size = (1, 15)
    image = torch.sigmoid(torch.FloatTensor([[2, 5], [6, 7]]).unsqueeze(0).unsqueeze(0))
    image_hat = torch.sigmoid(torch.FloatTensor([[1, 10], [9, 3]]).unsqueeze(0).unsqueeze(0))
    expected_out = torch.tensor(8.5079)
    mu, logvar = torch.ones(size), torch.zeros(size)
    out = vae.loss_function(image, image_hat, mu, logvar)
    assert rel_error(expected_out, out) <= 1e-5


def test_course_vae_runs_on_the_course_inputs(vae, helper):
    """The notebook's training and sampling calls: VAE(784, latent_size=15) on (N, 1, 28, 28),
    CVAE with one-hot classes from a6_helper.one_hot, decoder outputs shown as images."""
    torch.manual_seed(0)
    data = torch.rand(4, 1, 28, 28)
    model = vae.VAE(28 * 28, latent_size=15)
    x_hat, mu, logvar = model(data)
    assert x_hat.shape == (4, 1, 28, 28) and mu.shape == (4, 15) and logvar.shape == (4, 15)
    model.eval()
    samples = model.decoder(torch.randn(10, 15)).data.cpu().numpy()
    assert samples.reshape(10, 28, 28).min() >= 0 and samples.max() <= 1
    cvae = vae.CVAE(28 * 28, latent_size=15)
    x_hat, mu, logvar = cvae(data, helper.one_hot(torch.tensor([0, 3, 9, 9]), 10))
    assert x_hat.shape == (4, 1, 28, 28)
    z = torch.cat((torch.randn(10, 15), torch.eye(10, 10)), dim=-1)
    assert cvae.decoder(z).shape == (10, 1, 28, 28)


# ---- generative_adversarial_networks.ipynb ---------------------------------------------------
LOGITS_FAKE = [-1.80865868, 0.09030055, -0.4428902, -0.07879368, -0.37655044,
               0.32084742, -0.28590837, 1.01376281, 0.99241439, 0.39394346]
LOGITS_REAL = [0.93487311, -1.01698916, -0.57304769, -0.88162704, -1.40129389,
               -1.45395693, -1.54239755, -0.57273325, 0.98584429, 0.13312152]


def test_course_sample_noise(gan):
    reset_seed(0)
    batch_size, noise_dim = 3, 4
    z = gan.sample_noise(batch_size, noise_dim)
    assert z.shape == (batch_size, noise_dim)
    assert torch.is_tensor(z)
    assert torch.all(z >= -1.0) and torch.all(z <= 1.0)
    assert torch.any(z < 0.0) and torch.any(z > 0.0)


def test_course_parameter_counts(gan, helper):
    assert helper.count_params(gan.discriminator()) == 267009
    assert helper.count_params(gan.generator(4)) == 1858320
    assert helper.count_params(gan.build_dc_classifier()) == 1102721
    assert helper.count_params(gan.build_dc_generator(4)) == 6580801


def test_course_gan_losses(gan):
    """'You should see errors < 1e-7'."""
    dtype = torch.float
    logits_fake = torch.tensor(LOGITS_FAKE, dtype=dtype)
    logits_real = torch.tensor(LOGITS_REAL, dtype=dtype)
    d_loss_true = torch.tensor(1.8423983904443109, dtype=dtype)
    g_loss_true = torch.tensor(0.771286196423346, dtype=dtype)
    assert rel_error(d_loss_true, gan.discriminator_loss(logits_real, logits_fake)) < 1e-7
    assert rel_error(g_loss_true, gan.generator_loss(logits_fake)) < 1e-7


def test_course_lsgan_losses(gan):
    """'you should see relative errors of < 1e-7 or less'."""
    dtype = torch.float
    logits_fake = torch.tensor(LOGITS_FAKE, dtype=dtype)
    logits_real = torch.tensor(LOGITS_REAL, dtype=dtype)
    d_loss_true = torch.tensor(1.8770293614440594, dtype=dtype)
    g_loss_true = torch.tensor(0.816954786997558, dtype=dtype)
    assert rel_error(d_loss_true, gan.ls_discriminator_loss(logits_real, logits_fake)) < 1e-7
    assert rel_error(g_loss_true, gan.ls_generator_loss(logits_fake)) < 1e-7


def test_course_get_optimizer(gan):
    """'an optim.Adam optimizer for the given model with a 1e-3 learning rate, beta1=0.5,
    beta2=0.999'."""
    opt = gan.get_optimizer(gan.discriminator())
    assert isinstance(opt, torch.optim.Adam)
    assert opt.defaults["lr"] == 1e-3 and tuple(opt.defaults["betas"]) == (0.5, 0.999)


def test_course_dc_shapes(gan, helper):
    """The notebook runs the DC classifier on a (128, 784) batch -> (128, 1), and the DC
    generator (Xavier-initialised) on (128, NOISE_DIM) noise -> (128, 784)."""
    torch.manual_seed(0)
    data = torch.rand(128, 1, 28, 28).view(-1, 784)
    assert gan.build_dc_classifier()(data).size() == (128, 1)
    g = gan.build_dc_generator()
    g.apply(helper.initialize_weights)
    fake_seed = torch.randn(128, gan.NOISE_DIM)
    assert g.forward(fake_seed).size() == (128, 784)
