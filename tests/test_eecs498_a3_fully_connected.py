"""EECS 498-007 A3 part 1 (`fully_connected_networks.py`) against independent references.

The references, in float64 on fixed seeded inputs:
- layers: torch.nn.functional.linear / relu and autograd of the same expressions;
- TwoLayerNet / FullyConnectedNet: the same network written with torch ops on a copy of the
  weights (F.linear, F.relu, F.cross_entropy plus the course's L2 term: reg * sum W**2 for
  TwoLayerNet, 0.5 * reg * sum W**2 for FullyConnectedNet), differentiated by autograd;
- dropout: the statistics of torch.nn.functional.dropout (inverted dropout, p = drop
  probability; kept units scaled by 1 / (1 - p)) and autograd through the mask;
- update rules: trajectories of torch.optim.SGD(momentum), RMSprop and Adam on a fixed
  quadratic. The course's rules match torch's at a constant learning rate:
  * momentum: the course keeps v = mu * v - lr * dw and w += v; torch keeps b = mu * b + dw
    and w -= lr * b, so v = -lr * b and the iterates agree (they would differ if lr changed
    between steps, which torch applies to the whole buffer and the course only to new
    gradients);
  * RMSprop: cache = a * cache + (1 - a) dw^2, w -= lr dw / (sqrt(cache) + eps), torch's
    RMSprop(alpha=a, eps=eps) without momentum or centering;
  * Adam: bias-corrected m / (sqrt(v_hat) + eps) with t increased first, which is torch's
    Adam (it divides sqrt(v) by sqrt(1 - beta2^t) before adding eps, the same quantity).
  Starting from a given velocity / cache / (m, v, t) is checked against the closed form;
- the hyperparameter functions: the course's criterion (100% training accuracy on 50 images
  within 20 epochs), on real CIFAR-10 images when they are on disk.
The course notebook's own checks are replayed in
tests/test_course_checks_eecs498_a3_fully_connected.py.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from dl4cv.data.cifar10 import default_root
from dl4cv_tools.testing import course_module
from eecs598 import Solver, reset_seed
from eecs598.grad import compute_numeric_gradient, rel_error

DT = torch.float64
A3 = "eecs498/A3"


@pytest.fixture
def fcn():
    return course_module(A3, "fully_connected_networks")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _close(a, b, tol=1e-10):
    assert a.shape == b.shape, (a.shape, b.shape)
    assert torch.allclose(a, b, rtol=tol, atol=tol), (a - b).abs().max().item()


# ---- Linear / ReLU ---------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::Linear.forward")
def test_linear_forward_matches_functional(fcn):
    g = _gen(0)
    x = torch.randn(6, 2, 3, 4, generator=g, dtype=DT)
    w = torch.randn(24, 5, generator=g, dtype=DT)
    b = torch.randn(5, generator=g, dtype=DT)
    out, cache = fcn.Linear.forward(x, w, b)
    _close(out, F.linear(x.flatten(1), w.t(), b))
    assert cache[0] is x and cache[1] is w and cache[2] is b


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::Linear.forward",
                       "fully_connected_networks.py::Linear.backward")
def test_linear_backward_matches_autograd(fcn):
    g = _gen(1)
    x = torch.randn(7, 3, 5, generator=g, dtype=DT, requires_grad=True)
    w = torch.randn(15, 4, generator=g, dtype=DT, requires_grad=True)
    b = torch.randn(4, generator=g, dtype=DT, requires_grad=True)
    dout = torch.randn(7, 4, generator=g, dtype=DT)
    F.linear(x.flatten(1), w.t(), b).backward(dout)
    with torch.no_grad():
        _, cache = fcn.Linear.forward(x.detach(), w.detach(), b.detach())
        dx, dw, db = fcn.Linear.backward(dout, cache)
    _close(dx, x.grad)
    _close(dw, w.grad)
    _close(db, b.grad)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::ReLU.forward")
def test_relu_forward_matches_functional(fcn):
    x = torch.randn(5, 3, 4, generator=_gen(2), dtype=DT)
    x[0, 0, :2] = 0.0   # exact zeros stay zero
    before = x.clone()
    out, cache = fcn.ReLU.forward(x)
    assert torch.equal(out, F.relu(x))
    assert torch.equal(x, before), "ReLU.forward changed its input in place"
    assert cache is x or torch.equal(cache, x)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::ReLU.forward",
                       "fully_connected_networks.py::ReLU.backward")
def test_relu_backward_matches_autograd(fcn):
    g = _gen(3)
    x = torch.randn(6, 7, generator=g, dtype=DT, requires_grad=True)
    dout = torch.randn(6, 7, generator=g, dtype=DT)
    F.relu(x).backward(dout)
    with torch.no_grad():
        _, cache = fcn.ReLU.forward(x.detach())
        before = dout.clone()
        dx = fcn.ReLU.backward(dout, cache)
    assert torch.equal(dx, x.grad)
    assert torch.equal(dout, before), "ReLU.backward changed dout in place"


# ---- the networks ----------------------------------------------------------------------------
def _set_params(model, dims, seed):
    """Overwrite model.params with seeded float64 weights of unit fan-in scale and non-zero
    biases (so that some ReLUs are off and the biases matter); return a copy."""
    g = _gen(seed)
    for i in range(1, len(dims)):
        W = torch.randn(dims[i - 1], dims[i], generator=g, dtype=DT)
        model.params['W%d' % i] = W / math.sqrt(dims[i - 1])
        model.params['b%d' % i] = 0.3 * torch.randn(dims[i], generator=g, dtype=DT)
    return {k: v.clone() for k, v in model.params.items()}


def _ref_net(params, X, num_layers, masks=None):
    """Scores of {linear - relu - [dropout mask]} x (L - 1) - linear, by torch ops."""
    h = X.flatten(1)
    for i in range(1, num_layers):
        h = F.relu(F.linear(h, params['W%d' % i].t(), params['b%d' % i]))
        if masks is not None:
            h = h * masks[i - 1]
    return F.linear(h, params['W%d' % num_layers].t(), params['b%d' % num_layers])


def _ref_loss_grads(params, X, y, num_layers, reg_factor, masks=None):
    """Mean cross-entropy + reg_factor * sum_i sum(Wi ** 2); gradients by autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    scores = _ref_net(leaves, X, num_layers, masks)
    loss = F.cross_entropy(scores, y)
    for i in range(1, num_layers + 1):
        loss = loss + reg_factor * leaves['W%d' % i].pow(2).sum()
    keys = sorted(leaves)
    grads = torch.autograd.grad(loss, [leaves[k] for k in keys])
    return loss.detach(), dict(zip(keys, grads))


def _data(N=8, shape=(3, 2, 2), C=6, seed=10):
    g = _gen(seed)
    return torch.randn(N, *shape, generator=g, dtype=DT), torch.randint(C, (N,), generator=g)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::TwoLayerNet.__init__")
def test_two_layer_net_init(fcn):
    torch.manual_seed(0)
    model = fcn.TwoLayerNet(input_dim=300, hidden_dim=200, num_classes=10, weight_scale=0.05,
                            dtype=DT, device='cpu')
    p = model.params
    assert set(p) == {'W1', 'b1', 'W2', 'b2'}
    assert p['W1'].shape == (300, 200) and p['b1'].shape == (200,)
    assert p['W2'].shape == (200, 10) and p['b2'].shape == (10,)
    assert all(v.dtype == DT and v.device.type == 'cpu' for v in p.values())
    assert abs(p['W1'].std().item() - 0.05) < 0.002 and abs(p['W1'].mean().item()) < 0.002
    assert abs(p['W2'].std().item() - 0.05) < 0.005
    assert not p['b1'].any() and not p['b2'].any()
    assert model.reg == 0.0
    default = fcn.TwoLayerNet()
    assert default.params['W1'].shape == (3072, 100) and default.params['W1'].dtype == torch.float32
    assert abs(default.params['W1'].std().item() - 1e-3) < 1e-4


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::TwoLayerNet.loss")
@pytest.mark.parametrize("reg", [0.0, 0.37])
def test_two_layer_net_loss_matches_autograd(fcn, reg):
    D, H, C = 12, 9, 6
    model = fcn.TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, reg=reg, dtype=DT)
    params = _set_params(model, [D, H, C], seed=4)
    X, y = _data()
    scores = model.loss(X)
    _close(scores, _ref_net(params, X, 2))
    loss, grads = model.loss(X, y)
    # TwoLayerNet: reg * sum(W ** 2), no factor 1/2
    ref_loss, ref_grads = _ref_loss_grads(params, X, y, 2, reg)
    assert abs(float(loss) - ref_loss.item()) < 1e-10
    assert set(grads) == set(params)
    for k in params:
        _close(grads[k], ref_grads[k])


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::FullyConnectedNet.__init__")
def test_fully_connected_net_init(fcn):
    torch.manual_seed(0)
    model = fcn.FullyConnectedNet([150, 120, 90], input_dim=200, num_classes=7,
                                  weight_scale=0.03, dtype=DT, device='cpu')
    dims = [200, 150, 120, 90, 7]
    assert model.num_layers == 4
    assert set(model.params) == {f'{n}{i}' for n in 'Wb' for i in range(1, 5)}
    for i in range(1, 5):
        W, b = model.params['W%d' % i], model.params['b%d' % i]
        assert W.shape == (dims[i - 1], dims[i]) and b.shape == (dims[i],)
        assert W.dtype == DT and b.dtype == DT and W.device.type == 'cpu'
        assert not b.any()
        tol = 0.003 if W.numel() > 5000 else 0.006
        assert abs(W.std().item() - 0.03) < tol
    assert not model.use_dropout
    default = fcn.FullyConnectedNet([20])
    assert default.params['W1'].shape == (3072, 20) and default.params['W2'].shape == (20, 10)
    assert default.params['W1'].dtype == torch.float32
    assert abs(default.params['W1'].std().item() - 1e-2) < 1e-3


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::FullyConnectedNet.loss")
@pytest.mark.parametrize("hidden_dims,reg", [([9], 0.0), ([9, 7, 5], 0.0), ([9, 7, 5], 0.61),
                                             ([11, 8], 3.14)])
def test_fully_connected_net_loss_matches_autograd(fcn, hidden_dims, reg):
    D, C = 12, 6
    model = fcn.FullyConnectedNet(hidden_dims, input_dim=D, num_classes=C, reg=reg, dtype=DT)
    L = len(hidden_dims) + 1
    params = _set_params(model, [D] + hidden_dims + [C], seed=5)
    X, y = _data()
    _close(model.loss(X), _ref_net(params, X, L))
    loss, grads = model.loss(X, y)
    # FullyConnectedNet: 0.5 * reg * sum(W ** 2), as the course's TODO asks
    ref_loss, ref_grads = _ref_loss_grads(params, X, y, L, 0.5 * reg)
    assert abs(float(loss) - ref_loss.item()) < 1e-10
    assert set(grads) == set(params)
    for k in params:
        _close(grads[k], ref_grads[k])


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::FullyConnectedNet.loss")
def test_fully_connected_net_dropout_test_mode_ignores_dropout(fcn):
    D, C, hidden = 12, 6, [10, 8]
    model = fcn.FullyConnectedNet(hidden, input_dim=D, num_classes=C, dropout=0.5, seed=3,
                                  dtype=DT)
    assert model.use_dropout
    params = _set_params(model, [D] + hidden + [C], seed=6)
    X, _ = _data()
    _close(model.loss(X), _ref_net(params, X, 3))


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::FullyConnectedNet.loss")
@pytest.mark.parametrize("p", [0.25, 0.5])
def test_fully_connected_net_dropout_train_matches_autograd(fcn, p):
    """With a seed, every dropout layer re-seeds before drawing its mask, so the masks of the
    net are those of Dropout.forward on a tensor of ones of the same shape with the same seed
    (the dropout layer itself is checked on its own below); the reference applies them after
    each ReLU and differentiates by autograd."""
    D, C, hidden, reg = 12, 6, [10, 10], 0.2
    model = fcn.FullyConnectedNet(hidden, input_dim=D, num_classes=C, dropout=p, seed=7,
                                  reg=reg, dtype=DT)
    params = _set_params(model, [D] + hidden + [C], seed=8)
    X, y = _data()
    loss, grads = model.loss(X, y)
    masks = []
    for h in hidden:
        mask, _ = fcn.Dropout.forward(torch.ones(X.shape[0], h, dtype=DT),
                                      {'mode': 'train', 'p': p, 'seed': 7})
        masks.append(mask)
    assert 0 < (masks[0] == 0).sum() < masks[0].numel()
    ref_loss, ref_grads = _ref_loss_grads(params, X, y, 3, 0.5 * reg, masks)
    assert abs(float(loss) - ref_loss.item()) < 1e-10
    for k in params:
        _close(grads[k], ref_grads[k])


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::FullyConnectedNet.loss",
                       "fully_connected_networks.py::Dropout.forward",
                       "fully_connected_networks.py::Dropout.backward")
def test_fully_connected_net_dropout_numeric_gradient(fcn):
    """Numeric gradients of the seeded dropout net, the course's threshold 1e-5."""
    g = _gen(9)
    X = torch.randn(3, 10, generator=g, dtype=DT)
    y = torch.randint(5, (3,), generator=g)
    torch.manual_seed(0)
    model = fcn.FullyConnectedNet([8, 6], input_dim=10, num_classes=5, dropout=0.3, seed=1,
                                  reg=0.1, dtype=DT)
    # non-zero biases: with zero ones a unit whose inputs are all dropped sits on the ReLU kink
    _set_params(model, [10, 8, 6, 5], seed=20)
    _, grads = model.loss(X, y)
    for name in sorted(grads):
        num = compute_numeric_gradient(lambda _: model.loss(X, y)[0], model.params[name])
        assert rel_error(num, grads[name]) < 1e-5, name


# ---- dropout ---------------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::Dropout.forward")
@pytest.mark.parametrize("p", [0.1, 0.4, 0.7])
def test_dropout_forward_matches_functional_dropout(fcn, p):
    """Same law as F.dropout: a fraction p of zeros (within 5 standard deviations of both p
    and F.dropout's fraction), kept units scaled by exactly 1 / (1 - p); identity at test
    time; a seed makes the mask repeatable."""
    x = torch.rand(400, 500, generator=_gen(11), dtype=DT) + 1.0   # no zeros in the input
    out, cache = fcn.Dropout.forward(x, {'mode': 'train', 'p': p})
    torch.manual_seed(0)
    ref = F.dropout(x, p=p, training=True)
    n = x.numel()
    sd = math.sqrt(p * (1 - p) / n)
    frac = (out == 0).double().mean().item()
    assert abs(frac - p) < 5 * sd
    assert abs(frac - (ref == 0).double().mean().item()) < 10 * sd
    kept = out != 0
    _close(out[kept], x[kept] / (1 - p), 1e-12)
    _close(ref[ref != 0], x[ref != 0] / (1 - p), 1e-12)
    assert out.shape == x.shape and out.dtype == x.dtype

    out_test, cache_test = fcn.Dropout.forward(x, {'mode': 'test', 'p': p})
    assert torch.equal(out_test, x)

    a, _ = fcn.Dropout.forward(x, {'mode': 'train', 'p': p, 'seed': 5})
    b, _ = fcn.Dropout.forward(x, {'mode': 'train', 'p': p, 'seed': 5})
    c, _ = fcn.Dropout.forward(x, {'mode': 'train', 'p': p, 'seed': 6})
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::Dropout.forward",
                       "fully_connected_networks.py::Dropout.backward")
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_backward_matches_autograd(fcn, p):
    g = _gen(12)
    x = torch.rand(30, 40, generator=g, dtype=DT) + 1.0
    dout = torch.randn(30, 40, generator=g, dtype=DT)
    param = {'mode': 'train', 'p': p, 'seed': 3}
    out, cache = fcn.Dropout.forward(x, param)
    # autograd through x * m, with m = out / x the multiplier the layer applied
    leaf = x.clone().requires_grad_(True)
    (leaf * (out / x)).backward(dout)
    _close(fcn.Dropout.backward(dout, cache), leaf.grad, 1e-12)

    test_param = {'mode': 'test', 'p': p}
    _, cache = fcn.Dropout.forward(x, test_param)
    assert torch.equal(fcn.Dropout.backward(dout, cache), dout)


# ---- update rules ----------------------------------------------------------------------------
def _quadratic(seed=13, n=6):
    """f(w) = 0.5 w^T A w - c^T w with A symmetric positive definite: gradient A w - c."""
    g = _gen(seed)
    M = torch.randn(n, n, generator=g, dtype=DT)
    A = M @ M.t() / n + 0.5 * torch.eye(n, dtype=DT)
    c = torch.randn(n, generator=g, dtype=DT)
    w0 = torch.randn(n, generator=g, dtype=DT)
    return A, c, w0


def _run_course_rule(rule, config, A, c, w0, steps):
    w = w0.clone()
    path = []
    for _ in range(steps):
        w, config = rule(w, A @ w - c, config)
        path.append(w.clone())
    return torch.stack(path), config


def _run_torch(make_opt, A, c, w0, steps):
    w = w0.clone().requires_grad_(True)
    opt = make_opt([w])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * w @ A @ w - c @ w).backward()
        opt.step()
        path.append(w.detach().clone())
    return torch.stack(path)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::sgd_momentum")
def test_sgd_momentum_matches_torch_sgd(fcn):
    A, c, w0 = _quadratic()
    ours, config = _run_course_rule(fcn.sgd_momentum, {'learning_rate': 0.05, 'momentum': 0.8},
                                    A, c, w0, 30)
    torch_path = _run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8), A, c, w0, 30)
    _close(ours, torch_path, 1e-10)
    # defaults: learning_rate 1e-2, momentum 0.9, zero velocity
    defaults, cfg = _run_course_rule(fcn.sgd_momentum, None, A, c, w0, 10)
    assert cfg['learning_rate'] == 1e-2 and cfg['momentum'] == 0.9
    _close(defaults, _run_torch(lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9), A, c, w0, 10))


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::sgd_momentum")
def test_sgd_momentum_closed_form_from_given_velocity(fcn):
    g = _gen(14)
    w, dw, v = (torch.randn(3, 4, generator=g, dtype=DT) for _ in range(3))
    next_w, config = fcn.sgd_momentum(w, dw, {'learning_rate': 0.3, 'momentum': 0.7, 'velocity': v})
    v_new = 0.7 * v - 0.3 * dw
    _close(config['velocity'], v_new)
    _close(next_w, w + v_new)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::rmsprop")
def test_rmsprop_matches_torch_rmsprop(fcn):
    A, c, w0 = _quadratic(seed=15)
    ours, config = _run_course_rule(fcn.rmsprop, {'learning_rate': 0.02, 'decay_rate': 0.9},
                                    A, c, w0, 40)
    torch_path = _run_torch(lambda p: torch.optim.RMSprop(p, lr=0.02, alpha=0.9, eps=1e-8),
                            A, c, w0, 40)
    _close(ours, torch_path, 1e-9)
    defaults, cfg = _run_course_rule(fcn.rmsprop, None, A, c, w0, 10)
    assert cfg['decay_rate'] == 0.99 and cfg['epsilon'] == 1e-8 and cfg['learning_rate'] == 1e-2
    _close(defaults, _run_torch(lambda p: torch.optim.RMSprop(p, lr=1e-2, alpha=0.99, eps=1e-8),
                                A, c, w0, 10), 1e-9)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::rmsprop")
def test_rmsprop_closed_form_from_given_cache(fcn):
    g = _gen(16)
    w, dw = torch.randn(3, 4, generator=g, dtype=DT), torch.randn(3, 4, generator=g, dtype=DT)
    cache = torch.rand(3, 4, generator=g, dtype=DT)
    next_w, config = fcn.rmsprop(w, dw, {'learning_rate': 0.1, 'decay_rate': 0.8,
                                         'epsilon': 1e-3, 'cache': cache.clone()})
    new_cache = 0.8 * cache + 0.2 * dw ** 2
    _close(config['cache'], new_cache)
    _close(next_w, w - 0.1 * dw / (new_cache.sqrt() + 1e-3))


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::adam")
def test_adam_matches_torch_adam(fcn):
    A, c, w0 = _quadratic(seed=17)
    ours, config = _run_course_rule(fcn.adam, {'learning_rate': 0.05, 'beta1': 0.8, 'beta2': 0.95},
                                    A, c, w0, 40)
    torch_path = _run_torch(lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.95), eps=1e-8),
                            A, c, w0, 40)
    _close(ours, torch_path, 1e-9)
    assert config['t'] == 40
    defaults, cfg = _run_course_rule(fcn.adam, None, A, c, w0, 10)
    settings = (cfg['learning_rate'], cfg['beta1'], cfg['beta2'], cfg['epsilon'])
    assert settings == (1e-3, 0.9, 0.999, 1e-8)
    _close(defaults, _run_torch(lambda p: torch.optim.Adam(p, lr=1e-3), A, c, w0, 10), 1e-9)


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::adam")
def test_adam_closed_form_from_given_state(fcn):
    """t is increased before the bias correction uses it."""
    g = _gen(18)
    w, dw = torch.randn(3, 4, generator=g, dtype=DT), torch.randn(3, 4, generator=g, dtype=DT)
    m, v = torch.randn(3, 4, generator=g, dtype=DT), torch.rand(3, 4, generator=g, dtype=DT)
    cfg = {'learning_rate': 0.01, 'beta1': 0.7, 'beta2': 0.9, 'epsilon': 1e-4,
           'm': m.clone(), 'v': v.clone(), 't': 3}
    next_w, cfg = fcn.adam(w, dw, cfg)
    m1, v1 = 0.7 * m + 0.3 * dw, 0.9 * v + 0.1 * dw ** 2
    _close(cfg['m'], m1)
    _close(cfg['v'], v1)
    assert cfg['t'] == 4
    _close(next_w, w - 0.01 * (m1 / (1 - 0.7 ** 4)) / ((v1 / (1 - 0.9 ** 4)).sqrt() + 1e-4))


# ---- training: the solver and the overfitting hyperparameters --------------------------------
def _separable(n_train=600, n_val=300, seed=19):
    """Flattened 3072-pixel stand-in images whose class shows in a brightness pattern."""
    g = _gen(seed)
    proto = 0.2 * torch.randn(10, 3072, generator=g, dtype=DT)

    def split(n):
        y = torch.randint(10, (n,), generator=g)
        return (proto[y] + 0.25 * torch.randn(n, 3072, generator=g, dtype=DT)).clamp(-0.5, 0.5), y

    (Xt, yt), (Xv, yv) = split(n_train), split(n_val)
    return {'X_train': Xt, 'y_train': yt, 'X_val': Xv, 'y_val': yv}


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::create_solver_instance")
def test_create_solver_instance_trains_a_two_layer_net(fcn):
    """A Solver over a TwoLayerNet(hidden_dim=200) of the given dtype and device, on the given
    data; within at most 20 epochs it separates data that a linear model separates."""
    data = _separable()
    reset_seed(0)
    solver = fcn.create_solver_instance(data, DT, "cpu")
    assert isinstance(solver, Solver) and isinstance(solver.model, fcn.TwoLayerNet)
    assert solver.model.params['W1'].shape == (3072, 200)
    assert solver.model.params["W1"].dtype == DT and solver.device == "cpu"
    solver.num_epochs = min(solver.num_epochs, 20)
    solver.verbose = False
    solver.train()
    assert solver.check_accuracy(data['X_val'], data['y_val']) > 0.5


CIFAR_ON_DISK = (default_root() / "data_batch_1").exists()


@pytest.fixture(scope="module")
def cifar_small():
    import eecs598
    data = eecs598.data.preprocess_cifar10(cuda=False, show_examples=False, dtype=torch.float32)
    return {'X_train': data['X_train'][:50], 'y_train': data['y_train'][:50],
            'X_val': data['X_val'][:500], 'y_val': data['y_val'][:500]}


def _final_train_acc(fcn, data, hidden_dims, params_fn):
    reset_seed(0)
    weight_scale, learning_rate = params_fn()
    model = fcn.FullyConnectedNet(hidden_dims, weight_scale=weight_scale, dtype=torch.float32)
    solver = Solver(model, data, print_every=10, num_epochs=20, batch_size=25,
                    optim_config={'learning_rate': learning_rate}, device='cpu', verbose=False)
    solver.train(return_best_params=False)
    return solver.check_accuracy(data['X_train'], data['y_train'])


@pytest.mark.skipif(not CIFAR_ON_DISK, reason="needs CIFAR-10 on disk (./get_datasets.sh cifar10)")
@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::get_three_layer_network_params")
def test_three_layer_params_overfit_50_cifar_images(fcn, cifar_small):
    """The course's criterion: 100% training accuracy on 50 images within 20 epochs."""
    assert _final_train_acc(fcn, cifar_small, [100, 100], fcn.get_three_layer_network_params) == 1.0


@pytest.mark.skipif(not CIFAR_ON_DISK, reason="needs CIFAR-10 on disk (./get_datasets.sh cifar10)")
@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::get_five_layer_network_params")
def test_five_layer_params_overfit_50_cifar_images(fcn, cifar_small):
    assert _final_train_acc(fcn, cifar_small, [100] * 4, fcn.get_five_layer_network_params) == 1.0


@pytest.mark.reference("eecs498/A3", "fully_connected_networks.py::get_three_layer_network_params",
                       "fully_connected_networks.py::get_five_layer_network_params")
def test_overfit_params_are_changed_and_sane(fcn):
    """The starting values of the template do not overfit; the returned ones are positive
    floats of a plausible size."""
    for fn in (fcn.get_three_layer_network_params, fcn.get_five_layer_network_params):
        weight_scale, learning_rate = fn()
        assert 0 < weight_scale < 10 and 0 < learning_rate < 10
    assert fcn.get_three_layer_network_params() != (1e-2, 1e-4)
    assert fcn.get_five_layer_network_params() != (1e-5, 2e-3)
