"""EECS 498-007 A2 two-layer net (`two_layer_net.py`) against independent references (issue 23).

The references are the same network written with torch ops (torch.nn.functional.linear, relu,
cross_entropy) on a copy of the weights, differentiated by autograd, in float64; a training
run is replayed step by step with torch.optim.SGD on the minibatches that `nn_train` drew.
The course's own checks (toy scores, toy loss, gradient check, toy training) are replayed in
tests/test_course_checks_eecs498_a2_two_layer_net.py.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

DT = torch.float64
A2 = "eecs498/A2"


@pytest.fixture
def tln():
    return course_module(A2, "two_layer_net")


def _params(D=5, H=7, C=4, seed=0, scale=1.0):
    """Seeded float64 parameters; unit-scale weights and non-zero biases, so that some hidden
    units are off for some inputs and the biases matter."""
    g = torch.Generator().manual_seed(seed)
    return {
        'W1': scale * torch.randn(D, H, generator=g, dtype=DT) / math.sqrt(D),
        'b1': 0.3 * torch.randn(H, generator=g, dtype=DT),
        'W2': scale * torch.randn(H, C, generator=g, dtype=DT) / math.sqrt(H),
        'b2': 0.3 * torch.randn(C, generator=g, dtype=DT),
    }


def _data(N=9, D=5, C=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, D, generator=g, dtype=DT), torch.randint(C, (N,), generator=g)


def _copy(params):
    return {k: v.clone() for k, v in params.items()}


def _ref_forward(params, X):
    """(scores, hidden) of the same network, by torch.nn.functional."""
    hidden = F.relu(F.linear(X, params['W1'].t(), params['b1']))
    return F.linear(hidden, params['W2'].t(), params['b2']), hidden


def _ref_loss_and_grads(params, X, y, reg):
    """Softmax cross-entropy (mean) + reg * (sum W1^2 + sum W2^2); gradients by autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    scores, _ = _ref_forward(leaves, X)
    loss = F.cross_entropy(scores, y) + reg * (leaves['W1'].pow(2).sum() + leaves['W2'].pow(2).sum())
    grads = torch.autograd.grad(loss, [leaves[k] for k in ('W1', 'b1', 'W2', 'b2')])
    return loss.detach(), dict(zip(('W1', 'b1', 'W2', 'b2'), grads))


# ---- nn_forward_pass ----------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_forward_pass")
def test_forward_pass_matches_functional(tln):
    params, (X, _) = _params(), _data()
    scores, hidden = tln.nn_forward_pass(_copy(params), X)
    ref_scores, ref_hidden = _ref_forward(params, X)
    assert (ref_hidden == 0).any() and (ref_hidden > 0).any()   # the ReLU matters here
    assert scores.shape == (9, 4) and hidden.shape == (9, 7)
    assert scores.dtype == DT and hidden.dtype == DT
    torch.testing.assert_close(hidden, ref_hidden, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(scores, ref_scores, rtol=1e-12, atol=1e-14)


@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_forward_pass")
def test_forward_pass_without_torch_relu(tln, monkeypatch):
    """The course forbids torch.relu and torch.nn ops in nn_forward_pass."""
    def forbidden(*args, **kwargs):
        raise AssertionError("nn_forward_pass must not call torch.relu / torch.nn ops")
    for owner, name in [(torch, "relu"), (torch, "relu_"), (torch.Tensor, "relu"),
                        (torch.Tensor, "relu_"), (F, "relu"), (F, "linear")]:
        monkeypatch.setattr(owner, name, forbidden)
    params, (X, _) = _params(), _data()
    scores, hidden = tln.nn_forward_pass(_copy(params), X)
    monkeypatch.undo()
    ref_scores, ref_hidden = _ref_forward(params, X)
    torch.testing.assert_close(scores, ref_scores, rtol=1e-12, atol=1e-14)


@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_forward_pass")
def test_forward_pass_float32_follows_input(tln):
    params, (X, _) = _params(), _data()
    params32 = {k: v.float() for k, v in params.items()}
    scores, hidden = tln.nn_forward_pass(params32, X.float())
    assert scores.dtype == torch.float32 and hidden.dtype == torch.float32
    torch.testing.assert_close(scores.double(), _ref_forward(params, X)[0], rtol=1e-5, atol=1e-5)


# ---- nn_forward_backward ------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_forward_backward")
@pytest.mark.parametrize("reg", [0.0, 0.05, 0.7])
def test_loss_and_grads_match_autograd(tln, reg):
    params, (X, y) = _params(), _data()
    given = _copy(params)
    loss, grads = tln.nn_forward_backward(given, X, y, reg=reg)
    ref_loss, ref_grads = _ref_loss_and_grads(params, X, y, reg)
    assert torch.is_tensor(loss) and loss.numel() == 1
    torch.testing.assert_close(loss.reshape(()), ref_loss, rtol=1e-12, atol=1e-14)
    assert set(grads) == {'W1', 'b1', 'W2', 'b2'}
    for k in ref_grads:
        assert grads[k].shape == params[k].shape, k
        torch.testing.assert_close(grads[k], ref_grads[k], rtol=1e-10, atol=1e-13, msg=k)
    for k in params:   # the parameters themselves are left alone
        torch.testing.assert_close(given[k], params[k], rtol=0, atol=0)


@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_forward_backward")
def test_scores_without_labels(tln):
    params, (X, _) = _params(), _data()
    scores = tln.nn_forward_backward(_copy(params), X)
    torch.testing.assert_close(scores, _ref_forward(params, X)[0], rtol=1e-12, atol=1e-14)


@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_forward_backward")
def test_loss_is_stable_for_large_scores(tln):
    """Scores in the thousands: a shift by the row maximum keeps exp() finite."""
    params, (X, y) = _params(scale=60.0), _data()
    loss, grads = tln.nn_forward_backward(_copy(params), 30 * X, y, reg=1e-3)
    ref_loss, ref_grads = _ref_loss_and_grads(params, 30 * X, y, 1e-3)
    assert _ref_forward(params, 30 * X)[0].abs().max() > 800
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss.reshape(()), ref_loss, rtol=1e-10, atol=1e-10)
    for k in ref_grads:
        torch.testing.assert_close(grads[k], ref_grads[k], rtol=1e-8, atol=1e-10, msg=k)


@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_forward_backward")
def test_loss_on_the_gpu_layout_float32(tln):
    """float32 in, float32 out (the course trains in float32 as well)."""
    params, (X, y) = _params(), _data()
    loss, grads = tln.nn_forward_backward({k: v.float() for k, v in params.items()}, X.float(), y, reg=0.1)
    ref_loss, ref_grads = _ref_loss_and_grads(params, X, y, 0.1)
    assert loss.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grads.values())
    torch.testing.assert_close(loss.double().reshape(()), ref_loss, rtol=1e-5, atol=1e-6)
    for k in ref_grads:
        torch.testing.assert_close(grads[k].double(), ref_grads[k], rtol=1e-4, atol=1e-6, msg=k)


# ---- nn_predict ---------------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_predict")
def test_predict_is_argmax_of_scores(tln):
    params, (X, _) = _params(C=6, seed=3), _data(N=40, C=6)
    calls = []

    def scores_fn(p, X_, y=None, reg=0.0):
        calls.append(y)
        return _ref_forward(p, X_)[0]

    y_pred = tln.nn_predict(params, scores_fn, X)
    expected = _ref_forward(params, X)[0].argmax(dim=1)
    assert y_pred.shape == (40,) and y_pred.dtype == torch.int64
    assert torch.equal(y_pred, expected)
    assert len(set(expected.tolist())) > 2


# ---- nn_train -----------------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_train")
@pytest.mark.parametrize("decay", [0.95, 0.5])
def test_train_matches_torch_sgd(tln, decay):
    """Replay nn_train's minibatches with torch.optim.SGD: same loss history, same final
    weights, the learning rate decayed once per epoch, accuracies once per epoch."""
    N, D, H, C, batch, iters, lr, reg = 40, 5, 7, 4, 10, 9, 0.3, 0.02
    params, (X, y) = _params(D, H, C), _data(N, D, C)
    X_val, y_val = _data(15, D, C, seed=5)
    batches = []

    def loss_func(p, X_batch, y=None, reg=0.0):
        batches.append((X_batch.clone(), y.clone()))
        return _ref_loss_and_grads(p, X_batch, y, reg)

    def pred_func(p, loss_f, X_):
        return _ref_forward(p, X_)[0].argmax(dim=1)

    trained = _copy(params)
    torch.manual_seed(0)
    stats = tln.nn_train(trained, loss_func, pred_func, X, y, X_val, y_val,
                         learning_rate=lr, learning_rate_decay=decay, reg=reg,
                         num_iters=iters, batch_size=batch)
    assert len(batches) == iters
    assert all(xb.shape == (batch, D) for xb, _ in batches)

    # The reference: torch.optim.SGD on the same batches.
    leaves = [params[k].clone().requires_grad_(True) for k in ('W1', 'b1', 'W2', 'b2')]
    opt = torch.optim.SGD(leaves, lr=lr)
    per_epoch = N // batch
    ref_losses, ref_train_acc, ref_val_acc = [], [], []
    for it, (xb, yb) in enumerate(batches):
        opt.zero_grad()
        p = dict(zip(('W1', 'b1', 'W2', 'b2'), leaves))
        scores, _ = _ref_forward(p, xb)
        loss = F.cross_entropy(scores, yb) + reg * (p['W1'].pow(2).sum() + p['W2'].pow(2).sum())
        loss.backward()
        opt.step()
        ref_losses.append(loss.item())
        if it % per_epoch == 0:
            with torch.no_grad():
                ref_train_acc.append((_ref_forward(p, xb)[0].argmax(1) == yb).double().mean().item())
                ref_val_acc.append((_ref_forward(p, X_val)[0].argmax(1) == y_val).double().mean().item())
            for group in opt.param_groups:
                group['lr'] *= decay

    assert set(stats) >= {'loss_history', 'train_acc_history', 'val_acc_history'}
    assert stats['loss_history'] == pytest.approx(ref_losses, rel=1e-10, abs=1e-12)
    assert len(stats['train_acc_history']) == len(ref_train_acc) == 3
    assert stats['train_acc_history'] == pytest.approx(ref_train_acc, abs=1e-6)
    assert stats['val_acc_history'] == pytest.approx(ref_val_acc, abs=1e-6)
    for k, ref in zip(('W1', 'b1', 'W2', 'b2'), leaves):
        torch.testing.assert_close(trained[k], ref.detach(), rtol=1e-10, atol=1e-12, msg=k)


@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_train", "two_layer_net.py::nn_predict",
                       "two_layer_net.py::nn_forward_backward", "two_layer_net.py::nn_forward_pass")
def test_two_layer_net_learns_separable_data(tln, tmp_path):
    """The whole TwoLayerNet (given class over the student functions) fits a task with a
    nonlinear decision rule (the class is the quadrant of the first two coordinates)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(600, 6, generator=g, dtype=DT)
    y = (X[:, 0] > 0).long() * 2 + (X[:, 1] > 0).long()
    net = tln.TwoLayerNet(6, 32, 4, dtype=DT, device='cpu', std=0.3)
    stats = net.train(X[:500], y[:500], X[500:], y[500:], learning_rate=0.5,
                      learning_rate_decay=0.99, reg=1e-5, num_iters=600, batch_size=100)
    assert stats['loss_history'][-1] < 0.5 * stats['loss_history'][0]
    assert (net.predict(X[500:]) == y[500:]).double().mean().item() > 0.85
    path = tmp_path / "net.pt"
    net.save(path)
    other = tln.TwoLayerNet(6, 32, 4, dtype=DT, device='cpu')
    other.load(path)
    assert torch.equal(other.predict(X), net.predict(X))


# ---- hyperparameter search ----------------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "two_layer_net.py::nn_get_search_params")
def test_search_params_follow_the_rules(tln):
    """The course's rules: at least two values of each, fewer than 256 combinations."""
    lists = tln.nn_get_search_params()
    assert len(lists) == 4
    for values in lists:
        assert len(values) >= 2
        assert all(isinstance(v, (int, float)) and v >= 0 for v in values)
    assert all(isinstance(h, int) and h >= 1 for h in lists[1])
    assert all(v > 0 for v in lists[0])
    assert math.prod(len(v) for v in lists) < 256


@pytest.mark.reference("eecs498/A2", "two_layer_net.py::find_best_net")
def test_find_best_net_keeps_the_best(tln):
    """On a small task, the returned net is trained, its reported accuracy is its own, and a
    grid holding one useless learning rate (0) and one good one picks the good one."""
    g = torch.Generator().manual_seed(1)
    X = torch.randn(260, 3072, generator=g) * 0.5
    centers = torch.randn(10, 3072, generator=g) * 0.5
    y = torch.arange(260) % 10
    X = X + centers[y]
    data = {'X_train': X[:200], 'y_train': y[:200], 'X_val': X[200:], 'y_val': y[200:]}
    calls = []

    def param_set():
        calls.append(1)
        return [0.0, 0.5], [8], [1e-4], [0.95]

    best_net, best_stat, best_val_acc = tln.find_best_net(data, param_set)
    assert calls, "find_best_net must take its hyperparameters from get_param_set_fn"
    assert isinstance(best_net, tln.TwoLayerNet)
    assert set(best_stat) >= {'loss_history', 'train_acc_history', 'val_acc_history'}
    measured = (best_net.predict(data['X_val']) == data['y_val']).float().mean().item()
    assert best_val_acc == pytest.approx(measured, abs=1e-6)
    assert best_val_acc > 0.8   # learning rate 0 stays at chance (0.1)
    assert best_net.params['W1'].shape == (3072, 8) and best_net.params['W2'].shape == (8, 10)
    assert best_net.params['W1'].device.type == 'cpu'
