"""CS231n 2025 assignment 3 DDPM: the student functions of cs231n/gaussian_diffusion.py and
cs231n/unet.py against independent references, plus the given Trainer / EmojiDataset and the
project's stand-in (dl4cv.standins.emoji).

References (float64, written here from the DDPM paper's formulas, not from the modules):
- the forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t the
  cumulative product of (1 - beta_s) for three schedules written out here (linear, cosine,
  sigmoid) -> q_sample; its two inverses -> predict_start_from_noise / predict_noise_from_start;
- the posterior q(x_{t-1} | x_t, x_0) (Eq. 7: mean and variance beta~_t) with a mocked network
  and the same noise draw -> p_sample (both objectives, clamping, last step);
- the loss of Eq. (14) computed from its definition with the same t and noise draws and a
  mocked network -> p_losses (both objectives, SNR weight for pred_x_start);
- an explicit (1 + s) eps(x, c) - s eps(x, None) with a mocked eps -> cfg_forward, and with the
  real network -> cfg_forward through forward;
- the U-Net composed by hand from its (given) blocks in the documented order (skips used in
  reverse order of creation) -> forward; the documented block list -> __init__.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"


def gd():
    return course_module(A3, "cs231n.gaussian_diffusion")


def unet_mod():
    return course_module(A3, "cs231n.unet")


# ---------------------------------------------------------------- float64 closed forms

def ref_betas(schedule, T):
    """betas (T,) float64, the schedules written out from their papers."""
    if schedule == "linear":
        scale = 1000 / T
        return np.linspace(1e-4 * scale, 0.02 * scale, T)
    s = np.arange(T + 1) / T
    if schedule == "cosine":
        f = np.cos((s + 0.008) / 1.008 * np.pi / 2) ** 2
    else:   # sigmoid between -3 and 3
        sig = lambda z: 1 / (1 + np.exp(-z))
        f = (sig(3.0) - sig(6 * s - 3)) / (sig(3.0) - sig(-3.0))
    f = f / f[0]
    return np.clip(1 - f[1:] / f[:-1], 0, 0.999)


def ref_abar(schedule, T):
    return np.cumprod(1 - ref_betas(schedule, T))


def ref_posterior(schedule, T, t, x0, xt):
    """mean and std of q(x_{t-1} | x_t, x_0), Eq. (7), float64; t: int."""
    betas = ref_betas(schedule, T)
    abar = np.cumprod(1 - betas)
    abar_prev = 1.0 if t == 0 else abar[t - 1]
    mean = (np.sqrt(abar_prev) * betas[t] / (1 - abar[t]) * x0
            + np.sqrt(1 - betas[t]) * (1 - abar_prev) / (1 - abar[t]) * xt)
    var = betas[t] * (1 - abar_prev) / (1 - abar[t])
    return mean, np.sqrt(max(var, 1e-20))


def diffusion(schedule="sigmoid", T=1000, objective="pred_noise", model=None, size=4):
    return gd().GaussianDiffusion(model, image_size=size, timesteps=T, objective=objective,
                                  beta_schedule=schedule)


SCHEDULES = [("linear", 1000), ("cosine", 1000), ("sigmoid", 1000), ("sigmoid", 100), ("cosine", 37)]


@pytest.mark.reference("cs231n/assignment3", "cs231n/gaussian_diffusion.py::GaussianDiffusion.q_sample")
@pytest.mark.parametrize("schedule,T", SCHEDULES)
def test_q_sample_is_the_closed_form_forward_process(schedule, T):
    g = torch.Generator().manual_seed(T)
    b = 6
    x0 = torch.rand(b, 3, 5, 5, generator=g) * 2 - 1
    noise = torch.randn(b, 3, 5, 5, generator=g)
    t = torch.tensor([0, 1, T // 3, T // 2, T - 2, T - 1])
    got = diffusion(schedule, T).q_sample(x0, t, noise).double().numpy()
    abar = ref_abar(schedule, T)[t.numpy()][:, None, None, None]
    want = np.sqrt(abar) * x0.double().numpy() + np.sqrt(1 - abar) * noise.double().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.reference("cs231n/assignment3",
                       "cs231n/gaussian_diffusion.py::GaussianDiffusion.predict_start_from_noise",
                       "cs231n/gaussian_diffusion.py::GaussianDiffusion.predict_noise_from_start")
@pytest.mark.parametrize("schedule,T", SCHEDULES)
def test_predictions_are_the_inverses_of_the_forward_process(schedule, T):
    g = torch.Generator().manual_seed(7 + T)
    b = 5
    xt = torch.randn(b, 3, 4, 4, generator=g)
    other = torch.randn(b, 3, 4, 4, generator=g)
    t = torch.tensor([0, 3, T // 2, T - 3, T - 1])
    d = diffusion(schedule, T)
    abar = ref_abar(schedule, T)[t.numpy()][:, None, None, None]
    x, o = xt.double().numpy(), other.double().numpy()
    want_x0 = (x - np.sqrt(1 - abar) * o) / np.sqrt(abar)           # `other` as the noise
    want_eps = (x - np.sqrt(abar) * o) / np.sqrt(1 - abar)          # `other` as x_0
    got_x0 = d.predict_start_from_noise(xt, t, other).double().numpy()
    got_eps = d.predict_noise_from_start(xt, t, other).double().numpy()
    # float32 buffers: at t = T - 1 (sigmoid) abar ~ 1e-6, so 1/sqrt(abar) amplifies rounding
    np.testing.assert_allclose(got_x0, want_x0, rtol=2e-4, atol=1e-5)
    np.testing.assert_allclose(got_eps, want_eps, rtol=2e-5, atol=1e-5)


class MockModel(nn.Module):
    """A fixed 'network': out = a * tanh(x_t) + c_t (t-dependent shift) + text term; records
    its calls. scale makes outputs leave [-1, 1] so that p_sample's clamp matters."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = scale
        self.calls = []

    def forward(self, x, t, model_kwargs):
        self.calls.append((x.clone(), t.clone(), model_kwargs))
        shift = (t.double() / 50.0).float()[:, None, None, None]
        emb = model_kwargs.get("text_emb") if model_kwargs else None
        extra = 0 if emb is None else emb.mean(dim=1)[:, None, None, None]
        return self.scale * torch.tanh(x) * 1.5 + shift + extra


@pytest.mark.reference("cs231n/assignment3", "cs231n/gaussian_diffusion.py::GaussianDiffusion.p_sample")
@pytest.mark.parametrize("objective", ["pred_noise", "pred_x_start"])
@pytest.mark.parametrize("schedule,T,t,scale", [("sigmoid", 1000, 231, 1.0), ("cosine", 1000, 500, 3.0),
                                               ("linear", 100, 1, 2.0), ("sigmoid", 100, 99, 1.0)])
def test_p_sample_is_the_posterior_of_the_clamped_prediction(objective, schedule, T, t, scale):
    g = torch.Generator().manual_seed(t)
    b = 3
    xt = torch.randn(b, 3, 4, 4, generator=g)
    kwargs = {"text_emb": torch.randn(b, 5, generator=g)}
    model = MockModel(scale)
    d = diffusion(schedule, T, objective, model)
    torch.manual_seed(123)
    got = d.p_sample(xt, t, kwargs).double().numpy()
    torch.manual_seed(123)
    z = torch.randn(xt.shape).double().numpy()       # the step's noise draw

    (x_in, t_in, kw_in), = model.calls
    assert torch.equal(x_in, xt) and t_in.tolist() == [t] * b and kw_in["text_emb"] is kwargs["text_emb"]
    out = model(xt, t_in, kwargs).double().numpy()
    abar = ref_abar(schedule, T)[t]
    x = xt.double().numpy()
    x0 = (x - np.sqrt(1 - abar) * out) / np.sqrt(abar) if objective == "pred_noise" else out
    mean, std = ref_posterior(schedule, T, t, np.clip(x0, -1, 1), x)
    np.testing.assert_allclose(got, mean + std * z, rtol=1e-4, atol=1e-5)


@pytest.mark.reference("cs231n/assignment3", "cs231n/gaussian_diffusion.py::GaussianDiffusion.p_sample")
@pytest.mark.parametrize("objective", ["pred_noise", "pred_x_start"])
def test_p_sample_last_step_is_the_posterior_mean(objective):
    g = torch.Generator().manual_seed(0)
    xt = torch.randn(2, 3, 4, 4, generator=g)
    model = MockModel(2.0)
    d = diffusion("sigmoid", 100, objective, model)
    got = d.p_sample(xt, 0, {"text_emb": None}).double().numpy()
    out = model(xt, torch.zeros(2, dtype=torch.long), {"text_emb": None}).double().numpy()
    abar = ref_abar("sigmoid", 100)[0]
    x = xt.double().numpy()
    x0 = (x - np.sqrt(1 - abar) * out) / np.sqrt(abar) if objective == "pred_noise" else out
    mean, _ = ref_posterior("sigmoid", 100, 0, np.clip(x0, -1, 1), x)
    # at t = 0 the posterior mean is x_0 itself; any noise added is at most 1e-10 x N(0, 1)
    np.testing.assert_allclose(got, mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, np.clip(x0, -1, 1), rtol=1e-5, atol=1e-5)


@pytest.mark.reference("cs231n/assignment3", "cs231n/gaussian_diffusion.py::GaussianDiffusion.p_losses",
                       "cs231n/gaussian_diffusion.py::GaussianDiffusion.q_sample")
@pytest.mark.parametrize("objective,schedule,T", [("pred_noise", "sigmoid", 1000),
                                                  ("pred_x_start", "sigmoid", 1000),
                                                  ("pred_x_start", "cosine", 100),
                                                  ("pred_noise", "linear", 50)])
def test_p_losses_is_the_weighted_denoising_loss(objective, schedule, T):
    g = torch.Generator().manual_seed(T)
    b = 4
    x_start = torch.rand(b, 3, 4, 4, generator=g)          # images in [0, 1]
    kwargs = {"text_emb": torch.randn(b, 3, generator=g)}
    model = MockModel(1.0)
    d = diffusion(schedule, T, objective, model)
    torch.manual_seed(99)
    loss = d.p_losses(x_start, kwargs)
    # the course's given draws, in its order: t, then the noise
    torch.manual_seed(99)
    t = torch.randint(0, T, (b,))
    noise = torch.randn(x_start.shape)

    x0 = x_start.double().numpy() * 2 - 1
    abar = ref_abar(schedule, T)[t.numpy()][:, None, None, None]
    xt = np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise.double().numpy()
    (x_in, t_in, kw_in), = model.calls
    assert t_in.tolist() == t.tolist()
    np.testing.assert_allclose(x_in.double().numpy(), xt, rtol=1e-5, atol=1e-5)
    pred = model(torch.from_numpy(xt).float(), t, kwargs).double().numpy()
    target = noise.double().numpy() if objective == "pred_noise" else x0
    weight = np.ones_like(abar) if objective == "pred_noise" else abar / (1 - abar)
    want = np.mean(weight * (pred - target) ** 2)
    assert loss.dim() == 0
    np.testing.assert_allclose(loss.item(), want, rtol=1e-4)


def test_p_losses_backpropagates_into_the_network():
    torch.manual_seed(0)
    net = unet_mod().Unet(dim=4, condition_dim=3, dim_mults=(1, 2))
    d = diffusion("sigmoid", 100, "pred_noise", net)
    loss = d.p_losses(torch.rand(2, 3, 8, 8), {"text_emb": torch.randn(2, 3)})
    loss.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


# ---------------------------------------------------------------- U-Net

def level_spec(dim, dim_mults):
    """The documented blocks: per down level (ResnetBlock(d, d, 4 dim) x2, Downsample(d, d')),
    per up level (Upsample(d', d), ResnetBlock(2 d, d, 4 dim) x2), deepest first."""
    dims = [dim] + [dim * m for m in dim_mults]
    downs = [((a, a, 4 * dim), (a, a, 4 * dim), (a, b)) for a, b in zip(dims[:-1], dims[1:])]
    ups = [((b, a), (2 * a, a, 4 * dim), (2 * a, a, 4 * dim))
           for a, b in reversed(list(zip(dims[:-1], dims[1:])))]
    return downs, ups


@pytest.mark.reference("cs231n/assignment3", "cs231n/unet.py::Unet.__init__")
@pytest.mark.parametrize("dim,dim_mults", [(2, (1, 2, 4)), (4, (2, 4)), (3, (1,)), (8, (1, 2, 4, 8))])
def test_unet_blocks_follow_the_documented_layout(dim, dim_mults):
    U = unet_mod()
    net = U.Unet(dim=dim, condition_dim=5, dim_mults=dim_mults)
    downs, ups = level_spec(dim, dim_mults)
    assert len(net.downs) == len(downs) and len(net.ups) == len(ups)
    for level, spec in zip(net.downs, downs):
        assert isinstance(level, nn.ModuleList) and len(level) == 3
        for block, (din, dout, ctx) in zip(level[:2], spec[:2]):
            assert isinstance(block, U.ResnetBlock)
            assert (block.dim, block.dim_out, block.context_dim) == (din, dout, ctx)
        down = level[2]
        assert isinstance(down, nn.Conv2d) and down.kernel_size == (2, 2) and down.stride == (2, 2)
        assert (down.in_channels, down.out_channels) == spec[2]
    for level, spec in zip(net.ups, ups):
        assert isinstance(level, nn.ModuleList) and len(level) == 3
        up = level[0]
        assert isinstance(up, nn.Sequential) and isinstance(up[0], nn.Upsample)
        assert (up[1].in_channels, up[1].out_channels) == spec[0]
        for block, (din, dout, ctx) in zip(level[1:], spec[1:]):
            assert isinstance(block, U.ResnetBlock)
            assert (block.dim, block.dim_out, block.context_dim) == (din, dout, ctx)


@pytest.fixture
def float64_default():
    """float64 as the default dtype (the course's Unet makes its unconditional all-zero
    embedding with torch.zeros, in the default dtype)."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


def hand_built_unet(net, x, t, text_emb):
    """The U-Net's forward composed by hand from its given blocks: skips are the outputs of
    every down ResnetBlock, consumed last-in first-out, concatenated after the features."""
    ctx = net.time_mlp(t) + net.condition_mlp(text_emb)
    h = net.init_conv(x)
    skips = []
    for level in net.downs:
        h = level[0](h, ctx)
        skips.append(h)
        h = level[1](h, ctx)
        skips.append(h)
        h = level[2](h)
    h = net.mid_block2(net.mid_block1(h, ctx), ctx)
    for level in net.ups:
        h = level[0](h)
        h = level[1](torch.cat([h, skips.pop()], dim=1), ctx)
        h = level[2](torch.cat([h, skips.pop()], dim=1), ctx)
    return net.final_conv(h)


@pytest.mark.reference("cs231n/assignment3", "cs231n/unet.py::Unet.forward", "cs231n/unet.py::Unet.__init__")
@pytest.mark.parametrize("dim,dim_mults,size", [(4, (1,), 4), (4, (1, 2), 8), (6, (1, 2, 2), 8)])
def test_unet_forward_matches_the_hand_built_network(dim, dim_mults, size, float64_default):
    torch.manual_seed(dim + size)
    net = unet_mod().Unet(dim=dim, condition_dim=3, dim_mults=dim_mults).double().eval()
    x = torch.randn(2, 3, size, size, dtype=torch.float64)
    t = torch.tensor([3.0, 40.0], dtype=torch.float64)   # float64 time: the network is float64
    emb = torch.randn(2, 3, dtype=torch.float64)
    got = net(x, t, {"text_emb": emb})
    want = hand_built_unet(net, x, t, emb)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    # the unconditional input is the all-zero embedding
    torch.testing.assert_close(net(x, t, {"text_emb": None}),
                               hand_built_unet(net, x, t, torch.zeros_like(emb)), rtol=1e-10, atol=1e-10)


@pytest.mark.reference("cs231n/assignment3", "cs231n/unet.py::Unet.forward")
def test_unet_skip_order_matters_in_the_tiny_case():
    """The hand-built reference tells the skip order apart: swapping the two skips of one level
    (or concatenating skip first) changes the output of this tiny network."""
    torch.manual_seed(0)
    net = unet_mod().Unet(dim=4, condition_dim=2, dim_mults=(1,)).double().eval()
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    t = torch.tensor([5.0], dtype=torch.float64)
    emb = torch.randn(1, 2, dtype=torch.float64)
    ctx = net.time_mlp(t) + net.condition_mlp(emb)
    level, (u, r1, r2) = net.downs[0], net.ups[0]
    h0 = net.init_conv(x)
    s1 = level[0](h0, ctx)
    s2 = level[1](s1, ctx)
    h = net.mid_block2(net.mid_block1(level[2](s2), ctx), ctx)
    variants = {
        "right": net.final_conv(r2(torch.cat([r1(torch.cat([u(h), s2], 1), ctx), s1], 1), ctx)),
        "swapped": net.final_conv(r2(torch.cat([r1(torch.cat([u(h), s1], 1), ctx), s2], 1), ctx)),
        "skip first": net.final_conv(r2(torch.cat([s1, r1(torch.cat([s2, u(h)], 1), ctx)], 1), ctx)),
    }
    got = net(x, t, {"text_emb": emb})
    torch.testing.assert_close(got, variants["right"], rtol=1e-10, atol=1e-10)
    for name in ("swapped", "skip first"):
        assert (got - variants[name]).abs().max() > 1e-6, name


@pytest.mark.reference("cs231n/assignment3", "cs231n/unet.py::Unet.forward")
def test_unet_training_mode_drops_the_condition_with_uncond_prob():
    torch.manual_seed(0)
    net = unet_mod().Unet(dim=4, condition_dim=2, dim_mults=(1,), uncond_prob=1.0).double()
    for m in net.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    t = torch.tensor([1.0, 2.0], dtype=torch.float64)
    emb = torch.randn(2, 2, dtype=torch.float64)
    got = net(x, t, {"text_emb": emb})      # training mode, every condition dropped
    torch.testing.assert_close(got, hand_built_unet(net, x, t, torch.zeros_like(emb)))


@pytest.mark.reference("cs231n/assignment3", "cs231n/unet.py::Unet.cfg_forward")
@pytest.mark.parametrize("scale", [0.0, 1.0, 2.31, 7.5])
def test_cfg_forward_is_the_guidance_combination_of_a_mocked_eps(scale):
    net = unet_mod().Unet(dim=2, condition_dim=3, dim_mults=(1,))
    calls = []

    def eps(x, time, model_kwargs):
        assert "cfg_scale" not in model_kwargs
        calls.append(model_kwargs["text_emb"])
        emb = model_kwargs["text_emb"]
        return x * 2 + (0.0 if emb is None else emb.sum(1)[:, None, None, None]) + time[:, None, None, None]

    net.forward = eps           # cfg_forward calls self.forward
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 4, 4, generator=g)
    t = torch.tensor([3, 9])
    emb = torch.randn(2, 3, generator=g)
    kwargs = {"text_emb": emb, "cfg_scale": scale}
    got = net.cfg_forward(x, t, kwargs)
    cond, uncond = eps(x, t, {"text_emb": emb}), eps(x, t, {"text_emb": None})
    torch.testing.assert_close(got, (1 + scale) * cond - scale * uncond)
    assert sum(c is None for c in calls) >= 1 and any(c is emb for c in calls)
    assert kwargs["text_emb"] is emb       # the caller's condition is not replaced


@pytest.mark.reference("cs231n/assignment3", "cs231n/unet.py::Unet.cfg_forward",
                       "cs231n/unet.py::Unet.forward")
def test_forward_with_cfg_scale_is_guidance_of_the_real_network(float64_default):
    torch.manual_seed(3)
    net = unet_mod().Unet(dim=4, condition_dim=3, dim_mults=(1, 2)).double().eval()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    t = torch.tensor([7.0, 70.0], dtype=torch.float64)
    emb = torch.randn(2, 3, dtype=torch.float64)
    got = net(x, t, {"text_emb": emb, "cfg_scale": 1.5})
    want = 2.5 * hand_built_unet(net, x, t, emb) - 1.5 * hand_built_unet(net, x, t, torch.zeros_like(emb))
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_guided_sampling_guides_every_step():
    """The sampling loop passes one model_kwargs dict to all T steps: each must be guided."""
    torch.manual_seed(0)
    net = unet_mod().Unet(dim=4, condition_dim=3, dim_mults=(1,)).eval()
    seen = []
    original = net.cfg_forward

    def spy(x, time, model_kwargs={}):
        seen.append(int(time[0]))
        return original(x, time, model_kwargs)

    net.cfg_forward = spy
    d = diffusion("sigmoid", 5, "pred_noise", net, size=4)
    out = d.sample(batch_size=2, model_kwargs={"text_emb": torch.randn(2, 3), "cfg_scale": 2.0})
    assert out.shape == (2, 3, 4, 4)
    assert seen == [4, 3, 2, 1, 0]


# ---------------------------------------------------------------- given code and stand-in

def test_sample_returns_all_timesteps_in_unit_range_scale():
    torch.manual_seed(0)
    net = unet_mod().Unet(dim=4, condition_dim=3, dim_mults=(1,)).eval()
    d = diffusion("sigmoid", 6, "pred_noise", net, size=4)
    out = d.sample(batch_size=3, return_all_timesteps=True, model_kwargs={"text_emb": torch.randn(3, 3)})
    assert out.shape == (3, 7, 3, 4, 4)
    assert out[:, -1].min() >= -1e-6 and out[:, -1].max() <= 1 + 1e-6   # x_0 is clamped


def write_tiny_emoji_files(folder):
    """A 3-entry data set in the course's file format."""
    rng = np.random.default_rng(0)
    entries, texts = {}, []
    for i in range(3):
        t = [f"emoji {i}", f"icon {i}"]
        entries[str(i)] = np.array({"images": rng.integers(0, 255, (2, 40, 40, 3), dtype=np.uint8),
                                    "texts": t}, dtype=object)
        texts += t
    np.savez(folder / "emoji_data.npz", **entries)
    embs = torch.randn(len(texts), 512).half()
    torch.save({"idx_mapping": {t: i for i, t in enumerate(texts)}, "embs": embs,
                "pca_components": torch.eye(512), "mean": torch.zeros(512)},
               folder / "text_embeddings.pt")
    return texts, embs


def test_emoji_dataset_reads_the_course_format(tmp_path):
    texts, embs = write_tiny_emoji_files(tmp_path)
    E = course_module(A3, "cs231n.emoji_dataset")
    ds = E.EmojiDataset(16, data_path=str(tmp_path / "emoji_data.npz"),
                        text_emb_path=str(tmp_path / "text_embeddings.pt"))
    assert len(ds) == 3
    np.random.seed(0)
    img, kw = ds[1]
    assert img.shape == (3, 16, 16) and 0 <= img.min() and img.max() <= 1
    assert kw["text"] in ("emoji 1", "icon 1")
    torch.testing.assert_close(kw["text_emb"], embs[texts.index(kw["text"])].float())
    kw = ds.random_model_kwargs(4)
    assert kw["text_emb"].shape == (4, 512) and len(kw["text"]) == 4


def test_emoji_dataset_names_the_download_when_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("DL4CV_DATA", str(tmp_path))
    E = course_module(A3, "cs231n.emoji_dataset")
    if (E.os.path.exists(E.os.path.join(E.os.path.dirname(E.__file__), "datasets", "emoji_data.npz"))):
        pytest.skip("the course's files are in cs231n/datasets/")
    with pytest.raises(FileNotFoundError, match="get_datasets.sh cs231n-a3-ddpm"):
        E.EmojiDataset(32)


def test_trainer_trains_saves_and_loads_its_checkpoint(tmp_path):
    write_tiny_emoji_files(tmp_path)
    E = course_module(A3, "cs231n.emoji_dataset")
    Tr = course_module(A3, "cs231n.ddpm_trainer")
    ds = E.EmojiDataset(8, data_path=str(tmp_path / "emoji_data.npz"),
                        text_emb_path=str(tmp_path / "text_embeddings.pt"))
    torch.manual_seed(0)
    np.random.seed(0)
    net = unet_mod().Unet(dim=4, condition_dim=512, dim_mults=(1,))
    d = diffusion("sigmoid", 4, "pred_noise", net, size=8)
    trainer = Tr.Trainer(d, ds, "cpu", train_batch_size=2, train_num_steps=3, save_every=3,
                         sample_every=3, results_folder=str(tmp_path / "exp"))
    losses = trainer.train()
    assert len(losses) == 3 and all(math.isfinite(l) for l in losses)
    assert (tmp_path / "exp" / "model-3.pt").exists() and (tmp_path / "exp" / "sample-3.png").exists()
    assert d.training                      # back in training mode after sampling
    net2 = unet_mod().Unet(dim=4, condition_dim=512, dim_mults=(1,))
    d2 = diffusion("sigmoid", 4, "pred_noise", net2, size=8)
    t2 = Tr.Trainer(d2, ds, "cpu", train_batch_size=2, results_folder=str(tmp_path / "exp"))
    t2.load(3)
    assert t2.step == 3
    for (k, a), b in zip(d.state_dict().items(), d2.state_dict().values()):
        assert torch.equal(a, b), k


def test_standin_network_is_the_course_unet():
    """The stand-in checkpoint loads into the course's GaussianDiffusion(Unet) (same keys and
    parameter order, for the optimizer state) and computes the same function."""
    from dl4cv.standins import emoji as S
    cfg = S.MODEL_CONFIG
    torch.manual_seed(0)
    ours = S.StandinDiffusion(S.StandinUnet(cfg["dim"], cfg["condition_dim"], cfg["dim_mults"]),
                              cfg["timesteps"]).eval()
    course = gd().GaussianDiffusion(unet_mod().Unet(dim=cfg["dim"], condition_dim=cfg["condition_dim"],
                                                    dim_mults=cfg["dim_mults"]),
                                    image_size=cfg["image_size"], timesteps=cfg["timesteps"],
                                    objective=cfg["objective"], beta_schedule=cfg["beta_schedule"]).eval()
    assert [n for n, _ in course.named_parameters()] == [n for n, _ in ours.named_parameters()]
    course.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 32, 32)
    t = torch.tensor([3, 90])
    emb = torch.randn(2, cfg["condition_dim"])
    torch.testing.assert_close(course.model(x, t, {"text_emb": emb}), ours.model(x, t, emb))
    for name, buf in course.named_buffers():
        torch.testing.assert_close(buf, ours.state_dict()[name])


def test_standin_text_embedding_is_seeded_and_clip_shaped():
    from dl4cv.standins import emoji as S
    a, b = S.embed_caption("a photo of a red frog"), S.StandinTextEmbed().embed("a photo of a red frog")
    assert a.shape == (512,) and torch.equal(a, b)
    assert abs(a.norm().item() - S.EMB_NORM) < 1e-4
    assert not torch.allclose(a, S.embed_caption("a photo of a blue frog"))
    assert S.dominant_colour(np.full((32, 32, 3), (200, 40, 40), dtype=np.uint8)) == "red"


def test_registry_names_the_course_files():
    from dl4cv.data.registry import DATASETS, GROUPS
    assert GROUPS["cs231n-a3-ddpm"] == ("cifar10", "ddpm_emoji", "ddpm_weights")
    names = {i.name: i for d in ("ddpm_emoji", "ddpm_weights") for i in DATASETS[d].items}
    assert set(names) == {"emoji_data.npz", "text_embeddings.pt", "model-70000.pt"}
    for name, item in names.items():
        assert item.urls == (f"https://cs231n.stanford.edu/2025/storage/a3/{name}",)
        assert item.checksum is None
    from dl4cv.standins.emoji import REAL_SUBDIR
    assert names["model-70000.pt"].dest == f"{REAL_SUBDIR}/pretrained/model-70000.pt"


def test_standin_emoji_files_are_in_the_course_format():
    """The stand-in files (built from the CIFAR-10 images on disk, cached) read with the
    course's EmojiDataset; captions and embeddings agree with the stand-in's rules."""
    from dl4cv.errors import DataMissingError
    from dl4cv.standins import emoji as S
    try:
        data_path, emb_path, real, line = S.emoji_files(verbose=False)
    except DataMissingError:
        pytest.skip("no CIFAR-10 on disk")
    if real:
        pytest.skip("the course's emoji files are on disk")
    assert "STAND-IN" in line
    E = course_module(A3, "cs231n.emoji_dataset")
    ds = E.EmojiDataset(32, data_path=data_path, text_emb_path=emb_path)
    loaded = torch.load(emb_path)
    assert loaded["embs"].dtype == torch.float16 and loaded["embs"].shape[1] == 512
    assert set(loaded) == {"idx_mapping", "embs", "pca_components", "mean"}
    entry = ds.data[0]
    assert entry["images"].dtype == np.uint8 and entry["images"].shape[1:] == (32, 32, 3)
    colour = S.dominant_colour(entry["images"][0])
    assert entry["texts"][1] == f"{S.article(colour)} {colour} {entry['texts'][1].split()[-1]}"
    for text in entry["texts"]:
        torch.testing.assert_close(ds.text_embedder.embed(text=text), S.embed_caption(text),
                                   atol=1e-2, rtol=1e-3)       # stored in float16


def test_standin_captions_name_cifar10_classes_and_the_scorer_is_the_fallback_cnn():
    """class_names() are CIFAR-10's own label_names; the sample scorer, on images in [0, 1], gives
    the logits of the fallback CNN on the same images normalised by normalize_cifar (uint8)."""
    from dl4cv.errors import DataMissingError
    from dl4cv.standins import emoji as S
    from dl4cv.standins.cifar_cnn import load_fallback_cnn, normalize_cifar
    try:
        names = S.class_names()
    except (DataMissingError, FileNotFoundError):
        pytest.skip("no CIFAR-10 on disk")
    assert names == ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                     "ship", "truck")
    scorer, info = S.sample_scorer(verbose=False)
    cnn, cnn_info = load_fallback_cnn(verbose=False)
    assert info == cnn_info and 0.3 < info["test_accuracy"] <= 1
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    with torch.no_grad():
        ours = scorer(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
        reference = cnn(normalize_cifar(images))
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
