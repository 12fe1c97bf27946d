# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""im2col / col2im loops compiled with Cython (built by `pip install -e .` at the repo root).

Layout shared with im2col.py: a column matrix has one row per (channel, filter row, filter
column) and one column per (output row, output column, example), i.e. shape
(C * HH * WW, Ho * Wo * N).
"""
import numpy as np

cimport numpy as cnp
from cython cimport floating

cnp.import_array()


def im2col_cython(floating[:, :, :, ::1] x, int field_height, int field_width, int padding,
                  int stride):
    """x: (N, C, H, W) -> cols: (C * field_height * field_width, Ho * Wo * N)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t HH = (H + 2 * padding - field_height) // stride + 1
    cdef Py_ssize_t WW = (W + 2 * padding - field_width) // stride + 1
    dtype = np.float32 if floating is float else np.float64
    cols_arr = np.zeros((C * field_height * field_width, N * HH * WW), dtype=dtype)
    cdef floating[:, ::1] cols = cols_arr
    cdef Py_ssize_t c, ii, jj, yy, xx, i, row, col, r, s
    with nogil:
        for c in range(C):
            for ii in range(field_height):
                for jj in range(field_width):
                    row = (c * field_height + ii) * field_width + jj
                    for yy in range(HH):
                        r = yy * stride + ii - padding
                        if r < 0 or r >= H:
                            continue
                        for xx in range(WW):
                            s = xx * stride + jj - padding
                            if s < 0 or s >= W:
                                continue
                            col = (yy * WW + xx) * N
                            for i in range(N):
                                cols[row, col + i] = x[i, c, r, s]
    return cols_arr


def col2im_cython(floating[:, ::1] cols, int N, int C, int H, int W, int field_height,
                  int field_width, int padding, int stride):
    """Adjoint of im2col_cython: sums each column entry back into its input position.

    cols: (C * field_height * field_width, Ho * Wo * N) -> (N, C, H, W).
    """
    cdef Py_ssize_t HH = (H + 2 * padding - field_height) // stride + 1
    cdef Py_ssize_t WW = (W + 2 * padding - field_width) // stride + 1
    dtype = np.float32 if floating is float else np.float64
    x_arr = np.zeros((N, C, H, W), dtype=dtype)
    cdef floating[:, :, :, ::1] x = x_arr
    cdef Py_ssize_t c, ii, jj, yy, xx, i, row, col, r, s
    with nogil:
        for c in range(C):
            for ii in range(field_height):
                for jj in range(field_width):
                    row = (c * field_height + ii) * field_width + jj
                    for yy in range(HH):
                        r = yy * stride + ii - padding
                        if r < 0 or r >= H:
                            continue
                        for xx in range(WW):
                            s = xx * stride + jj - padding
                            if s < 0 or s >= W:
                                continue
                            col = (yy * WW + xx) * N
                            for i in range(N):
                                x[i, c, r, s] += cols[row, col + i]
    return x_arr


def col2im_6d_cython(floating[:, :, :, :, :, ::1] cols, int N, int C, int H, int W, int HH,
                     int WW, int pad, int stride):
    """Adjoint of the as_strided im2col: cols: (C, HH, WW, N, Ho, Wo) -> dx: (N, C, H, W)."""
    cdef Py_ssize_t out_h = (H + 2 * pad - HH) // stride + 1
    cdef Py_ssize_t out_w = (W + 2 * pad - WW) // stride + 1
    dtype = np.float32 if floating is float else np.float64
    x_arr = np.zeros((N, C, H, W), dtype=dtype)
    cdef floating[:, :, :, ::1] x = x_arr
    cdef Py_ssize_t c, ii, jj, i, yy, xx, r, s
    with nogil:
        for i in range(N):
            for c in range(C):
                for ii in range(HH):
                    for jj in range(WW):
                        for yy in range(out_h):
                            r = yy * stride + ii - pad
                            if r < 0 or r >= H:
                                continue
                            for xx in range(out_w):
                                s = xx * stride + jj - pad
                                if s < 0 or s >= W:
                                    continue
                                x[i, c, r, s] += cols[c, ii, jj, i, yy, xx]
    return x_arr

