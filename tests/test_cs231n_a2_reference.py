"""CS231n 2020 assignment 2: the networks against plain torch.nn references (float64).

TwoLayerNet, FullyConnectedNet and ThreeLayerConvNet are rebuilt from the layer lists of the
course's docstrings with torch.nn layers, our weights copied in; loss (softmax cross-entropy plus
0.5 * reg * sum(W**2) over the weight matrices only), scores and every gradient are compared, in
training and test mode. Dropout is compared with a known mask: the network's dropout layer is
replaced by one that applies fixed masks, and the reference multiplies by the same masks.
The __init__ tests check what the docstrings specify: shapes, Gaussian weights of standard
deviation weight_scale, zero biases, ones/zeros for gamma/beta, the dtype.

Every check is a function of the module under test, so that tools can run it on a mutant.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

A2 = "cs231n/assignment2"
TOL = 1e-10  # float64 throughout: only rounding separates ours from the reference


@pytest.fixture(scope="module")
def fc():
    return course_module(A2, "cs231n.classifiers.fc_net")


@pytest.fixture(scope="module")
def cnn():
    return course_module(A2, "cs231n.classifiers.cnn")


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def linear(W, b):
    """nn.Linear holding our (D, H) weight matrix W and bias b."""
    layer = nn.Linear(W.shape[0], W.shape[1]).double()
    with torch.no_grad():
        layer.weight.copy_(t64(W).T)
        layer.bias.copy_(t64(b))
    return layer


def assert_close(ours, ref, what):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(ours - ref).max()) / scale
    assert err < TOL, f"{what}: max |ours - torch.nn| = {err:.3g} (relative to max(1, |ref|))"


def l2(reg, weights):
    """The course's regularization: 0.5 * reg * sum of squared weight matrices."""
    return 0.5 * reg * sum((w ** 2).sum() for w in weights)


def compare_grads(grads, ref_grads):
    assert set(grads) == set(ref_grads), (sorted(grads), sorted(ref_grads))
    for name, g in ref_grads.items():
        assert_close(grads[name], g, f"d loss / d {name}")


def assert_gaussian(W, ws, what):
    """W looks like draws of N(0, ws^2): sample std and mean within 5 standard errors."""
    n = W.size
    assert abs(W.std() / ws - 1) < 5 / np.sqrt(2 * n), f"{what}: std {W.std():.4g}, expected {ws:g}"
    assert abs(W.mean()) < 5 * ws / np.sqrt(n), f"{what}: mean {W.mean():.4g}, expected 0"
    assert len(np.unique(W)) == n, f"{what}: repeated values (not random draws)"


# ---------------------------------------------------------------------------- TwoLayerNet

def two_layer_reference(params, X, y, reg):
    """affine - relu - affine - softmax, as torch.nn layers. Returns (scores, loss, grads)."""
    fc1, fc2 = linear(params["W1"], params["b1"]), linear(params["W2"], params["b2"])
    net = nn.Sequential(nn.Flatten(), fc1, nn.ReLU(), fc2)
    scores = net(t64(X))
    if y is None:
        return scores.detach().numpy(), None, None
    loss = F.cross_entropy(scores, torch.as_tensor(y)) + l2(reg, [fc1.weight, fc2.weight])
    loss.backward()
    grads = {"W1": fc1.weight.grad.T, "b1": fc1.bias.grad, "W2": fc2.weight.grad.T, "b2": fc2.bias.grad}
    return scores.detach().numpy(), loss.item(), {k: v.numpy() for k, v in grads.items()}


def check_two_layer_net_loss(fc):
    rng = np.random.default_rng(1)
    N, dims, H, C = 6, (2, 3, 2), 9, 4
    np.random.seed(0)
    model = fc.TwoLayerNet(input_dim=int(np.prod(dims)), hidden_dim=H, num_classes=C, weight_scale=0.5)
    # biases away from zero, so that a forgotten bias shows
    model.params["b1"] = rng.standard_normal(H)
    model.params["b2"] = rng.standard_normal(C)
    X = rng.standard_normal((N, *dims))
    y = rng.integers(0, C, N)
    for reg in (0.0, 0.37):
        model.reg = reg
        params = {k: v.copy() for k, v in model.params.items()}
        loss, grads = model.loss(X, y)
        _, ref_loss, ref_grads = two_layer_reference(params, X, y, reg)
        assert abs(loss - ref_loss) < TOL * max(1, abs(ref_loss)), (reg, loss, ref_loss)
        compare_grads(grads, ref_grads)
    assert_close(model.loss(X), two_layer_reference(model.params, X, None, 0)[0], "test-time scores")


def check_two_layer_net_init(fc):
    np.random.seed(0)
    # W1 has 614,400 entries: 5 standard errors of its std are 0.45%, so a scale off by 1% shows
    D, H, C, ws = 3072, 200, 10, 3e-2
    model = fc.TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=ws, reg=0.25)
    p = model.params
    assert set(p) == {"W1", "b1", "W2", "b2"}
    assert p["W1"].shape == (D, H) and p["b1"].shape == (H,)
    assert p["W2"].shape == (H, C) and p["b2"].shape == (C,)
    assert model.reg == 0.25
    for k in ("b1", "b2"):
        assert np.all(p[k] == 0), k
    for k in ("W1", "W2"):
        assert_gaussian(p[k], ws, k)


@pytest.mark.reference("cs231n/assignment2", "cs231n/classifiers/fc_net.py::TwoLayerNet.loss")
def test_two_layer_net_loss_vs_torch_nn(fc):
    check_two_layer_net_loss(fc)


@pytest.mark.reference("cs231n/assignment2", "cs231n/classifiers/fc_net.py::TwoLayerNet.__init__")
def test_two_layer_net_init(fc):
    check_two_layer_net_init(fc)


# ---------------------------------------------------------------------------- FullyConnectedNet

class KnownMasks:
    """Stands in for dropout_forward / dropout_backward in fc_net: applies fixed masks (one per
    call, in order), scaled by 1 / p as the course's inverted dropout; records the param."""

    def __init__(self, masks):
        self.masks, self.calls, self.params_seen = masks, 0, []

    def forward(self, x, dropout_param):
        self.params_seen.append(dict(dropout_param))
        if dropout_param["mode"] != "train":
            return x, (dropout_param, None)
        mask = self.masks[self.calls] / dropout_param["p"]
        self.calls += 1
        return x * mask, (dropout_param, mask)

    @staticmethod
    def backward(dout, cache):
        dropout_param, mask = cache
        return dout * mask if dropout_param["mode"] == "train" else dout


def fc_reference(params, X, y, reg, normalization, masks=None, running=None, keep=1.0):
    """{affine - [norm] - relu - [dropout]} x (L - 1) - affine - softmax from torch.nn layers.

    masks: one 0/1 array per hidden layer (training-time dropout; scaled by 1 / keep);
    running: (mean, var) per hidden layer for batchnorm in test mode. y None = test mode.
    Returns (scores, loss, grads, layers)."""
    L = sum(1 for k in params if k.startswith("W"))
    train = y is not None
    h = t64(X).reshape(X.shape[0], -1)
    weights, grads_of = [], {}
    for i in range(1, L + 1):
        lin = linear(params[f"W{i}"], params[f"b{i}"])
        weights.append(lin.weight)
        grads_of[f"W{i}"], grads_of[f"b{i}"] = (lin.weight, True), (lin.bias, False)
        h = lin(h)
        if i == L:
            break
        H = h.shape[1]
        if normalization == "batchnorm":
            norm = nn.BatchNorm1d(H, eps=1e-5, momentum=0.1).double()
            if not train:
                norm.eval()
                with torch.no_grad():
                    norm.running_mean.copy_(t64(running[i - 1][0]))
                    norm.running_var.copy_(t64(running[i - 1][1]))
        elif normalization == "layernorm":
            norm = nn.LayerNorm(H, eps=1e-5).double()
        else:
            norm = None
        if norm is not None:
            with torch.no_grad():
                norm.weight.copy_(t64(params[f"gamma{i}"]))
                norm.bias.copy_(t64(params[f"beta{i}"]))
            grads_of[f"gamma{i}"], grads_of[f"beta{i}"] = (norm.weight, False), (norm.bias, False)
            h = norm(h)
        h = nn.ReLU()(h)
        if masks is not None and train:
            h = h * t64(masks[i - 1]) / keep
    scores = h
    if not train:
        return scores.detach().numpy(), None, None
    loss = F.cross_entropy(scores, torch.as_tensor(y)) + l2(reg, weights)
    loss.backward()
    grads = {k: (p.grad.T if transpose else p.grad).numpy() for k, (p, transpose) in grads_of.items()}
    return scores.detach().numpy(), loss.item(), grads


def make_fc(fc, normalization=None, dropout=1, reg=0.0, seed=None):
    rng = np.random.default_rng(2)
    np.random.seed(0)
    hidden, D, C = [7, 6, 5], 8, 4
    model = fc.FullyConnectedNet(hidden, input_dim=D, num_classes=C, dropout=dropout,
                                 normalization=normalization, reg=reg, weight_scale=0.4,
                                 dtype=np.float64, seed=seed)
    # non-trivial biases, scales and shifts, so that each one's place in the net matters
    for k in list(model.params):
        if k.startswith("b") and not k.startswith("beta"):
            model.params[k] = rng.standard_normal(model.params[k].shape)
        if k.startswith("gamma"):
            model.params[k] = 1 + 0.5 * rng.standard_normal(model.params[k].shape)
        if k.startswith("beta"):
            model.params[k] = 0.5 * rng.standard_normal(model.params[k].shape)
    X = rng.standard_normal((5, 2, 4))
    y = rng.integers(0, C, 5)
    return model, X, y, hidden


def check_fc_loss(fc, normalization):
    """Training and test mode against torch.nn; batchnorm in test mode uses the running
    averages that the training-mode calls left in model.bn_params."""
    for reg in (0.0, 0.29):
        model, X, y, hidden = make_fc(fc, normalization, reg=reg)
        params = {k: v.copy() for k, v in model.params.items()}
        loss, grads = model.loss(X, y)
        _, ref_loss, ref_grads = fc_reference(params, X, y, reg, normalization)
        assert abs(loss - ref_loss) < TOL * max(1, abs(ref_loss)), (normalization, reg, loss, ref_loss)
        compare_grads(grads, ref_grads)
    running = None
    if normalization == "batchnorm":
        # test mode normalizes with the running averages the training-mode calls left behind
        for i in range(len(hidden)):
            assert "running_mean" in model.bn_params[i], f"layer {i + 1} kept no running mean"
        running = [(bp["running_mean"], bp["running_var"]) for bp in model.bn_params]
    scores = model.loss(X)
    assert_close(scores, fc_reference(model.params, X, None, 0, normalization, running=running)[0],
                 f"test-time scores ({normalization})")


def check_fc_running_mean(fc):
    """After one training-mode call every batchnorm layer's running mean is torch's."""
    model, X, y, hidden = make_fc(fc, "batchnorm")
    params = {k: v.copy() for k, v in model.params.items()}
    model.loss(X, y)
    h = t64(X).reshape(X.shape[0], -1)
    for i in range(1, len(hidden) + 1):
        h = linear(params[f"W{i}"], params[f"b{i}"])(h)
        bn = nn.BatchNorm1d(h.shape[1], eps=1e-5, momentum=0.1).double()
        with torch.no_grad():
            bn.weight.copy_(t64(params[f"gamma{i}"]))
            bn.bias.copy_(t64(params[f"beta{i}"]))
        h = torch.relu(bn(h))
        assert_close(model.bn_params[i - 1]["running_mean"], bn.running_mean.detach().numpy(),
                     f"running mean of batchnorm layer {i}")


def check_fc_dropout(fc, monkeypatch, normalization=None):
    keep = 0.6
    model, X, y, hidden = make_fc(fc, normalization, dropout=keep, reg=0.13, seed=5)
    mask_rng = np.random.default_rng(3)
    masks = [(mask_rng.random((X.shape[0], H)) < keep).astype(np.float64) for H in hidden]
    known = KnownMasks(masks)
    monkeypatch.setattr(fc, "dropout_forward", known.forward)
    monkeypatch.setattr(fc, "dropout_backward", known.backward)
    params = {k: v.copy() for k, v in model.params.items()}
    loss, grads = model.loss(X, y)
    assert known.calls == len(hidden), f"dropout ran {known.calls} times for {len(hidden)} hidden layers"
    assert all(p["p"] == keep and p["mode"] == "train" for p in known.params_seen)
    _, ref_loss, ref_grads = fc_reference(params, X, y, 0.13, normalization, masks=masks, keep=keep)
    assert abs(loss - ref_loss) < TOL * max(1, abs(ref_loss)), (loss, ref_loss)
    compare_grads(grads, ref_grads)
    # test mode: no dropout at all
    running = ([(bp["running_mean"], bp["running_var"]) for bp in model.bn_params]
               if normalization == "batchnorm" else None)
    assert_close(model.loss(X), fc_reference(model.params, X, None, 0, normalization, running=running)[0],
                 "test-time scores with dropout")


def check_fc_seeded_dropout_is_used(fc):
    """Without any patching: a seeded net with dropout gives another loss than the same net
    without dropout, and the same loss twice (the seed fixes the masks)."""
    model, X, y, _ = make_fc(fc, None, dropout=0.5, seed=7)
    plain, _, _, _ = make_fc(fc, None, dropout=1)
    plain.params = {k: v.copy() for k, v in model.params.items()}
    l1, l2_ = model.loss(X, y)[0], model.loss(X, y)[0]
    assert l1 == l2_
    assert abs(l1 - plain.loss(X, y)[0]) > 1e-6, "the dropout net's training loss ignores dropout"
    assert_close(model.loss(X), plain.loss(X), "test-time scores: dropout is off at test time")


def check_fc_init(fc):
    np.random.seed(0)
    hidden, D, C, ws = [60, 50], 100, 10, 2e-2
    for normalization in (None, "batchnorm", "layernorm"):
        model = fc.FullyConnectedNet(hidden, input_dim=D, num_classes=C, normalization=normalization,
                                     weight_scale=ws, reg=0.3, dtype=np.float64)
        dims = [D] + hidden + [C]
        expected = {f"{p}{i}" for i in range(1, 4) for p in "Wb"}
        if normalization:
            expected |= {f"{p}{i}" for i in range(1, 3) for p in ("gamma", "beta")}
        assert set(model.params) == expected, (normalization, sorted(model.params))
        assert model.num_layers == 3 and model.reg == 0.3
        for i in range(1, 4):
            W, b = model.params[f"W{i}"], model.params[f"b{i}"]
            assert W.shape == (dims[i - 1], dims[i]) and b.shape == (dims[i],)
            assert np.all(b == 0)
            assert_gaussian(W, ws, f"W{i} ({normalization})")
        for i in range(1, 3) if normalization else ():
            assert np.all(model.params[f"gamma{i}"] == 1) and model.params[f"gamma{i}"].shape == (dims[i],)
            assert np.all(model.params[f"beta{i}"] == 0) and model.params[f"beta{i}"].shape == (dims[i],)
    model = fc.FullyConnectedNet(hidden, input_dim=D, num_classes=C, normalization="batchnorm")
    assert all(v.dtype == np.float32 for v in model.params.values())  # the default dtype


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/classifiers/fc_net.py::FullyConnectedNet.loss")
def test_fully_connected_net_loss_vs_torch_nn(fc, normalization):
    check_fc_loss(fc, normalization)


@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/classifiers/fc_net.py::FullyConnectedNet.loss")
def test_fully_connected_net_batchnorm_running_mean(fc):
    check_fc_running_mean(fc)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/classifiers/fc_net.py::FullyConnectedNet.loss")
def test_fully_connected_net_dropout_known_mask(fc, monkeypatch, normalization):
    check_fc_dropout(fc, monkeypatch, normalization)


def test_fully_connected_net_seeded_dropout(fc):
    check_fc_seeded_dropout_is_used(fc)


@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/classifiers/fc_net.py::FullyConnectedNet.__init__")
def test_fully_connected_net_init(fc):
    check_fc_init(fc)


# ---------------------------------------------------------------------------- ThreeLayerConvNet

def convnet_reference(params, X, y, reg):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax from torch.nn layers."""
    W1 = params["W1"]
    F_, C, fs, _ = W1.shape
    conv = nn.Conv2d(C, F_, fs, stride=1, padding=(fs - 1) // 2).double()
    with torch.no_grad():
        conv.weight.copy_(t64(W1))
        conv.bias.copy_(t64(params["b1"]))
    fc2, fc3 = linear(params["W2"], params["b2"]), linear(params["W3"], params["b3"])
    net = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), fc2, nn.ReLU(), fc3)
    scores = net(t64(X))
    if y is None:
        return scores.detach().numpy(), None, None
    loss = F.cross_entropy(scores, torch.as_tensor(y)) + l2(reg, [conv.weight, fc2.weight, fc3.weight])
    loss.backward()
    grads = {"W1": conv.weight.grad, "b1": conv.bias.grad, "W2": fc2.weight.grad.T,
             "b2": fc2.bias.grad, "W3": fc3.weight.grad.T, "b3": fc3.bias.grad}
    return scores.detach().numpy(), loss.item(), {k: v.numpy() for k, v in grads.items()}


def check_convnet_loss(cnn):
    rng = np.random.default_rng(4)
    np.random.seed(0)
    for fs in (3, 5):
        model = cnn.ThreeLayerConvNet(input_dim=(3, 8, 6), num_filters=4, filter_size=fs, hidden_dim=9,
                                      num_classes=5, weight_scale=0.3, dtype=np.float64)
        for k in ("b1", "b2", "b3"):
            model.params[k] = rng.standard_normal(model.params[k].shape)
        X = rng.standard_normal((3, 3, 8, 6))
        y = rng.integers(0, 5, 3)
        for reg in (0.0, 0.21):
            model.reg = reg
            params = {k: v.copy() for k, v in model.params.items()}
            loss, grads = model.loss(X, y)
            _, ref_loss, ref_grads = convnet_reference(params, X, y, reg)
            assert abs(loss - ref_loss) < TOL * max(1, abs(ref_loss)), (fs, reg, loss, ref_loss)
            compare_grads(grads, ref_grads)
        assert_close(model.loss(X), convnet_reference(model.params, X, None, 0)[0], "test-time scores")


def check_convnet_init(cnn):
    np.random.seed(0)
    ws = 5e-2
    model = cnn.ThreeLayerConvNet(input_dim=(3, 16, 12), num_filters=8, filter_size=5, hidden_dim=30,
                                  num_classes=7, weight_scale=ws, reg=0.4, dtype=np.float64)
    p = model.params
    shapes = {"W1": (8, 3, 5, 5), "b1": (8,), "W2": (8 * 8 * 6, 30), "b2": (30,), "W3": (30, 7), "b3": (7,)}
    assert {k: v.shape for k, v in p.items()} == shapes
    assert model.reg == 0.4
    for k in ("b1", "b2", "b3"):
        assert np.all(p[k] == 0), k
    for k in ("W1", "W2", "W3"):
        assert_gaussian(p[k], ws, k)
    model = cnn.ThreeLayerConvNet()
    assert all(v.dtype == np.float32 for v in model.params.values())  # the default dtype
    assert model.params["W1"].shape == (32, 3, 7, 7) and model.params["W2"].shape == (32 * 16 * 16, 100)
    # the default W2 has 819,200 entries: its std pins the default weight_scale (1e-3) to 0.4%
    # (float32 draws repeat among 819,200 values, so only the std and mean are checked)
    W2 = model.params["W2"].astype(np.float64)
    assert abs(W2.std() / 1e-3 - 1) < 5 / np.sqrt(2 * W2.size), W2.std()
    assert abs(W2.mean()) < 5 * 1e-3 / np.sqrt(W2.size), W2.mean()


@pytest.mark.reference("cs231n/assignment2", "cs231n/classifiers/cnn.py::ThreeLayerConvNet.loss")
def test_three_layer_convnet_loss_vs_torch_nn(cnn):
    check_convnet_loss(cnn)


@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/classifiers/cnn.py::ThreeLayerConvNet.__init__")
def test_three_layer_convnet_init(cnn):
    check_convnet_init(cnn)
