"""CS231n A1 losses: SVM, softmax and the two-layer net against the same loss written with torch
autograd (float64, rel err < 1e-8), plus the course's numeric gradient checks."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv.gradcheck import eval_numerical_gradient, rel_error
from dl4cv_tools.testing import course_module

A1 = "cs231n/assignment1"


def svm_torch(W, X, y, reg):
    W = torch.tensor(W, requires_grad=True)
    S = torch.from_numpy(X) @ W
    yt = torch.from_numpy(y)
    margins = (S - S.gather(1, yt[:, None]) + 1).clamp(min=0)
    margins = margins * (1 - F.one_hot(yt, S.shape[1]).to(S.dtype))  # no margin for the true class
    loss = margins.sum() / X.shape[0] + reg * (W * W).sum()
    loss.backward()
    return loss.item(), W.grad.numpy()


def softmax_torch(W, X, y, reg):
    W = torch.tensor(W, requires_grad=True)
    loss = F.cross_entropy(torch.from_numpy(X) @ W, torch.from_numpy(y)) + reg * (W * W).sum()
    loss.backward()
    return loss.item(), W.grad.numpy()


def problem(rng, N=40, D=30, C=7, scale=1.0):
    W = rng.standard_normal((D, C)) * 0.1
    X = rng.standard_normal((N, D)) * scale
    y = rng.integers(0, C, N)
    return W, X, y


@pytest.mark.parametrize("kind", ["svm", "softmax"])
@pytest.mark.parametrize("reg", [0.0, 0.7])
@pytest.mark.reference("cs231n/assignment1", "cs231n/classifiers/linear_svm.py::svm_loss_naive",
                       "cs231n/classifiers/linear_svm.py::svm_loss_vectorized",
                       "cs231n/classifiers/softmax.py::softmax_loss_naive",
                       "cs231n/classifiers/softmax.py::softmax_loss_vectorized")
def test_linear_losses_match_torch_autograd(rng, kind, reg):
    if kind == "svm":
        mod = course_module(A1, "cs231n.classifiers.linear_svm")
        fns, ref = (mod.svm_loss_naive, mod.svm_loss_vectorized), svm_torch
    else:
        mod = course_module(A1, "cs231n.classifiers.softmax")
        fns, ref = (mod.softmax_loss_naive, mod.softmax_loss_vectorized), softmax_torch
    W, X, y = problem(rng)
    loss_ref, grad_ref = ref(W, X, y, reg)
    for fn in fns:
        W_in = W.copy()
        loss, grad = fn(W_in, X, y, reg)
        assert np.array_equal(W_in, W)  # inputs untouched
        assert rel_error(loss, loss_ref) < 1e-8
        assert rel_error(grad, grad_ref) < 1e-8


@pytest.mark.parametrize("kind", ["svm", "softmax"])
def test_linear_losses_numeric_gradient(rng, kind):
    if kind == "svm":
        mod = course_module(A1, "cs231n.classifiers.linear_svm")
        fn = mod.svm_loss_vectorized
    else:
        mod = course_module(A1, "cs231n.classifiers.softmax")
        fn = mod.softmax_loss_vectorized
    W, X, y = problem(rng, N=20, D=8, C=5)
    _, grad = fn(W, X, y, 0.3)
    num = eval_numerical_gradient(lambda w: fn(w, X, y, 0.3)[0], W.copy(), verbose=False)
    # The hinge has kinks; random data stays away from them at h=1e-5. Course: < 1e-7-ish.
    assert rel_error(grad, num) < 1e-6


def test_softmax_is_numerically_stable(rng):
    mod = course_module(A1, "cs231n.classifiers.softmax")
    W, X, y = problem(rng, scale=1e4)  # scores in the thousands: exp would overflow unshifted
    loss_ref, grad_ref = softmax_torch(W, X, y, 0.1)
    for fn in (mod.softmax_loss_naive, mod.softmax_loss_vectorized):
        loss, grad = fn(W, X, y, 0.1)
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
        assert rel_error(loss, loss_ref) < 1e-8 and rel_error(grad, grad_ref) < 1e-8


def test_softmax_initial_loss_is_log_num_classes(rng):
    mod = course_module(A1, "cs231n.classifiers.softmax")
    W = rng.standard_normal((50, 10)) * 1e-6
    X = rng.standard_normal((200, 50))
    loss, _ = mod.softmax_loss_vectorized(W, X, rng.integers(0, 10, 200), 0.0)
    assert abs(loss - np.log(10)) < 1e-4


def two_layer_torch(params, X, y, reg):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h = torch.relu(torch.from_numpy(X) @ p["W1"] + p["b1"])
    scores = h @ p["W2"] + p["b2"]
    loss = F.cross_entropy(scores, torch.from_numpy(y)) + reg * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
    loss.backward()
    return scores.detach().numpy(), loss.item(), {k: v.grad.numpy() for k, v in p.items()}


@pytest.mark.parametrize("reg", [0.0, 0.05])
@pytest.mark.reference("cs231n/assignment1", "cs231n/classifiers/neural_net.py::TwoLayerNet.loss")
def test_two_layer_net_matches_torch_autograd(rng, reg):
    nn = course_module(A1, "cs231n.classifiers.neural_net")
    net = nn.TwoLayerNet(12, 9, 5, std=0.5)
    net.params["b1"] = rng.standard_normal(9)
    net.params["b2"] = rng.standard_normal(5)
    X = rng.standard_normal((16, 12))
    y = rng.integers(0, 5, 16)
    scores_ref, loss_ref, grads_ref = two_layer_torch(net.params, X, y, reg)
    assert rel_error(net.loss(X), scores_ref) < 1e-8
    loss, grads = net.loss(X, y, reg=reg)
    assert rel_error(loss, loss_ref) < 1e-8
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for name in grads:
        assert rel_error(grads[name], grads_ref[name]) < 1e-8, name
    # Course check: numeric gradients, rel err < 1e-8 on every parameter.
    for name in ("W1", "b2"):
        f = lambda _: net.loss(X, y, reg=reg)[0]  # noqa: E731
        num = eval_numerical_gradient(f, net.params[name], verbose=False)
        assert rel_error(num, grads[name]) < 1e-7, name


def test_two_layer_net_training_fits_toy_data():
    # The course's toy problem (its seeds), where it states the final loss is below 0.02.
    nn = course_module(A1, "cs231n.classifiers.neural_net")
    np.random.seed(0)
    net = nn.TwoLayerNet(4, 10, 3, std=1e-1)
    np.random.seed(1)
    X = 10 * np.random.randn(5, 4)
    y = np.array([0, 1, 2, 2, 1])
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, verbose=False)
    assert stats["loss_history"][-1] < 0.02
    assert len(stats["val_acc_history"]) == 100  # one "epoch" per step with 5 samples
    assert np.array_equal(net.predict(X), y)


def test_two_layer_net_bad_input():
    nn = course_module(A1, "cs231n.classifiers.neural_net")
    net = nn.TwoLayerNet(4, 3, 2)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        net.loss(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="labels"):
        net.loss(np.zeros((3, 4)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        net.train(np.zeros((3, 4)), np.array([0, 1]), np.zeros((1, 4)), np.array([0]))


# ---------------------------------------------------------------- TwoLayerNet against torch.nn

def torch_net_from(params):
    """The course's architecture in plain torch.nn, float64: affine - ReLU - affine, our
    weights copied in (torch.nn.Linear keeps weight as (out, in): the transpose of ours)."""
    D, H = params["W1"].shape
    C = params["W2"].shape[1]
    model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(params["W1"].T))
        model[0].bias.copy_(torch.from_numpy(params["b1"]))
        model[2].weight.copy_(torch.from_numpy(params["W2"].T))
        model[2].bias.copy_(torch.from_numpy(params["b2"]))
    return model


def torch_nn_loss(model, X, y, reg):
    """Mean softmax cross-entropy + reg * (sum(W1 ** 2) + sum(W2 ** 2)) (the course's convention,
    which its correct_loss pins), with gradients in our layout."""
    model.zero_grad()
    scores = model(torch.from_numpy(X))
    loss = torch.nn.CrossEntropyLoss()(scores, torch.from_numpy(y)) \
        + reg * (model[0].weight.pow(2).sum() + model[2].weight.pow(2).sum())
    loss.backward()
    grads = {"W1": model[0].weight.grad.numpy().T, "b1": model[0].bias.grad.numpy(),
             "W2": model[2].weight.grad.numpy().T, "b2": model[2].bias.grad.numpy()}
    return scores.detach().numpy(), loss.item(), grads


@pytest.mark.parametrize("reg", [0.0, 0.3])
@pytest.mark.reference("cs231n/assignment1", "cs231n/classifiers/neural_net.py::TwoLayerNet.loss",
                       "cs231n/classifiers/neural_net.py::TwoLayerNet.predict")
def test_two_layer_net_matches_torch_nn_reference(rng, reg):
    nn = course_module(A1, "cs231n.classifiers.neural_net")
    net = nn.TwoLayerNet(10, 8, 6, std=0.4)
    net.params["b1"] = rng.standard_normal(8) * 0.5  # nonzero biases, some hidden units off
    net.params["b2"] = rng.standard_normal(6)
    X = rng.standard_normal((20, 10))
    y = rng.integers(0, 6, 20)
    model = torch_net_from(net.params)
    for mode in (model.train, model.eval):  # no dropout or batchnorm: both modes agree
        mode()
        scores_ref, loss_ref, grads_ref = torch_nn_loss(model, X, y, reg)
        assert rel_error(net.loss(X), scores_ref) < 1e-10
        loss, grads = net.loss(X, y, reg=reg)
        assert abs(loss - loss_ref) < 1e-12 * max(1.0, abs(loss_ref))
        for name in ("W1", "b1", "W2", "b2"):
            assert np.allclose(grads[name], grads_ref[name], rtol=1e-9, atol=1e-12), name
    pred = net.predict(X)
    assert np.array_equal(np.asarray(pred).astype(np.int64), scores_ref.argmax(axis=1))


@pytest.mark.reference("cs231n/assignment1", "cs231n/classifiers/neural_net.py::TwoLayerNet.train")
def test_two_layer_net_training_matches_torch_sgd_replay(rng):
    """train(): the minibatches it samples, replayed with torch.optim.SGD from the same start
    (learning rate decayed at each epoch boundary as the given code does)."""
    nn = course_module(A1, "cs231n.classifiers.neural_net")

    class Recording(nn.TwoLayerNet):
        def loss(self, X, y=None, reg=0.0):
            if y is not None:  # a training step (predict() calls loss without labels)
                self.calls.append((np.array(X), np.array(y), reg))
            return super().loss(X, y=y, reg=reg)

    np.random.seed(0)
    net = Recording(5, 7, 3, std=0.3)
    net.calls = []
    start = {k: v.copy() for k, v in net.params.items()}
    X = rng.standard_normal((24, 5))
    y = np.arange(24) % 3
    lr, decay, reg, iters, bs = 0.5, 0.9, 0.01, 12, 8
    stats = net.train(X, y, X[:6], y[:6], learning_rate=lr, learning_rate_decay=decay,
                      reg=reg, num_iters=iters, batch_size=bs)
    assert len(net.calls) == iters == len(stats["loss_history"])

    row_of = {X[i].tobytes(): i for i in range(len(X))}
    model = torch_net_from(start)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    per_epoch = max(len(X) / bs, 1)
    for it, (X_batch, y_batch, reg_used) in enumerate(net.calls):
        idx = [row_of[r.tobytes()] for r in X_batch]
        assert X_batch.shape == (bs, 5) and np.array_equal(y_batch, y[idx]) and reg_used == reg
        opt.zero_grad()
        _, loss_ref, _ = torch_nn_loss(model, X_batch, y_batch, reg)
        assert abs(stats["loss_history"][it] - loss_ref) < 1e-10, it
        opt.step()
        if it % per_epoch == 0:
            for group in opt.param_groups:
                group["lr"] *= decay
    final = {"W1": model[0].weight.detach().numpy().T, "b1": model[0].bias.detach().numpy(),
             "W2": model[2].weight.detach().numpy().T, "b2": model[2].bias.detach().numpy()}
    for name in final:
        assert np.allclose(net.params[name], final[name], rtol=1e-9, atol=1e-12), name
