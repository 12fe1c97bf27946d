"""GANs of CS231n A3 (cs231n/gan_pytorch.py) and EECS A6 (gan.py), tested together: every
test runs on both course modules. References: closed forms in float64 numpy and
torch.nn.functional.binary_cross_entropy_with_logits."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

MODULES = {"cs231n": ("cs231n/assignment3", "cs231n.gan_pytorch"), "eecs": ("eecs498/A6", "gan")}


@pytest.fixture(params=sorted(MODULES))
def gan(request):
    return course_module(*MODULES[request.param])


def log_sigmoid(s):
    """log(sigmoid(s)) in float64, stable for large |s|."""
    return -np.logaddexp(0.0, -s)


def logits(n=64, scale=3.0, extreme=True):
    x = torch.randn(n, 1, dtype=torch.float64) * scale
    if extreme:  # a naive sigmoid/log would give inf/nan here
        x[:4, 0] = torch.tensor([80.0, -80.0, 500.0, -500.0], dtype=torch.float64)
    return x


@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::discriminator_loss")
@pytest.mark.reference("eecs498/A6", "gan.py::discriminator_loss")
def test_discriminator_loss_closed_form(gan):
    real, fake = logits(), logits()
    loss = gan.discriminator_loss(real, fake)
    r, f = real.numpy().ravel(), fake.numpy().ravel()
    expected = -log_sigmoid(r).mean() - log_sigmoid(-f).mean()  # 1 - sigmoid(f) = sigmoid(-f)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert abs(loss.item() - expected) < 1e-10 * max(1.0, abs(expected))
    ref = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
        F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::generator_loss")
@pytest.mark.reference("eecs498/A6", "gan.py::generator_loss")
def test_generator_loss_closed_form(gan):
    fake = logits()
    loss = gan.generator_loss(fake)
    expected = -log_sigmoid(fake.numpy().ravel()).mean()
    assert abs(loss.item() - expected) < 1e-10 * max(1.0, abs(expected))
    torch.testing.assert_close(loss, F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake)),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::discriminator_loss",
                       "cs231n/gan_pytorch.py::generator_loss")
@pytest.mark.reference("eecs498/A6", "gan.py::discriminator_loss", "gan.py::generator_loss")
def test_loss_gradients_closed_form(gan):
    """d/ds of mean BCE: (sigmoid(s) - target) / N."""
    real, fake = logits(extreme=False).requires_grad_(), logits(extreme=False).requires_grad_()
    gan.discriminator_loss(real, fake).backward()
    n = real.shape[0]
    torch.testing.assert_close(real.grad, (torch.sigmoid(real.detach()) - 1) / n, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(fake.grad, torch.sigmoid(fake.detach()) / n, rtol=1e-10, atol=1e-14)
    g = logits(extreme=False).requires_grad_()
    gan.generator_loss(g).backward()
    torch.testing.assert_close(g.grad, (torch.sigmoid(g.detach()) - 1) / n, rtol=1e-10, atol=1e-14)


@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::ls_discriminator_loss",
                       "cs231n/gan_pytorch.py::ls_generator_loss")
@pytest.mark.reference("eecs498/A6", "gan.py::ls_discriminator_loss", "gan.py::ls_generator_loss")
def test_ls_losses_closed_form(gan):
    real, fake = logits(extreme=False).numpy(), logits(extreme=False).numpy()
    d = gan.ls_discriminator_loss(torch.from_numpy(real), torch.from_numpy(fake)).item()
    g = gan.ls_generator_loss(torch.from_numpy(fake)).item()
    assert abs(d - (0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake ** 2))) < 1e-12
    assert abs(g - 0.5 * np.mean((fake - 1) ** 2)) < 1e-12
    # Known values: perfect discriminator -> 0; all scores 0 -> 0.5 / 0.5.
    ones, zeros = torch.ones(5, 1), torch.zeros(5, 1)
    assert gan.ls_discriminator_loss(ones, zeros).item() == 0.0
    assert gan.ls_discriminator_loss(zeros, zeros).item() == pytest.approx(0.5)
    assert gan.ls_generator_loss(zeros).item() == pytest.approx(0.5)


@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::bce_loss")
def test_cs231n_bce_loss_matches_torch():
    gan = course_module(*MODULES["cs231n"])
    s = torch.randn(1000, dtype=torch.float64) * 10
    s[:2] = torch.tensor([1e4, -1e4], dtype=torch.float64)
    t = (torch.rand(1000) > 0.5).double()
    ours = gan.bce_loss(s, t)
    torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(s, t), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        gan.bce_loss(s, t[:10])


@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::sample_noise")
@pytest.mark.reference("eecs498/A6", "gan.py::sample_noise")
def test_sample_noise_distribution(gan):
    z = gan.sample_noise(4000, 96)
    assert z.shape == (4000, 96) and z.dtype == torch.float32
    assert z.min() >= -1 and z.max() <= 1
    # Uniform(-1, 1): mean 0, variance 1/3. 384,000 draws: standard errors 9.3e-4 (mean) and
    # 4.8e-4 (variance, sqrt(4/45 / n)); tolerance 5 standard errors.
    assert abs(z.double().mean().item()) < 5 * 9.3e-4
    assert abs(z.double().var().item() - 1 / 3) < 5 * 4.8e-4
    assert len(torch.unique(z)) > 0.95 * z.numel()  # float32 draws collide a little
    with pytest.raises(ValueError):
        gan.sample_noise(0, 96)


def test_sample_noise_course_extras():
    cs = course_module(*MODULES["cs231n"])
    torch.testing.assert_close(cs.sample_noise(3, 5, seed=7), cs.sample_noise(3, 5, seed=7))
    ee = course_module(*MODULES["eecs"])
    assert ee.sample_noise(2, 3, dtype=torch.float64).dtype == torch.float64


def _count(layers):
    """Parameters of Linear/Conv layers (weights + biases) and BatchNorm (gamma, beta)."""
    total = 0
    for kind, *dims in layers:
        if kind == "linear":
            total += dims[0] * dims[1] + dims[1]
        elif kind == "conv":  # in, out, kernel
            total += dims[0] * dims[1] * dims[2] ** 2 + dims[1]
        elif kind == "bn":
            total += 2 * dims[0]
    return total


def test_model_shapes_and_parameter_counts(gan):
    z = gan.sample_noise(6, 96)
    D, G = gan.discriminator(), gan.generator(96)
    assert sum(p.numel() for p in D.parameters()) == _count([("linear", 784, 256), ("linear", 256, 256), ("linear", 256, 1)])
    assert sum(p.numel() for p in G.parameters()) == _count([("linear", 96, 1024), ("linear", 1024, 1024), ("linear", 1024, 784)])
    x = G(z)
    assert x.shape == (6, 784) and x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (6, 1) and D(x.view(6, 1, 28, 28)).shape == (6, 1)

    DC = gan.build_dc_classifier()
    GC = gan.build_dc_generator(96)
    assert sum(p.numel() for p in DC.parameters()) == _count([("conv", 1, 32, 5), ("conv", 32, 64, 5), ("linear", 1024, 1024), ("linear", 1024, 1)])
    assert sum(p.numel() for p in GC.parameters()) == _count([
        ("linear", 96, 1024), ("bn", 1024), ("linear", 1024, 6272), ("bn", 6272),
        ("conv", 128, 64, 4), ("bn", 64), ("conv", 64, 1, 4)])
    x = GC(z)
    assert x.shape == (6, 784) and x.min() >= -1 and x.max() <= 1
    assert DC(x).shape == (6, 1) and DC(x.view(6, 1, 28, 28)).shape == (6, 1)


def test_bad_input(gan):
    with pytest.raises(ValueError, match="32"):
        gan.build_dc_classifier()(torch.zeros(4, 1, 32, 32))
    with pytest.raises(ValueError):
        gan.generator(0)
    with pytest.raises(ValueError):
        gan.build_dc_generator(0)
    with pytest.raises(ValueError):
        gan.ls_discriminator_loss(torch.zeros(4, 1), torch.zeros(5, 1))


def test_get_optimizer(gan):
    opt = gan.get_optimizer(gan.discriminator())
    assert isinstance(opt, torch.optim.Adam)
    group = opt.param_groups[0]
    assert group["lr"] == 1e-3 and tuple(group["betas"]) == (0.5, 0.999)


@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::get_optimizer")
@pytest.mark.reference("eecs498/A6", "gan.py::get_optimizer")
def test_get_optimizer_steps_like_torch_adam(gan):
    """Five steps of the returned optimizer against torch.optim.Adam(lr=1e-3, betas=(0.5,
    0.999)) (the course's setting, other arguments at torch's defaults) on a copy of the
    model: the same parameters after every step (float64)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    ref.load_state_dict(model.state_dict())
    opt = gan.get_optimizer(model)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-3, betas=(0.5, 0.999))
    x = torch.randn(8, 6, dtype=torch.float64)
    for _ in range(5):
        for m, o in ((model, opt), (ref, ref_opt)):
            o.zero_grad()
            m(x).square().mean().backward()
            o.step()
        for a, b in zip(model.parameters(), ref.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    torch.manual_seed(0)           # the same initial weights again: every parameter moved
    start = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    assert all((a - b).abs().max() > 1e-4 for a, b in zip(model.parameters(), start.parameters()))


def _tiny_loader(n=96, batch=32, size=28):
    from torch.utils.data import DataLoader, TensorDataset
    x = torch.rand(n, 1, size, size)
    return DataLoader(TensorDataset(x, torch.zeros(n)), batch_size=batch, drop_last=True)


def test_run_a_gan_trains_and_writes_gif(gan, tmp_path):
    D, G = gan.discriminator(), gan.generator()
    hist = {}
    images = gan.run_a_gan(D, G, gan.get_optimizer(D), gan.get_optimizer(G), gan.ls_discriminator_loss,
                           gan.ls_generator_loss, _tiny_loader(), show_every=2, batch_size=32,
                           num_epochs=2, gif_path=tmp_path / "g.gif", frame_every=2, history=hist,
                           verbose=False)
    assert hist["iterations"] == 6 and len(images) == 3 and images[0].shape == (16, 784)
    assert np.isfinite(hist["d_losses"]).all() and np.isfinite(hist["g_losses"]).all()
    from PIL import Image
    with Image.open(tmp_path / "g.gif") as im:
        assert im.n_frames == len(hist["frames"]) >= 3
    # The generator's parameters moved.
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


def test_run_a_gan_rejects_wrong_image_size(gan):
    D, G = gan.discriminator(), gan.generator()
    with pytest.raises(ValueError, match="28"):
        gan.run_a_gan(D, G, gan.get_optimizer(D), gan.get_optimizer(G), gan.discriminator_loss,
                      gan.generator_loss, _tiny_loader(size=32), batch_size=32, num_epochs=1, verbose=False)


# ---- random translation of D's inputs (dl4cv.gan_tools.random_translate) ----------------
def test_random_translate_is_a_padded_shift_of_each_image():
    from dl4cv.gan_tools import random_translate
    torch.manual_seed(0)
    x = torch.rand(200, 784) * 2 - 1
    out = random_translate(x, 2)
    assert out.shape == (200, 1, 28, 28)
    # Reference: every window of the image padded with -1 by explicit slicing.
    padded = torch.full((200, 32, 32), -1.0)
    padded[:, 2:30, 2:30] = x.view(200, 28, 28)
    offsets = []
    for i in range(200):
        match = [(a, b) for a in range(5) for b in range(5)
                 if torch.equal(out[i, 0], padded[i, a:a + 28, b:b + 28])]
        assert len(match) == 1
        offsets.append(match[0])
    assert len(set(offsets)) == 25  # all 5x5 offsets occur in 200 draws


def test_random_translate_gradient_reaches_kept_pixels_only():
    from dl4cv.gan_tools import random_translate
    torch.manual_seed(1)
    x = torch.randn(8, 1, 28, 28, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(8, 1, 28, 28, dtype=torch.float64)
    out = random_translate(x, 3)
    (out * weights).sum().backward()
    # Closed form: d/dx sum(w * shift(x)) = shift^-1(w), zero on pixels shifted out of view.
    for i in range(8):
        grid = torch.zeros(34, 34, dtype=torch.float64)
        found = [(a, b) for a in range(7) for b in range(7)
                 if torch.equal(out[i, 0].detach(), F.pad(x[i, 0].detach(), (3,) * 4, value=-1.0)[a:a + 28, b:b + 28])]
        a, b = found[0]
        grid[a:a + 28, b:b + 28] = weights[i, 0]
        assert torch.allclose(x.grad[i, 0], grid[3:31, 3:31])


def test_random_translate_zero_shift_and_bad_input():
    from dl4cv.gan_tools import random_translate
    x = torch.rand(4, 784)
    assert torch.equal(random_translate(x, 0), x.view(4, 1, 28, 28))
    with pytest.raises(ValueError, match="max_shift"):
        random_translate(x, -1)
    with pytest.raises(ValueError, match="28"):
        random_translate(torch.rand(4, 1, 32, 32), 2)


def test_run_a_gan_with_shifted_discriminator_inputs(gan):
    """With augment_shift, D sees shifted reals (borders at -1) in the real-image step."""
    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self, D):
            super().__init__()
            self.D = D

        def forward(self, x):
            seen.append(x.detach().clone())
            return self.D(x)

    D, G = gan.discriminator(), gan.generator()
    loader = _tiny_loader()
    real0 = next(iter(loader))[0]
    hist = {}
    gan.run_a_gan(Recorder(D), G, gan.get_optimizer(D), gan.get_optimizer(G), gan.discriminator_loss,
                  gan.generator_loss, loader, batch_size=32, num_epochs=1, history=hist,
                  verbose=False, augment_shift=2)
    assert hist["iterations"] == 3 and np.isfinite(hist["g_losses"]).all()
    # The first D call of each iteration is the real batch: rand in [0,1] scaled to [-1,1] never
    # hits exactly -1, so -1 pixels are the fill of the shift, and most images were moved.
    moved = (seen[0].view(32, -1) == -1).any(1).float().mean()
    assert moved > 0.5
    assert not torch.equal(seen[0], (2 * real0 - 1))
    with pytest.raises(ValueError, match="augment_shift"):
        gan.run_a_gan(D, G, gan.get_optimizer(D), gan.get_optimizer(G), gan.discriminator_loss,
                      gan.generator_loss, loader, batch_size=32, num_epochs=1, verbose=False,
                      augment_shift=-1)


def test_gan_seeds_command_rejects_bad_input():
    from experiments import gan_seeds
    with pytest.raises(ValueError, match="model must be one of"):
        gan_seeds.train_and_score("wgan")
    with pytest.raises(SystemExit):
        gan_seeds.main(["--augment-shift", "-1"])
