"""EECS A6 vae.py: loss against BCE on probabilities + closed-form KL (the course's convention:
the decoders end in Sigmoid), reparametrization statistics, one-hot, model shapes and bad input.
Layer-by-layer references of the models: tests/test_eecs498_a6_reference.py."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module


@pytest.fixture
def vae():
    return course_module("eecs498/A6", "vae")


@pytest.mark.reference("eecs498/A6", "vae.py::loss_function")
def test_loss_function_matches_reference(vae):
    n, z = 7, 5
    torch.manual_seed(0)
    x = torch.rand(n, 1, 28, 28, dtype=torch.float64)
    x[0] = (x[0] > 0.5).double()  # binary pixels too
    x_hat = torch.sigmoid(torch.randn(n, 1, 28, 28, dtype=torch.float64) * 4)
    # Confident pixels, right and wrong: BCE of 1e-12 against 1 is 27.6 nats.
    x_hat[0, 0, 0, :4] = torch.tensor([1e-12, 1 - 1e-12, 0.5, 1e-6], dtype=torch.float64)
    mu = torch.randn(n, z, dtype=torch.float64)
    logvar = torch.randn(n, z, dtype=torch.float64)
    loss = vae.loss_function(x_hat, x, mu, logvar)

    # Independent float64 numpy reference: BCE(p, t) = -(t log p + (1 - t) log(1 - p)).
    p, t = x_hat.numpy(), x.numpy()
    bce = -np.sum(t * np.log(p) + (1 - t) * np.log1p(-p))
    m, lv = mu.numpy(), logvar.numpy()
    kl = np.sum(0.5 * (np.exp(lv) + m ** 2 - 1.0 - lv))  # KL(N(m, e^lv) || N(0, 1))
    expected = (bce + kl) / n
    assert abs(loss.item() - expected) < 1e-9 * abs(expected)

    ref = (F.binary_cross_entropy(x_hat, x, reduction="sum") + kl) / n
    assert abs(loss.item() - ref.item()) < 1e-12 * abs(expected)


@pytest.mark.reference("eecs498/A6", "vae.py::loss_function")
def test_loss_function_gradient_closed_form(vae):
    """d loss / d x_hat = (x_hat - x) / (x_hat (1 - x_hat)) / N; d/dmu = mu / N;
    d/dlogvar = (exp(logvar) - 1) / 2 / N."""
    n = 4
    torch.manual_seed(1)
    x = torch.rand(n, 1, 28, 28, dtype=torch.float64)
    x_hat = torch.sigmoid(torch.randn(n, 1, 28, 28, dtype=torch.float64)).requires_grad_()
    mu = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    vae.loss_function(x_hat, x, mu, logvar).backward()
    p = x_hat.detach()
    torch.testing.assert_close(x_hat.grad, (p - x) / (p * (1 - p)) / n, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(mu.grad, mu.detach() / n, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(logvar.grad, (logvar.detach().exp() - 1) / 2 / n, rtol=1e-10, atol=1e-12)


def test_loss_function_kl_zero_at_prior(vae):
    """With mu = 0 and logvar = 0 the KL term vanishes: the loss is the BCE alone."""
    x = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    x_hat = torch.full_like(x, 0.5)  # BCE(1/2, t) = log 2 per pixel, whatever t
    zeros = torch.zeros(3, 4, dtype=torch.float64)
    assert vae.loss_function(x_hat, x, zeros, zeros).item() == pytest.approx(784 * np.log(2), rel=1e-12)


@pytest.mark.reference("eecs498/A6", "vae.py::reparametrize")
def test_reparametrize_statistics(vae):
    """Mean and variance of 200,000 samples per coordinate. Tolerances: 5 standard errors,
    sigma / sqrt(n) for the mean and sigma^2 * sqrt(2 / n) for the variance."""
    torch.manual_seed(0)
    n = 200_000
    mu = torch.tensor([0.0, 3.0, -2.0, 0.5], dtype=torch.float64)
    logvar = torch.tensor([0.0, np.log(4.0), np.log(0.01), -1.0], dtype=torch.float64)
    z = vae.reparametrize(mu.expand(n, 4), logvar.expand(n, 4))
    var = logvar.exp()
    assert z.shape == (n, 4)
    assert torch.all((z.mean(0) - mu).abs() < 5 * var.sqrt() / np.sqrt(n))
    assert torch.all((z.var(0) - var).abs() < 5 * var * np.sqrt(2 / n))
    # Coordinates are independent: off-diagonal correlations ~ N(0, 1/n).
    corr = np.corrcoef(z.numpy().T)
    assert np.abs(corr - np.eye(4)).max() < 5 / np.sqrt(n)


@pytest.mark.reference("eecs498/A6", "vae.py::reparametrize")
def test_reparametrize_is_differentiable(vae):
    """z = mu + exp(logvar / 2) * eps: dz/dmu = 1 and dz/dlogvar = (z - mu) / 2."""
    mu = torch.randn(50, 3, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(50, 3, dtype=torch.float64, requires_grad=True)
    z = vae.reparametrize(mu, logvar)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, 0.5 * (z - mu).detach())


def test_one_hot(vae):
    """one_hot is given code in a6_helper.py (the course's place); vae.py imports it."""
    helper = course_module("eecs498/A6", "a6_helper")
    assert vae.one_hot is helper.one_hot
    labels = torch.tensor([3, 0, 9, 9, 1])
    torch.testing.assert_close(helper.one_hot(labels, 10), F.one_hot(labels, 10).float())
    for bad in (torch.tensor([0, 10]), torch.tensor([-1, 2])):
        with pytest.raises(ValueError, match="0, 9"):
            helper.one_hot(bad, 10)


def _params(*dims):
    return sum(a * b + b for a, b in dims)


def test_model_shapes_and_parameters(vae):
    x = torch.rand(6, 1, 28, 28)
    model = vae.VAE(784, latent_size=15)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == (6, 1, 28, 28) and mu.shape == (6, 15) and logvar.shape == (6, 15)
    assert x_hat.min() >= 0 and x_hat.max() <= 1  # the decoder ends in Sigmoid
    h = model.hidden_dim
    assert sum(p.numel() for p in model.parameters()) == _params(
        (784, h), (h, h), (h, h), (h, 15), (h, 15), (15, h), (h, h), (h, h), (h, 784))
    cmodel = vae.CVAE(784, num_classes=10, latent_size=15)
    labels = torch.tensor([0, 1, 2, 3, 4, 9])
    torch.manual_seed(1)
    a = cmodel(x, vae.one_hot(labels, 10))
    torch.manual_seed(1)
    b = cmodel(x, labels)  # integer labels are one-hot encoded for you
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)
    assert a[0].shape == (6, 1, 28, 28) and a[1].shape == (6, 15)
    h = cmodel.hidden_dim
    assert sum(p.numel() for p in cmodel.parameters()) == _params(
        (794, h), (h, h), (h, h), (h, 15), (h, 15), (25, h), (h, h), (h, h), (h, 784))


def test_bad_input(vae):
    for kwargs in ({"latent_size": 0}, {"latent_size": -3}):
        with pytest.raises(ValueError, match="latent_size"):
            vae.VAE(784, **kwargs)
        with pytest.raises(ValueError, match="latent_size"):
            vae.CVAE(784, 10, **kwargs)
    cmodel = vae.CVAE(784, 10, 4)
    x = torch.rand(2, 1, 28, 28)
    with pytest.raises(ValueError, match="0, 9"):
        cmodel(x, torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="0, 9"):
        cmodel(x, torch.tensor([-1, 2]))
    with pytest.raises(ValueError, match="784"):
        vae.VAE(784, 4)(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="784"):
        cmodel(torch.rand(2, 1, 32, 32), torch.tensor([1, 2]))
    with pytest.raises(ValueError):
        vae.loss_function(torch.zeros(2, 1, 28, 28), torch.zeros(2, 1, 32, 32), torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError):  # mu for 3 images, x for 2
        vae.loss_function(torch.zeros(2, 1, 28, 28), torch.zeros(2, 1, 28, 28), torch.zeros(3, 4), torch.zeros(3, 4))


def test_training_reduces_loss():
    """Forty Adam steps of CVAE training on ten fixed random binary patterns (one per class)
    take the loss below that of the best model that ignores its inputs (independent Bernoulli
    pixels at the mean image): the model has learnt to use the class or the latent code."""
    vae = course_module("eecs498/A6", "vae")
    helper = course_module("eecs498/A6", "a6_helper")
    from torch.utils.data import DataLoader, TensorDataset
    protos = (torch.rand(10, 1, 28, 28) > 0.7).float()
    labels = torch.arange(10).repeat(16)
    data = protos[labels]
    loader = DataLoader(TensorDataset(data, labels), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model = vae.CVAE(784, 10, 4)
    for epoch in range(8):
        last = helper.train_vae(epoch, model, loader, cond=True, verbose=False)
    p = data.mean(0).clamp(1e-6, 1 - 1e-6)
    class_blind = -(data * p.log() + (1 - data) * (1 - p).log()).sum((1, 2, 3)).mean().item()
    print(f"loss after training {last:.1f}, class-blind optimum {class_blind:.1f}")
    assert last < class_blind
