"""Numeric gradients by centered differences, and the relative error the courses report.

These are the reference every hand-written backward pass is checked against. Names and
signatures follow the courses' `gradient_check.py` so the course modules can re-export them.
"""
from random import randrange

import numpy as np


def rel_error(x, y, eps: float = 1e-8) -> float:
    """max |x - y| / max(eps, |x| + |y|), elementwise, as both courses define it."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: shapes differ: {x.shape} vs {y.shape}")
    return float(np.max(np.abs(x - y) / np.maximum(eps, np.abs(x) + np.abs(y))))


def _perturbed(x, h, f, indices=None):
    """For each index i of x (default: all, in C order), with x[i] changed in place and then
    restored: (i, f(x + h e_i), f(x - h e_i))."""
    for ix in (np.ndindex(x.shape) if indices is None else indices):
        old = x[ix]
        x[ix] = old + h
        pos = f(x)
        x[ix] = old - h
        neg = f(x)
        x[ix] = old
        yield ix, pos, neg


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """Gradient of a scalar function f at x (array, modified in place and restored).

    f: callable taking x and returning a float.  Returns grad with x's shape.
    """
    grad = np.zeros_like(x)
    for ix, fxph, fxmh in _perturbed(x, h, f):
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of sum(f(x) * df) w.r.t. x, for an array-valued f (a layer's forward)."""
    grad = np.zeros_like(x)
    # copies: f may return a view of a buffer it reuses
    for ix, pos, neg in _perturbed(x, h, lambda v: f(v).copy()):
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def eval_numerical_gradient_blobs(f, inputs, output, h=1e-5):
    """Like eval_numerical_gradient_array for functions of blobs (objects with .vals/.diffs)."""
    numeric_diffs = []
    for input_blob in inputs:
        diff = np.zeros_like(input_blob.diffs)

        def run(_):
            f(*(inputs + (output,)))
            return np.copy(output.vals)
        for idx, pos, neg in _perturbed(input_blob.vals, h, run):
            diff[idx] = np.sum((pos - neg) * output.diffs) / (2.0 * h)
        numeric_diffs.append(diff)
    return numeric_diffs


def eval_numerical_gradient_net(net, inputs, output, h=1e-5):
    return eval_numerical_gradient_blobs(lambda *args: net.forward(), inputs, output, h=h)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None):
    """Compare analytic_grad with centered differences at `num_checks` random coordinates.

    Prints one line per coordinate (numerical, analytic, relative error) as the course does
    and returns the list of relative errors.
    """
    rng = np.random.default_rng(seed) if seed is not None else None
    errors = []
    picks = [tuple((rng.integers(m) if rng is not None else randrange(m)) for m in x.shape)
             for _ in range(num_checks)]
    for ix, fxph, fxmh in _perturbed(x, h, f, picks):
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        denom = abs(grad_numerical) + abs(grad_analytic)
        rel = abs(grad_numerical - grad_analytic) / denom if denom > 0 else 0.0
        errors.append(rel)
        print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, relative error: {rel:e}")
    return errors
