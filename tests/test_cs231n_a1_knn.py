"""CS231n A1 kNN: the three distance functions against a direct reference, predict against a
brute-force vote (ties included), and bad input."""
import numpy as np
import pytest
import torch

from dl4cv_tools.testing import course_module

A1 = "cs231n/assignment1"


def knn_module():
    return course_module(A1, "cs231n.classifiers.k_nearest_neighbor")


def reference_dists(Xte, Xtr):
    # Independent reference: torch.cdist in float64 (direct differences for these sizes).
    return torch.cdist(torch.from_numpy(Xte), torch.from_numpy(Xtr),
                       compute_mode="donot_use_mm_for_euclid_dist").numpy()


def reference_predict(dists, y_train, k):
    """Brute force: stable order of distances (ties -> smaller training index), then count
    votes label by label; a tied vote goes to the smaller label."""
    out = []
    for row in dists:
        order = sorted(range(len(row)), key=lambda j: (row[j], j))[:k]
        labels = [int(y_train[j]) for j in order]
        best = max(set(labels), key=lambda c: (labels.count(c), -c))
        out.append(best)
    return np.array(out)


@pytest.mark.reference("cs231n/assignment1",
                       "cs231n/classifiers/k_nearest_neighbor.py::KNearestNeighbor.compute_distances_two_loops",
                       "cs231n/classifiers/k_nearest_neighbor.py::KNearestNeighbor.compute_distances_one_loop",
                       "cs231n/classifiers/k_nearest_neighbor.py::KNearestNeighbor.compute_distances_no_loops")
def test_distances_agree_with_reference(rng):
    knn = knn_module().KNearestNeighbor()
    Xtr = rng.standard_normal((60, 40)) * 3 + 1
    Xte = rng.standard_normal((25, 40)) * 3 + 1
    knn.train(Xtr, rng.integers(0, 10, 60))
    ref = reference_dists(Xte, Xtr)
    for dists in (knn.compute_distances_two_loops(Xte), knn.compute_distances_one_loop(Xte),
                  knn.compute_distances_no_loops(Xte)):
        assert dists.shape == (25, 60)
        assert np.max(np.abs(dists - ref) / ref) < 1e-6
    # Identical points: the no-loop formula must not return NaN (negative round-off).
    d0 = knn.compute_distances_no_loops(Xtr[:5])
    assert np.all(np.isfinite(d0)) and np.allclose(np.diag(d0[:, :5]), 0, atol=1e-5)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8])
@pytest.mark.reference("cs231n/assignment1",
                       "cs231n/classifiers/k_nearest_neighbor.py::KNearestNeighbor.predict_labels")
def test_predict_matches_brute_force_with_ties(rng, k):
    knn = knn_module().KNearestNeighbor()
    # Small integer grids: many equal distances and many tied votes.
    Xtr = rng.integers(0, 3, size=(40, 3)).astype(np.float64)
    ytr = rng.integers(0, 4, 40)
    Xte = rng.integers(0, 3, size=(30, 3)).astype(np.float64)
    knn.train(Xtr, ytr)
    ref = reference_predict(reference_dists(Xte, Xtr), ytr, k)
    for loops in (0, 1, 2):
        np.testing.assert_array_equal(knn.predict(Xte, k=k, num_loops=loops), ref)


def test_vote_tie_goes_to_smaller_label():
    knn = knn_module().KNearestNeighbor()
    knn.train(np.array([[0.0], [1.0], [-1.0], [5.0]]), np.array([7, 3, 7, 3]))
    # k=2 at x=0.4: neighbours 0 (label 7) and 1 (label 3) -> tie -> 3.
    assert knn.predict(np.array([[0.4]]), k=2)[0] == 3
    # k=4: two 7s and two 3s -> 3.
    assert knn.predict(np.array([[0.0]]), k=4)[0] == 3


def test_bad_input_raises_value_error(rng):
    knn = knn_module().KNearestNeighbor()
    with pytest.raises(ValueError, match="train"):
        knn.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(5,\)"):
        knn.train(np.zeros((5, 3)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="non-negative"):
        knn.train(np.zeros((3, 2)), np.array([0, -1, 2]))
    knn.train(rng.standard_normal((5, 3)), np.arange(5))
    with pytest.raises(ValueError, match="3"):
        knn.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="k=6"):
        knn.predict(np.zeros((2, 3)), k=6)
    with pytest.raises(ValueError, match="k=0"):
        knn.predict(np.zeros((2, 3)), k=0)
    with pytest.raises(ValueError, match="num_loops"):
        knn.predict(np.zeros((2, 3)), num_loops=3)
