"""The course's own checks of EECS 498-007 FA2020 A2 `two_layer_net.ipynb`, replayed on our
modules: its toy data (a2_helpers.get_toy_data), its hard-coded expected scores and loss, its
gradient check and its toy training run, with its thresholds, measured with the course's
`eecs598.grad.rel_error` and `compute_numeric_gradient` (given code, tested in
tests/test_eecs598_api.py).
"""
import pytest
import torch

from dl4cv_tools.testing import course_module
from eecs598 import reset_seed
from eecs598.grad import compute_numeric_gradient, rel_error

A2 = "eecs498/A2"

CORRECT_SCORES = torch.tensor([
    [9.7003e-08, -1.1143e-07, -3.9961e-08],
    [-7.4297e-08, 1.1502e-07, 1.5685e-07],
    [-2.5860e-07, 2.2765e-07, 3.2453e-07],
    [-4.7257e-07, 9.0935e-07, 4.0368e-07],
    [-1.8395e-07, 7.9303e-08, 6.0360e-07]], dtype=torch.float32)
CORRECT_LOSS = 1.0986121892929077


@pytest.fixture
def tln():
    return course_module(A2, "two_layer_net")


@pytest.fixture
def helpers():
    return course_module(A2, "a2_helpers")


def test_course_hello(tln, helpers, capsys):
    tln.hello_two_layer_net()
    helpers.hello_helper()
    out = capsys.readouterr().out
    assert "Hello from two_layer_net.py!" in out and "Hello from a2_helpers.py!" in out


def test_course_toy_data_shapes(helpers):
    """get_toy_data's defaults: N=5, D=4, H=10, C=3, labels [0, 1, 2, 2, 1]."""
    toy_X, toy_y, params = helpers.get_toy_data(device='cpu')
    assert toy_X.shape == (5, 4) and toy_X.dtype == torch.float32
    assert toy_y.tolist() == [0, 1, 2, 2, 1] and toy_y.dtype == torch.int64
    assert {k: tuple(v.shape) for k, v in params.items()} == {
        'W1': (4, 10), 'b1': (10,), 'W2': (10, 3), 'b2': (3,)}
    assert not params['b1'].any() and not params['b2'].any()
    X64, _, p64 = helpers.get_toy_data(dtype=torch.float64, device='cpu')
    assert X64.dtype == torch.float64 and all(v.dtype == torch.float64 for v in p64.values())


def test_course_toy_scores(tln, helpers):
    """'The difference should be very small. We get < 1e-10' (sum of absolute differences)."""
    reset_seed(0)
    toy_X, toy_y, params = helpers.get_toy_data(device='cpu')
    scores, _ = tln.nn_forward_pass(params, toy_X)
    assert scores.dtype == torch.float32
    assert (scores - CORRECT_SCORES).abs().sum().item() < 1e-10


def test_course_toy_loss(tln, helpers):
    """'should be very small, we get < 1e-4' with reg=0.05."""
    reset_seed(0)
    toy_X, toy_y, params = helpers.get_toy_data(device='cpu')
    loss, _ = tln.nn_forward_backward(params, toy_X, toy_y, reg=0.05)
    assert abs(CORRECT_LOSS - loss.item()) < 1e-4


def test_course_gradient_check(tln, helpers):
    """float64 toy data, reg=0.05: 'relative errors less than 1e-4 for all parameters'."""
    reset_seed(0)
    reg = 0.05
    toy_X, toy_y, params = helpers.get_toy_data(dtype=torch.float64, device='cpu')
    loss, grads = tln.nn_forward_backward(params, toy_X, toy_y, reg=reg)
    assert set(grads) == {'W1', 'b1', 'W2', 'b2'}
    for name, grad in grads.items():
        f = lambda w: tln.nn_forward_backward(params, toy_X, toy_y, reg=reg)[0]  # noqa: E731
        error = rel_error(grad, compute_numeric_gradient(f, params[name]))
        assert error < 1e-4, f"{name}: {error}"


def test_course_toy_training(tln, helpers):
    """nn_train on the toy data (lr 0.1, reg 1e-6, 200 steps): 'final training loss should be
    less than 1.0' (the course's own run: 0.5212)."""
    reset_seed(0)
    toy_X, toy_y, params = helpers.get_toy_data(device='cpu')
    stats = tln.nn_train(params, tln.nn_forward_backward, tln.nn_predict, toy_X, toy_y, toy_X, toy_y,
                         learning_rate=1e-1, reg=1e-6, num_iters=200, verbose=False)
    assert len(stats['loss_history']) == 200
    assert stats['loss_history'][-1] < 1.0
    # one epoch per step (5 samples < batch_size 200): accuracies recorded every step
    assert len(stats['train_acc_history']) == len(stats['val_acc_history']) == 200


def test_course_two_layer_net_calls(tln):
    """The notebook's calls of TwoLayerNet: positional sizes, dtype / device keywords, the
    train keywords, predict; the initial weights are std * N(0, 1) after seeding with 0."""
    net = tln.TwoLayerNet(3 * 32 * 32, 36, 10, dtype=torch.float64, device='cpu')
    assert net.params['W1'].shape == (3072, 36) and net.params['W1'].dtype == torch.float64
    assert 0.8e-4 < net.params['W1'].std().item() < 1.2e-4
    g = torch.Generator().manual_seed(0)
    X = torch.randn(300, 3072, generator=g, dtype=torch.float64)
    y = torch.randint(10, (300,), generator=g)
    stats = net.train(X[:200], y[:200], X[200:], y[200:], num_iters=5, batch_size=100,
                      learning_rate=1e-2, learning_rate_decay=0.95, reg=0.25, verbose=True)
    assert len(stats['loss_history']) == 5 and len(stats['val_acc_history']) == 3
    assert net.predict(X[200:]).shape == (100,)
    scores = net.loss(X[:7])
    assert scores.shape == (7, 10)


def test_course_search_params_limits(tln):
    """'at least two param for each, and total grid search combinations should be less than
    256'."""
    lrs, hidden, regs, decays = tln.nn_get_search_params()
    assert min(len(lrs), len(hidden), len(regs), len(decays)) >= 2
    assert len(lrs) * len(hidden) * len(regs) * len(decays) < 256
