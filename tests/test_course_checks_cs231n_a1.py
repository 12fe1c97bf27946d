"""CS231n 2020 assignment 1: the official notebooks' own checks, replayed against our modules.

Fixed inputs and hard-coded expected values are the course's (two_layer_net.ipynb's toy model,
`correct_scores`, `correct_loss`); thresholds are the ones the notebooks state ("we get < 1e-7",
"less than 1e-8", "training loss less than 0.02", "close to -log(0.1)", kNN distance matrices
"the same" when the Frobenius difference is < 0.001). The CIFAR-10 dev-set checks (kNN, SVM,
softmax) run here on a seeded stand-in of the same shapes and pixel scale (500 x 3073,
mean-subtracted pixels plus the bias column; W = 1e-4 * randn), so no data is needed.
Test names carry the grader's `-k` words (distances, svm, softmax, two_layer_net_matches,
two_layer_net_training).
"""
import numpy as np
import pytest

from dl4cv_tools.testing import course_module

A1 = "cs231n/assignment1"

# two_layer_net.ipynb: the course's toy problem and its published answers.
INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES, NUM_INPUTS = 4, 10, 3, 5
CORRECT_SCORES = np.asarray([
    [-0.81233741, -1.27654624, -0.70335995],
    [-0.17129677, -1.18803311, -0.47310444],
    [-0.51590475, -1.01354314, -0.8504215],
    [-0.15419291, -0.48629638, -0.52901952],
    [-0.00618733, -0.12435261, -0.15226949]])
CORRECT_LOSS = 1.30378789133


def course_rel_error(x, y):
    """The two_layer_net notebook's rel_error (elementwise, floor 1e-8 in the denominator)."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def init_toy_model():
    nn = course_module(A1, "cs231n.classifiers.neural_net")
    np.random.seed(0)
    return nn.TwoLayerNet(INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES, std=1e-1)


def init_toy_data():
    np.random.seed(1)
    X = 10 * np.random.randn(NUM_INPUTS, INPUT_SIZE)
    y = np.array([0, 1, 2, 2, 1])
    return X, y


@pytest.mark.reference("cs231n/assignment1", "cs231n/classifiers/neural_net.py::TwoLayerNet.loss")
def test_two_layer_net_matches_course_scores():
    net = init_toy_model()
    X, _ = init_toy_data()
    scores = net.loss(X)
    assert scores.shape == (NUM_INPUTS, NUM_CLASSES)
    assert np.sum(np.abs(scores - CORRECT_SCORES)) < 1e-7  # course: "We get < 1e-7"


@pytest.mark.reference("cs231n/assignment1", "cs231n/classifiers/neural_net.py::TwoLayerNet.loss")
def test_two_layer_net_matches_course_loss():
    net = init_toy_model()
    X, y = init_toy_data()
    loss, _ = net.loss(X, y, reg=0.05)
    assert np.sum(np.abs(loss - CORRECT_LOSS)) < 1e-12  # course: "we get < 1e-12"


def test_two_layer_net_matches_course_numeric_gradients():
    grad_check = course_module(A1, "cs231n.gradient_check")
    net = init_toy_model()
    X, y = init_toy_data()
    _, grads = net.loss(X, y, reg=0.05)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for name in grads:
        f = lambda W: net.loss(X, y, reg=0.05)[0]  # noqa: E731 (the course's form)
        num = grad_check.eval_numerical_gradient(f, net.params[name], verbose=False)
        assert course_rel_error(num, grads[name]) < 1e-8, name  # course: "less than 1e-8"


def test_two_layer_net_training_course_toy_loss():
    net = init_toy_model()
    X, y = init_toy_data()
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, verbose=False)
    assert len(stats["loss_history"]) == 100
    assert stats["loss_history"][-1] < 0.02  # course: "a training loss less than 0.02"


# ---------------------------------------------------------------- CIFAR-10 dev-set stand-ins

def dev_set(num_dev=500, seed=0):
    """(X_dev (num_dev, 3073), y_dev): pixel-like values in [0, 255], minus their mean, plus the
    bias column of ones, as the svm/softmax notebooks build them; labels 0..9."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(num_dev, 3072)).astype(np.float64)
    X -= X.mean(axis=0)
    X = np.hstack([X, np.ones((num_dev, 1))])
    return X, rng.integers(0, 10, num_dev)


def small_weights(seed=1):
    np.random.seed(seed)
    return np.random.randn(3073, 10) * 0.0001


def sparse_check_errors(f, W, grad, seed):
    """The notebooks' grad_check_sparse at 10 seeded coordinates; its relative errors."""
    grad_check = course_module(A1, "cs231n.gradient_check")
    return np.array(grad_check.grad_check_sparse(f, W, grad, 10, seed=seed))


@pytest.mark.parametrize("reg", [0.0, 5e1])
def test_svm_naive_course_gradient_check(reg):
    svm = course_module(A1, "cs231n.classifiers.linear_svm")
    X_dev, y_dev = dev_set()
    W = small_weights()
    _, grad = svm.svm_loss_naive(W, X_dev, y_dev, reg)
    errs = sparse_check_errors(lambda w: svm.svm_loss_naive(w, X_dev, y_dev, reg)[0], W, grad, 0)
    # course: "should match almost exactly along all dimensions", except where a margin lies
    # within h of the hinge's kink (the notebook's inline question): one such coordinate here
    assert np.median(errs) < 1e-7 and np.sum(errs > 1e-7) <= 2, errs


def test_svm_naive_and_vectorized_course_agreement():
    svm = course_module(A1, "cs231n.classifiers.linear_svm")
    X_dev, y_dev = dev_set()
    W = small_weights()
    loss_naive, grad_naive = svm.svm_loss_naive(W, X_dev, y_dev, 0.000005)
    loss_vec, grad_vec = svm.svm_loss_vectorized(W, X_dev, y_dev, 0.000005)
    # course: the losses and the gradients (Frobenius norm of the difference) should match;
    # it prints both differences with %f, i.e. 0.000000
    assert abs(loss_naive - loss_vec) < 1e-6
    assert np.linalg.norm(grad_naive - grad_vec, ord="fro") < 1e-6


def test_softmax_naive_course_initial_loss():
    sm = course_module(A1, "cs231n.classifiers.softmax")
    X_dev, y_dev = dev_set()
    loss, _ = sm.softmax_loss_naive(small_weights(), X_dev, y_dev, 0.0)
    assert abs(loss - (-np.log(0.1))) < 0.1  # course: "close to -log(0.1)"


@pytest.mark.parametrize("reg", [0.0, 5e1])
def test_softmax_naive_course_gradient_check(reg):
    sm = course_module(A1, "cs231n.classifiers.softmax")
    X_dev, y_dev = dev_set()
    W = small_weights()
    _, grad = sm.softmax_loss_naive(W, X_dev, y_dev, reg)
    errs = sparse_check_errors(lambda w: sm.softmax_loss_naive(w, X_dev, y_dev, reg)[0], W, grad, 0)
    assert errs.max() < 1e-5, errs  # course: "close to the analytic gradient"


def test_softmax_naive_and_vectorized_course_agreement():
    sm = course_module(A1, "cs231n.classifiers.softmax")
    X_dev, y_dev = dev_set()
    W = small_weights()
    loss_naive, grad_naive = sm.softmax_loss_naive(W, X_dev, y_dev, 0.000005)
    loss_vec, grad_vec = sm.softmax_loss_vectorized(W, X_dev, y_dev, 0.000005)
    assert abs(loss_naive - loss_vec) < 1e-6  # course: "should compute the same results"
    assert np.linalg.norm(grad_naive - grad_vec, ord="fro") < 1e-6


def test_knn_course_one_loop_and_no_loop_distances_match_two_loops():
    knn_mod = course_module(A1, "cs231n.classifiers.k_nearest_neighbor")
    rng = np.random.default_rng(0)
    # knn.ipynb: raw pixel rows (uint8 values as float), training set and a test set.
    X_train = rng.integers(0, 256, size=(200, 3072)).astype(np.float64)
    X_test = rng.integers(0, 256, size=(20, 3072)).astype(np.float64)
    classifier = knn_mod.KNearestNeighbor()
    classifier.train(X_train, rng.integers(0, 10, 200))
    dists = classifier.compute_distances_two_loops(X_test)
    assert dists.shape == (20, 200)
    for other in (classifier.compute_distances_one_loop(X_test),
                  classifier.compute_distances_no_loops(X_test)):
        # course: "the distance matrices are the same" when the Frobenius difference is < 0.001
        assert np.linalg.norm(dists - other, ord="fro") < 0.001
