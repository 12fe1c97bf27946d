"""EECS 498-007 FA2020 A2 linear classifiers (linear_classifier.py) against independent references.

- Losses and gradients (naive and vectorized, SVM and softmax): the same loss written with
  torch ops and differentiated by autograd, in float64: the SVM as C * F.multi_margin_loss
  (which averages its hinge terms over the classes, the course's loss sums them), the softmax
  as F.cross_entropy; both plus reg * sum(W * W), no 1/2, as the course asks.
- sample_batch: rows tagged with their index, so every sampled row names where it came from;
  uniform with replacement over the first num_train rows (counts within 5 standard errors).
- train_linear_classifier: the sampler replaced by fixed batches, the trajectory compared with
  torch.optim.SGD steps on the same batches; lazy initialization shape, dtype and scale.
- predict_linear_classifier: torch.argmax of the scores; int64.
- test_one_param_set: a classifier stand-in that records how it is trained and predicts fixed
  labels, so the accuracies are known fractions; end to end on separable blobs.
- *_get_search_params: the course's limits (at least 2 values each, 5 to 25 combinations).
"""
import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

A2 = "eecs498/A2"
DT = torch.float64


@pytest.fixture
def lc():
    return course_module(A2, "linear_classifier")


# ---- references ------------------------------------------------------------------------------
def ref_svm(W, X, y, reg):
    """Multiclass hinge loss (delta 1, summed over the wrong classes, averaged over N) plus
    reg * sum(W^2), and its autograd gradient."""
    W = W.detach().clone().requires_grad_(True)
    scores = X @ W
    loss = W.shape[1] * F.multi_margin_loss(scores, y, p=1, margin=1.0) + reg * (W * W).sum()
    loss.backward()
    return loss.detach(), W.grad


def ref_softmax(W, X, y, reg):
    """Mean cross-entropy of softmax(X W) plus reg * sum(W^2), and its autograd gradient."""
    W = W.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(X @ W, y) + reg * (W * W).sum()
    loss.backward()
    return loss.detach(), W.grad


def problem(seed, N=23, D=11, C=5, w_scale=0.5, dtype=DT):
    """Seeded (W (D, C), X (N, D), y (N,)); w_scale 0.5 gives a mix of active and inactive
    hinge terms (no margin within 1e-6 of 0, where the hinge has no gradient)."""
    g = torch.Generator().manual_seed(seed)
    W = w_scale * torch.randn(D, C, generator=g, dtype=dtype)
    X = torch.randn(N, D, generator=g, dtype=dtype)
    y = torch.randint(C, (N,), generator=g)
    return W, X, y


def _as_float(loss):
    assert torch.is_tensor(loss) and loss.numel() == 1, "the loss should be a scalar tensor"
    return loss.item()


LOSSES = {"svm": ref_svm, "softmax": ref_softmax}
CASES = [(0, 0.0), (1, 0.1), (2, 3.0), (3, 1e3)]


def _check_against_reference(fn, ref, seed, reg, **shape):
    W, X, y = problem(seed, **shape)
    W0, X0, y0 = W.clone(), X.clone(), y.clone()
    loss, dW = fn(W, X, y, reg)
    ref_loss, ref_dW = ref(W, X, y, reg)
    assert torch.equal(W, W0) and torch.equal(X, X0) and torch.equal(y, y0), "inputs were changed"
    assert dW.shape == W.shape and dW.dtype == W.dtype
    assert _as_float(loss) == pytest.approx(ref_loss.item(), rel=1e-10, abs=1e-12)
    torch.testing.assert_close(dW, ref_dW, rtol=1e-9, atol=1e-12)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::svm_loss_naive")
@pytest.mark.parametrize("seed,reg", CASES)
def test_svm_loss_naive_matches_autograd(lc, seed, reg):
    _check_against_reference(lc.svm_loss_naive, ref_svm, seed, reg)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::svm_loss_vectorized")
@pytest.mark.parametrize("seed,reg", CASES)
def test_svm_loss_vectorized_matches_autograd(lc, seed, reg):
    _check_against_reference(lc.svm_loss_vectorized, ref_svm, seed, reg)
    _check_against_reference(lc.svm_loss_vectorized, ref_svm, seed + 10, reg, N=200, D=65, C=10)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::softmax_loss_naive")
@pytest.mark.parametrize("seed,reg", CASES)
def test_softmax_loss_naive_matches_autograd(lc, seed, reg):
    _check_against_reference(lc.softmax_loss_naive, ref_softmax, seed, reg)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::softmax_loss_vectorized")
@pytest.mark.parametrize("seed,reg", CASES)
def test_softmax_loss_vectorized_matches_autograd(lc, seed, reg):
    _check_against_reference(lc.softmax_loss_vectorized, ref_softmax, seed, reg)
    _check_against_reference(lc.softmax_loss_vectorized, ref_softmax, seed + 10, reg, N=200, D=65, C=10)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::svm_loss_naive",
                       "linear_classifier.py::svm_loss_vectorized")
@pytest.mark.parametrize("name", ["svm_loss_naive", "svm_loss_vectorized"])
def test_svm_loss_no_violations_is_regularization_only(lc, name):
    """Correct class ahead of every other by more than 1: the data term and its gradient are
    0; what is left is reg * sum(W^2) and 2 * reg * W."""
    C = 4
    W = 3.0 * torch.eye(C, dtype=DT)
    X = torch.eye(C, dtype=DT).repeat(2, 1)
    y = torch.arange(C).repeat(2)
    loss, dW = getattr(lc, name)(W, X, y, 0.25)
    assert _as_float(loss) == pytest.approx(0.25 * 9 * C)
    torch.testing.assert_close(dW, 0.5 * W)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::svm_loss_naive",
                       "linear_classifier.py::svm_loss_vectorized")
@pytest.mark.parametrize("name", ["svm_loss_naive", "svm_loss_vectorized"])
def test_svm_loss_zero_weights_is_c_minus_one(lc, name):
    """W = 0: every wrong class is a violation of exactly 1, so the loss is C - 1 (the
    course's 'about 9' for CIFAR-10)."""
    _, X, y = problem(5, N=30, C=10)
    loss, _ = getattr(lc, name)(torch.zeros(11, 10, dtype=DT), X, y, 1.0)
    assert _as_float(loss) == pytest.approx(9.0)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::softmax_loss_naive",
                       "linear_classifier.py::softmax_loss_vectorized")
@pytest.mark.parametrize("name", ["softmax_loss_naive", "softmax_loss_vectorized"])
def test_softmax_loss_is_numerically_stable(lc, name):
    """Scores in the thousands (exp overflows float64 without the shift) and in float32."""
    W, X, y = problem(6, w_scale=400.0)
    loss, dW = getattr(lc, name)(W, X, y, 1e-3)
    ref_loss, ref_dW = ref_softmax(W, X, y, 1e-3)
    assert torch.isfinite(loss) and torch.isfinite(dW).all()
    assert _as_float(loss) == pytest.approx(ref_loss.item(), rel=1e-9)
    torch.testing.assert_close(dW, ref_dW, rtol=1e-7, atol=1e-9)
    W, X, y = problem(7, w_scale=30.0, dtype=torch.float32)
    loss, dW = getattr(lc, name)(W, X, y, 1e-3)
    ref_loss, ref_dW = ref_softmax(W.double(), X.double(), y, 1e-3)
    assert dW.dtype == torch.float32
    assert _as_float(loss) == pytest.approx(ref_loss.item(), rel=1e-4)
    torch.testing.assert_close(dW.double(), ref_dW, rtol=1e-3, atol=1e-4)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::svm_loss_vectorized",
                       "linear_classifier.py::softmax_loss_vectorized")
@pytest.mark.parametrize("name", ["svm", "softmax"])
def test_vectorized_losses_float32(lc, name):
    W, X, y = problem(8, dtype=torch.float32)
    loss, dW = getattr(lc, f"{name}_loss_vectorized")(W, X, y, 0.1)
    ref_loss, ref_dW = LOSSES[name](W.double(), X.double(), y, 0.1)
    assert dW.dtype == torch.float32 and dW.shape == W.shape
    assert _as_float(loss) == pytest.approx(ref_loss.item(), rel=1e-5)
    torch.testing.assert_close(dW.double(), ref_dW, rtol=1e-4, atol=1e-5)


# ---- sample_batch ----------------------------------------------------------------------------
def _tagged_data(N=40, D=6, C=7, seed=0):
    """X[:, 0] = row index (so a sampled row names its origin), y random."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N, D, generator=g, dtype=DT)
    X[:, 0] = torch.arange(N, dtype=DT)
    y = torch.randint(C, (N,), generator=g)
    return X, y


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::sample_batch")
def test_sample_batch_rows_and_labels_agree(lc):
    X, y = _tagged_data()
    torch.manual_seed(0)
    Xb, yb = lc.sample_batch(X, y, 40, 25)
    assert Xb.shape == (25, 6) and yb.shape == (25,)
    assert Xb.dtype == X.dtype and yb.dtype == y.dtype
    idx = Xb[:, 0].long()
    assert ((idx >= 0) & (idx < 40)).all()
    torch.testing.assert_close(Xb, X[idx], rtol=0, atol=0)
    assert torch.equal(yb, y[idx])


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::sample_batch")
def test_sample_batch_uniform_with_replacement_over_num_train(lc):
    """Only the first num_train rows; each about batch_size / num_train times (binomial
    standard error); with replacement (batch larger than num_train)."""
    X, y = _tagged_data(N=40)
    torch.manual_seed(1)
    num_train, batch = 10, 20000
    Xb, yb = lc.sample_batch(X, y, num_train, batch)
    idx = Xb[:, 0].long()
    assert idx.max().item() < num_train, "sampled a row past num_train"
    counts = torch.bincount(idx, minlength=num_train).double()
    mean, sd = batch / num_train, (batch * 0.1 * 0.9) ** 0.5
    assert ((counts - mean).abs() < 5 * sd).all(), counts.tolist()
    torch.manual_seed(2)
    a, _ = lc.sample_batch(X, y, 40, 30)
    b, _ = lc.sample_batch(X, y, 40, 30)
    assert not torch.equal(a, b), "two calls returned the same batch"


# ---- train_linear_classifier -----------------------------------------------------------------
class FixedBatches:
    """Stand-in for sample_batch: returns seeded batches in order, records its arguments."""

    def __init__(self, X, y, num_iters, batch_size, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.idx = [torch.randint(len(X), (batch_size,), generator=g) for _ in range(num_iters)]
        self.calls = []

    def __call__(self, X, y, num_train, batch_size):
        self.calls.append((num_train, batch_size))
        i = self.idx[len(self.calls) - 1]
        return X[i], y[i]


def _sgd_reference(loss_ref, W0, X, y, batches, lr, reg):
    """torch.optim.SGD on the autograd loss over the same batches -> (W, losses)."""
    W = W0.detach().clone().requires_grad_(True)
    opt = torch.optim.SGD([W], lr=lr)
    losses = []
    for i in batches:
        opt.zero_grad()
        if loss_ref is ref_svm:
            loss = W.shape[1] * F.multi_margin_loss(X[i] @ W, y[i]) + reg * (W * W).sum()
        else:
            loss = F.cross_entropy(X[i] @ W, y[i]) + reg * (W * W).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return W.detach(), losses


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::train_linear_classifier")
@pytest.mark.parametrize("name", ["svm", "softmax"])
def test_train_linear_classifier_matches_torch_sgd(lc, monkeypatch, name):
    W0, X, y = problem(11, N=60, D=9, C=4)
    sampler = FixedBatches(X, y, num_iters=30, batch_size=16)
    monkeypatch.setattr(lc, "sample_batch", sampler)
    W, hist = lc.train_linear_classifier(LOSSES[name], W0.clone(), X, y, learning_rate=0.05,
                                         reg=0.01, num_iters=30, batch_size=16)
    W_ref, hist_ref = _sgd_reference(LOSSES[name], W0, X, y, sampler.idx, 0.05, 0.01)
    assert sampler.calls == [(60, 16)] * 30
    assert len(hist) == 30 and all(isinstance(v, float) for v in hist)
    assert hist == pytest.approx(hist_ref, rel=1e-10)
    torch.testing.assert_close(W, W_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::train_linear_classifier")
def test_train_linear_classifier_lazy_init_and_zero_lr(lc):
    """W=None: (D, max(y) + 1) weights of X's dtype, about 1e-6 in scale; a zero learning
    rate leaves them there."""
    _, X, y = problem(12, N=50, D=9, C=6)
    y[0] = 5
    torch.manual_seed(0)
    W, hist = lc.train_linear_classifier(lc.svm_loss_vectorized, None, X, y,
                                         learning_rate=0.0, num_iters=3, batch_size=8)
    assert W.shape == (9, 6) and W.dtype == X.dtype and len(hist) == 3
    assert 1e-8 < W.abs().max().item() < 1e-5
    W32, _ = lc.train_linear_classifier(lc.softmax_loss_vectorized, None, X.float(), y,
                                        learning_rate=1e-3, num_iters=2, batch_size=8)
    assert W32.dtype == torch.float32


# ---- predict_linear_classifier ---------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "linear_classifier.py::predict_linear_classifier")
@pytest.mark.parametrize("dtype", [DT, torch.float32])
def test_predict_is_argmax_of_scores(lc, dtype):
    W, X, y = problem(13, N=70, D=8, C=6, w_scale=1.0, dtype=dtype)
    pred = lc.predict_linear_classifier(W, X)
    assert pred.shape == (70,) and pred.dtype == torch.int64
    assert torch.equal(pred, torch.argmax(X @ W, dim=1))
    # A closed form: W = I maps a one-hot-ish row to its hot class.
    Xc = torch.eye(6, dtype=dtype)[[3, 0, 5, 5, 1]] * 2 + 0.1
    assert lc.predict_linear_classifier(torch.eye(6, dtype=dtype), Xc).tolist() == [3, 0, 5, 5, 1]


# ---- test_one_param_set ----------------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "linear_classifier.py::test_one_param_set")
def test_one_param_set_trains_on_train_and_scores_fractions(lc):
    """A stand-in classifier records its training call and predicts label 0 everywhere, so
    the accuracies are the fractions of zeros in y_train and y_val."""

    class Recorder(lc.LinearClassifier):
        def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100,
                  batch_size=200, verbose=False):
            self.trained = (X_train, y_train, learning_rate, reg, num_iters, batch_size)
            return []

        def predict(self, X):
            return torch.zeros(X.shape[0], dtype=torch.int64)

    g = torch.Generator().manual_seed(0)
    data = {"X_train": torch.randn(8, 3, generator=g, dtype=DT),
            "y_train": torch.tensor([0, 1, 0, 2, 0, 0, 1, 2]),
            "X_val": torch.randn(5, 3, generator=g, dtype=DT), "y_val": torch.tensor([1, 0, 1, 1, 2])}
    rec = Recorder()
    cls, train_acc, val_acc = lc.test_one_param_set(rec, data, 0.3, 0.02, num_iters=17)
    assert cls is rec
    Xt, yt, lr, reg, iters, _ = rec.trained  # the batch size is the student's choice
    assert Xt is data["X_train"] and yt is data["y_train"]
    assert (lr, reg, iters) == (0.3, 0.02, 17)
    assert isinstance(train_acc, float) and isinstance(val_acc, float)
    assert train_acc == pytest.approx(4 / 8) and val_acc == pytest.approx(1 / 5)
    rec = Recorder()
    lc.test_one_param_set(rec, data, 0.1, 0.2)
    assert rec.trained[4] == 2000, "num_iters defaults to 2000"


def _blobs(n, seed, D=6, C=3):
    """C well-separated Gaussian blobs in D - 1 dimensions plus the bias column."""
    g = torch.Generator().manual_seed(seed)
    centers = 4.0 * torch.randn(C, D - 1, generator=torch.Generator().manual_seed(99), dtype=DT)
    y = torch.randint(C, (n,), generator=g)
    X = centers[y] + 0.5 * torch.randn(n, D - 1, generator=g, dtype=DT)
    return torch.cat([X, torch.ones(n, 1, dtype=DT)], 1), y


@pytest.mark.reference("eecs498/A2", "linear_classifier.py::test_one_param_set",
                       "linear_classifier.py::train_linear_classifier",
                       "linear_classifier.py::sample_batch", "linear_classifier.py::predict_linear_classifier")
@pytest.mark.parametrize("cls_name", ["LinearSVM", "Softmax"])
def test_one_param_set_learns_separable_blobs(lc, cls_name):
    Xt, yt = _blobs(300, 1)
    Xv, yv = _blobs(100, 2)
    data = {"X_train": Xt, "y_train": yt, "X_val": Xv, "y_val": yv}
    cls, train_acc, val_acc = lc.test_one_param_set(getattr(lc, cls_name)(), data, 1e-2, 1e-3, num_iters=300)
    assert cls.W.shape == (6, 3)
    assert train_acc > 0.95 and val_acc > 0.95
    assert train_acc == pytest.approx((torch.argmax(Xt @ cls.W, 1) == yt).double().mean().item())


# ---- search grids ----------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A2", "linear_classifier.py::svm_get_search_params",
                       "linear_classifier.py::softmax_get_search_params")
@pytest.mark.parametrize("name", ["svm_get_search_params", "softmax_get_search_params"])
def test_search_params_within_the_course_limits(lc, name):
    """The course: at least two values of each; 5 to 25 combinations (numbers)."""
    lrs, regs = getattr(lc, name)()
    assert len(lrs) >= 2 and len(regs) >= 2
    assert 5 <= len(lrs) * len(regs) <= 25
    assert all(isinstance(float(v), float) for v in list(lrs) + list(regs))
