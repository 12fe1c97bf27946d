"""EECS 498-007 A3 convolutional networks (`convolutional_networks.py`) against independent
references, in float64 on fixed seeded inputs.

References: torch.nn.functional.conv2d / max_pool2d / batch_norm / linear / cross_entropy,
differentiated by autograd; torch.nn.BatchNorm1d/2d for the running mean (the course's running
variance averages the *biased* batch variance, torch's the unbiased one, so that one is
written in closed form); the Kaiming standard deviation sqrt(gain / fan_in) in closed form;
the two networks written again with torch.nn.functional on a copy of their weights; and, for
the hyperparameters, the course's own criterion (100% training accuracy on 50 CIFAR-10 images
within 30 epochs). The course notebook's own checks are replayed in
tests/test_course_checks_eecs498_a3_conv.py.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

DT = torch.float64
A3 = "eecs498/A3"


@pytest.fixture
def cn():
    return course_module(A3, "convolutional_networks")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed=0, scale=1.0, shift=0.0):
    return scale * torch.randn(*shape, generator=_gen(seed), dtype=DT) + shift


def _grads(fn, *tensors, dout):
    """(out, grads of (out * dout).sum() with respect to tensors) by autograd."""
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    out = fn(*leaves)
    return out.detach(), torch.autograd.grad(out, leaves, dout)


# ---- Conv -------------------------------------------------------------------------------------
CONV_CASES = [
    # (N, C, H, W), (F, HH, WW), stride, pad
    ((2, 3, 7, 7), (4, 3, 3), 1, 1),
    ((2, 3, 8, 6), (3, 3, 3), 2, 1),
    ((1, 2, 9, 9), (2, 5, 5), 2, 2),
    ((3, 1, 6, 7), (2, 2, 3), 1, 0),
    ((2, 3, 4, 4), (3, 4, 4), 2, 1),
]


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::Conv.forward")
@pytest.mark.parametrize("xs, ws, stride, pad", CONV_CASES)
def test_conv_forward_matches_conv2d(cn, xs, ws, stride, pad):
    x = _randn(*xs, seed=1)
    w = _randn(ws[0], xs[1], ws[1], ws[2], seed=2)
    b = _randn(ws[0], seed=3)
    x_before = x.clone()
    out, cache = cn.Conv.forward(x, w, b, {'stride': stride, 'pad': pad})
    ref = F.conv2d(x, w, b, stride=stride, padding=pad)
    assert out.shape == ref.shape and out.dtype == DT
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    assert torch.equal(x, x_before), "Conv.forward must not modify its input"


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::Conv.backward")
@pytest.mark.parametrize("xs, ws, stride, pad", CONV_CASES)
def test_conv_backward_matches_autograd(cn, xs, ws, stride, pad):
    x = _randn(*xs, seed=4)
    w = _randn(ws[0], xs[1], ws[1], ws[2], seed=5)
    b = _randn(ws[0], seed=6)
    conv_param = {'stride': stride, 'pad': pad}
    dout = _randn(*F.conv2d(x, w, b, stride=stride, padding=pad).shape, seed=7)
    _, (rdx, rdw, rdb) = _grads(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad),
                                x, w, b, dout=dout)
    _, cache = cn.Conv.forward(x, w, b, conv_param)
    dx, dw, db = cn.Conv.backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    torch.testing.assert_close(dx, rdx, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(dw, rdw, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(db, rdb, rtol=1e-10, atol=1e-12)


# ---- MaxPool ----------------------------------------------------------------------------------
POOL_CASES = [
    # (N, C, H, W), pool_height, pool_width, stride
    ((2, 3, 8, 8), 2, 2, 2),
    ((2, 2, 7, 9), 3, 3, 2),
    ((1, 3, 6, 6), 3, 2, 1),    # overlapping windows
    ((3, 2, 6, 8), 2, 4, 2),
]


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::MaxPool.forward")
@pytest.mark.parametrize("xs, ph, pw, stride", POOL_CASES)
def test_maxpool_forward_matches_max_pool2d(cn, xs, ph, pw, stride):
    x = _randn(*xs, seed=8)
    out, cache = cn.MaxPool.forward(x, {'pool_height': ph, 'pool_width': pw, 'stride': stride})
    ref = F.max_pool2d(x, (ph, pw), stride=stride)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::MaxPool.backward")
@pytest.mark.parametrize("xs, ph, pw, stride", POOL_CASES)
def test_maxpool_backward_matches_autograd(cn, xs, ph, pw, stride):
    x = _randn(*xs, seed=9)   # continuous values: no ties inside a window
    pool_param = {'pool_height': ph, 'pool_width': pw, 'stride': stride}
    ref_shape = F.max_pool2d(x, (ph, pw), stride=stride).shape
    dout = _randn(*ref_shape, seed=10)
    _, (rdx,) = _grads(lambda x: F.max_pool2d(x, (ph, pw), stride=stride), x, dout=dout)
    _, cache = cn.MaxPool.forward(x, pool_param)
    dx = cn.MaxPool.backward(dout, cache)
    assert dx.shape == x.shape
    torch.testing.assert_close(dx, rdx, rtol=1e-12, atol=1e-14)


# ---- given fast layers (no student code): they agree with the naive references --------------
def test_fast_layers_match_functional(cn):
    x, w, b = _randn(2, 3, 9, 9, seed=11), _randn(4, 3, 3, 3, seed=12), _randn(4, seed=13)
    out, cache = cn.FastConv.forward(x, w, b, {'stride': 2, 'pad': 1})
    dout = _randn(*out.shape, seed=14)
    ref, rg = _grads(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), x, w, b, dout=dout)
    torch.testing.assert_close(out, ref)
    for got, want in zip(cn.FastConv.backward(dout, cache), rg):
        torch.testing.assert_close(got, want)
    pool = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
    out, cache = cn.FastMaxPool.forward(x, pool)
    dout = _randn(*out.shape, seed=15)
    ref, (rdx,) = _grads(lambda x: F.max_pool2d(x, 2, 2), x, dout=dout)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(cn.FastMaxPool.backward(dout, cache), rdx)
    with torch.no_grad():   # evaluation only: no graph is kept
        out2, _ = cn.FastConv.forward(x, w, b, {'stride': 2, 'pad': 1})
    assert not out2.requires_grad


# ---- kaiming_initializer ----------------------------------------------------------------------
@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::kaiming_initializer")
@pytest.mark.parametrize("Din, Dout, K, relu", [(400, 300, None, True), (500, 200, None, False),
                                                (32, 64, 3, True), (16, 40, 5, False)])
def test_kaiming_std_closed_form(cn, Din, Dout, K, relu):
    torch.manual_seed(0)
    w = cn.kaiming_initializer(Din, Dout, K=K, relu=relu, device='cpu', dtype=DT)
    shape = (Din, Dout) if K is None else (Dout, Din, K, K)
    assert tuple(w.shape) == shape and w.dtype == DT and w.device.type == 'cpu'
    fan_in = Din if K is None else Din * K * K
    std = math.sqrt((2.0 if relu else 1.0) / fan_in)
    n = w.numel()
    # sample std of n Gaussian numbers: relative standard error about 1 / sqrt(2n)
    assert abs(w.std().item() / std - 1) < 6 / math.sqrt(2 * n)
    assert abs(w.mean().item()) < 6 * std / math.sqrt(n)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::kaiming_initializer")
def test_kaiming_default_dtype_and_randomness(cn):
    torch.manual_seed(0)
    a = cn.kaiming_initializer(30, 20)
    b = cn.kaiming_initializer(30, 20)
    assert a.dtype == torch.float32 and a.shape == (30, 20)
    assert not torch.equal(a, b), "each call draws new random numbers"


# ---- BatchNorm --------------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::BatchNorm.forward")
def test_batchnorm_train_forward_and_running_stats(cn):
    N, D = 16, 5
    gamma, beta = _randn(D, seed=20), _randn(D, seed=21)
    ref_bn = torch.nn.BatchNorm1d(D, momentum=0.1, eps=1e-5).to(DT)   # torch's momentum = 1 - 0.9
    ref_bn.running_mean.zero_()
    with torch.no_grad():
        ref_bn.weight.copy_(gamma)
        ref_bn.bias.copy_(beta)
    bn_param = {'mode': 'train'}
    running_var = torch.zeros(D, dtype=DT)
    for step in range(3):
        x = _randn(N, D, seed=22 + step, scale=3.0, shift=5.0)
        out, _ = cn.BatchNorm.forward(x, gamma, beta, bn_param)
        ref = F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
        ref_bn.train()
        with torch.no_grad():
            ref_bn(x)
        running_var = 0.9 * running_var + 0.1 * x.var(dim=0, unbiased=False)
        torch.testing.assert_close(bn_param['running_mean'], ref_bn.running_mean, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(bn_param['running_var'], running_var, rtol=1e-12, atol=1e-14)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::BatchNorm.forward")
def test_batchnorm_test_forward_uses_running_stats(cn):
    D = 6
    gamma, beta = _randn(D, seed=30), _randn(D, seed=31)
    rm, rv = _randn(D, seed=32), _randn(D, seed=33).abs() + 0.5
    x = _randn(10, D, seed=34, scale=2.0)
    bn_param = {'mode': 'test', 'running_mean': rm.clone(), 'running_var': rv.clone(), 'eps': 1e-3}
    out, _ = cn.BatchNorm.forward(x, gamma, beta, bn_param)
    ref = F.batch_norm(x, rm, rv, gamma, beta, training=False, eps=1e-3)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(bn_param['running_mean'], rm)   # unchanged in test mode
    torch.testing.assert_close(bn_param['running_var'], rv)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::BatchNorm.forward")
def test_batchnorm_momentum_and_eps_are_read(cn):
    D = 4
    x = _randn(8, D, seed=35, scale=2.0, shift=1.0)
    gamma, beta = torch.ones(D, dtype=DT), torch.zeros(D, dtype=DT)
    rm0, rv0 = _randn(D, seed=36), torch.full((D,), 2.0, dtype=DT)
    bn_param = {'mode': 'train', 'momentum': 0.7, 'eps': 0.5,
                'running_mean': rm0.clone(), 'running_var': rv0.clone()}
    out, _ = cn.BatchNorm.forward(x, gamma, beta, bn_param)
    torch.testing.assert_close(out, F.batch_norm(x, None, None, gamma, beta, training=True, eps=0.5))
    torch.testing.assert_close(bn_param['running_mean'], 0.7 * rm0 + 0.3 * x.mean(0))
    torch.testing.assert_close(bn_param['running_var'], 0.7 * rv0 + 0.3 * x.var(0, unbiased=False))


def _bn_case(N=12, D=5, seed=40):
    x = _randn(N, D, seed=seed, scale=4.0, shift=10.0)
    gamma, beta = _randn(D, seed=seed + 1), _randn(D, seed=seed + 2)
    dout = _randn(N, D, seed=seed + 3)
    ref = _grads(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-5),
                 x, gamma, beta, dout=dout)[1]
    return x, gamma, beta, dout, ref


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::BatchNorm.backward")
def test_batchnorm_backward_matches_autograd(cn):
    x, gamma, beta, dout, ref = _bn_case()
    _, cache = cn.BatchNorm.forward(x, gamma, beta, {'mode': 'train'})
    for got, want in zip(cn.BatchNorm.backward(dout, cache), ref):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::BatchNorm.backward_alt")
def test_batchnorm_backward_alt_matches_autograd(cn):
    x, gamma, beta, dout, ref = _bn_case(N=20, D=7, seed=50)
    _, cache = cn.BatchNorm.forward(x, gamma, beta, {'mode': 'train'})
    for got, want in zip(cn.BatchNorm.backward_alt(dout, cache), ref):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::BatchNorm.backward")
def test_batchnorm_backward_test_mode_matches_autograd(cn):
    """Test mode: the running statistics are constants."""
    D = 5
    x, gamma, beta = _randn(9, D, seed=60), _randn(D, seed=61), _randn(D, seed=62)
    rm, rv = _randn(D, seed=63), _randn(D, seed=64).abs() + 0.5
    dout = _randn(9, D, seed=65)
    _, ref = _grads(lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=False, eps=1e-5),
                    x, gamma, beta, dout=dout)
    _, cache = cn.BatchNorm.forward(x, gamma, beta,
                                    {'mode': 'test', 'running_mean': rm, 'running_var': rv})
    for got, want in zip(cn.BatchNorm.backward(dout, cache), ref):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


# ---- SpatialBatchNorm -------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::SpatialBatchNorm.forward")
def test_spatial_batchnorm_forward_matches_batchnorm2d(cn):
    N, C, H, W = 3, 4, 5, 6
    gamma, beta = _randn(C, seed=70), _randn(C, seed=71)
    ref_bn = torch.nn.BatchNorm2d(C, momentum=0.1, eps=1e-5).to(DT)
    with torch.no_grad():
        ref_bn.weight.copy_(gamma)
        ref_bn.bias.copy_(beta)
    bn_param = {'mode': 'train'}
    running_var = torch.zeros(C, dtype=DT)
    for step in range(3):
        x = _randn(N, C, H, W, seed=72 + step, scale=3.0, shift=-2.0)
        out, _ = cn.SpatialBatchNorm.forward(x, gamma, beta, bn_param)
        ref_bn.train()
        with torch.no_grad():
            ref = ref_bn(x)
        assert out.shape == x.shape
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
        running_var = 0.9 * running_var + 0.1 * x.var(dim=(0, 2, 3), unbiased=False)
        torch.testing.assert_close(bn_param['running_mean'], ref_bn.running_mean, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(bn_param['running_var'], running_var, rtol=1e-12, atol=1e-14)
    bn_param['mode'] = 'test'
    x = _randn(N, C, H, W, seed=80)
    out, _ = cn.SpatialBatchNorm.forward(x, gamma, beta, bn_param)
    ref = F.batch_norm(x, bn_param['running_mean'], bn_param['running_var'], gamma, beta,
                       training=False, eps=1e-5)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::SpatialBatchNorm.backward")
def test_spatial_batchnorm_backward_matches_autograd(cn):
    N, C, H, W = 2, 3, 4, 5
    x = _randn(N, C, H, W, seed=90, scale=5.0, shift=12.0)
    gamma, beta, dout = _randn(C, seed=91), _randn(C, seed=92), _randn(N, C, H, W, seed=93)
    _, ref = _grads(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-5),
                    x, gamma, beta, dout=dout)
    _, cache = cn.SpatialBatchNorm.forward(x, gamma, beta, {'mode': 'train'})
    dx, dgamma, dbeta = cn.SpatialBatchNorm.backward(dout, cache)
    assert dx.shape == x.shape and dgamma.shape == (C,) and dbeta.shape == (C,)
    for got, want in zip((dx, dgamma, dbeta), ref):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


# ---- ThreeLayerConvNet ------------------------------------------------------------------------
def _seeded_params(model, seed, scale=0.3):
    """Replace the model's parameters with seeded, non-trivial float64 values (biases too, so
    that they matter); returns a copy for the reference."""
    g = _gen(seed)
    for k, v in model.params.items():
        if k.startswith('gamma'):
            model.params[k] = 1 + 0.2 * torch.randn(v.shape, generator=g, dtype=DT)
        elif k.startswith('W') and v.dim() == 4:
            fan_in = v[0].numel()
            model.params[k] = torch.randn(v.shape, generator=g, dtype=DT) * math.sqrt(2 / fan_in)
        elif k.startswith('W'):
            model.params[k] = torch.randn(v.shape, generator=g, dtype=DT) * math.sqrt(1 / v.shape[0])
        else:
            model.params[k] = scale * torch.randn(v.shape, generator=g, dtype=DT)
    return {k: v.clone() for k, v in model.params.items()}


def _three_layer_ref(p, X, y, reg):
    filter_size = p['W1'].shape[2]
    h = F.relu(F.conv2d(X, p['W1'], p['b1'], padding=(filter_size - 1) // 2))
    h = F.max_pool2d(h, 2, 2).reshape(X.shape[0], -1)
    h = F.relu(h @ p['W2'] + p['b2'])
    scores = h @ p['W3'] + p['b3']
    if y is None:
        return scores
    return scores, F.cross_entropy(scores, y) + reg * sum((p[k] ** 2).sum() for k in ('W1', 'W2', 'W3'))


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::ThreeLayerConvNet.__init__")
def test_three_layer_init_shapes_and_scale(cn):
    torch.manual_seed(0)
    m = cn.ThreeLayerConvNet(input_dims=(3, 16, 12), num_filters=20, filter_size=5,
                             hidden_dim=60, num_classes=7, weight_scale=0.05, dtype=DT)
    shapes = {k: tuple(v.shape) for k, v in m.params.items()}
    assert shapes == {'W1': (20, 3, 5, 5), 'b1': (20,), 'W2': (20 * 8 * 6, 60), 'b2': (60,),
                      'W3': (60, 7), 'b3': (7,)}
    for k, v in m.params.items():
        assert v.dtype == DT and v.device.type == 'cpu'
        if k.startswith('b'):
            assert not v.any()
    assert abs(m.params['W2'].std().item() / 0.05 - 1) < 0.05
    assert abs(m.params['W1'].std().item() / 0.05 - 1) < 0.15
    assert m.reg == 0.0 and m.dtype == DT


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::ThreeLayerConvNet.loss")
@pytest.mark.parametrize("filter_size, reg", [(3, 0.0), (5, 0.7), (7, 0.05)])
def test_three_layer_loss_and_grads_match_functional(cn, filter_size, reg):
    torch.manual_seed(0)
    m = cn.ThreeLayerConvNet(input_dims=(3, 10, 10), num_filters=4, filter_size=filter_size,
                             hidden_dim=9, num_classes=5, reg=reg, dtype=DT)
    p = _seeded_params(m, seed=100 + filter_size)
    X = _randn(6, 3, 10, 10, seed=101)
    y = torch.randint(5, (6,), generator=_gen(102))
    loss, grads = m.loss(X, y)
    leaves = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    _, ref_loss = _three_layer_ref(leaves, X, y, reg)
    ref_grads = dict(zip(leaves, torch.autograd.grad(ref_loss, list(leaves.values()))))
    torch.testing.assert_close(torch.as_tensor(loss, dtype=DT), ref_loss.detach(), rtol=1e-10, atol=1e-12)
    assert set(grads) == set(p)
    for k in p:
        torch.testing.assert_close(grads[k], ref_grads[k], rtol=1e-8, atol=1e-10, msg=k)
    scores = m.loss(X)
    torch.testing.assert_close(scores, _three_layer_ref(p, X, None, reg), rtol=1e-10, atol=1e-12)


# ---- DeepConvNet ------------------------------------------------------------------------------
def _deep_ref(p, X, y, num_filters, max_pools, batchnorm, reg, bn_running=None):
    """The DeepConvNet in torch.nn.functional; bn_running: list of (mean, var) for test mode."""
    h = X
    L = len(num_filters) + 1
    for i in range(1, L):
        h = F.conv2d(h, p[f'W{i}'], p[f'b{i}'], padding=1)
        if batchnorm:
            if bn_running is None:
                h = F.batch_norm(h, None, None, p[f'gamma{i}'], p[f'beta{i}'], training=True, eps=1e-5)
            else:
                rm, rv = bn_running[i - 1]
                h = F.batch_norm(h, rm, rv, p[f'gamma{i}'], p[f'beta{i}'], training=False, eps=1e-5)
        h = F.relu(h)
        if i - 1 in max_pools:
            h = F.max_pool2d(h, 2, 2)
    scores = h.reshape(X.shape[0], -1) @ p[f'W{L}'] + p[f'b{L}']
    if y is None:
        return scores
    return F.cross_entropy(scores, y) + reg * sum((p[f'W{i}'] ** 2).sum() for i in range(1, L + 1))


DEEP_CASES = [
    # num_filters, max_pools, batchnorm, reg
    ([4, 6], [0, 1], False, 0.0),
    ([4, 5, 6], [0, 2], False, 0.3),
    ([3, 4, 5], [1], True, 0.0),
    ([4, 4, 6, 6], [0, 1, 3], True, 0.2),
]


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::DeepConvNet.__init__")
@pytest.mark.parametrize("num_filters, max_pools, batchnorm, reg", DEEP_CASES)
def test_deep_init_shapes(cn, num_filters, max_pools, batchnorm, reg):
    torch.manual_seed(0)
    m = cn.DeepConvNet(input_dims=(3, 16, 16), num_filters=num_filters, max_pools=max_pools,
                       batchnorm=batchnorm, num_classes=7, weight_scale=0.05, reg=reg, dtype=DT)
    expected, c, side = {}, 3, 16
    for i, f in enumerate(num_filters, start=1):
        expected[f'W{i}'], expected[f'b{i}'] = (f, c, 3, 3), (f,)
        if batchnorm:
            expected[f'gamma{i}'], expected[f'beta{i}'] = (f,), (f,)
        c = f
        if i - 1 in max_pools:
            side //= 2
    L = len(num_filters) + 1
    expected[f'W{L}'], expected[f'b{L}'] = (c * side * side, 7), (7,)
    assert {k: tuple(v.shape) for k, v in m.params.items()} == expected
    for k, v in m.params.items():
        assert v.dtype == DT
        if k.startswith('b') or k.startswith('beta'):
            assert not v.any(), k
        if k.startswith('gamma'):
            assert torch.all(v == 1), k
    assert len(m.bn_params) == (len(num_filters) if batchnorm else 0)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::DeepConvNet.__init__")
def test_deep_init_weight_scales(cn):
    torch.manual_seed(0)
    m = cn.DeepConvNet(input_dims=(3, 16, 16), num_filters=[32, 64], max_pools=[0, 1],
                       weight_scale=0.02, dtype=DT)
    for k in ('W1', 'W2', 'W3'):
        assert abs(m.params[k].std().item() / 0.02 - 1) < 0.1, k
    m = cn.DeepConvNet(input_dims=(3, 16, 16), num_filters=[32, 64], max_pools=[0, 1],
                       weight_scale='kaiming', dtype=DT)
    # convolutions before a ReLU: sqrt(2 / (C_in * 9))
    assert abs(m.params['W1'].std().item() / math.sqrt(2 / 27) - 1) < 0.15
    assert abs(m.params['W2'].std().item() / math.sqrt(2 / (32 * 9)) - 1) < 0.05
    # the output layer: Kaiming (gain 2) or Xavier (gain 1), both sqrt(gain / fan_in)
    ratio = m.params['W3'].std().item() * math.sqrt(64 * 4 * 4)
    assert min(abs(ratio - 1), abs(ratio - math.sqrt(2))) < 0.08
    m32 = cn.DeepConvNet(num_filters=[8], max_pools=[0], weight_scale='kaiming', dtype=torch.float32)
    assert all(v.dtype == torch.float32 for v in m32.params.values())


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::DeepConvNet.loss")
@pytest.mark.parametrize("num_filters, max_pools, batchnorm, reg", DEEP_CASES)
def test_deep_loss_and_grads_match_functional(cn, num_filters, max_pools, batchnorm, reg):
    torch.manual_seed(0)
    m = cn.DeepConvNet(input_dims=(3, 8, 8), num_filters=num_filters, max_pools=max_pools,
                       batchnorm=batchnorm, num_classes=5, reg=reg, dtype=DT)
    p = _seeded_params(m, seed=200 + len(num_filters))
    X = _randn(5, 3, 8, 8, seed=201)
    y = torch.randint(5, (5,), generator=_gen(202))
    loss, grads = m.loss(X, y)
    leaves = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    ref_loss = _deep_ref(leaves, X, y, num_filters, max_pools, batchnorm, reg)
    ref_grads = dict(zip(leaves, torch.autograd.grad(ref_loss, list(leaves.values()))))
    torch.testing.assert_close(torch.as_tensor(loss, dtype=DT), ref_loss.detach(), rtol=1e-10, atol=1e-12)
    assert set(grads) == set(p)
    for k in p:
        torch.testing.assert_close(grads[k], ref_grads[k], rtol=1e-7, atol=1e-9, msg=k)
    # without labels: scores, batchnorm in test mode with the running statistics
    scores = m.loss(X)
    running = [(bp['running_mean'], bp['running_var']) for bp in m.bn_params] if batchnorm else None
    ref_scores = _deep_ref(p, X, None, num_filters, max_pools, batchnorm, reg, bn_running=running)
    torch.testing.assert_close(scores, ref_scores, rtol=1e-10, atol=1e-12)


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::DeepConvNet.loss")
def test_deep_batchnorm_running_stats_follow_training(cn):
    """Each batch normalization layer keeps its running statistics in its own bn_param."""
    torch.manual_seed(0)
    m = cn.DeepConvNet(input_dims=(3, 8, 8), num_filters=[3, 4], max_pools=[0], batchnorm=True,
                       num_classes=4, dtype=DT)
    p = _seeded_params(m, seed=300)
    X = _randn(4, 3, 8, 8, seed=301, scale=2.0, shift=1.0)
    m.loss(X, torch.tensor([0, 1, 2, 3]))
    h1 = F.conv2d(X, p['W1'], p['b1'], padding=1)
    torch.testing.assert_close(m.bn_params[0]['running_mean'], 0.1 * h1.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(m.bn_params[0]['running_var'], 0.1 * h1.var(dim=(0, 2, 3), unbiased=False))
    a1 = F.max_pool2d(F.relu(F.batch_norm(h1, None, None, p['gamma1'], p['beta1'], training=True)), 2, 2)
    h2 = F.conv2d(a1, p['W2'], p['b2'], padding=1)
    torch.testing.assert_close(m.bn_params[1]['running_mean'], 0.1 * h2.mean(dim=(0, 2, 3)))


# ---- hyperparameters --------------------------------------------------------------------------
def _cifar(flatten=False):
    eecs598 = pytest.importorskip("eecs598")
    try:
        return eecs598.data.preprocess_cifar10(cuda=False, show_examples=False, dtype=DT, flatten=flatten)
    except FileNotFoundError as e:   # DataMissingError
        pytest.skip(str(e))


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::find_overfit_parameters")
def test_overfit_parameters_reach_full_training_accuracy(cn):
    """The course's experiment: DeepConvNet [8, 16, 32, 64], a pooling after each, reg 1e-5,
    Adam, batches of 10, 30 epochs on the first 50 CIFAR-10 training images -> 100%."""
    from eecs598 import Solver, reset_seed
    weight_scale, learning_rate = cn.find_overfit_parameters()
    data = _cifar()
    small = {'X_train': data['X_train'][:50], 'y_train': data['y_train'][:50],
             'X_val': data['X_val'][:100], 'y_val': data['y_val'][:100]}
    reset_seed(0)
    model = cn.DeepConvNet(input_dims=(3, 32, 32), num_classes=10, num_filters=[8, 16, 32, 64],
                           max_pools=[0, 1, 2, 3], reg=1e-5, weight_scale=weight_scale,
                           dtype=torch.float32, device='cpu')
    solver = Solver(model, small, num_epochs=30, batch_size=10, update_rule=cn.adam,
                    optim_config={'learning_rate': learning_rate}, device='cpu', verbose=False)
    solver.train(return_best_params=False)
    assert solver.check_accuracy(small['X_train'], small['y_train']) == 1.0


@pytest.mark.reference("eecs498/A3", "convolutional_networks.py::create_convolutional_solver_instance")
def test_convolutional_solver_instance_is_ready_to_train(cn):
    from eecs598 import Solver, reset_seed
    data = _cifar()
    small = {'X_train': data['X_train'][:600], 'y_train': data['y_train'][:600],
             'X_val': data['X_val'][:200], 'y_val': data['y_val'][:200]}
    reset_seed(0)
    solver = cn.create_convolutional_solver_instance(small, torch.float64, 'cpu')
    assert isinstance(solver, Solver)
    assert isinstance(solver.model, cn.DeepConvNet)
    assert all(v.dtype == torch.float64 and v.device.type == 'cpu'
               for v in solver.model.params.values())
    assert torch.device(solver.device).type == 'cpu'
    assert solver.X_train is small['X_train']
    solver.verbose = False
    # a short run of about 40 updates, whatever the batch size: the model must beat chance
    solver.num_epochs = max(2, math.ceil(40 * solver.batch_size / 600))
    solver.train()
    assert all(math.isfinite(v) for v in solver.loss_history)
    assert solver.best_val_acc > 0.2
