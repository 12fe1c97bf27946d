"""Tile many small images (e.g. first-layer filters) into one image for display."""
from builtins import range
from math import ceil, sqrt

import numpy as np


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile N images of shape (H, W, C) into a square-ish grid.

    Each image is rescaled independently to [0, ubound]; `padding` blank pixels separate
    neighbours. Xs: (N, H, W, C). Returns an (Hg, Wg, C) array.
    """
    Xs = np.asarray(Xs)
    if Xs.ndim != 4:
        raise ValueError(f"visualize_grid: Xs must be (N, H, W, C), got {Xs.shape}")
    N, H, W, C = Xs.shape
    grid_size = int(ceil(sqrt(N)))
    grid_height = H * grid_size + padding * (grid_size - 1)
    grid_width = W * grid_size + padding * (grid_size - 1)
    grid = np.zeros((grid_height, grid_width, C))
    for idx in range(N):
        r, c = divmod(idx, grid_size)
        img = Xs[idx]
        low, high = np.min(img), np.max(img)
        y0, x0 = r * (H + padding), c * (W + padding)
        grid[y0:y0 + H, x0:x0 + W] = ubound * (img - low) / max(high - low, 1e-12)
    return grid


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
