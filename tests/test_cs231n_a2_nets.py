"""CS231n 2020 assignment 2: networks (numeric gradients, overfitting 50 images), update rules
(against torch.optim) and the Solver (bad models, non-finite losses, best parameters)."""
import os

import numpy as np
import pytest
import torch

from dl4cv.errors import DataMissingError
from dl4cv.gradcheck import eval_numerical_gradient, rel_error
from dl4cv_tools.testing import course_module

A2 = "cs231n/assignment2"


def fc_net():
    return course_module(A2, "cs231n.classifiers.fc_net")


def numeric_grad_errors(model, X, y):
    loss, grads = model.loss(X, y)
    errors = {}
    for name in sorted(model.params):
        f = lambda _: model.loss(X, y)[0]
        num = eval_numerical_gradient(f, model.params[name], verbose=False, h=1e-5)
        errors[name] = rel_error(num, grads[name])
    return loss, errors


def test_two_layer_net_gradients(rng):
    model = fc_net().TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=0.1, reg=0.3)
    X, y = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    loss, errors = numeric_grad_errors(model, X, y)
    assert max(errors.values()) < 1e-7, errors
    # loss at initialization with tiny weights is about log(C)
    small = fc_net().TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=1e-6)
    assert abs(small.loss(X, y)[0] - np.log(3)) < 1e-3


@pytest.mark.parametrize("normalization,dropout", [(None, 1), ("batchnorm", 1), ("layernorm", 1),
                                                   (None, 0.5), ("batchnorm", 0.7)])
def test_fully_connected_net_gradients(rng, normalization, dropout):
    N, D, H1, H2, C = 3, 5, 6, 4, 3
    X, y = rng.standard_normal((N, D)), rng.integers(0, C, N)
    model = fc_net().FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=0.7,
                                       weight_scale=5e-2, dtype=np.float64, seed=123,
                                       dropout=dropout, normalization=normalization)
    expected = {"W1", "b1", "W2", "b2", "W3", "b3"}
    if normalization:
        expected |= {"gamma1", "beta1", "gamma2", "beta2"}
    assert set(model.params) == expected
    loss, grads = model.loss(X, y)
    _, errors = numeric_grad_errors(model, X, y)
    if normalization == "batchnorm":
        # batch norm subtracts the batch mean, so the biases before it get no gradient at all;
        # relative errors of two ~0 numbers are meaningless: check both are ~0 instead
        for b in ("b1", "b2"):
            assert np.abs(grads[b]).max() < 1e-12
            errors.pop(b)
    # the course's threshold
    assert max(errors.values()) < 1e-5, errors
    scores = model.loss(X)
    assert scores.shape == (N, C)


def test_three_layer_convnet_gradients(rng):
    cnn = course_module(A2, "cs231n.classifiers.cnn")
    model = cnn.ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=3, filter_size=3, hidden_dim=7,
                                  num_classes=4, weight_scale=1e-1, reg=0.1, dtype=np.float64)
    X, y = rng.standard_normal((2, 3, 8, 8)), rng.integers(0, 4, 2)
    _, errors = numeric_grad_errors(model, X, y)
    assert max(errors.values()) < 1e-5, errors


def test_fc_net_bad_arguments():
    m = fc_net()
    with pytest.raises(ValueError, match="keep probability"):
        m.FullyConnectedNet([5], input_dim=4, dropout=0)
    with pytest.raises(ValueError, match="normalization"):
        m.FullyConnectedNet([5], input_dim=4, normalization="groupnorm")
    net = m.FullyConnectedNet([5], input_dim=4)
    with pytest.raises(ValueError, match=r"4 values.*\(2, 5\)"):
        net.loss(np.zeros((2, 5)))


# ---------------------------------------------------------------------------- update rules

def run_torch(opt_cls, w0, grads, **kw):
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = opt_cls([p], **kw)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
@pytest.mark.reference("cs231n/assignment2", "cs231n/optim.py::sgd_momentum",
                       "cs231n/optim.py::rmsprop", "cs231n/optim.py::adam")
def test_update_rules_vs_torch_optim(rng, rule):
    optim = course_module(A2, "cs231n.optim")
    w0 = rng.standard_normal((4, 5))
    grads = [rng.standard_normal((4, 5)) for _ in range(6)]
    lr = 0.05
    w, config = w0.copy(), {"learning_rate": lr}
    for g in grads:
        w, config = getattr(optim, rule)(w, g, config)
    # torch's momentum keeps v = mu v + g and steps lr v: the same iterates for a constant lr
    ref = {"sgd": lambda: run_torch(torch.optim.SGD, w0, grads, lr=lr),
           "sgd_momentum": lambda: run_torch(torch.optim.SGD, w0, grads, lr=lr, momentum=0.9),
           "rmsprop": lambda: run_torch(torch.optim.RMSprop, w0, grads, lr=lr, alpha=0.99, eps=1e-8),
           "adam": lambda: run_torch(torch.optim.Adam, w0, grads, lr=lr, betas=(0.9, 0.999), eps=1e-8)}[rule]()
    assert rel_error(w, ref) < 1e-8


# ---------------------------------------------------------------------------- solver

def cifar_50():
    try:
        from dl4cv.data import get_cifar10_data
        data = get_cifar10_data(num_training=50, num_validation=50, num_test=1, verbose=False)
    except DataMissingError:
        # CI fetches the data: missing there is a failure, never a silent skip
        if os.environ.get("CI"):
            pytest.fail("CIFAR-10 not on disk in CI (./get_datasets.sh cifar10)")
        pytest.skip("CIFAR-10 not on disk (./get_datasets.sh cifar10)")
    return {k: v for k, v in data.items() if not k.endswith("test")}


@pytest.mark.parametrize("hidden,ws,lr", [([100, 100], 1e-2, 1e-2), ([100] * 4, 5e-2, 2e-2)])
def test_fc_net_overfits_50_images(hidden, ws, lr):
    solver_mod = course_module(A2, "cs231n.solver")
    data = cifar_50()
    model = fc_net().FullyConnectedNet(hidden, weight_scale=ws, dtype=np.float64)
    solver = solver_mod.Solver(model, data, print_every=1000, num_epochs=20, batch_size=25,
                               update_rule="sgd", optim_config={"learning_rate": lr}, verbose=False)
    solver.train()
    # after train() the model holds the best-on-validation parameters, so the overfitting is
    # read from the history, as in the course
    assert solver.train_acc_history[-1] == 1.0


def test_convnet_overfits_50_images():
    cnn = course_module(A2, "cs231n.classifiers.cnn")
    solver_mod = course_module(A2, "cs231n.solver")
    data = cifar_50()
    model = cnn.ThreeLayerConvNet(num_filters=8, filter_size=3, hidden_dim=100, weight_scale=1e-2)
    solver = solver_mod.Solver(model, data, num_epochs=15, batch_size=25, update_rule="adam",
                               optim_config={"learning_rate": 2e-3}, verbose=False)
    solver.train()
    # after train() the model holds the best-on-validation parameters, so the overfitting is
    # read from the history, as in the course
    assert solver.train_acc_history[-1] == 1.0


class _Linear:
    """A softmax classifier whose loss turns NaN after `nan_after` calls in training mode."""

    def __init__(self, D, C, nan_after=None):
        self.params = {"W": np.zeros((D, C))}
        self.calls, self.nan_after = 0, nan_after

    def loss(self, X, y=None):
        scores = X @ self.params["W"]
        if y is None:
            return scores
        self.calls += 1
        loss, d = course_module(A2, "cs231n.layers").softmax_loss(scores, y)
        if self.nan_after is not None and self.calls > self.nan_after:
            loss = float("nan")
        return loss, {"W": X.T @ d}


def toy_data(rng, n=200):
    X = rng.standard_normal((n, 5))
    y = (X[:, 0] > 0).astype(int)
    return {"X_train": X, "y_train": y, "X_val": X[:50], "y_val": y[:50]}


def test_solver_rejects_model_without_params(rng):
    Solver = course_module(A2, "cs231n.solver").Solver

    class NoParams:
        def loss(self, X, y=None):
            return 0.0, {}

    with pytest.raises(ValueError, match="params"):
        Solver(NoParams(), toy_data(rng))
    with pytest.raises(ValueError, match="update_rule"):
        Solver(_Linear(5, 2), toy_data(rng), update_rule="nope")


def test_solver_non_finite_loss_names_iteration_and_keeps_best(rng):
    mod = course_module(A2, "cs231n.solver")
    model = _Linear(5, 2, nan_after=25)  # 10 iterations per epoch: NaN at iteration 26
    solver = mod.Solver(model, toy_data(rng), batch_size=20, num_epochs=5, verbose=False,
                        optim_config={"learning_rate": 0.5})
    with pytest.raises(FloatingPointError, match="iteration 26 / 50") as info:
        solver.train()
    assert info.value.iteration == 26
    assert solver.best_params  # evaluated at iterations 1, 10 and 20
    np.testing.assert_array_equal(model.params["W"], solver.best_params["W"])
    assert solver.best_val_acc > 0.8


def test_solver_keeps_best_params_and_history(rng, tmp_path):
    mod = course_module(A2, "cs231n.solver")
    model = _Linear(5, 2)
    solver = mod.Solver(model, toy_data(rng), batch_size=20, num_epochs=3, verbose=False,
                        lr_decay=0.5, optim_config={"learning_rate": 0.5},
                        checkpoint_name=str(tmp_path / "ck"))
    solver.train()
    assert len(solver.loss_history) == 30
    assert len(solver.val_acc_history) == 4  # first iteration + 3 epochs
    assert solver.best_val_acc == max(solver.val_acc_history)
    np.testing.assert_array_equal(model.params["W"], solver.best_params["W"])
    assert solver.optim_configs["W"]["learning_rate"] == pytest.approx(0.5 * 0.5 ** 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"ck_epoch_{e}.pkl" for e in range(4)]


def test_visualize_grid_tiles_and_rescales(rng):
    vis = course_module(A2, "cs231n.vis_utils")
    filters = rng.standard_normal((5, 4, 4, 3))
    grid = vis.visualize_grid(filters, ubound=255.0, padding=1)
    assert grid.shape == (3 * 4 + 2, 3 * 4 + 2, 3)  # ceil(sqrt(5)) = 3 tiles a side
    first = grid[:4, :4]
    assert first.min() == 0 and first.max() == pytest.approx(255.0)
    # each tile is an affine rescaling of its filter: exact correlation 1
    assert np.corrcoef(first.ravel(), filters[0].ravel())[0, 1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="N, H, W, C"):
        vis.visualize_grid(filters[0])
