"""Fast convolution and max pooling layers (given to students; no code to write here).

- conv_forward_im2col / conv_backward_im2col: im2col by the Cython loops, then one GEMM.
- conv_forward_strides / conv_backward_strides: im2col as an `as_strided` view (no loop),
  a few examples at a time.
- conv_forward_fast / conv_backward_fast: the strides version (the faster of the two).
- max_pool_forward_fast / max_pool_backward_fast: the compiled loops of `pool_cython` for
  float32/float64 when that extension is built; otherwise a reshape for square,
  non-overlapping pools that tile the input, im2col otherwise.

Only the first pair needs the compiled `im2col_cython` extension (built by `pip install -e .`),
and the max pool only runs faster with `pool_cython`; everything else is numpy, so the module
imports without a C compiler.

All forward functions return (out, cache) and all backward functions take (dout, cache),
with the same shapes as the naive layers in layers.py.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

try:  # optional: only the two *_im2col conv functions use it (see _cython_im2col)
    from .im2col_cython import col2im_cython, im2col_cython
except ImportError:
    col2im_cython = im2col_cython = None

try:  # optional: max_pool_*_fast use it when built, the numpy paths below otherwise
    from .pool_cython import max_pool_backward_cython, max_pool_forward_cython
except ImportError:
    max_pool_backward_cython = max_pool_forward_cython = None

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


def _im2col_examples(x, HH, WW, pad, stride, Ho, Wo):
    """x: (N, C, H, W) -> cols: (N, C * HH * WW, Ho * Wo), one column matrix per example with
    rows ordered (c, ii, jj): an as_strided view of the padded input holds every receptive
    field, and one copy lays them out for the matrix products. Per example, so that
    w_rows @ cols[n] is already output n in its (F, Ho * Wo) layout: no transposed copy of
    the output or of dout is needed."""
    N, C, H, W = x.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    Hp, Wp = H + 2 * pad, W + 2 * pad
    it = x_padded.itemsize
    strides = (C * Hp * Wp, Hp * Wp, Wp, 1, stride * Wp, stride)
    view = as_strided(x_padded, shape=(N, C, HH, WW, Ho, Wo), strides=tuple(it * s for s in strides))
    return np.ascontiguousarray(view).reshape(N, C * HH * WW, Ho * Wo)


def _col2im_add(cols, dx, pad, stride):
    """Add the columns cols: (N, C, HH, WW, Ho, Wo) (any strides, e.g. a transposed view) back
    into the input positions they were read from, dx: (N, C, H, W), in place.

    One strided slice-add per filter position (HH * WW numpy calls, each over all of N, C, Ho,
    Wo): about as fast as a compiled loop. Overlapping windows (stride < filter) sum correctly
    because the positions are added one after another.
    """
    H, W = dx.shape[2:]
    HH, WW, Ho, Wo = cols.shape[2:]
    for i in range(HH):
        y0, y1, r = _inside(i, pad, stride, H, Ho)
        for j in range(WW):
            x0, x1, c = _inside(j, pad, stride, W, Wo)
            if y1 <= y0 or x1 <= x0:
                continue  # this filter offset only ever sees padding
            ys = slice(r, r + (y1 - y0 - 1) * stride + 1, stride)
            xs = slice(c, c + (x1 - x0 - 1) * stride + 1, stride)
            dx[:, :, ys, xs] += cols[:, :, i, j, y0:y1, x0:x1]
    return dx


# Column matrices are built a few examples at a time, each at most about this many bytes: large
# enough for an efficient matrix product, small enough to stay in the L3 cache and to be reused
# by the allocator. A whole batch's matrix (150 MB for 64 examples of 64 channels at 32x32 in
# float32) is mapped fresh on every call, and its page faults cost as much as copying it.
_CHUNK_BYTES = 4 << 20


def _example_chunks(N, bytes_per_example):
    """Slices of the batch axis, each holding at most _CHUNK_BYTES of column matrix."""
    n = max(1, min(N, _CHUNK_BYTES // max(1, bytes_per_example)))
    return [slice(n0, min(N, n0 + n)) for n0 in range(0, N, n)]


def _col2im_6d(cols, N, C, H, W, HH, WW, pad, stride):
    """Adjoint of an im2col laid out (C, HH, WW, N, Ho, Wo): cols -> dx: (N, C, H, W)."""
    dx = np.zeros((N, C, H, W), dtype=cols.dtype)
    return _col2im_add(cols.transpose(3, 0, 1, 2, 4, 5), dx, pad, stride)


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
    """Convolution whose im2col matrices are an as_strided view of the padded input, copied
    out and multiplied a few examples at a time (see _example_chunks)."""
    stride, pad, Ho, Wo = _conv_checks(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    w_rows = w.reshape(F, -1)
    out = np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w, b))
    out_rows = out.reshape(N, F, Ho * Wo)
    chunks = _example_chunks(N, C * HH * WW * Ho * Wo * x.itemsize)
    for n in chunks:
        x_cols = _im2col_examples(x[n], HH, WW, pad, stride, Ho, Wo)  # (n, C*HH*WW, Ho*Wo)
        np.matmul(w_rows, x_cols, out=out_rows[n])
        # freed before the next chunk's is allocated, so that the allocator hands the same
        # memory back: with two chunks' matrices alive at once it returns memory to the system
        # and maps it afresh, and those page faults made the loop several times slower
        del x_cols
    out_rows += b.reshape(F, 1)
    return out, (x, w, b, conv_param, chunks)


def conv_backward_strides(dout, cache):
    """Backward pass of conv_forward_strides, chunk by chunk: the column matrices of each
    chunk are rebuilt (cheaper than keeping all of them, which for a large batch fit in no
    cache), then give dw by one product and dx by another and col2im."""
    x, w, b, conv_param, chunks = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    db = dout.sum(axis=(0, 2, 3))
    w_rows = w.reshape(F, -1)
    dtype = np.result_type(x, w, dout)
    dout_rows = dout.reshape(N, F, Ho * Wo)
    dw = np.zeros((F, C * HH * WW), dtype=dtype)
    dx = np.zeros((N, C, H, W), dtype=dtype)
    for n in chunks:
        x_cols = _im2col_examples(x[n], HH, WW, pad, stride, Ho, Wo)
        dw += np.matmul(dout_rows[n], x_cols.transpose(0, 2, 1)).sum(axis=0)
        dx_cols = np.matmul(w_rows.T, dout_rows[n])  # (n, C*HH*WW, Ho*Wo)
        _col2im_add(dx_cols.reshape(-1, C, HH, WW, Ho, Wo), dx[n], pad, stride)
        del x_cols, dx_cols  # see conv_forward_strides
    return dx, dw.reshape(w.shape), db


def conv_forward_fast(x, w, b, conv_param):
    """The fastest available convolution for these arguments. Returns out, cache."""
    return conv_forward_strides(x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast. Returns dx, dw, db."""
    return conv_backward_strides(dout, cache)


# ----------------------------------------------------------------------------------------
# Max pooling
# ----------------------------------------------------------------------------------------

_POOL_DTYPES = (np.float32, np.float64)  # the dtypes pool_cython is compiled for


def max_pool_forward_fast(x, pool_param):
    """Max pooling of x: (N, C, H, W) -> out: (N, C, Ho, Wo), by the compiled loops when
    pool_cython is built and x is float32 or float64; else by the reshape path when the pools
    are square, do not overlap and tile the input, and the im2col path otherwise.
    Returns out, cache."""
    _pool_out_size(np.shape(x), pool_param)
    N, C, H, W = x.shape
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    if max_pool_forward_cython is not None and x.dtype in _POOL_DTYPES:
        out, arg = max_pool_forward_cython(np.ascontiguousarray(x), ph, pw, s)
        return out, ("cython", (x.shape, x.dtype, arg, pool_param))
    if ph == pw == s and H % ph == 0 and W % pw == 0:
        out, cache = max_pool_forward_reshape(x, pool_param)
        return out, ("reshape", cache)
    out, cache = max_pool_forward_im2col(x, pool_param)
    return out, ("im2col", cache)


def max_pool_backward_fast(dout, cache):
    """Backward pass of max_pool_forward_fast: dout: (N, C, Ho, Wo) -> dx: (N, C, H, W).
    Returns dx."""
    kind, inner = cache
    if kind == "cython":
        x_shape, x_dtype, arg, pool_param = inner
        # dx in the dtype numpy's paths give it (np.result_type), dout converted to it
        dout = np.ascontiguousarray(dout, dtype=np.result_type(x_dtype, dout))
        if dout.dtype in _POOL_DTYPES:
            return max_pool_backward_cython(dout, arg, x_shape[2], x_shape[3],
                                            pool_param["pool_height"], pool_param["pool_width"],
                                            pool_param["stride"])
        raise TypeError(f"max_pool_backward_fast: dout of dtype {dout.dtype} for a "
                        f"{np.dtype(x_dtype)} input")
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
