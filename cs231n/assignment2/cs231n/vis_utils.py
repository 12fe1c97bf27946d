"""Tile many small images (e.g. first-layer filters) into one image for display."""
from builtins import range
from math import ceil, sqrt

import numpy as np

from dl4cv.images import visualize_grid  # noqa: F401  (shared with assignment 1)


def vis_grid(Xs):
    """Tile images without rescaling: Xs: (N, H, W, C), one pixel of padding (set to the
    maximum) between them. Returns the grid normalized to [0, 1]."""
    Xs = np.asarray(Xs)
    N, H, W, C = Xs.shape
    A = int(ceil(sqrt(N)))
    G = np.ones((A * H + A, A * W + A, C), Xs.dtype) * np.max(Xs)
    for n in range(N):
        y, x = divmod(n, A)
        G[y * H + y:(y + 1) * H + y, x * W + x:(x + 1) * W + x, :] = Xs[n]
    low, high = np.min(G), np.max(G)
    return (G - low) / max(high - low, 1e-12)


def vis_nn(rows):
    """Tile a list of rows (lists of (H, W, C) images) into one image, normalized to [0, 1]."""
    N, D = len(rows), len(rows[0])
    H, W, C = rows[0][0].shape
    Xs = rows[0][0]
    G = np.ones((N * H + N, D * W + D, C), Xs.dtype)
    for y in range(N):
        for x in range(D):
            G[y * H + y:(y + 1) * H + y, x * W + x:(x + 1) * W + x, :] = rows[y][x]
    low, high = np.min(G), np.max(G)
    return (G - low) / max(high - low, 1e-12)
