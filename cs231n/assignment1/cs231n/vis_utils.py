"""Tile many small images into one picture (CS231n); visualize_grid is shared with assignment 2
through dl4cv. vis_grid and vis_nn are the course's two other tiling helpers."""
from math import ceil, sqrt

import numpy as np

from dl4cv.images import visualize_grid  # noqa: F401


def vis_grid(Xs):
    """Tile images without rescaling each: Xs (N, H, W, C), one pixel of padding (set to the
    minimum, as the course's) between them. Returns the grid normalized to [0, 1]."""
    Xs = np.asarray(Xs)
    N, H, W, C = Xs.shape
    A = int(ceil(sqrt(N)))
    G = np.ones((A * H + A, A * W + A, C), Xs.dtype) * np.min(Xs)
    for n in range(N):
        y, x = divmod(n, A)
        G[y * H + y:(y + 1) * H + y, x * W + x:(x + 1) * W + x, :] = Xs[n]
    low, high = np.min(G), np.max(G)
    return (G - low) / max(high - low, 1e-12)


def vis_nn(rows):
    """Tile a list of rows (each a list of (H, W, C) images) into one image in [0, 1]."""
    N, D = len(rows), len(rows[0])
    H, W, C = rows[0][0].shape
    G = np.ones((N * H + N, D * W + D, C), rows[0][0].dtype)
    for y in range(N):
        for x in range(D):
            G[y * H + y:(y + 1) * H + y, x * W + x:(x + 1) * W + x, :] = rows[y][x]
    low, high = np.min(G), np.max(G)
    return (G - low) / max(high - low, 1e-12)
