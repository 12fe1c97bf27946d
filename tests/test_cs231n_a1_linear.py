"""CS231n A1 linear classifiers: differential accuracy against torch L-BFGS fits of the same
objective on the same split of the real CIFAR-10 mirror subset, and bad input."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv.testing import course_module

A1 = "cs231n/assignment1"


@pytest.fixture(scope="module")
def split():
    """3000 train / 1000 test real CIFAR-10 images, 4x4-average-pooled to 8x8x3 (D=193 with the
    bias column) and standardized, so that both fits converge in a few seconds."""
    from dl4cv.errors import DataMissingError
    data_utils = course_module(A1, "cs231n.data_utils")
    try:
        Xtr, ytr, Xte, yte = data_utils.load_CIFAR10()
    except DataMissingError as e:  # CI fetches it first; a bare checkout says what to run
        pytest.skip(str(e))

    def pool(X):
        return X.reshape(len(X), 8, 4, 8, 4, 3).mean(axis=(2, 4)).reshape(len(X), -1)

    Xa, Xb = pool(Xtr[:3000]), pool(Xte[:1000])
    mu, sd = Xa.mean(0), Xa.std(0)
    Xa, Xb = (Xa - mu) / sd, (Xb - mu) / sd
    Xa = np.hstack([Xa, np.ones((len(Xa), 1))])
    Xb = np.hstack([Xb, np.ones((len(Xb), 1))])
    return Xa, ytr[:3000], Xb, yte[:1000]


def hinge(S, y):
    margins = (S - S.gather(1, y[:, None]) + 1).clamp(min=0)
    return (margins.sum() - len(y)) / len(y)  # the true class contributes exactly 1 each


def lbfgs_reference(Xa, ya, Xb, yb, data_loss, reg):
    torch.set_num_threads(1)
    XA, YA = torch.from_numpy(Xa), torch.from_numpy(ya)
    W = torch.zeros(Xa.shape[1], 10, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W], lr=1, max_iter=300, tolerance_grad=1e-8, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = data_loss(XA @ W, YA) + reg * (W * W).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((torch.from_numpy(Xb) @ W).argmax(1).numpy() == yb).mean())


@pytest.mark.parametrize("kind", ["softmax", "svm"])
def test_accuracy_matches_lbfgs_reference(split, kind):
    lc = course_module(A1, "cs231n.classifiers.linear_classifier")
    Xa, ya, Xb, yb = split
    reg = 1e-2
    if kind == "softmax":
        clf, data_loss, lr = lc.Softmax(), F.cross_entropy, 0.05
    else:
        clf, data_loss, lr = lc.LinearSVM(), hinge, 0.01
    ref = lbfgs_reference(Xa, ya, Xb, yb, data_loss, reg)
    np.random.seed(0)
    history = clf.train(Xa, ya, learning_rate=lr, reg=reg, num_iters=3000, batch_size=500)
    ours = float((clf.predict(Xb) == yb).mean())
    assert np.mean(history[-100:]) < history[0]
    assert ref > 0.25  # well above chance: the reference itself is sensible
    assert abs(ours - ref) <= 0.015, (ours, ref)


def test_linear_classifier_bad_input(rng):
    lc = course_module(A1, "cs231n.classifiers.linear_classifier")
    clf = lc.Softmax()
    with pytest.raises(ValueError, match="train"):
        clf.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        clf.train(np.zeros((4, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="non-negative"):
        clf.train(np.zeros((3, 3)), np.array([0, -2, 1]))
    with pytest.raises(ValueError, match="2-D"):
        clf.train(np.zeros((3,)), np.array([0, 1, 1]))
    clf.train(rng.standard_normal((6, 3)), np.array([0, 1, 2, 0, 1, 2]), num_iters=2, batch_size=3)
    assert clf.W.shape == (3, 3)
    with pytest.raises(ValueError, match=r"W has shape \(3, 3\)"):
        clf.train(np.zeros((6, 4)), np.zeros(6, dtype=int))
    with pytest.raises(ValueError, match="label 5"):
        clf.train(np.zeros((2, 3)), np.array([0, 5]))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        clf.predict(np.zeros((2, 4)))
    pred = clf.predict(rng.standard_normal((4, 3)))
    assert pred.shape == (4,)
