"""Tile many small images into one picture (CS231n); shared with assignment 2 through dl4cv."""
from dl4cv.images import visualize_grid  # noqa: F401
