"""Numeric gradients against closed forms."""
import numpy as np
import torch

from dl4cv.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, grad_check_sparse, rel_error
from eecs598.grad import compute_numeric_gradient
from eecs598.utils import rel_error as torch_rel_error


def test_scalar_function_gradient(rng):
    x = rng.standard_normal((4, 5))
    a = rng.standard_normal((4, 5))
    f = lambda x: float(np.sum(np.sin(x) * a) + 0.5 * np.sum(x ** 2))
    num = eval_numerical_gradient(f, x, verbose=False)
    assert rel_error(num, np.cos(x) * a + x) < 1e-8


def test_array_function_gradient(rng):
    x = rng.standard_normal((3, 4))
    w = rng.standard_normal((4, 2))
    dout = rng.standard_normal((3, 2))
    num = eval_numerical_gradient_array(lambda x: np.tanh(x @ w), x, dout)
    exact = ((1 - np.tanh(x @ w) ** 2) * dout) @ w.T
    assert rel_error(num, exact) < 1e-8


def test_sparse_check_reports_small_errors(rng, capsys):
    x = rng.standard_normal((6, 3))
    errors = grad_check_sparse(lambda x: float(np.sum(x ** 3)), x, 3 * x ** 2, num_checks=5, seed=0)
    assert max(errors) < 1e-7 and "relative error" in capsys.readouterr().out


def test_rel_error_definition_and_shape_check():
    assert rel_error(np.array([1.0]), np.array([1.0])) == 0.0
    assert abs(rel_error(np.array([1.0]), np.array([3.0])) - 0.5) < 1e-15
    try:
        rel_error(np.zeros(2), np.zeros(3))
        assert False
    except ValueError:
        pass


def test_torch_numeric_gradient():
    x = torch.randn(3, 4, dtype=torch.float64)
    upstream = torch.randn(3, 4, dtype=torch.float64)
    num = compute_numeric_gradient(lambda t: t.exp() * 2, x, upstream, h=1e-6)
    assert torch_rel_error(num, 2 * x.exp() * upstream) < 1e-7
