"""Given code (no code to write here): the "sandwich" layers (affine-ReLU, conv-ReLU-pool, ...).

The course ships assignment 2's `layer_utils.py` with this assignment. In this repository its one
source is cs231n/assignment2/cs231n/layer_utils.py, whose names this file re-exports; the student
release writes that file's code here instead.
"""
from dl4cv.given import export_into

export_into("cs231n/assignment3/cs231n/layer_utils.py", globals())
