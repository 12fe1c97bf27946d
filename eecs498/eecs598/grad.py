"""Numeric gradients for torch tensors (the course's `eecs598.grad`)."""
import random

import torch


def compute_numeric_gradient(f, x: torch.Tensor, dLdf: torch.Tensor = None, h: float = 1e-7):
    """Centered-difference gradient of f at x. If f returns a tensor, `dLdf` is the upstream
    gradient (default ones); returns a tensor shaped like x. Use float64 for meaningful checks."""
    flat_x = x.contiguous().view(-1)
    grad = torch.zeros_like(x)
    flat_grad = grad.view(-1)
    for i in range(flat_x.shape[0]):
        old = flat_x[i].item()
        flat_x[i] = old + h
        pos = f(x).clone()
        flat_x[i] = old - h
        neg = f(x).clone()
        flat_x[i] = old
        upstream = torch.ones_like(pos) if dLdf is None else dLdf
        flat_grad[i] = ((pos - neg) * upstream).sum() / (2 * h)
    return grad


def grad_check_sparse(f, x: torch.Tensor, analytic_grad: torch.Tensor, num_checks: int = 10,
                      h: float = 1e-7):
    """Print numeric vs analytic gradient at `num_checks` random coordinates of x."""
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
        analytic = analytic_grad[ix].item()
        denom = abs(numeric) + abs(analytic)
        rel = abs(numeric - analytic) / denom if denom > 0 else 0.0
        errors.append(rel)
        print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {rel:e}")
    return errors
