"""The value-mutant wrapper (dl4cv_tools.grader.value_mutants) on toy functions: results change by
a relative 1e-2, shapes and dtypes do not, autograd still flows. No sweep here."""
import types

import numpy as np
import pytest
import torch

from dl4cv_tools.grader.value_mutants import FACTOR, Target, value_mutant


def test_numpy_return_values_scaled_recursively_shapes_kept():
    def layer(x, w):
        out = x @ w
        return out, (x, w), {"loss": float(out.sum()), "grads": [w * 2.0]}

    x, w = np.arange(6.0).reshape(2, 3) + 1, np.ones((3, 4))
    out, cache, extra = layer(x, w)
    m_out, m_cache, m_extra = value_mutant(layer)(x, w)
    assert m_out.shape == out.shape and m_out.dtype == out.dtype
    np.testing.assert_allclose(m_out, out * FACTOR)
    np.testing.assert_allclose(m_cache[0], x * FACTOR)
    np.testing.assert_allclose(m_extra["grads"][0], extra["grads"][0] * FACTOR)
    assert m_extra["loss"] == pytest.approx(extra["loss"] * FACTOR)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3) + 1)   # inputs untouched
    assert abs(m_out / out - 1).max() == pytest.approx(0.01)


def test_torch_return_scaled_and_autograd_flows():
    def f(x):
        return torch.tanh(x) * 3

    x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
    out = f(x)
    (g,) = torch.autograd.grad(out.sum(), x)
    m_out = value_mutant(f)(x)
    assert m_out.shape == out.shape and m_out.dtype == out.dtype
    torch.testing.assert_close(m_out, out * FACTOR)
    (m_g,) = torch.autograd.grad(m_out.sum(), x)
    torch.testing.assert_close(m_g, g * FACTOR)


def test_torch_parameter_returned_stays_a_leaf():
    def make():
        return [torch.ones(2, 3, requires_grad=True), torch.zeros(3, dtype=torch.long)]

    w, idx = value_mutant(make)()
    assert w.is_leaf and w.requires_grad
    torch.testing.assert_close(w.detach(), torch.full((2, 3), FACTOR))
    assert torch.equal(idx, torch.zeros(3, dtype=torch.long))   # ints untouched when floats exist


def test_none_returning_init_scales_self_in_place():
    class Net:
        def __init__(self):
            self.params = {"W1": np.full((2, 2), 2.0), "b1": np.zeros(2)}
            self.scale = torch.ones(3)
            self.labels = np.arange(3)

    class Module(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)
            torch.nn.init.constant_(self.fc.weight, 0.5)

    Net.__init__ = value_mutant(Net.__init__, is_method=True)
    net = Net()
    np.testing.assert_allclose(net.params["W1"], np.full((2, 2), 2.0 * FACTOR))
    torch.testing.assert_close(net.scale, torch.full((3,), FACTOR))
    np.testing.assert_array_equal(net.labels, np.arange(3))
    assert net.params["W1"].shape == (2, 2)

    Module.__init__ = value_mutant(Module.__init__, is_method=True)
    m = Module()
    torch.testing.assert_close(m.fc.weight.detach(), torch.full((2, 3), 0.5 * FACTOR))
    assert m.fc.weight.is_leaf and m.fc.weight.requires_grad
    assert len(list(m.parameters())) == 2


def test_integer_outputs_get_plus_one_on_the_first_element():
    def labels(scores):
        return np.argmax(scores, axis=1)

    def keep(scores):
        return torch.argsort(scores, descending=True)

    s = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(value_mutant(labels)(s), [2, 0, 1])
    assert value_mutant(keep)(torch.tensor([0.1, 0.9, 0.5])).tolist() == [2, 2, 0]


def test_target_patches_functions_and_methods_of_a_module(tmp_path):
    mod = types.ModuleType("toy")

    def forward(x):
        return x * 2.0

    class Layer:
        def apply(self, x):
            return x + 1.0

    mod.forward, mod.Layer = forward, Layer
    target = Target("cs231n/assignment2::cs231n/layers.py::affine_forward")
    target.qualname = "forward"
    assert target.patch_module(mod) and target.patch_module(mod)      # idempotent
    assert mod.forward(np.ones(2)) == pytest.approx(2.0 * FACTOR)
    assert mod.forward.__value_mutant_of__ is forward
    target.qualname = "Layer.apply"
    assert target.patch_module(mod)
    assert Layer().apply(np.zeros(1)) == pytest.approx(FACTOR)
