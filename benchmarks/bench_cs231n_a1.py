"""CS231n assignment 1 benchmarks: kNN distances vs torch.cdist, SVM/softmax loss+gradient vs
torch autograd, and the naive -> vectorized speedups (plain timings)."""
import numpy as np
import torch
import torch.nn.functional as F

from dl4cv_tools.bench import case
from dl4cv_tools.testing import course_module

A1 = "cs231n/assignment1"


def _linear_inputs(N=500, D=3073, C=10):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((D, C)) * 1e-4
    X = rng.standard_normal((N, D)) * 50
    y = rng.integers(0, C, N)
    return W, X, y


def _torch_loss(kind, W, X, y, reg):
    Wt0, Xt, yt = torch.from_numpy(W), torch.from_numpy(X), torch.from_numpy(y)
    onehot = F.one_hot(yt, W.shape[1]).to(torch.float64)

    def run():
        Wt = Wt0.clone().requires_grad_(True)
        S = Xt @ Wt
        if kind == "svm":
            data = ((S - S.gather(1, yt[:, None]) + 1).clamp(min=0) * (1 - onehot)).sum() / len(y)
        else:
            data = F.cross_entropy(S, yt)
        loss = data + reg * (Wt * Wt).sum()
        loss.backward()
        return loss.item(), Wt.grad
    return run


@case("knn: compute_distances_no_loops vs torch.cdist (500x5000x3072, f64)", min_ratio=0.8)
def knn_no_loops():
    knn_mod = course_module(A1, "cs231n.classifiers.k_nearest_neighbor")
    rng = np.random.default_rng(0)
    Xtr = rng.uniform(0, 255, (5000, 3072))
    Xte = rng.uniform(0, 255, (500, 3072))
    knn = knn_mod.KNearestNeighbor()
    knn.train(Xtr, rng.integers(0, 10, 5000))
    a, b = torch.from_numpy(Xte), torch.from_numpy(Xtr)
    return (lambda: knn.compute_distances_no_loops(Xte)), (lambda: torch.cdist(a, b))


@case("knn: no_loops speedup over one_loop (50x5000x3072, f64; ratio = one_loop/no_loops)")
def knn_one_vs_none():
    knn_mod = course_module(A1, "cs231n.classifiers.k_nearest_neighbor")
    rng = np.random.default_rng(0)
    Xtr, Xte = rng.uniform(0, 255, (5000, 3072)), rng.uniform(0, 255, (50, 3072))
    knn = knn_mod.KNearestNeighbor()
    knn.train(Xtr, rng.integers(0, 10, 5000))
    return (lambda: knn.compute_distances_no_loops(Xte)), (lambda: knn.compute_distances_one_loop(Xte))


@case("knn: no_loops speedup over two_loops (5x5000x3072, f64; ratio = two_loops/no_loops)",
      repeats=3, warmup=0)
def knn_two_vs_none():
    knn_mod = course_module(A1, "cs231n.classifiers.k_nearest_neighbor")
    rng = np.random.default_rng(0)
    Xtr, Xte = rng.uniform(0, 255, (5000, 3072)), rng.uniform(0, 255, (5, 3072))
    knn = knn_mod.KNearestNeighbor()
    knn.train(Xtr, rng.integers(0, 10, 5000))
    return (lambda: knn.compute_distances_no_loops(Xte)), (lambda: knn.compute_distances_two_loops(Xte))


@case("svm_loss_vectorized vs torch autograd (N=500, D=3073, C=10, f64)", min_ratio=0.7)
def svm_vs_torch():
    svm = course_module(A1, "cs231n.classifiers.linear_svm")
    W, X, y = _linear_inputs()
    return (lambda: svm.svm_loss_vectorized(W, X, y, 5e-6)), _torch_loss("svm", W, X, y, 5e-6)


@case("softmax_loss_vectorized vs torch autograd (N=500, D=3073, C=10, f64)", min_ratio=0.7)
def softmax_vs_torch():
    sm = course_module(A1, "cs231n.classifiers.softmax")
    W, X, y = _linear_inputs()
    return (lambda: sm.softmax_loss_vectorized(W, X, y, 5e-6)), _torch_loss("softmax", W, X, y, 5e-6)


@case("svm: vectorized speedup over naive (N=500, D=3073, C=10; ratio = naive/vectorized)")
def svm_naive_vs_vec():
    svm = course_module(A1, "cs231n.classifiers.linear_svm")
    W, X, y = _linear_inputs()
    return (lambda: svm.svm_loss_vectorized(W, X, y, 5e-6)), (lambda: svm.svm_loss_naive(W, X, y, 5e-6))


@case("softmax: vectorized speedup over naive (N=500, D=3073, C=10; ratio = naive/vectorized)")
def softmax_naive_vs_vec():
    sm = course_module(A1, "cs231n.classifiers.softmax")
    W, X, y = _linear_inputs()
    return (lambda: sm.softmax_loss_vectorized(W, X, y, 5e-6)), (lambda: sm.softmax_loss_naive(W, X, y, 5e-6))
