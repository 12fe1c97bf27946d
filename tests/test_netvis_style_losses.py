"""Style-transfer losses of both courses against direct reference formulas (numpy, float64),
and the feature-network input checks."""
import numpy as np
import pytest
import torch

from dl4cv_tools.testing import course_module

MODULES = [("cs231n/assignment3", "cs231n.style_transfer_pytorch"),
           ("eecs498/A4", "style_transfer")]


@pytest.fixture(params=MODULES, ids=["cs231n", "eecs498"])
def st(request):
    return course_module(*request.param)


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def np_gram(f, normalize=True):
    n, c, h, w = f.shape
    g = np.zeros((n, c, c))
    for k in range(n):            # explicit sums over positions: G_ij = sum_p F_ip F_jp
        for i in range(c):
            for j in range(c):
                g[k, i, j] = np.sum(f[k, i] * f[k, j])
    return g / (c * h * w) if normalize else g


@pytest.mark.reference("cs231n/assignment3", "cs231n/style_transfer_pytorch.py::content_loss")
@pytest.mark.reference("eecs498/A4", "style_transfer.py::content_loss")
def test_content_loss(st, rng):
    cur, orig = rng.standard_normal((2, 1, 8, 5, 6))
    got = st.content_loss(0.37, torch.from_numpy(cur), torch.from_numpy(orig))
    want = 0.37 * np.sum((cur - orig) ** 2)
    assert rel(got.item(), want) < 1e-12


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.reference("cs231n/assignment3", "cs231n/style_transfer_pytorch.py::gram_matrix")
@pytest.mark.reference("eecs498/A4", "style_transfer.py::gram_matrix")
def test_gram_matrix(st, rng, normalize):
    f = rng.standard_normal((2, 4, 5, 3))
    got = st.gram_matrix(torch.from_numpy(f), normalize=normalize)
    assert got.shape == (2, 4, 4)
    assert rel(got.numpy(), np_gram(f, normalize)) < 1e-12


@pytest.mark.reference("cs231n/assignment3", "cs231n/style_transfer_pytorch.py::gram_matrix")
@pytest.mark.reference("eecs498/A4", "style_transfer.py::gram_matrix")
def test_gram_matrix_non_contiguous(st, rng):
    f = rng.standard_normal((1, 6, 4, 5))
    t = torch.from_numpy(f).permute(0, 1, 3, 2)       # a non-contiguous view
    assert rel(st.gram_matrix(t).numpy(), np_gram(f.transpose(0, 1, 3, 2))) < 1e-12


@pytest.mark.reference("cs231n/assignment3", "cs231n/style_transfer_pytorch.py::style_loss")
@pytest.mark.reference("eecs498/A4", "style_transfer.py::style_loss")
def test_style_loss(st, rng):
    feats = [torch.from_numpy(rng.standard_normal(s)) for s in
             [(1, 3, 6, 6), (1, 4, 6, 6), (1, 5, 3, 3), (1, 6, 2, 2)]]
    layers, weights = [0, 2, 3], [2.0, 0.5, 7.0]
    targets_np = [np_gram(rng.standard_normal(tuple(feats[i].shape))) for i in layers]
    got = st.style_loss(feats, layers, [torch.from_numpy(t) for t in targets_np], weights)
    want = sum(w * np.sum((np_gram(feats[i].numpy()) - t) ** 2)
               for i, t, w in zip(layers, targets_np, weights))
    assert rel(got.item(), want) < 1e-12


@pytest.mark.reference("cs231n/assignment3", "cs231n/style_transfer_pytorch.py::tv_loss")
@pytest.mark.reference("eecs498/A4", "style_transfer.py::tv_loss")
def test_tv_loss(st, rng):
    img = rng.standard_normal((1, 3, 7, 9))
    got = st.tv_loss(torch.from_numpy(img), 0.25)
    want = 0.0
    for c in range(3):            # sum over every pair of vertical / horizontal neighbours
        for i in range(7):
            for j in range(9):
                if i + 1 < 7:
                    want += (img[0, c, i + 1, j] - img[0, c, i, j]) ** 2
                if j + 1 < 9:
                    want += (img[0, c, i, j + 1] - img[0, c, i, j]) ** 2
    assert rel(got.item(), 0.25 * want) < 1e-12


def test_losses_backprop(st, rng):
    """The losses are differentiable in the image: gradcheck (float64) through all three."""
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).double()
    for p in conv.parameters():
        p.requires_grad_(False)
    content = torch.from_numpy(rng.standard_normal((1, 4, 6, 6)))
    target = st.gram_matrix(torch.from_numpy(rng.standard_normal((1, 4, 6, 6))))

    def total(img):
        f = st.extract_features(img, conv)
        return (st.content_loss(0.3, f[1], content) + st.style_loss(f, [1], [target], [5.0])
                + st.tv_loss(img, 0.1))

    img = torch.from_numpy(rng.standard_normal((1, 3, 6, 6))).requires_grad_()
    assert torch.autograd.gradcheck(total, (img,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_extract_features_matches_layers(st, rng):
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    x = torch.randn(2, 3, 12, 12)
    feats = st.extract_features(x, cnn)
    assert len(feats) == 3
    ref = cnn[0](x)
    torch.testing.assert_close(feats[0], ref)
    torch.testing.assert_close(feats[2], torch.nn.functional.max_pool2d(ref.relu(), 2))


def test_bad_input(st):
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.MaxPool2d(2))
    with pytest.raises(ValueError, match="too small"):
        st.extract_features(torch.randn(1, 3, 3, 3), cnn)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        st.extract_features(torch.randn(1, 1, 16, 16), cnn)
    with pytest.raises(ValueError, match="same length"):
        st.style_loss([torch.randn(1, 2, 3, 3)], [0], [], [1.0])
    with pytest.raises(ValueError, match="differ"):
        st.content_loss(1.0, torch.randn(1, 2, 3, 3), torch.randn(1, 2, 4, 3))
