"""Numeric gradients and the relative error for torch tensors (the course's `eecs598.grad`)."""
import random

import torch

from eecs598.utils import reset_seed


def grad_check_sparse(f, x: torch.Tensor, analytic_grad: torch.Tensor, num_checks: int = 10,
                      h: float = 1e-7):
    """Print numeric vs analytic gradient at `num_checks` random coordinates of x.

    f: tensor -> scalar tensor; x: the point (changed in place, then restored);
    analytic_grad: shaped like x. The coordinates are drawn after `reset_seed(0)`, as in the
    course, so two runs check the same entries. Returns the list of relative errors.
    """
    reset_seed(0)
    errors = []
    for _ in range(num_checks):
        ix = tuple(random.randrange(m) for m in x.shape)
        old = x[ix].item()
        x[ix] = old + h
        fxph = f(x).item()
        x[ix] = old - h
        fxmh = f(x).item()
        x[ix] = old
        numeric = (fxph - fxmh) / (2 * h)
        analytic = float(analytic_grad[ix])
        rel = abs(numeric - analytic) / (abs(numeric) + abs(analytic) + 1e-12)
        errors.append(rel)
        print("numerical: %f analytic: %f, relative error: %e" % (numeric, analytic, rel))
    return errors


def compute_numeric_gradient(f, x: torch.Tensor, dLdf: torch.Tensor = None, h: float = 1e-7):
    """Centered-difference gradient of f at x (use float64 for meaningful checks).

    f: tensor -> tensor (any shape); dLdf: upstream gradient shaped like f(x) (default ones,
    i.e. the gradient of f(x).sum()). Returns a tensor shaped like x. x is changed in place
    during the evaluation and restored afterwards.
    """
    flat_x = x.contiguous().view(-1) if x.is_contiguous() else x.reshape(-1)
    grad = torch.zeros_like(x)
    flat_grad = grad.view(-1)
    if dLdf is None:
        dLdf = torch.ones_like(f(x))
    upstream = dLdf.reshape(-1)
    for i in range(flat_x.shape[0]):
        old = flat_x[i].item()
        flat_x[i] = old + h
        pos = f(x).reshape(-1).clone()
        flat_x[i] = old - h
        neg = f(x).reshape(-1).clone()
        flat_x[i] = old
        flat_grad[i] = upstream.dot((pos - neg) / (2 * h)).item()
    return grad


def rel_error(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-10) -> float:
    """Relative error between two tensors of the same shape, as the course computes it.

    max_i |x_i - y_i| divided by max_i (|x_i| + |y_i|), the denominator floored at eps.
    (The course's docstring writes the denominator as max|x| + max|y| + eps; its code, which
    produced every error the course printed and every range it states, is the one above.)
    """
    top = (x - y).abs().max().item()
    bot = (x.abs() + y.abs()).clamp(min=eps).max().item()
    return top / bot
