"""CS231n 2020 assignment 2: every layer of layers.py against torch.nn.functional (float64),
plus numeric gradient checks of the ones torch has no exact counterpart for."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from dl4cv_tools.testing import course_module

TOL = 1e-8


@pytest.fixture(scope="module")
def L():
    return course_module("cs231n/assignment2", "cs231n.layers")


def t(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def torch_grads(out, dout, *tensors):
    out.backward(torch.tensor(dout))
    return [x.grad.numpy() for x in tensors]


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::affine_forward",
                       "cs231n/layers.py::affine_backward")
def test_affine_vs_linear(L, rng):
    x, w, b = rng.standard_normal((4, 3, 5)), rng.standard_normal((15, 6)), rng.standard_normal(6)
    out, cache = L.affine_forward(x, w, b)
    xt, wt, bt = t(x), t(w), t(b)
    ot = F.linear(xt.reshape(4, -1), wt.T, bt)
    dout = rng.standard_normal(ot.shape)
    dx, dw, db = L.affine_backward(dout, cache)
    gx, gw, gb = torch_grads(ot, dout, xt, wt, bt)
    assert rel_error(out, ot.detach().numpy()) < TOL
    assert dx.shape == x.shape
    for a, b_ in ((dx, gx), (dw, gw), (db, gb)):
        assert rel_error(a, b_) < TOL


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::relu_forward",
                       "cs231n/layers.py::relu_backward")
def test_relu_vs_torch(L, rng):
    x = rng.standard_normal((10, 7))
    out, cache = L.relu_forward(x)
    xt = t(x)
    ot = F.relu(xt)
    dout = rng.standard_normal(x.shape)
    assert rel_error(out, ot.detach().numpy()) < TOL
    assert rel_error(L.relu_backward(dout, cache), torch_grads(ot, dout, xt)[0]) < TOL


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::softmax_loss")
def test_softmax_loss_vs_cross_entropy(L, rng):
    x, y = rng.standard_normal((50, 10)) * 3, rng.integers(0, 10, 50)
    loss, dx = L.softmax_loss(x, y)
    xt = t(x)
    lt = F.cross_entropy(xt, torch.tensor(y))
    lt.backward()
    assert rel_error(loss, lt.item()) < TOL
    assert rel_error(dx, xt.grad.numpy()) < TOL
    # large scores must not overflow
    big, _ = L.softmax_loss(x * 1e4, y)
    assert np.isfinite(big)


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::svm_loss")
def test_svm_loss_vs_multi_margin(L, rng):
    N, C = 50, 10
    x, y = rng.standard_normal((N, C)), rng.integers(0, C, N)
    loss, dx = L.svm_loss(x, y)
    xt = t(x)
    # torch divides each sample's sum of margins by C; the course's hinge loss does not
    lt = F.multi_margin_loss(xt, torch.tensor(y), p=1, margin=1.0) * C
    lt.backward()
    assert rel_error(loss, lt.item()) < TOL
    assert rel_error(dx, xt.grad.numpy()) < TOL


@pytest.mark.parametrize("backward", ["batchnorm_backward", "batchnorm_backward_alt"])
@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::batchnorm_forward",
                       "cs231n/layers.py::batchnorm_backward",
                       "cs231n/layers.py::batchnorm_backward_alt")
def test_batchnorm_train_vs_torch(L, rng, backward):
    N, D = 40, 7
    x = 3 * rng.standard_normal((N, D)) + 2
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    rm0, rv0 = rng.standard_normal(D), rng.random(D) + 0.5
    bn_param = {"mode": "train", "momentum": 0.9, "eps": 1e-5,
                "running_mean": rm0.copy(), "running_var": rv0.copy()}
    out, cache = L.batchnorm_forward(x, gamma, beta, bn_param)
    xt, gt, bt = t(x), t(gamma), t(beta)
    rm, rv = torch.tensor(rm0), torch.tensor(rv0)
    ot = F.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=0.1, eps=1e-5)
    dout = rng.standard_normal(x.shape)
    dx, dg, db = getattr(L, backward)(dout, cache)
    gx, gg, gb = torch_grads(ot, dout, xt, gt, bt)
    assert rel_error(out, ot.detach().numpy()) < TOL
    for a, b_ in ((dx, gx), (dg, gg), (db, gb)):
        assert rel_error(a, b_) < TOL
    # running mean: same rule (torch's momentum is 1 - the course's)
    assert rel_error(bn_param["running_mean"], rm.numpy()) < TOL
    # running var: the 2020 course averages the biased batch variance, torch the unbiased one
    var_unbiased = (rv.numpy() - 0.9 * rv0) / 0.1
    expected = 0.9 * rv0 + 0.1 * var_unbiased * (N - 1) / N
    assert rel_error(bn_param["running_var"], expected) < TOL


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::batchnorm_forward")
def test_batchnorm_eval_uses_running_stats(L, rng):
    D = 6
    x = rng.standard_normal((20, D))
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    rm, rv = rng.standard_normal(D), rng.random(D) + 0.5
    out, _ = L.batchnorm_forward(x, gamma, beta, {"mode": "test", "running_mean": rm,
                                                  "running_var": rv, "eps": 1e-5})
    ot = F.batch_norm(t(x, False), torch.tensor(rm), torch.tensor(rv), t(gamma, False),
                      t(beta, False), training=False, eps=1e-5)
    assert rel_error(out, ot.numpy()) < TOL


def test_batchnorm_running_stats_converge(L, rng):
    """Many training batches from one distribution: the running averages approach it."""
    D = 3
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(D), np.zeros(D)
    for _ in range(100):
        L.batchnorm_forward(rng.normal([1, -2, 5], [1, 2, 3], size=(200, D)), gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], [1, -2, 5], atol=0.2)
    np.testing.assert_allclose(bn_param["running_var"], [1, 4, 9], rtol=0.15)


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::layernorm_forward",
                       "cs231n/layers.py::layernorm_backward")
def test_layernorm_vs_torch(L, rng):
    N, D = 8, 12
    x = 2 * rng.standard_normal((N, D)) - 1
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    out, cache = L.layernorm_forward(x, gamma, beta, {"eps": 1e-5})
    xt, gt, bt = t(x), t(gamma), t(beta)
    ot = F.layer_norm(xt, (D,), gt, bt, eps=1e-5)
    dout = rng.standard_normal(x.shape)
    grads = L.layernorm_backward(dout, cache)
    tgrads = torch_grads(ot, dout, xt, gt, bt)
    assert rel_error(out, ot.detach().numpy()) < TOL
    for a, b_ in zip(grads, tgrads):
        assert rel_error(a, b_) < TOL


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::batchnorm_backward")
def test_batchnorm_numeric_gradient(L, rng):
    """The course's check: analytic vs centered differences."""
    N, D = 4, 5
    x = 5 * rng.standard_normal((N, D)) + 12
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dout = rng.standard_normal((N, D))
    bn_param = {"mode": "train"}
    fx = lambda x_: L.batchnorm_forward(x_, gamma, beta, bn_param)[0]
    fg = lambda g_: L.batchnorm_forward(x, g_, beta, bn_param)[0]
    dx_num = eval_numerical_gradient_array(fx, x.copy(), dout)
    dg_num = eval_numerical_gradient_array(fg, gamma.copy(), dout)
    _, cache = L.batchnorm_forward(x, gamma, beta, bn_param)
    dx, dg, _ = L.batchnorm_backward(dout, cache)
    assert rel_error(dx, dx_num) < 1e-6
    assert rel_error(dg, dg_num) < 1e-7


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::dropout_forward",
                       "cs231n/layers.py::dropout_backward")
def test_dropout_statistics_and_backward(L, rng):
    x = rng.standard_normal((500, 500)) + 10
    for p in (0.25, 0.4, 0.7):
        param = {"mode": "train", "p": p, "seed": 123}
        out, cache = L.dropout_forward(x, param)
        kept = out != 0
        assert abs(kept.mean() - p) < 0.01  # p is the keep probability
        assert np.allclose(out[kept], x[kept] / p)  # inverted dropout
        assert abs(out.mean() - x.mean()) < 0.05 * x.mean()
        # torch's dropout (drop prob 1 - p) has the same mean and fraction kept
        ot = F.dropout(t(x, False), p=1 - p, training=True).numpy()
        assert abs((ot != 0).mean() - kept.mean()) < 0.02
        dout = rng.standard_normal(x.shape)
        np.testing.assert_allclose(L.dropout_backward(dout, cache), dout * kept / p, rtol=1e-15)
        # seeded masks repeat
        np.testing.assert_array_equal(L.dropout_forward(x, param)[0], out)
        out_test, cache_t = L.dropout_forward(x, {"mode": "test", "p": p})
        np.testing.assert_array_equal(out_test, x)
        np.testing.assert_array_equal(L.dropout_backward(dout, cache_t), dout)


CONV_CASES = [  # N, C, H, W, F, HH, WW, stride, pad
    (2, 3, 5, 5, 4, 3, 3, 1, 1),
    (2, 3, 7, 7, 3, 3, 3, 2, 1),
    (3, 2, 6, 6, 2, 2, 2, 2, 0),
    (2, 1, 9, 9, 3, 5, 5, 2, 2),
    (1, 3, 4, 6, 2, 1, 3, 1, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::conv_forward_naive",
                       "cs231n/layers.py::conv_backward_naive")
def test_conv_naive_vs_conv2d(L, rng, case):
    N, C, H, W, Fn, HH, WW, stride, pad = case
    x, w, b = (rng.standard_normal((N, C, H, W)), rng.standard_normal((Fn, C, HH, WW)),
               rng.standard_normal(Fn))
    cp = {"stride": stride, "pad": pad}
    out, cache = L.conv_forward_naive(x, w, b, cp)
    xt, wt, bt = t(x), t(w), t(b)
    ot = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    dout = rng.standard_normal(ot.shape)
    grads = L.conv_backward_naive(dout, cache)
    tgrads = torch_grads(ot, dout, xt, wt, bt)
    assert rel_error(out, ot.detach().numpy()) < TOL
    for a, b_ in zip(grads, tgrads):
        assert rel_error(a, b_) < TOL


@pytest.mark.parametrize("pool,stride,shape", [(2, 2, (2, 3, 8, 8)), (3, 2, (2, 2, 7, 9)),
                                               (2, 1, (1, 2, 5, 5))])
@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::max_pool_forward_naive",
                       "cs231n/layers.py::max_pool_backward_naive")
def test_max_pool_naive_vs_torch(L, rng, pool, stride, shape):
    x = rng.standard_normal(shape)
    pp = {"pool_height": pool, "pool_width": pool, "stride": stride}
    out, cache = L.max_pool_forward_naive(x, pp)
    xt = t(x)
    ot = F.max_pool2d(xt, pool, stride)
    dout = rng.standard_normal(ot.shape)
    assert rel_error(out, ot.detach().numpy()) < TOL
    assert rel_error(L.max_pool_backward_naive(dout, cache), torch_grads(ot, dout, xt)[0]) < TOL


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::spatial_batchnorm_forward",
                       "cs231n/layers.py::spatial_batchnorm_backward")
def test_spatial_batchnorm_vs_torch(L, rng):
    N, C, H, W = 4, 3, 5, 6
    x = 4 * rng.standard_normal((N, C, H, W)) + 10
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    bn_param = {"mode": "train"}
    out, cache = L.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    xt, gt, bt = t(x), t(gamma), t(beta)
    rm, rv = torch.zeros(C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64)
    ot = F.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=0.1, eps=1e-5)
    dout = rng.standard_normal(x.shape)
    grads = L.spatial_batchnorm_backward(dout, cache)
    tgrads = torch_grads(ot, dout, xt, gt, bt)
    assert rel_error(out, ot.detach().numpy()) < TOL
    for a, b_ in zip(grads, tgrads):
        assert rel_error(a, b_) < TOL
    assert rel_error(bn_param["running_mean"], rm.numpy()) < TOL
    # test mode with the running stats
    out_t, _ = L.spatial_batchnorm_forward(x, gamma, beta, dict(bn_param, mode="test"))
    ref = F.batch_norm(t(x, False), torch.tensor(bn_param["running_mean"]),
                       torch.tensor(bn_param["running_var"]), t(gamma, False), t(beta, False),
                       training=False, eps=1e-5)
    assert rel_error(out_t, ref.numpy()) < TOL


@pytest.mark.parametrize("G", [1, 2, 6])
@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::spatial_groupnorm_forward",
                       "cs231n/layers.py::spatial_groupnorm_backward")
def test_groupnorm_vs_torch(L, rng, G):
    N, C, H, W = 3, 6, 4, 5
    x = 3 * rng.standard_normal((N, C, H, W)) + 1
    gamma, beta = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    out, cache = L.spatial_groupnorm_forward(x, gamma, beta, G, {"eps": 1e-5})
    xt, gt, bt = t(x), t(gamma.ravel()), t(beta.ravel())
    ot = F.group_norm(xt, G, gt, bt, eps=1e-5)
    dout = rng.standard_normal(x.shape)
    dx, dg, db = L.spatial_groupnorm_backward(dout, cache)
    gx, gg, gb = torch_grads(ot, dout, xt, gt, bt)
    assert rel_error(out, ot.detach().numpy()) < TOL
    assert dg.shape == (1, C, 1, 1) and db.shape == (1, C, 1, 1)
    assert rel_error(dx, gx) < TOL
    assert rel_error(dg.ravel(), gg) < TOL
    assert rel_error(db.ravel(), gb) < TOL


@pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::conv_backward_naive")
def test_conv_numeric_gradient(L, rng):
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    cp = {"stride": 1, "pad": 1}
    dout = rng.standard_normal((2, 2, 5, 5))
    dx_num = eval_numerical_gradient_array(lambda x_: L.conv_forward_naive(x_, w, b, cp)[0], x.copy(), dout)
    dw_num = eval_numerical_gradient_array(lambda w_: L.conv_forward_naive(x, w_, b, cp)[0], w.copy(), dout)
    _, cache = L.conv_forward_naive(x, w, b, cp)
    dx, dw, _ = L.conv_backward_naive(dout, cache)
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dw, dw_num) < 1e-8


def test_softmax_numeric_gradient(L, rng):
    x, y = 0.001 * rng.standard_normal((10, 5)), rng.integers(0, 5, 10)
    dx_num = eval_numerical_gradient(lambda x_: L.softmax_loss(x_, y)[0], x.copy(), verbose=False)
    assert rel_error(L.softmax_loss(x, y)[1], dx_num) < 1e-7


@pytest.mark.parametrize("call, match", [
    (lambda L: L.affine_forward(np.zeros((2, 5)), np.zeros((4, 3)), np.zeros(3)), "D=5"),
    (lambda L: L.conv_forward_naive(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3)), np.zeros(2),
                                    {"stride": 1, "pad": 1}), "4 channels"),
    (lambda L: L.conv_forward_naive(np.zeros((1, 3, 6, 6)), np.zeros((2, 3, 3, 3)), np.zeros(2),
                                    {"stride": 2, "pad": 0}), "does not tile"),
    (lambda L: L.max_pool_forward_naive(np.zeros((1, 1, 5, 5)),
                                        {"pool_height": 2, "pool_width": 2, "stride": 2}), "5x5"),
    (lambda L: L.softmax_loss(np.zeros((3, 4)), np.array([0, 1])), r"\(3,\)"),
    (lambda L: L.svm_loss(np.zeros((2, 4)), np.array([0, 4])), "labels"),
    (lambda L: L.dropout_forward(np.zeros(3), {"p": 0.0, "mode": "train"}), "keep probability"),
    (lambda L: L.batchnorm_forward(np.zeros((2, 3)), np.ones(4), np.zeros(4), {"mode": "train"}), r"\(3,\)"),
    (lambda L: L.batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), {"mode": "eval"}), "mode"),
    (lambda L: L.spatial_groupnorm_forward(np.zeros((1, 6, 2, 2)), np.ones((1, 6, 1, 1)),
                                           np.zeros((1, 6, 1, 1)), 4, {}), "G=4"),
])
def test_bad_input_raises_value_error(L, call, match):
    with pytest.raises(ValueError, match=match):
        call(L)
