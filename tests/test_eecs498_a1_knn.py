"""EECS 498-007 FA2020 A1 kNN (`eecs498/A1/knn.py`) against independent references.

- the three distance functions: torch.cdist (direct differences, float64) squared, on vectors,
  images and other trailing shapes; the inputs stay untouched; the functions the course
  forbids (torch.norm / dist / cdist, their tensor methods, torch.nn.functional) are never
  called; the vectorized version allocates no (num_train, num_test, D) intermediate;
- predict_labels: a brute-force vote in plain Python on distances without ties, and closed
  forms for tied votes (the smallest label wins);
- KnnClassifier: predictions and accuracy against torch.cdist + the brute-force vote;
- knn_cross_validate: a direct computation with torch ops (torch.chunk folds, torch.cdist,
  torch.topk, torch.bincount) for every k and fold;
- knn_get_best_k: closed forms, ties going to the smallest k.

The course leaves open which neighbour wins a tie in *distance*, so every input here has
distinct distances around the k-th neighbour (continuous random values).
"""
import inspect

import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

A1 = "eecs498/A1"
DT = torch.float64
DISTANCE_FUNCTIONS = ["compute_distances_two_loops", "compute_distances_one_loop",
                      "compute_distances_no_loops"]


@pytest.fixture
def knn():
    return course_module(A1, "knn")


# ---- references ------------------------------------------------------------------------------
def ref_dists(x_train, x_test):
    """(num_train, num_test) squared Euclidean distances: torch.cdist on direct differences."""
    a = x_train.reshape(x_train.shape[0], -1).to(DT)
    b = x_test.reshape(x_test.shape[0], -1).to(DT)
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist") ** 2


def ref_vote(dists, y_train, k):
    """Brute force in plain Python: the k smallest entries of each column, then the label with
    the most votes, the smallest one among equals."""
    d, y = dists.tolist(), y_train.tolist()
    out = []
    for j in range(len(d[0])):
        order = sorted(range(len(d)), key=lambda i: d[i][j])[:k]
        labels = [y[i] for i in order]
        out.append(min(set(labels), key=lambda c: (-labels.count(c), c)))
    return torch.tensor(out, dtype=torch.int64)


def _data(gen, n, shape, num_classes=4):
    x = torch.randn((n, *shape), generator=gen, dtype=DT) * 3 + 1
    y = torch.randint(num_classes, (n,), generator=gen)
    return x, y


# ---- distances -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DISTANCE_FUNCTIONS)
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 3, 2, 2)], ids=["vectors", "images", "4d"])
@pytest.mark.reference("eecs498/A1", "knn.py::compute_distances_two_loops",
                       "knn.py::compute_distances_one_loop", "knn.py::compute_distances_no_loops")
def test_distances_match_cdist_squared(knn, name, shape):
    gen = torch.Generator().manual_seed(1)
    x_train, _ = _data(gen, 23, shape)
    x_test, _ = _data(gen, 11, shape)
    train_copy, test_copy = x_train.clone(), x_test.clone()
    dists = getattr(knn, name)(x_train, x_test)
    ref = ref_dists(x_train, x_test)
    assert dists.shape == (23, 11), "the course's layout is (num_train, num_test)"
    assert dists.dtype == x_train.dtype
    assert torch.allclose(dists, ref, rtol=1e-9, atol=1e-9 * ref.max().item()), \
        f"largest error {(dists - ref).abs().max().item():.3g} (squared distances expected)"
    assert torch.equal(x_train, train_copy) and torch.equal(x_test, test_copy), "inputs modified"


@pytest.mark.parametrize("name", DISTANCE_FUNCTIONS)
@pytest.mark.reference("eecs498/A1", "knn.py::compute_distances_two_loops",
                       "knn.py::compute_distances_one_loop", "knn.py::compute_distances_no_loops")
def test_distances_float32_images_and_identical_samples(knn, name):
    """CIFAR-like float32 images in [0, 1]: the dtype is kept, the values match to float32
    precision, and a sample's distance to itself is (close to) zero, never negative."""
    gen = torch.Generator().manual_seed(2)
    x_train = torch.rand(12, 3, 8, 8, generator=gen)
    x_test = torch.cat([x_train[:4], torch.rand(5, 3, 8, 8, generator=gen)])
    dists = getattr(knn, name)(x_train, x_test)
    ref = ref_dists(x_train, x_test)
    assert dists.shape == (12, 9) and dists.dtype == torch.float32
    assert torch.allclose(dists.to(DT), ref, rtol=1e-5, atol=1e-4)
    assert (dists >= 0).all()
    assert torch.allclose(torch.diagonal(dists[:4, :4]), torch.zeros(4), atol=1e-4)


def _forbid(monkeypatch):
    """Make every function the course forbids in the distance code raise when called."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the course forbids torch.norm / torch.dist / torch.cdist and "
                             "torch.nn.functional in the distance functions")
    for name in ("norm", "dist", "cdist"):
        monkeypatch.setattr(torch, name, forbidden)
        if hasattr(torch.Tensor, name):     # x.norm, x.dist (there is no x.cdist)
            monkeypatch.setattr(torch.Tensor, name, forbidden)
    for name, obj in vars(F).items():
        if callable(obj) and not name.startswith("_") and not inspect.isclass(obj) \
                and getattr(obj, "__module__", "").startswith("torch.nn.functional"):
            monkeypatch.setattr(F, name, forbidden)


@pytest.mark.parametrize("name", DISTANCE_FUNCTIONS)
@pytest.mark.reference("eecs498/A1", "knn.py::compute_distances_two_loops",
                       "knn.py::compute_distances_one_loop", "knn.py::compute_distances_no_loops")
def test_distances_use_no_forbidden_functions(knn, name, monkeypatch):
    gen = torch.Generator().manual_seed(3)
    x_train, _ = _data(gen, 9, (2, 3))
    x_test, _ = _data(gen, 6, (2, 3))
    ref = ref_dists(x_train, x_test)      # computed before the patch
    _forbid(monkeypatch)
    dists = getattr(knn, name)(x_train, x_test)
    monkeypatch.undo()
    assert torch.allclose(dists, ref, rtol=1e-9, atol=1e-9 * ref.max().item())


@pytest.mark.reference("eecs498/A1", "knn.py::compute_distances_no_loops")
def test_no_loops_allocates_no_pairwise_feature_tensor(knn):
    """The course: no intermediate tensor that grows like num_train * num_test * D (a broadcast
    of every training sample against every test sample). The largest single allocation (torch
    profiler) must stay within a few times the largest of the inputs and the output; the
    broadcast would be D = 1000 times the output."""
    from torch.profiler import ProfilerActivity, profile
    gen = torch.Generator().manual_seed(4)
    x_train = torch.randn(100, 1000, generator=gen, dtype=DT)
    x_test = torch.randn(80, 1000, generator=gen, dtype=DT)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        dists = knn.compute_distances_no_loops(x_train, x_test)
    largest = max((e.self_cpu_memory_usage for e in prof.events()), default=0)
    budget = 4 * 8 * max(100 * 80, 100 * 1000, 80 * 1000)
    assert largest <= budget, f"an allocation of {largest:,} bytes (budget {budget:,})"
    assert torch.allclose(dists, ref_dists(x_train, x_test), rtol=1e-9, atol=1e-6)


# ---- predict_labels --------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 30])
@pytest.mark.reference("eecs498/A1", "knn.py::predict_labels")
def test_predict_labels_matches_brute_force_vote(knn, k):
    """Random distances (no ties between distances) and 3 labels: with k >= 2 many votes tie."""
    gen = torch.Generator().manual_seed(10 + k)
    dists = torch.rand(30, 200, generator=gen, dtype=DT)
    y_train = torch.randint(3, (30,), generator=gen)
    d_copy, y_copy = dists.clone(), y_train.clone()
    y_pred = knn.predict_labels(dists, y_train, k=k)
    assert y_pred.dtype == torch.int64 and y_pred.shape == (200,)
    assert torch.equal(y_pred, ref_vote(dists, y_train, k))
    assert torch.equal(dists, d_copy) and torch.equal(y_train, y_copy), "inputs modified"


@pytest.mark.reference("eecs498/A1", "knn.py::predict_labels")
def test_predict_labels_tied_votes_closed_form(knn):
    """Hand-made columns whose nearest labels are given in order of distance."""
    cases = [  # (labels of the nearest neighbours, nearest first; k; expected)
        ([1, 2, 1, 2, 3], 5, 1),      # the course's docstring example
        ([3, 3, 0, 0], 4, 0),         # a tie goes to the smallest label, not the nearest
        ([7, 2, 9], 3, 2),            # three single votes
        ([9, 4, 9, 4, 4], 3, 9),      # k = 3: 9 has two of the three nearest votes
        ([9, 4, 9, 4, 4], 5, 4),      # k = 5: 4 has three votes
        ([5, 6], 1, 5),               # k = 1: the nearest
        ([6, 5], 1, 6),
    ]
    for labels, k, expected in cases:
        n = len(labels)
        dists = torch.arange(1, n + 1, dtype=DT)[torch.randperm(n)]   # distinct, shuffled
        y_train = torch.empty(n, dtype=torch.int64)
        y_train[torch.argsort(dists)] = torch.tensor(labels)
        y_pred = knn.predict_labels(dists[:, None], y_train, k=k)
        assert y_pred.tolist() == [expected], (labels, k)


# ---- KnnClassifier ---------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 4, 7])
@pytest.mark.reference("eecs498/A1", "knn.py::KnnClassifier.__init__",
                       "knn.py::KnnClassifier.predict")
def test_classifier_predict_and_accuracy(knn, k, capsys):
    gen = torch.Generator().manual_seed(20 + k)
    x_train, y_train = _data(gen, 40, (3, 2, 2), num_classes=5)
    x_test, y_test = _data(gen, 25, (3, 2, 2), num_classes=5)
    expected = ref_vote(ref_dists(x_train, x_test), y_train, k)
    clf = knn.KnnClassifier(x_train, y_train)
    y_pred = clf.predict(x_test, k=k)
    assert y_pred.shape == (25,) and torch.equal(y_pred.to(torch.int64), expected)
    acc = clf.check_accuracy(x_test, y_test, k=k, quiet=True)
    assert capsys.readouterr().out == ""
    num_correct = int((expected == y_test).sum())
    assert acc == pytest.approx(100.0 * num_correct / 25)
    clf.check_accuracy(x_test, y_test, k=k)
    assert f"Got {num_correct} / 25 correct" in capsys.readouterr().out


@pytest.mark.reference("eecs498/A1", "knn.py::KnnClassifier.__init__",
                       "knn.py::KnnClassifier.predict")
def test_classifier_default_k_is_one_and_training_points_predict_themselves(knn):
    gen = torch.Generator().manual_seed(5)
    x_train, y_train = _data(gen, 30, (6,), num_classes=7)
    clf = knn.KnnClassifier(x_train, y_train)
    assert torch.equal(clf.predict(x_train), y_train)
    assert clf.check_accuracy(x_train, y_train, quiet=True) == pytest.approx(100.0)


# ---- cross-validation ------------------------------------------------------------------------
def ref_cross_validate(x_train, y_train, num_folds, k_choices):
    """Direct computation with torch ops: torch.chunk folds, torch.cdist distances,
    torch.topk neighbours, torch.bincount votes (argmax: first maximum = smallest label)."""
    x_folds = torch.chunk(x_train.reshape(x_train.shape[0], -1).to(DT), num_folds)
    y_folds = torch.chunk(y_train, num_folds)
    num_classes = int(y_train.max()) + 1
    out = {k: [] for k in k_choices}
    for i in range(num_folds):
        x_rest = torch.cat([f for j, f in enumerate(x_folds) if j != i])
        y_rest = torch.cat([f for j, f in enumerate(y_folds) if j != i])
        d = torch.cdist(x_rest, x_folds[i], compute_mode="donot_use_mm_for_euclid_dist")
        for k in k_choices:
            nearest = torch.topk(d, k, dim=0, largest=False).indices
            votes = y_rest[nearest]
            pred = torch.stack([torch.bincount(votes[:, j], minlength=num_classes).argmax()
                                for j in range(votes.shape[1])])
            out[k].append(100.0 * (pred == y_folds[i]).sum().item() / len(y_folds[i]))
    return out


@pytest.mark.parametrize("num_folds,k_choices", [(5, [1, 2, 3, 5, 9]), (3, [4, 1, 10])])
@pytest.mark.reference("eecs498/A1", "knn.py::knn_cross_validate")
def test_cross_validate_matches_direct_computation(knn, num_folds, k_choices):
    gen = torch.Generator().manual_seed(30 + num_folds)
    x_train, y_train = _data(gen, 60, (2, 2, 2), num_classes=3)
    # Labels that depend on the data, so that accuracies differ between k and folds.
    y_train = (x_train.reshape(60, -1)[:, :3].sum(1) > 3).long() + (y_train == 0).long()
    got = knn.knn_cross_validate(x_train, y_train, num_folds=num_folds, k_choices=k_choices)
    expected = ref_cross_validate(x_train, y_train, num_folds, k_choices)
    assert set(got) == set(k_choices)
    for k in k_choices:
        assert len(got[k]) == num_folds, f"k={k}: one accuracy per fold"
        assert got[k] == pytest.approx(expected[k]), f"k={k}"


@pytest.mark.reference("eecs498/A1", "knn.py::knn_cross_validate")
def test_cross_validate_defaults(knn):
    """num_folds=5 and the course's k choices 1, 3, 5, 8, 10, 12, 15, 20, 50, 100."""
    gen = torch.Generator().manual_seed(6)
    x_train, y_train = _data(gen, 200, (5,), num_classes=3)
    y_train = (x_train[:, 0] > 1).long() + (x_train[:, 1] > 2).long()
    got = knn.knn_cross_validate(x_train, y_train)
    k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
    assert sorted(got) == k_choices
    expected = ref_cross_validate(x_train, y_train, 5, k_choices)
    for k in k_choices:
        assert got[k] == pytest.approx(expected[k]), f"k={k}"


# ---- best k ----------------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A1", "knn.py::knn_get_best_k")
def test_get_best_k_closed_forms(knn):
    cases = [
        ({1: [30.0, 30.0], 3: [31.0, 29.0], 5: [29.0, 29.0]}, 1),    # tied means -> smaller k
        ({10: [28.0, 28.5], 5: [28.5, 28.0], 20: [27.0, 27.0]}, 5),  # unsorted keys
        ({1: [40.0, 10.0], 2: [26.0, 26.0]}, 2),                     # mean, not best fold
        ({8: [25.0, 27.0, 26.0], 3: [24.0, 24.0, 24.0], 12: [26.5, 26.5, 26.0]}, 12),
        ({7: [1.0]}, 7),
        ({100: [50.0, 52.0], 50: [51.0, 51.0], 20: [49.0, 53.0]}, 20),
    ]
    for k_to_accuracies, expected in cases:
        assert knn.knn_get_best_k(k_to_accuracies) == expected, k_to_accuracies
