"""Tile many small images into one picture (the course's vis_utils: visualize_grid, vis_grid,
vis_nn), shared by assignments 1 and 2 through dl4cv."""
from dl4cv.images import vis_grid, vis_nn, visualize_grid  # noqa: F401
