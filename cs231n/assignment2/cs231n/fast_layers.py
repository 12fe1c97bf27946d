"""Fast convolution and max pooling layers (given to students; no code to write here).

- conv_forward_im2col / conv_backward_im2col: im2col by the Cython loops, then one GEMM.
- conv_forward_strides / conv_backward_strides: im2col as an `as_strided` view (no loop).
- conv_forward_fast / conv_backward_fast: the strides version (the faster of the two).
- max_pool_forward_fast / max_pool_backward_fast: a reshape for square, non-overlapping
  pools that tile the input, im2col otherwise.

Only the first pair needs the compiled `im2col_cython` extension (built by `pip install -e .`);
everything else is numpy, so the module imports without a C compiler.

All forward functions return (out, cache) and all backward functions take (dout, cache),
with the same shapes as the naive layers in layers.py.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

try:  # optional: only the two *_im2col conv functions use it (see _cython_im2col)
    from .im2col_cython import col2im_cython, im2col_cython
except ImportError:
    col2im_cython = im2col_cython = None

from .im2col import col2im_indices, im2col_indices  # noqa: F401  (numpy reference versions)
from .layers import _conv_out_size, _pool_out_size


def _cython_im2col():
    """-> (im2col_cython, col2im_cython); compiles the .pyx on the fly (pyximport) if it was
    not built, and raises one line naming the fix when that is impossible (no C compiler)."""
    global im2col_cython, col2im_cython
    if im2col_cython is None:
        try:
            import pyximport

            importers = pyximport.install(setup_args={"include_dirs": np.get_include()},
                                          language_level=3)
            try:
                from .im2col_cython import col2im_cython, im2col_cython
            finally:  # no lasting import hook in the caller's process
                pyximport.uninstall(*importers)
        except Exception:  # no Cython, no C compiler, or the import is blocked
            raise ImportError("conv_forward_im2col/conv_backward_im2col need the compiled "
                              "im2col_cython extension: run `pip install -e .` at the repository "
                              "root (needs a C compiler), or use conv_forward_fast") from None
    return im2col_cython, col2im_cython


def _inside(k, pad, stride, size, n_out):
    """Output positions o in [o0, o1) whose input o*stride + k - pad lies in [0, size), and the
    first such input index: a filter offset k near the border only meets the padding for
    some positions, which are skipped rather than summed into a padded copy."""
    o0 = max(0, -((k - pad) // stride))  # ceil((pad - k) / stride)
    o1 = min(n_out, (size - 1 + pad - k) // stride + 1)
    return o0, o1, o0 * stride + k - pad


def _col2im_6d(cols, N, C, H, W, HH, WW, pad, stride):
    """Adjoint of the as_strided im2col: cols: (C, HH, WW, N, Ho, Wo) -> dx: (N, C, H, W).

    One strided slice-add per filter position (HH * WW numpy calls, each over all of N, C, Ho,
    Wo), straight into dx: about as fast as the compiled loop. Overlapping windows (stride <
    filter) sum correctly because the positions are added one after another.
    """
    Ho, Wo = cols.shape[4], cols.shape[5]
    dx = np.zeros((N, C, H, W), dtype=cols.dtype)
    for i in range(HH):
        y0, y1, r = _inside(i, pad, stride, H, Ho)
        for j in range(WW):
            x0, x1, c = _inside(j, pad, stride, W, Wo)
            if y1 <= y0 or x1 <= x0:
                continue  # this filter offset only ever sees padding
            ys = slice(r, r + (y1 - y0 - 1) * stride + 1, stride)
            xs = slice(c, c + (x1 - x0 - 1) * stride + 1, stride)
            dx[:, :, ys, xs] += cols[:, i, j, :, y0:y1, x0:x1].transpose(1, 0, 2, 3)
    return dx


def _conv_checks(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    Ho, Wo = _conv_out_size(np.shape(x), np.shape(w), stride, pad)
    if np.shape(b) != (w.shape[0],):
        raise ValueError(f"conv: b must have shape ({w.shape[0]},), got {np.shape(b)}")
    return stride, pad, Ho, Wo


# ----------------------------------------------------------------------------------------
# Convolution: im2col (Cython)
# ----------------------------------------------------------------------------------------

def conv_forward_im2col(x, w, b, conv_param):
    """Convolution through the Cython im2col and one matrix product."""
    stride, pad, Ho, Wo = _conv_checks(x, w, b, conv_param)
    N = x.shape[0]
    F, C, HH, WW = w.shape
    to_cols, _ = _cython_im2col()
    x_cols = to_cols(np.ascontiguousarray(x), HH, WW, pad, stride)
    res = w.reshape(F, -1) @ x_cols + b.reshape(-1, 1)  # (F, Ho*Wo*N)
    out = res.reshape(F, Ho, Wo, N).transpose(3, 0, 1, 2)
    return np.ascontiguousarray(out), (x, w, b, conv_param, x_cols)


def conv_backward_im2col(dout, cache):
    """Backward pass of conv_forward_im2col."""
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    db = dout.sum(axis=(0, 2, 3))
    dout_r = dout.transpose(1, 2, 3, 0).reshape(F, -1)  # columns ordered (Ho, Wo, N)
    # (x_cols @ dout_r.T).T, not dout_r @ x_cols.T: the same product, but OpenBLAS is about
    # twice as fast when the long (N*Ho*Wo) dimension is the rows of a contiguous operand
    dw = (x_cols @ dout_r.T).T.reshape(w.shape)
    dx_cols = w.reshape(F, -1).T @ dout_r
    _, from_cols = _cython_im2col()
    dx = from_cols(dx_cols, N, C, H, W, HH, WW, pad, stride)
    return dx, dw, db


# ----------------------------------------------------------------------------------------
# Convolution: as_strided im2col
# ----------------------------------------------------------------------------------------

def conv_forward_strides(x, w, b, conv_param):
    """Convolution whose im2col matrix is an as_strided view of the padded input."""
    stride, pad, Ho, Wo = _conv_checks(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    p = pad
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant")
    Hp, Wp = H + 2 * p, W + 2 * p
    # view of shape (C, HH, WW, N, Ho, Wo): every receptive field, no copy yet
    shape = (C, HH, WW, N, Ho, Wo)
    it = x_padded.itemsize
    strides = it * np.array((Hp * Wp, Wp, 1, C * Hp * Wp, stride * Wp, stride))
    x_stride = as_strided(x_padded, shape=shape, strides=tuple(int(s) for s in strides))
    x_cols = np.ascontiguousarray(x_stride).reshape(C * HH * WW, N * Ho * Wo)
    res = w.reshape(F, -1) @ x_cols + b.reshape(-1, 1)  # (F, N*Ho*Wo)
    out = np.ascontiguousarray(res.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3))
    return out, (x, w, b, conv_param, x_cols)


def conv_backward_strides(dout, cache):
    """Backward pass of conv_forward_strides."""
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    db = dout.sum(axis=(0, 2, 3))
    dout_r = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # columns ordered (N, Ho, Wo)
    # (x_cols @ dout_r.T).T, not dout_r @ x_cols.T: the same product, but OpenBLAS is about
    # twice as fast when the long (N*Ho*Wo) dimension is the rows of a contiguous operand
    dw = (x_cols @ dout_r.T).T.reshape(w.shape)
    dx_cols = (w.reshape(F, -1).T @ dout_r).reshape(C, HH, WW, N, Ho, Wo)
    dx = _col2im_6d(dx_cols, N, C, H, W, HH, WW, pad, stride)
    return dx, dw, db


def conv_forward_fast(x, w, b, conv_param):
    """The fastest available convolution for these arguments. Returns out, cache."""
    return conv_forward_strides(x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast. Returns dx, dw, db."""
    return conv_backward_strides(dout, cache)


# ----------------------------------------------------------------------------------------
# Max pooling
# ----------------------------------------------------------------------------------------

def max_pool_forward_fast(x, pool_param):
    """Max pooling: the reshape path when the pools are square, do not overlap and tile the
    input; the im2col path otherwise. Returns out, cache."""
    _pool_out_size(np.shape(x), pool_param)
    N, C, H, W = x.shape
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    if ph == pw == s and H % ph == 0 and W % pw == 0:
        out, cache = max_pool_forward_reshape(x, pool_param)
        return out, ("reshape", cache)
    out, cache = max_pool_forward_im2col(x, pool_param)
    return out, ("im2col", cache)


def max_pool_backward_fast(dout, cache):
    """Backward pass of max_pool_forward_fast. Returns dx."""
    kind, inner = cache
    if kind == "reshape":
        return max_pool_backward_reshape(dout, inner)
    return max_pool_backward_im2col(dout, inner)


def max_pool_forward_reshape(x, pool_param):
    """Max pooling of square, non-overlapping pools that tile the input.

    x reshaped to (N, C, Ho, ph, Wo, pw) holds every window; instead of reducing over the two
    strided window axes, the ph * pw strided slices x[:, :, a::ph, b::pw] (each (N, C, Ho, Wo),
    one per position inside the window) are combined with elementwise maxima, which reads x
    once.
    """
    N, C, H, W = x.shape
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    if not (ph == pw == s) or H % ph or W % pw:
        raise ValueError(f"max_pool_forward_reshape needs square pools equal to the stride that "
                         f"divide the input, got pool {ph}x{pw}, stride {s}, input {H}x{W}")
    out = x[:, :, 0::ph, 0::pw].copy()
    for a in range(ph):
        for b in range(pw):
            if a or b:
                np.maximum(out, x[:, :, a::ph, b::pw], out=out)
    return out, (x, out, pool_param)


def max_pool_backward_reshape(dout, cache):
    """Backward pass of max_pool_forward_reshape: each gradient goes to its window's maximum
    (the first one in row-major order when several entries tie, as torch does)."""
    x, out, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    dx = np.empty(x.shape, dtype=np.result_type(x, dout))  # every entry written below
    free = np.ones(out.shape, dtype=bool)  # windows whose gradient is not yet routed
    hit = np.empty(out.shape, dtype=bool)
    for a in range(ph):
        for b in range(pw):
            # In-place boolean masks: no float temporaries, so each pass reads x once.
            np.equal(x[:, :, a::ph, b::pw], out, out=hit)
            hit &= free
            np.multiply(dout, hit, out=dx[:, :, a::ph, b::pw])
            free &= ~hit
    return dx


def max_pool_forward_im2col(x, pool_param):
    """Max pooling of any (possibly overlapping) pools, through im2col of each channel."""
    Ho, Wo = _pool_out_size(np.shape(x), pool_param)
    N, C, H, W = x.shape
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    x_split = np.ascontiguousarray(x).reshape(N * C, 1, H, W)
    x_cols = im2col_indices(x_split, ph, pw, 0, s)  # (ph*pw, Ho*Wo*N*C), numpy
    k = x_cols.argmax(axis=0)
    out = x_cols[k, np.arange(x_cols.shape[1])].reshape(Ho, Wo, N, C).transpose(2, 3, 0, 1)
    return np.ascontiguousarray(out), (x, x_cols, k, pool_param)


def max_pool_backward_im2col(dout, cache):
    """Backward pass of max_pool_forward_im2col."""
    x, x_cols, k, pool_param = cache
    N, C, H, W = x.shape
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx_cols = np.zeros_like(x_cols, dtype=dout.dtype)
    dx_cols[k, np.arange(dx_cols.shape[1])] = dout.transpose(2, 3, 0, 1).ravel()
    # columns are ordered (Ho, Wo, N*C): view them as the (1, ph, pw, N*C, Ho, Wo) layout of
    # _col2im_6d, whose slice-adds are much faster than col2im_indices' np.add.at
    Ho, Wo = dout.shape[2:]
    cols6 = dx_cols.reshape(1, ph, pw, Ho, Wo, N * C).transpose(0, 1, 2, 5, 3, 4)
    dx = _col2im_6d(cols6, N * C, 1, H, W, ph, pw, 0, s)
    return dx.reshape(x.shape)
