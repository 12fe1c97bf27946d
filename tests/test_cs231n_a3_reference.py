"""CS231n 2020 assignment 3 against independent references built from the course's own specs.

- `CaptioningRNN.sample` (rnn branch): a greedy rollout with torch.nn.RNNCell, nn.Embedding
  and nn.Linear holding copies of the model's weights (float64).
- The GAN builders `discriminator`, `generator`, `build_dc_classifier`, `build_dc_generator`:
  the course notebook's layer lists written out in plain torch.nn, our weights (and BatchNorm
  running statistics) copied in, forward values and gradients compared in train and eval mode.
  A wrong activation (ReLU for LeakyReLU(0.01)), a BatchNorm before its ReLU, a missing layer
  or another kernel/padding changes the values even where the parameter count is the same.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"
TOL = 1e-10


def gan():
    return course_module(A3, "cs231n.gan_pytorch")


# ---------------------------------------------------------------- captioning: sample (rnn)

def _rnn_reference(params, features, start, end, null, max_length):
    """Greedy rollout with torch.nn modules; after a row's first <END> either the course's
    "keep generating" word or <NULL> is acceptable, so both are returned."""
    p = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
    D, H = p["W_proj"].shape
    V, W = p["W_embed"].shape
    proj, vocab = nn.Linear(D, H).double(), nn.Linear(H, V).double()
    embed, cell = nn.Embedding(V, W).double(), nn.RNNCell(W, H, nonlinearity="tanh").double()
    with torch.no_grad():
        proj.weight.copy_(p["W_proj"].T)
        proj.bias.copy_(p["b_proj"])
        vocab.weight.copy_(p["W_vocab"].T)
        vocab.bias.copy_(p["b_vocab"])
        embed.weight.copy_(p["W_embed"])
        cell.weight_ih.copy_(p["Wx"].T)
        cell.weight_hh.copy_(p["Wh"].T)
        cell.bias_ih.copy_(p["b"])
        cell.bias_hh.zero_()
        h = proj(torch.from_numpy(features))
        word = torch.full((features.shape[0],), start, dtype=torch.long)
        words, ended_before = [], []
        done = torch.zeros(features.shape[0], dtype=torch.bool)
        for _ in range(max_length):
            h = cell(embed(word), h)
            word = vocab(h).argmax(1)
            words.append(word.clone())
            ended_before.append(done.clone())
            done |= word == end
    return torch.stack(words, 1).numpy(), torch.stack(ended_before, 1).numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.reference("cs231n/assignment3", "cs231n/classifiers/rnn.py::CaptioningRNN.sample")
def test_sample_rnn_matches_rnncell_rollout(seed):
    rnn = course_module(A3, "cs231n.classifiers.rnn")
    words = ["<NULL>", "<START>", "<END>", "a", "b", "c", "d"]
    word_to_idx = {w: i for i, w in enumerate(words)}
    N, D, W, H, T = 5, 6, 4, 8, 10
    model = rnn.CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H,
                              cell_type="rnn", dtype=np.float64)
    rng = np.random.default_rng(seed)
    for k in model.params:        # large enough weights that the argmax changes step to step
        model.params[k] = rng.standard_normal(model.params[k].shape)
    features = rng.standard_normal((N, D))
    caps = model.sample(features, max_length=T)
    assert caps.shape == (N, T)
    ref, ended = _rnn_reference(model.params, features, 1, 2, 0, T)
    live = ~ended
    np.testing.assert_array_equal(caps[live], ref[live])
    # after <END>: the course allows stopping (<NULL>) or generating on
    assert np.all((caps[ended] == 0) | (caps[ended] == ref[ended]))
    # the rollout must be non-trivial for the test to mean something
    assert len(set(ref[live].ravel().tolist())) > 2


# ---------------------------------------------------------------- GAN builders

class _Unflatten(nn.Module):
    def __init__(self, C, H, W):
        super().__init__()
        self.shape = (C, H, W)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def ref_discriminator():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LeakyReLU(0.01),
                         nn.Linear(256, 256), nn.LeakyReLU(0.01), nn.Linear(256, 1))


def ref_generator(noise_dim):
    return nn.Sequential(nn.Linear(noise_dim, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 784), nn.Tanh())


def ref_dc_classifier():
    return nn.Sequential(
        _Unflatten(1, 28, 28),
        nn.Conv2d(1, 32, 5, stride=1), nn.LeakyReLU(0.01), nn.MaxPool2d(2, stride=2),
        nn.Conv2d(32, 64, 5, stride=1), nn.LeakyReLU(0.01), nn.MaxPool2d(2, stride=2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 64, 4 * 4 * 64), nn.LeakyReLU(0.01),
        nn.Linear(4 * 4 * 64, 1))


def ref_dc_generator(noise_dim):
    return nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
        nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128),
        _Unflatten(128, 7, 7),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),
        nn.Flatten())


def _copy_into(ref, ours, gen):
    """Random weights and BatchNorm statistics in `ours`, copied into `ref` by order."""
    ours_p, ref_p = list(ours.parameters()), list(ref.parameters())
    assert [tuple(p.shape) for p in ours_p] == [tuple(p.shape) for p in ref_p], \
        "parameter shapes differ from the course's layer list"
    ours_b = [b for n, b in ours.named_buffers() if not n.endswith("num_batches_tracked")]
    ref_b = [b for n, b in ref.named_buffers() if not n.endswith("num_batches_tracked")]
    assert [tuple(b.shape) for b in ours_b] == [tuple(b.shape) for b in ref_b]
    with torch.no_grad():
        for o, r in zip(ours_p, ref_p):
            o.copy_(torch.randn(o.shape, generator=gen, dtype=o.dtype) * 0.1)
            r.copy_(o)
        for o, r in zip(ours_b, ref_b):
            if o.is_floating_point():  # running mean (any sign) and running var (positive)
                o.copy_(torch.rand(o.shape, generator=gen, dtype=o.dtype) + 0.5)
                r.copy_(o)


def _compare(ours, ref, x, mode):
    ours.train(mode == "train")
    ref.train(mode == "train")
    xa = x.clone().requires_grad_()
    xb = x.clone().requires_grad_()
    ya, yb = ours(xa), ref(xb)
    assert ya.shape == yb.shape
    scale = yb.detach().abs().max().item()
    assert (ya - yb).detach().abs().max().item() <= TOL * max(1.0, scale), mode
    g = torch.randn(ya.shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    ya.backward(g)
    yb.backward(g)
    assert torch.allclose(xa.grad, xb.grad, rtol=1e-8, atol=1e-12), mode
    for pa, pb in zip(ours.parameters(), ref.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-8, atol=1e-12), mode
    # BatchNorm running statistics: the same momentum update in train mode
    for (na, ba), (_, bb) in zip(ours.named_buffers(), ref.named_buffers()):
        if ba.is_floating_point():
            assert torch.allclose(ba, bb, rtol=1e-10, atol=1e-12), (mode, na)


def _builders():
    g = gan()
    return {
        "discriminator": (lambda: g.discriminator(), ref_discriminator,
                          lambda gen: torch.rand(16, 1, 28, 28, generator=gen, dtype=torch.float64) * 2 - 1),
        "generator": (lambda: g.generator(12), lambda: ref_generator(12),
                      lambda gen: torch.rand(16, 12, generator=gen, dtype=torch.float64) * 2 - 1),
        "build_dc_classifier": (lambda: g.build_dc_classifier(16), ref_dc_classifier,
                                lambda gen: torch.rand(16, 1, 28, 28, generator=gen, dtype=torch.float64) * 2 - 1),
        "build_dc_generator": (lambda: g.build_dc_generator(12), lambda: ref_dc_generator(12),
                               lambda gen: torch.rand(16, 12, generator=gen, dtype=torch.float64) * 2 - 1),
    }


@pytest.mark.parametrize("name", ["discriminator", "generator", "build_dc_classifier",
                                  "build_dc_generator"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.reference("cs231n/assignment3", "cs231n/gan_pytorch.py::discriminator",
                       "cs231n/gan_pytorch.py::generator",
                       "cs231n/gan_pytorch.py::build_dc_classifier",
                       "cs231n/gan_pytorch.py::build_dc_generator")
def test_gan_builder_matches_course_layer_list(name, mode):
    build_ours, build_ref, make_input = _builders()[name]
    torch.manual_seed(0)
    ours, ref = build_ours().double(), build_ref().double()
    gen = torch.Generator().manual_seed(231)
    _copy_into(ref, ours, gen)
    x = make_input(gen)
    _compare(ours, ref, x, mode)
    if mode == "train":   # a second step: the updated running statistics are used in eval
        _compare(ours, ref, make_input(gen), "eval")


def test_discriminator_leaky_slope_is_course_value():
    """Direct probe of the LeakyReLU slope: with identity-like weights, negative inputs are
    scaled by 0.01 (a ReLU gives 0, another slope another value)."""
    D = gan().discriminator().double()
    ref = ref_discriminator().double()
    gen = torch.Generator().manual_seed(5)
    _copy_into(ref, D, gen)
    x = -torch.rand(4, 1, 28, 28, generator=gen, dtype=torch.float64)
    D.eval()
    ref.eval()
    assert torch.allclose(D(x), ref(x), rtol=1e-10, atol=1e-12)
