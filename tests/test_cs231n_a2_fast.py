"""CS231n 2020 assignment 2: fast layers and im2col against the naive layers and torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv.gradcheck import rel_error
from dl4cv_tools.testing import course_module

TOL = 1e-8
A2 = "cs231n/assignment2"


@pytest.fixture(scope="module")
def fl():
    return course_module(A2, "cs231n.fast_layers")


@pytest.fixture(scope="module")
def L():
    return course_module(A2, "cs231n.layers")


def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


CONV_CASES = [  # N, C, H, W, F, K, stride, pad
    (2, 3, 16, 16, 4, 3, 1, 1),
    (3, 2, 9, 9, 5, 3, 2, 1),
    (2, 3, 11, 11, 3, 5, 2, 2),
    (2, 4, 8, 8, 3, 1, 1, 0),
    (2, 3, 8, 10, 2, 7, 1, 3),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("variant", ["fast", "strides", "im2col"])
def test_fast_conv_vs_naive_and_torch(fl, L, rng, case, variant):
    N, C, H, W, Fn, K, stride, pad = case
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((Fn, C, K, K)), rng.standard_normal(Fn)
    cp = {"stride": stride, "pad": pad}
    fwd, bwd = getattr(fl, f"conv_forward_{variant}"), getattr(fl, f"conv_backward_{variant}")
    out, cache = fwd(x, w, b, cp)
    out_naive, cache_naive = L.conv_forward_naive(x, w, b, cp)
    xt, wt, bt = t(x), t(w), t(b)
    ot = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    dout = rng.standard_normal(ot.shape)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < TOL
    assert rel_error(out, out_naive) < TOL
    grads, naive = bwd(dout, cache), L.conv_backward_naive(dout, cache_naive)
    for g, gn, gt in zip(grads, naive, (xt.grad, wt.grad, bt.grad)):
        assert rel_error(g, gt.numpy()) < TOL
        assert rel_error(g, gn) < TOL


def test_fast_conv_float32(fl, rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out, cache = fl.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    dx, dw, db = fl.conv_backward_fast(np.ones_like(out), cache)
    assert out.dtype == dx.dtype == dw.dtype == np.float32
    ref = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1).numpy()
    # float32: measure the error against the output's scale (an elementwise relative error
    # blows up on outputs that round to nearly zero, whatever the summation order)
    assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-5


@pytest.mark.parametrize("pool,stride,shape", [
    (2, 2, (3, 4, 16, 16)),   # reshape path
    (3, 3, (2, 2, 9, 12)),    # reshape path, 3x3
    (3, 2, (2, 3, 9, 9)),     # overlapping: im2col path
    (2, 2, (2, 2, 9, 9)),     # pools do not tile 9x9: ValueError
])
def test_fast_max_pool_vs_naive_and_torch(fl, L, rng, pool, stride, shape):
    pp = {"pool_height": pool, "pool_width": pool, "stride": stride}
    x = rng.standard_normal(shape)
    H, W = shape[2:]
    if (H - pool) % stride or (W - pool) % stride:
        with pytest.raises(ValueError, match="does not tile"):
            fl.max_pool_forward_fast(x, pp)
        return
    out, cache = fl.max_pool_forward_fast(x, pp)
    out_naive, cache_naive = L.max_pool_forward_naive(x, pp)
    xt = t(x)
    ot = F.max_pool2d(xt, pool, stride)
    dout = rng.standard_normal(ot.shape)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < TOL
    assert rel_error(out, out_naive) < TOL
    dx = fl.max_pool_backward_fast(dout, cache)
    assert rel_error(dx, xt.grad.numpy()) < TOL
    assert rel_error(dx, L.max_pool_backward_naive(dout, cache_naive)) < TOL


def test_max_pool_ties_go_to_first_max_like_torch(fl):
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = 1.0  # a window where all four entries tie
    pp = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = fl.max_pool_forward_fast(x, pp)
    dout = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    xt = t(x)
    F.max_pool2d(xt, 2, 2).backward(torch.tensor(dout))
    np.testing.assert_array_equal(fl.max_pool_backward_fast(dout, cache), xt.grad.numpy())


def test_reshape_pool_rejects_non_dividing(fl):
    x = np.zeros((1, 1, 6, 6))
    with pytest.raises(ValueError, match="divide"):
        fl.max_pool_forward_reshape(x, {"pool_height": 4, "pool_width": 4, "stride": 4})


# ----------------------------------------------------------------------------------------
# Max pooling: the compiled pool_cython loops (what max_pool_*_fast use when built)
# ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pc():
    return course_module(A2, "cs231n.pool_cython")


POOL_CASES = [  # (N, C, H, W), (pool_height, pool_width), stride
    ((3, 4, 16, 16), (2, 2), 2),   # windows tile the input: one pass, no zeroing
    ((2, 2, 9, 12), (3, 3), 3),    # tiling, 3x3
    ((2, 3, 8, 13), (2, 3), 2),    # non-square pools, overlapping along the width
    ((2, 3, 9, 9), (3, 3), 2),     # overlapping windows: gradients add up
    ((2, 2, 7, 6), (2, 2), 1),
    ((2, 2, 9, 8), (1, 2), 2),     # gaps between windows: those entries get no gradient
    ((1, 2, 20, 18), (17, 17), 1),  # more than 256 entries per window: int32 positions
]
# float64 results match torch to rounding; float32 ones where windows overlap are sums of a
# few float32 gradients, whose order may differ from torch's
DTYPE_TOL = {np.float64: 1e-12, np.float32: 1e-6}


def _torch_pool(x, dout, pool, stride):
    """out and dx of torch.nn.functional.max_pool2d on x (autograd), in x's dtype."""
    xt = torch.tensor(x, requires_grad=True)
    ot = F.max_pool2d(xt, pool, stride)
    ot.backward(torch.tensor(dout))
    return ot.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,pool,stride", POOL_CASES)
def test_cython_max_pool_vs_torch(pc, rng, shape, pool, stride, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    out, arg = pc.max_pool_forward_cython(x, *pool, stride)
    assert out.dtype == dtype and arg.dtype == (np.uint8 if pool[0] * pool[1] <= 256 else np.int32)
    dout = rng.standard_normal(out.shape).astype(dtype)
    out_t, dx_t = _torch_pool(x, dout, pool, stride)
    np.testing.assert_array_equal(out, out_t)  # a maximum is one of the inputs: exact
    dx = pc.max_pool_backward_cython(dout, arg, *shape[2:], *pool, stride)
    assert dx.dtype == dtype and dx.shape == shape
    np.testing.assert_allclose(dx, dx_t, rtol=DTYPE_TOL[dtype], atol=DTYPE_TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,pool,stride", POOL_CASES[:6])
def test_cython_max_pool_ties_and_nans_like_torch(pc, rng, shape, pool, stride, dtype):
    """Values from {0, 1, 2} tie in most windows (the gradient goes to the first maximum in
    row-major order), and NaNs win over numbers (torch routes the gradient to the last NaN
    of a window)."""
    x = rng.integers(0, 3, size=shape).astype(dtype)
    with_nan = x.copy()
    with_nan[rng.random(shape) < 0.15] = np.nan
    for inputs in (x, with_nan):
        out, arg = pc.max_pool_forward_cython(inputs, *pool, stride)
        dout = rng.integers(1, 9, size=out.shape).astype(dtype)  # integer sums are exact
        out_t, dx_t = _torch_pool(inputs, dout, pool, stride)
        np.testing.assert_array_equal(out, out_t)  # NaN where torch has NaN
        np.testing.assert_array_equal(
            pc.max_pool_backward_cython(dout, arg, *shape[2:], *pool, stride), dx_t)
    assert np.isnan(out).any() and not np.isnan(out).all()


def test_cython_max_pool_all_equal_window_routes_to_its_first_entry(pc):
    x = np.zeros((1, 1, 4, 6))
    x[0, 0, :2, :3] = 1.0   # the first 2x3 window: six equal maxima
    x[0, 0, 2:, 3:] = -np.inf  # the last one: all -inf
    out, arg = pc.max_pool_forward_cython(x, 2, 3, 2)  # overlapping columns
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    out_t, dx_t = _torch_pool(x, dout, (2, 3), 2)
    np.testing.assert_array_equal(out, out_t)
    np.testing.assert_array_equal(pc.max_pool_backward_cython(dout, arg, 4, 6, 2, 3, 2), dx_t)
    assert arg[0, 0, 0, 0] == 0 and arg[0, 0, -1, -1] == 0


def test_cython_max_pool_rejects_mismatched_shapes(pc):
    x = np.zeros((1, 2, 8, 8))
    out, arg = pc.max_pool_forward_cython(x, 2, 2, 2)
    with pytest.raises(ValueError, match="window positions"):
        pc.max_pool_backward_cython(np.zeros((1, 2, 4, 3)), arg, 8, 8, 2, 2, 2)
    with pytest.raises(ValueError, match="not the output size"):
        pc.max_pool_backward_cython(np.zeros_like(out), arg, 10, 8, 2, 2, 2)
    with pytest.raises(ValueError, match="does not fit"):
        pc.max_pool_forward_cython(x, 9, 2, 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,pool,stride", POOL_CASES[:6])
def test_fast_max_pool_compiled_and_numpy_paths_agree(fl, fl_no_cython, rng, shape, pool,
                                                      stride, dtype):
    pp = {"pool_height": pool[0], "pool_width": pool[1], "stride": stride}
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < 0.3] = 0.5  # ties in many windows
    out, cache = fl.max_pool_forward_fast(x, pp)
    out_np, cache_np = fl_no_cython.max_pool_forward_fast(x, pp)
    assert cache[0] == "cython" and cache_np[0] in ("reshape", "im2col")
    np.testing.assert_array_equal(out, out_np)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dx_np = fl.max_pool_backward_fast(dout, cache), fl_no_cython.max_pool_backward_fast(dout, cache_np)
    assert dx.dtype == dx_np.dtype == dtype
    np.testing.assert_allclose(dx, dx_np, rtol=DTYPE_TOL[dtype], atol=DTYPE_TOL[dtype])


def test_fast_max_pool_dtypes_and_layouts(fl, rng):
    pp = {"pool_height": 2, "pool_width": 2, "stride": 2}
    x32 = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    out, cache = fl.max_pool_forward_fast(x32, pp)
    dout64 = rng.standard_normal(out.shape)
    # as the numpy paths: dx in the dtype of x and dout together
    assert fl.max_pool_backward_fast(dout64, cache).dtype == np.float64
    assert fl.max_pool_backward_fast(dout64.astype(np.float32), cache).dtype == np.float32
    # a non-contiguous input (a transposed view) and a non-contiguous dout
    xt = rng.standard_normal((8, 8, 3, 2)).transpose(3, 2, 0, 1)
    out, cache = fl.max_pool_forward_fast(xt, pp)
    dout = rng.standard_normal(out.shape[::-1]).T
    out_t, dx_t = _torch_pool(np.ascontiguousarray(xt), np.ascontiguousarray(dout), 2, 2)
    np.testing.assert_array_equal(out, out_t)
    np.testing.assert_array_equal(fl.max_pool_backward_fast(dout, cache), dx_t)
    # integers are not compiled for: the numpy path
    out, cache = fl.max_pool_forward_fast(np.arange(2 * 64).reshape(2, 1, 8, 8), pp)
    assert cache[0] == "reshape" and out.dtype == np.arange(1).dtype


def test_fast_conv_rejects_channel_mismatch(fl):
    with pytest.raises(ValueError, match="channels"):
        fl.conv_forward_fast(np.zeros((1, 3, 8, 8)), np.zeros((2, 2, 3, 3)), np.zeros(2),
                             {"stride": 1, "pad": 1})


def test_im2col_cython_matches_numpy_indices(rng):
    im2col = course_module(A2, "cs231n.im2col")
    cy = course_module(A2, "cs231n.im2col_cython")
    for shape, k, pad, stride in [((2, 3, 6, 6), 3, 1, 1), ((3, 2, 7, 7), 3, 0, 2)]:
        x = rng.standard_normal(shape)
        cols = cy.im2col_cython(x, k, k, pad, stride)
        np.testing.assert_array_equal(cols, im2col.im2col_indices(x, k, k, pad, stride))
        # col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>
        c = rng.standard_normal(cols.shape)
        back = cy.col2im_cython(c, *shape, k, k, pad, stride)
        np.testing.assert_allclose(back, im2col.col2im_indices(c, shape, k, k, pad, stride), rtol=1e-12)
        assert abs(np.sum(cols * c) - np.sum(x * back)) < 1e-9 * np.abs(cols * c).sum()


# ----------------------------------------------------------------------------------------
# Without the compiled extension (students on Windows/macOS often have no C compiler)
# ----------------------------------------------------------------------------------------

@pytest.fixture
def fl_no_cython(monkeypatch):
    """fast_layers imported afresh, under a private package name, with im2col_cython and
    pool_cython blocked (a None entry in sys.modules makes their import raise ImportError)."""
    import importlib
    import importlib.util
    import sys

    from dl4cv_tools.testing import activate

    folder = activate(A2) / "cs231n"
    alias = "_a2_fast_layers_without_cython"
    spec = importlib.util.spec_from_file_location(
        alias, folder / "__init__.py", submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, alias, package)
    spec.loader.exec_module(package)
    monkeypatch.setitem(sys.modules, f"{alias}.im2col_cython", None)
    monkeypatch.setitem(sys.modules, f"{alias}.pool_cython", None)
    yield importlib.import_module(f"{alias}.fast_layers")
    for name in [n for n in sys.modules if n.startswith(alias + ".")]:
        del sys.modules[name]


def test_fast_layers_import_without_the_extension(fl_no_cython):
    assert fl_no_cython.im2col_cython is None and fl_no_cython.col2im_cython is None
    assert fl_no_cython.max_pool_forward_cython is None
    assert fl_no_cython.max_pool_backward_cython is None
    for kind in ("conv_{}_im2col", "conv_{}_strides", "conv_{}_fast", "max_pool_{}_fast",
                 "max_pool_{}_reshape", "max_pool_{}_im2col"):
        for direction in ("forward", "backward"):
            assert callable(getattr(fl_no_cython, kind.format(direction))), kind


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("variant", ["fast", "strides"])
def test_numpy_conv_without_the_extension_vs_torch(fl_no_cython, rng, case, variant):
    N, C, H, W, Fn, K, stride, pad = case
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((Fn, C, K, K))
    b = rng.standard_normal(Fn)
    forward = getattr(fl_no_cython, f"conv_forward_{variant}")
    out, cache = forward(x, w, b, {"stride": stride, "pad": pad})
    xt, wt, bt = t(x), t(w), t(b)
    ot = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    dout = rng.standard_normal(ot.shape)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < TOL
    grads = getattr(fl_no_cython, f"conv_backward_{variant}")(dout, cache)
    for g, gt in zip(grads, (xt.grad, wt.grad, bt.grad)):
        assert g.shape == gt.shape
        assert rel_error(g, gt.numpy()) < TOL


@pytest.mark.parametrize("pool,stride,shape,path", [
    (2, 2, (3, 4, 16, 16), "reshape"),
    (3, 2, (2, 3, 9, 9), "im2col"),    # overlapping pools
    (2, 1, (2, 2, 7, 6), "im2col"),
])
def test_numpy_max_pool_without_the_extension_vs_torch(fl_no_cython, rng, pool, stride, shape,
                                                       path):
    pp = {"pool_height": pool, "pool_width": pool, "stride": stride}
    x = rng.standard_normal(shape)
    out, cache = fl_no_cython.max_pool_forward_fast(x, pp)
    assert cache[0] == path
    xt = t(x)
    ot = F.max_pool2d(xt, pool, stride)
    dout = rng.standard_normal(ot.shape)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < TOL
    assert rel_error(fl_no_cython.max_pool_backward_fast(dout, cache), xt.grad.numpy()) < TOL


def test_cython_conv_without_the_extension_names_the_fix(fl_no_cython, rng):
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)), np.zeros(4)
    cp = {"stride": 1, "pad": 1}
    with pytest.raises(ImportError, match=r"pip install -e \.") as forward_error:
        fl_no_cython.conv_forward_im2col(x, w, b, cp)
    cache = (x, w, b, cp, np.zeros((3 * 3 * 3, 2 * 8 * 8)))  # what conv_forward_im2col keeps
    with pytest.raises(ImportError, match="conv_forward_fast") as backward_error:
        fl_no_cython.conv_backward_im2col(np.ones((2, 4, 8, 8)), cache)
    for err in (forward_error, backward_error):
        assert "\n" not in str(err.value)
