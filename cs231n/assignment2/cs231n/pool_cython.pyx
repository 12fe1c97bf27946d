# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Max pooling loops compiled with Cython (built by `pip install -e .` at the repo root).

The forward pass keeps, for every output, where its maximum sits inside its window (the
index a * pool_width + b of window row a, column b) in a one-byte integer (four bytes for
windows of more than 256 entries), rather than its position in the input: the backward pass
then needs neither x nor an index array as large as torch's int64 one.

Ties go to the first maximum in row-major window order and a NaN wins over any number, as in
torch.nn.functional.max_pool2d (its CPU kernel takes a value when `val > max || isnan(val)`).
"""
import numpy as np

from cython cimport floating
from libc.stdint cimport int32_t, uint8_t
from libc.string cimport memset

ctypedef fused window_index:
    uint8_t
    int32_t


def _out_size(Py_ssize_t size, Py_ssize_t pool, Py_ssize_t stride):
    """Number of windows of `pool` entries, `stride` apart, inside `size` entries."""
    if pool < 1 or stride < 1 or pool > size:
        raise ValueError(f"max pool: a pool of {pool} with stride {stride} does not fit a size "
                         f"of {size}")
    return (size - pool) // stride + 1


cdef void _forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out,
                   window_index[:, :, :, ::1] arg, const Py_ssize_t[::1] offset,
                   Py_ssize_t stride) noexcept nogil:
    """Any pool: offset[k] is where window entry k lies from the window's first entry.

    No branch on the data (see _forward_2x2): each comparison updates the winner's index by
    an integer select, and the running maximum is reloaded through that index.
    """
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t K = offset.shape[0]
    cdef Py_ssize_t n, c, i, j, k, best
    cdef const floating *window
    cdef floating m, v
    cdef bint take
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = &x[n, c, i * stride, j * stride]
                    # the window's first entry rather than -inf to start from gives the same
                    # winner: a later entry replaces it only when strictly larger or NaN
                    best = 0
                    for k in range(1, K):
                        m = window[offset[best]]
                        v = window[offset[k]]
                        take = (v > m) | (v != v)  # `|`, not `or`: no branch
                        best = k if take else best
                    out[n, c, i, j] = window[offset[best]]
                    arg[n, c, i, j] = <window_index>best


cdef void _forward_2x2(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out,
                       window_index[:, :, :, ::1] arg) noexcept nogil:
    """_forward for the common 2x2 pool of stride 2, without a branch on the data: on random
    inputs a branch on which entry is larger is mispredicted about half the time, which made
    the straightforward loop several times slower. Each comparison gives an integer 0 or 1
    that indexes the winner, and the values are loaded by those indices (gcc turns a select
    between two doubles back into a branch; integer arithmetic it keeps as is).

    The window is a small tournament, left pair against right pair, which picks the same
    entry as the sequential scan: the later of two NaNs, else a NaN, else the first maximum.
    """
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t W = x.shape[3]
    cdef Py_ssize_t n, c, i, j, top_col, bottom_col, lower
    cdef const floating *top
    cdef floating *o
    cdef window_index *g
    cdef floating m_top, m_bottom, v
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                top = &x[n, c, 2 * i, 0]  # the window's bottom row starts W entries later
                o = &out[n, c, i, 0]
                g = &arg[n, c, i, 0]
                for j in range(Wo):
                    # each row's winner: the right entry if larger, or NaN (`|`, not `or`,
                    # which would be compiled as a branch)
                    v = top[2 * j + 1]
                    top_col = (v > top[2 * j]) | (v != v)
                    v = top[W + 2 * j + 1]
                    bottom_col = (v > top[W + 2 * j]) | (v != v)
                    m_top = top[2 * j + top_col]
                    m_bottom = top[W + 2 * j + bottom_col]
                    lower = (m_bottom > m_top) | (m_bottom != m_bottom)
                    # the winner's column: bottom_col if lower else top_col
                    top_col += lower * (bottom_col - top_col)
                    o[j] = top[lower * W + 2 * j + top_col]
                    g[j] = <window_index>(2 * lower + top_col)


cdef void _backward_tiled(const floating[:, :, :, ::1] dout,
                          const window_index[:, :, :, ::1] arg, floating[:, :, :, ::1] dx,
                          const Py_ssize_t[::1] offset, Py_ssize_t ph,
                          Py_ssize_t pw) noexcept nogil:
    """Windows of ph x pw, stride ph along rows and pw along columns, that cover dx exactly.

    dx is not zeroed beforehand: the ph rows of each row of windows are zeroed just before
    their gradients are stored, so every line of dx goes to memory once. The gradient is
    stored at its offset rather than a zero-or-gradient choice made for every entry, which
    would be a branch on the data (see _forward_2x2).
    """
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], Ho = dout.shape[2], Wo = dout.shape[3]
    cdef Py_ssize_t W = dx.shape[3]
    cdef Py_ssize_t n, c, i, j
    cdef floating *band
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                band = &dx[n, c, i * ph, 0]  # rows i * ph ... i * ph + ph - 1, contiguous
                memset(band, 0, ph * W * sizeof(floating))  # all-zero bytes are +0.0
                for j in range(Wo):
                    band[j * pw + offset[arg[n, c, i, j]]] = dout[n, c, i, j]


cdef void _backward_scatter(const floating[:, :, :, ::1] dout,
                            const window_index[:, :, :, ::1] arg, floating[:, :, :, ::1] dx,
                            const Py_ssize_t[::1] offset, Py_ssize_t stride) noexcept nogil:
    """Any windows, dx zeroed by the caller: each gradient is added at its window's maximum,
    so an entry that is the maximum of several overlapping windows receives their sum."""
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], Ho = dout.shape[2], Wo = dout.shape[3]
    cdef Py_ssize_t n, c, i, j
    cdef floating *window
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = &dx[n, c, i * stride, j * stride]
                    window[offset[arg[n, c, i, j]]] += dout[n, c, i, j]


def _offsets(Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t W):
    """offset[a * pw + b] = a * W + b: where entry (a, b) of a window lies, in elements, from
    the window's first entry in an (H, W) plane (a table rather than a division by pw)."""
    return (np.arange(ph, dtype=np.intp)[:, None] * W + np.arange(pw, dtype=np.intp)).ravel()


def max_pool_forward_cython(const floating[:, :, :, ::1] x, int pool_height, int pool_width,
                            int stride):
    """x: (N, C, H, W), C-contiguous float32 or float64.

    Returns out: (N, C, Ho, Wo) of x's dtype, and arg: (N, C, Ho, Wo), the position
    a * pool_width + b of each maximum inside its window (uint8 when a window has at most 256
    entries, int32 otherwise), where Ho = (H - pool_height) // stride + 1 and Wo likewise.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    Ho, Wo = _out_size(H, pool_height, stride), _out_size(W, pool_width, stride)
    out_arr = np.empty((N, C, Ho, Wo), dtype=np.float32 if floating is float else np.float64)
    small = pool_height * pool_width <= 256
    arg_arr = np.empty((N, C, Ho, Wo), dtype=np.uint8 if small else np.int32)
    cdef floating[:, :, :, ::1] out = out_arr
    cdef const Py_ssize_t[::1] offset = _offsets(pool_height, pool_width, W)
    cdef uint8_t[:, :, :, ::1] arg8
    cdef int32_t[:, :, :, ::1] arg32
    if small:
        arg8 = arg_arr
        with nogil:
            if pool_height == 2 and pool_width == 2 and stride == 2:
                _forward_2x2(x, out, arg8)
            else:
                _forward(x, out, arg8, offset, stride)
    else:
        arg32 = arg_arr
        with nogil:
            _forward(x, out, arg32, offset, stride)
    return out_arr, arg_arr


def max_pool_backward_cython(const floating[:, :, :, ::1] dout, arg, int H, int W,
                             int pool_height, int pool_width, int stride):
    """dout: (N, C, Ho, Wo), C-contiguous float32 or float64; arg: the window positions that
    max_pool_forward_cython returned for an (N, C, H, W) input.

    Returns dx: (N, C, H, W) of dout's dtype: each gradient routed to its window's maximum,
    summed where windows overlap.
    """
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], Ho = dout.shape[2], Wo = dout.shape[3]
    arg = np.ascontiguousarray(arg)
    if arg.shape != (N, C, Ho, Wo):
        raise ValueError(f"max pool backward: dout has shape {(N, C, Ho, Wo)} but the window "
                         f"positions {arg.shape}")
    if (_out_size(H, pool_height, stride), _out_size(W, pool_width, stride)) != (Ho, Wo):
        raise ValueError(f"max pool backward: {Ho}x{Wo} is not the output size of a {H}x{W} "
                         f"input pooled {pool_height}x{pool_width} with stride {stride}")
    # the loops below trust every position to lie inside its window (no bounds checks)
    if arg.size and (arg.min() < 0 or arg.max() >= pool_height * pool_width):
        raise ValueError(f"max pool backward: window positions outside 0..{pool_height * pool_width - 1}")
    dtype = np.float32 if floating is float else np.float64
    cdef bint tiled = (pool_height == stride and pool_width == stride
                       and Ho * stride == H and Wo * stride == W)
    dx_arr = np.empty((N, C, H, W), dtype=dtype) if tiled else np.zeros((N, C, H, W), dtype=dtype)
    cdef floating[:, :, :, ::1] dx = dx_arr
    cdef const Py_ssize_t[::1] offset = _offsets(pool_height, pool_width, W)
    cdef const uint8_t[:, :, :, ::1] arg8
    cdef const int32_t[:, :, :, ::1] arg32
    if arg.dtype == np.uint8:
        arg8 = arg
        with nogil:
            if tiled:
                _backward_tiled(dout, arg8, dx, offset, pool_height, pool_width)
            else:
                _backward_scatter(dout, arg8, dx, offset, stride)
    elif arg.dtype == np.int32:
        arg32 = arg
        with nogil:
            if tiled:
                _backward_tiled(dout, arg32, dx, offset, pool_height, pool_width)
            else:
                _backward_scatter(dout, arg32, dx, offset, stride)
    else:
        raise TypeError(f"max pool backward: window positions must be uint8 or int32, "
                        f"got {arg.dtype}")
    return dx_arr
