"""Fast convolution and max pooling layers (given to students; no code to write here).

- conv_forward_im2col / conv_backward_im2col: im2col by the Cython loops, then one GEMM.
- conv_forward_strides / conv_backward_strides: im2col as an `as_strided` view (no loop).
- conv_forward_fast / conv_backward_fast: the fastest path for the arguments: for stride 1,
  the "shifted GEMM" formulation below (no im2col matrix at all), otherwise the strides one.
- max_pool_forward_fast / max_pool_backward_fast: a reshape for square, non-overlapping
  pools that tile the input, im2col otherwise.

All forward functions return (out, cache) and all backward functions take (dout, cache),
with the same shapes as the naive layers in layers.py.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

try:
    from .im2col_cython import (col2im_6d_cython, col2im_cython, im2col_cython,
                                maxpool_backward_cython)
except ImportError:  # not built yet: try to compile it on the fly, once
    try:
        import pyximport

        pyximport.install(setup_args={"include_dirs": np.get_include()}, language_level=3)
        from .im2col_cython import (col2im_6d_cython, col2im_cython, im2col_cython,
                                    maxpool_backward_cython)
    except Exception as exc:  # no Cython or no C compiler
        raise ImportError("the im2col_cython extension is not built: run `pip install -e .` "
                          f"at the repository root (needs a C compiler) [{exc}]") from None

from .im2col import col2im_indices, im2col_indices  # noqa: F401  (numpy reference versions)
from .layers import _conv_out_size, _pool_out_size


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
    x_cols = im2col_cython(np.ascontiguousarray(x), HH, WW, pad, stride)
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
    dw = (dout_r @ x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T @ dout_r
    dx = col2im_cython(dx_cols, N, C, H, W, HH, WW, pad, stride)
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
    dw = (dout_r @ x_cols.T).reshape(w.shape)
    dx_cols = (w.reshape(F, -1).T @ dout_r).reshape(C, HH, WW, N, Ho, Wo)
    dx = col2im_6d_cython(dx_cols, N, C, H, W, HH, WW, pad, stride)
    return dx, dw, db


# ----------------------------------------------------------------------------------------
# Convolution: shifted GEMMs (stride 1)
# ----------------------------------------------------------------------------------------
# Lay the zero-padded input out as a (C, L) matrix, L = N * Hp * Wp (channels first, then
# every pixel of every padded image in order). For stride 1, output pixel q (in the same
# flat padded coordinates) is sum over filter taps (ky, kx) of W[:, :, ky, kx] @ column
# q + ky * Wp + kx. So each tap is one GEMM with a contiguous block of columns, offset by
# ky * Wp + kx: a plain strided 2-D view that BLAS reads in place. Outputs at the right and
# bottom borders of each padded image are garbage and are cropped away; that wastes
# (Hp * Wp) / (Ho * Wo) - 1 of the work (13% for 32x32, pad 1), much less than the copies an
# im2col matrix costs (it is HH * WW times larger than the input).

def _shift_layout(x, pad, HH, WW):
    N, C, H, W = x.shape
    Hp, Wp = H + 2 * pad, W + 2 * pad
    # extra zero columns at the end so that the last tap's block stays inside the matrix
    tail = (HH - 1) * Wp + (WW - 1)
    xp = np.zeros((C, N * Hp * Wp + tail), dtype=x.dtype)
    xp[:, :N * Hp * Wp].reshape(C, N, Hp, Wp)[:, :, pad:pad + H, pad:pad + W] = \
        x.transpose(1, 0, 2, 3)
    return xp, Hp, Wp


def conv_forward_shift(x, w, b, conv_param):
    """Stride-1 convolution as HH * WW shifted GEMMs (see the comment above)."""
    stride, pad, Ho, Wo = _conv_checks(x, w, b, conv_param)
    if stride != 1:
        raise ValueError(f"conv_forward_shift needs stride 1, got {stride}")
    N = x.shape[0]
    F, C, HH, WW = w.shape
    xp, Hp, Wp = _shift_layout(x, pad, HH, WW)
    L = N * Hp * Wp
    dtype = np.result_type(x, w)
    wt = np.ascontiguousarray(w.transpose(2, 3, 0, 1))  # (HH, WW, F, C)
    acc = np.empty((F, L), dtype=dtype)
    tmp = np.empty((F, L), dtype=dtype)
    for ky in range(HH):
        for kx in range(WW):
            off = ky * Wp + kx
            if ky == 0 and kx == 0:
                np.matmul(wt[0, 0], xp[:, off:off + L], out=acc)
            else:
                np.matmul(wt[ky, kx], xp[:, off:off + L], out=tmp)
                acc += tmp
    out = acc.reshape(F, N, Hp, Wp)[:, :, :Ho, :Wo].transpose(1, 0, 2, 3)
    out = out + b.reshape(1, F, 1, 1)  # fresh (N, F, Ho, Wo) array, C order
    return out, (x.shape, xp, w, conv_param)


def conv_backward_shift(dout, cache):
    """Backward pass of conv_forward_shift: the same shifted blocks, transposed."""
    x_shape, xp, w, conv_param = cache
    pad = conv_param["pad"]
    N, C, H, W = x_shape
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    Hp, Wp = H + 2 * pad, W + 2 * pad
    L = N * Hp * Wp
    dtype = np.result_type(dout, w)
    db = dout.sum(axis=(0, 2, 3))
    # dout placed on the padded grid (zeros where the forward pass computed garbage)
    g = np.zeros((F, N, Hp, Wp), dtype=dtype)
    g[:, :, :Ho, :Wo] = dout.transpose(1, 0, 2, 3)
    g = g.reshape(F, L)
    gT = g.T  # (L, F) view; BLAS reads it transposed in place
    dw = np.empty((HH, WW, F, C), dtype=dtype)
    dxp = np.zeros((C, L + (HH - 1) * Wp + (WW - 1)), dtype=dtype)
    tmp = np.empty((C, L), dtype=dtype)
    for ky in range(HH):
        for kx in range(WW):
            off = ky * Wp + kx
            block = xp[:, off:off + L]
            np.matmul(block, gT, out=dw[ky, kx].T)  # (C, F) written into dw[ky, kx] (F, C)
            np.matmul(w[:, :, ky, kx].T, g, out=tmp)
            dxp[:, off:off + L] += tmp
    dx = dxp[:, :L].reshape(C, N, Hp, Wp)[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(dx), np.ascontiguousarray(dw.transpose(2, 3, 0, 1)), db


def conv_forward_fast(x, w, b, conv_param):
    """The fastest available convolution for these arguments. Returns out, cache."""
    if conv_param["stride"] == 1:
        out, cache = conv_forward_shift(x, w, b, conv_param)
        return out, ("shift", cache)
    out, cache = conv_forward_strides(x, w, b, conv_param)
    return out, ("strides", cache)


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast. Returns dx, dw, db."""
    kind, inner = cache
    if kind == "shift":
        return conv_backward_shift(dout, inner)
    return conv_backward_strides(dout, inner)


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
    """Max pooling of square, non-overlapping pools that tile the input, by one reshape.

    The window axes are moved last and flattened so that argmax sees each window as one
    contiguous row; the argmax (flat index into H * W) is kept for the backward pass.
    """
    N, C, H, W = x.shape
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    if not (ph == pw == s) or H % ph or W % pw:
        raise ValueError(f"max_pool_forward_reshape needs square pools equal to the stride that "
                         f"divide the input, got pool {ph}x{pw}, stride {s}, input {H}x{W}")
    Ho, Wo = H // ph, W // pw
    windows = x.reshape(N, C, Ho, ph, Wo, pw).transpose(0, 1, 2, 4, 3, 5).reshape(
        N, C, Ho, Wo, ph * pw)
    k = windows.argmax(axis=4)
    out = np.take_along_axis(windows, k[..., None], axis=4)[..., 0]
    # flat index of each maximum inside its image
    rows = np.arange(Ho).reshape(-1, 1) * ph + k // pw
    cols = np.arange(Wo) * pw + k % pw
    argmax = (rows * W + cols).astype(np.int64)
    return out, (x.shape, argmax)


def max_pool_backward_reshape(dout, cache):
    """Backward pass of max_pool_forward_reshape: each gradient goes to its window's max."""
    x_shape, argmax = cache
    N, C, H, W = x_shape
    dx = np.zeros((N, C, H * W), dtype=dout.dtype)
    # windows do not overlap, so every target index is distinct: plain assignment suffices
    np.put_along_axis(dx, argmax.reshape(N, C, -1), dout.reshape(N, C, -1), axis=2)
    return dx.reshape(x_shape)


def max_pool_forward_im2col(x, pool_param):
    """Max pooling of any (possibly overlapping) pools, through im2col of each channel."""
    Ho, Wo = _pool_out_size(np.shape(x), pool_param)
    N, C, H, W = x.shape
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    x_split = np.ascontiguousarray(x).reshape(N * C, 1, H, W)
    x_cols = im2col_cython(x_split, ph, pw, 0, s)  # (ph*pw, Ho*Wo*N*C)
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
    dx = col2im_cython(dx_cols, N * C, 1, H, W, ph, pw, 0, s)
    return dx.reshape(x.shape)
