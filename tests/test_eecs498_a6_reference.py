"""EECS 498-007 A6 models against independent references (issue 17).

Each student-built network (`VAE`, `CVAE`, `discriminator`, `generator`, `build_dc_classifier`,
`build_dc_generator`) is compared with a plain `torch.nn` network written here from the layer
list of the course's notebook, with the student's weights copied in: forward values and
parameter gradients in float64, in train and in eval mode. The VAEs' randomness is pinned by
replacing `vae.reparametrize` with a fixed-noise stand-in, so the test also sees that the
decoder receives the reparametrized sample (not `mu`) and that mu / logvar come from the right
layers. A wrong activation (ReLU for LeakyReLU(0.01), a missing Sigmoid or Tanh), a missing or
misplaced layer, or a BatchNorm before the ReLU changes the values and fails here.
"""
import pytest
import torch
import torch.nn as nn

from dl4cv_tools.testing import course_module

DT = torch.float64


@pytest.fixture
def vae():
    return course_module("eecs498/A6", "vae")


@pytest.fixture
def gan():
    return course_module("eecs498/A6", "gan")


# ---- weight copying --------------------------------------------------------------------------
PARAM_TYPES = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm1d, nn.BatchNorm2d)


def _layers(module):
    """The modules with parameters or buffers, in registration order."""
    return [m for m in module.modules() if isinstance(m, PARAM_TYPES)]


def _copy_into(reference, student):
    """Copy the student's weights (and BatchNorm running statistics) into the reference,
    layer by layer in order; the layer types and shapes must agree."""
    ref_layers, stu_layers = _layers(reference), _layers(student)
    kinds = lambda ls: [type(m).__name__ for m in ls]  # noqa: E731
    assert kinds(stu_layers) == kinds(ref_layers), \
        f"layers with weights: {kinds(stu_layers)}, the course's spec: {kinds(ref_layers)}"
    n_ref = sum(p.numel() for p in reference.parameters())
    n_stu = sum(p.numel() for p in student.parameters())
    assert n_stu == n_ref, f"{n_stu} parameters, the course's spec has {n_ref}"
    with torch.no_grad():
        for r, s in zip(ref_layers, stu_layers):
            for name, tensor in list(r.named_parameters(recurse=False)) + list(r.named_buffers(recurse=False)):
                src = getattr(s, name)
                assert src is not None and src.shape == tensor.shape, f"{type(r).__name__}.{name}"
                tensor.copy_(src)


def _randomize(module, gen):
    """Fresh seeded weights (unit-variance activations: weights ~ N(0, 1 / fan_in), so neither
    the ReLUs nor the Sigmoid / Tanh saturate) and non-default BatchNorm parameters and running
    statistics, so that every parameter matters."""
    with torch.no_grad():
        for m in _layers(module):
            bn = isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))
            for name, p in m.named_parameters(recurse=False):
                r = torch.randn(p.shape, generator=gen, dtype=p.dtype)
                if bn:
                    p.copy_(1 + 0.2 * r if name == "weight" else 0.1 * r)
                elif name == "weight":
                    # Conv2d (out, in, k, k); ConvTranspose2d (in, out, k, k): fan-in per output.
                    fan_in = p[0].numel() if not isinstance(m, nn.ConvTranspose2d) else p.shape[0] * p[0, 0].numel() / 4
                    p.copy_(r / fan_in ** 0.5)
                else:
                    p.copy_(0.1 * r)
            if bn:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen, dtype=DT) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen, dtype=DT) + 0.5)


def _compare(student, reference, make_inputs, forward_s, forward_r, mode, out_index=None):
    """Forward both networks on the same inputs in `mode`; compare outputs, input gradients
    and every parameter gradient (sum of output * fixed random weights as the loss)."""
    student.train(mode == "train")
    reference.train(mode == "train")
    xs_s = [x.clone().requires_grad_(x.is_floating_point()) for x in make_inputs()]
    xs_r = [x.clone().requires_grad_(x.is_floating_point()) for x in make_inputs()]
    out_s, out_r = forward_s(*xs_s), forward_r(*xs_r)
    if not isinstance(out_s, tuple):
        out_s, out_r = (out_s,), (out_r,)
    assert len(out_s) == len(out_r)
    gen = torch.Generator().manual_seed(123)
    loss_s = loss_r = 0
    for a, b in zip(out_s, out_r):
        assert a.shape == b.shape, f"output shape {tuple(a.shape)}, expected {tuple(b.shape)}"
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        w = torch.randn(b.shape, generator=gen, dtype=DT)
        loss_s, loss_r = loss_s + (a * w).sum(), loss_r + (b * w).sum()
    loss_s.backward()
    loss_r.backward()
    for a, b in zip(xs_s, xs_r):
        if a.requires_grad:
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12)
    for r, s in zip(_layers(reference), _layers(student)):
        for name, p in r.named_parameters(recurse=False):
            torch.testing.assert_close(getattr(s, name).grad, p.grad, rtol=1e-9, atol=1e-12,
                                       msg=lambda m: f"gradient of {type(r).__name__}.{name}: {m}")
    return out_s


# ---- the course's layer lists ----------------------------------------------------------------
def _mlp3(d_in, h):
    return [nn.Linear(d_in, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU()]


class RefVAE(nn.Module):
    """The course's FC-VAE (notebook: encoder Flatten + three Linear+ReLU; mu and logvar
    Linear layers; decoder three Linear+ReLU, Linear to H*W, Sigmoid, Unflatten), conditional
    when num_classes > 0: [x, c] into the encoder, [z, c] into the decoder. `noise` stands in
    for the reparametrization: z = mu + exp(logvar / 2) * noise."""

    def __init__(self, hidden, latent, num_classes=0, input_size=784):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), *_mlp3(input_size + num_classes, hidden))
        self.mu_layer = nn.Linear(hidden, latent)
        self.logvar_layer = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(*_mlp3(latent + num_classes, hidden), nn.Linear(hidden, input_size),
                                     nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))

    def forward(self, x, noise, c=None):
        x = x.reshape(len(x), -1)
        h = self.encoder(x if c is None else torch.cat([x, c], 1))
        mu, logvar = self.mu_layer(h), self.logvar_layer(h)
        z = mu + torch.exp(logvar / 2) * noise
        return self.decoder(z if c is None else torch.cat([z, c], 1)), mu, logvar


def _vae_student_order(model):
    """A container visiting the student's encoder, mu_layer, logvar_layer, decoder in order,
    whatever order they were registered in."""
    return nn.ModuleList([model.encoder, model.mu_layer, model.logvar_layer, model.decoder])


class FixedNoise:
    """Stand-in for vae.reparametrize: records (mu, logvar) and returns
    mu + exp(logvar / 2) * noise with a fixed noise tensor."""

    def __init__(self, noise):
        self.noise, self.calls = noise, []

    def __call__(self, mu, logvar):
        self.calls.append((mu, logvar))
        return mu + torch.exp(logvar / 2) * self.noise


def _vae_case(vae, monkeypatch, conditional, mode):
    torch.manual_seed(0)
    n, latent, classes = 5, 6, 10
    model = (vae.CVAE(784, num_classes=classes, latent_size=latent) if conditional
             else vae.VAE(784, latent_size=latent)).to(DT)
    h = model.hidden_dim
    assert isinstance(h, int) and h > 0, "set self.hidden_dim to the hidden size you use"
    ref = RefVAE(h, latent, classes if conditional else 0).to(DT)
    gen = torch.Generator().manual_seed(1)
    _randomize(model, gen)
    student = _vae_student_order(model)
    reference = nn.ModuleList([ref.encoder, ref.mu_layer, ref.logvar_layer, ref.decoder])
    _copy_into(reference, student)
    g = torch.Generator().manual_seed(2)
    x = torch.rand(n, 1, 28, 28, generator=g, dtype=DT)
    c = torch.eye(classes, dtype=DT)[torch.tensor([3, 0, 9, 3, 7])]
    # Noise far from zero: decoding mu instead of z changes every output.
    noise = torch.randn(n, latent, generator=g, dtype=DT) + 2.0
    stand_in = FixedNoise(noise)
    monkeypatch.setattr(vae, "reparametrize", stand_in)
    if conditional:
        outs = _compare(model, ref, lambda: [x, c], lambda a, b: model(a, b),
                        lambda a, b: ref(a, noise, b), mode)
    else:
        outs = _compare(model, ref, lambda: [x], lambda a: model(a), lambda a: ref(a, noise), mode)
    # forward drew its sample through reparametrize, once, with its own mu and logvar.
    assert len(stand_in.calls) == 1, f"reparametrize called {len(stand_in.calls)} times"
    mu, logvar = stand_in.calls[0]
    torch.testing.assert_close(mu, outs[1], rtol=0, atol=0)
    torch.testing.assert_close(logvar, outs[2], rtol=0, atol=0)
    x_hat = outs[0]
    assert x_hat.min() >= 0 and x_hat.max() <= 1


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.reference("eecs498/A6", "vae.py::VAE.__init__", "vae.py::VAE.forward")
def test_vae_matches_reference(vae, monkeypatch, mode):
    _vae_case(vae, monkeypatch, conditional=False, mode=mode)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.reference("eecs498/A6", "vae.py::CVAE.__init__", "vae.py::CVAE.forward")
def test_cvae_matches_reference(vae, monkeypatch, mode):
    _vae_case(vae, monkeypatch, conditional=True, mode=mode)


def test_vae_decodes_the_reparametrized_sample(vae):
    """With the real reparametrize: seeding torch fixes the noise, and decoding mu instead of z
    gives another image (a VAE whose decoder ignores the sample fails)."""
    torch.manual_seed(0)
    model = vae.VAE(784, latent_size=4).to(DT)
    x = torch.rand(3, 1, 28, 28, dtype=DT)
    torch.manual_seed(5)
    a = model(x)
    torch.manual_seed(5)
    b = model(x)
    torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)  # same seed, same sample
    torch.manual_seed(6)
    c = model(x)
    torch.testing.assert_close(a[1], c[1], rtol=0, atol=0)  # mu does not depend on the noise
    assert (a[0] - c[0]).abs().max() > 1e-6, "x_hat does not depend on the sampled z"
    with torch.no_grad():
        from_mu = model.decoder(a[1])
    assert (from_mu - a[0]).abs().max() > 1e-6, "the decoder received mu, not the sample z"


# ---- GANs ------------------------------------------------------------------------------------
def ref_discriminator():
    return nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.01), nn.Linear(256, 256),
                         nn.LeakyReLU(0.01), nn.Linear(256, 1))


def ref_generator(noise_dim):
    return nn.Sequential(nn.Linear(noise_dim, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 784), nn.Tanh())


def ref_dc_classifier():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(4 * 4 * 64, 4 * 4 * 64), nn.LeakyReLU(0.01), nn.Linear(4 * 4 * 64, 1))


def ref_dc_generator(noise_dim):
    return nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
        nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(), nn.Flatten())


def _gan_case(student, reference, inputs, mode):
    gen = torch.Generator().manual_seed(7)
    student, reference = student.to(DT), reference.to(DT)
    _randomize(student, gen)
    _copy_into(reference, student)
    out = _compare(student, reference, lambda: [inputs], student, reference, mode)[0]
    if mode == "train":  # BatchNorm running statistics moved alike
        for r, s in zip(_layers(reference), _layers(student)):
            for name, buf in r.named_buffers(recurse=False):
                if buf.is_floating_point():
                    torch.testing.assert_close(getattr(s, name), buf, rtol=1e-10, atol=1e-12)
    return out


def _images(n=6):
    """(N, 784) in [-1, 1]: the discriminators' input in the course's training loop."""
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(3), dtype=DT) * 2 - 1


def _noise(n, dim):
    return torch.rand(n, dim, generator=torch.Generator().manual_seed(4), dtype=DT) * 2 - 1


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.reference("eecs498/A6", "gan.py::discriminator")
def test_fc_discriminator_reference(gan, mode):
    out = _gan_case(gan.discriminator(), ref_discriminator(), _images(), mode)
    assert out.shape == (6, 1)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.reference("eecs498/A6", "gan.py::generator")
def test_fc_generator_reference(gan, mode):
    out = _gan_case(gan.generator(8), ref_generator(8), _noise(6, 8), mode)
    assert out.shape == (6, 784) and out.abs().max() <= 1


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.reference("eecs498/A6", "gan.py::build_dc_classifier")
def test_dc_classifier_reference(gan, mode):
    out = _gan_case(gan.build_dc_classifier(), ref_dc_classifier(), _images(4), mode)
    assert out.shape == (4, 1)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.reference("eecs498/A6", "gan.py::build_dc_generator")
def test_dc_generator_reference(gan, mode):
    out = _gan_case(gan.build_dc_generator(8), ref_dc_generator(8), _noise(6, 8), mode)
    assert out.shape == (6, 784) and out.abs().max() <= 1


def test_builders_use_the_default_noise_dim(gan):
    """generator() and build_dc_generator() default to NOISE_DIM = 96, as in the course."""
    assert gan.NOISE_DIM == 96
    for build in (gan.generator, gan.build_dc_generator):
        first = next(m for m in build().modules() if isinstance(m, nn.Linear))
        assert first.in_features == 96
