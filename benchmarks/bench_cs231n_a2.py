"""CS231n assignment 2: fast conv / max-pool layers against torch (CPU, same dtype), and the
speedup of the fast convolution over the naive one."""
import numpy as np
import torch
import torch.nn.functional as F

from dl4cv_tools.bench import case
from dl4cv_tools.testing import course_module

A2 = "cs231n/assignment2"


def _conv_case(N, C, Fn, dtype):
    fl = course_module(A2, "cs231n.fast_layers")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, 32, 32)).astype(dtype)
    w = rng.standard_normal((Fn, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(Fn).astype(dtype)
    dout = rng.standard_normal((N, Fn, 32, 32)).astype(dtype)
    cp = {"stride": 1, "pad": 1}

    def ours():
        out, cache = fl.conv_forward_fast(x, w, b, cp)
        fl.conv_backward_fast(dout, cache)

    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    dt = torch.tensor(dout)

    def reference():
        xt.grad = wt.grad = bt.grad = None
        F.conv2d(xt, wt, bt, padding=1).backward(dt)

    return ours, reference


@case("conv_forward_fast+backward vs torch conv2d fwd+bwd (N=50, 3->25, 32x32, 3x3, f64)",
      min_ratio=1.0, items=50)
def conv_small_f64():
    return _conv_case(50, 3, 25, np.float64)


@case("conv_forward_fast+backward vs torch conv2d fwd+bwd (N=64, 64->64, 32x32, 3x3, f64)",
      min_ratio=1.0, items=64)
def conv_large_f64():
    return _conv_case(64, 64, 64, np.float64)


@case("conv_forward_fast+backward vs torch conv2d fwd+bwd (N=50, 3->25, 32x32, 3x3, f32)",
      min_ratio=0.9, items=50)
def conv_small_f32():
    return _conv_case(50, 3, 25, np.float32)


@case("conv_forward_fast+backward vs torch conv2d fwd+bwd (N=64, 64->64, 32x32, 3x3, f32)",
      min_ratio=0.9, items=64)
def conv_large_f32():
    return _conv_case(64, 64, 64, np.float32)


def _maxpool_case(dtype):
    fl = course_module(A2, "cs231n.fast_layers")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64, 32, 32)).astype(dtype)
    dout = rng.standard_normal((64, 64, 16, 16)).astype(dtype)
    pp = {"pool_height": 2, "pool_width": 2, "stride": 2}

    def ours():
        out, cache = fl.max_pool_forward_fast(x, pp)
        fl.max_pool_backward_fast(dout, cache)

    xt, dt = torch.tensor(x, requires_grad=True), torch.tensor(dout)

    def reference():
        xt.grad = None
        F.max_pool2d(xt, 2, 2).backward(dt)

    return ours, reference


@case("floor of the im2col convolution: its three matrix products alone (numpy BLAS) vs torch "
      "conv2d fwd+bwd (N=64, 64->64, 32x32, 3x3, f32)", items=64,
      notes="no requirement: the ratio conv_forward_fast+backward could reach with free im2col/col2im")
def conv_gemm_floor_f32():
    rng = np.random.default_rng(0)
    N, C, Fn, HW = 64, 64, 64, 32 * 32
    w_rows = rng.standard_normal((Fn, C * 9)).astype(np.float32)
    x_cols = rng.standard_normal((C * 9, N * HW)).astype(np.float32)
    dout_rows = rng.standard_normal((Fn, N * HW)).astype(np.float32)
    out = np.empty((Fn, N * HW), np.float32)
    dw = np.empty((C * 9, Fn), np.float32)
    dx_cols = np.empty((C * 9, N * HW), np.float32)

    def ours():  # the products of conv_forward_strides + conv_backward_strides, into reused buffers
        np.matmul(w_rows, x_cols, out=out)
        np.matmul(x_cols, dout_rows.T, out=dw)
        np.matmul(w_rows.T, dout_rows, out=dx_cols)

    _, reference = _conv_case(N, C, Fn, np.float32)
    return ours, reference


@case("max_pool_forward_fast+backward vs torch max_pool2d fwd+bwd (N=64, C=64, 32x32, 2x2/2, f64)",
      min_ratio=1.0, items=64)
def maxpool_f64():
    return _maxpool_case(np.float64)


@case("max_pool_forward_fast+backward vs torch max_pool2d fwd+bwd (N=64, C=64, 32x32, 2x2/2, f32)",
      min_ratio=1.0, items=64)
def maxpool_f32():
    return _maxpool_case(np.float32)


@case("speedup: conv_forward_fast+backward vs conv_forward_naive+backward (N=50, 3->25, 32x32, f64)",
      items=50, notes="reference = the naive layers (vectorized over N and F); ratio = speedup")
def conv_fast_vs_naive():
    fl = course_module(A2, "cs231n.fast_layers")
    L = course_module(A2, "cs231n.layers")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3, 32, 32))
    w = rng.standard_normal((25, 3, 3, 3))
    b = rng.standard_normal(25)
    dout = rng.standard_normal((50, 25, 32, 32))
    cp = {"stride": 1, "pad": 1}

    def ours():
        out, cache = fl.conv_forward_fast(x, w, b, cp)
        fl.conv_backward_fast(dout, cache)

    def naive():
        out, cache = L.conv_forward_naive(x, w, b, cp)
        L.conv_backward_naive(dout, cache)

    return ours, naive
