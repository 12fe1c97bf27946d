"""Given code (no code to write here): image helpers (loading, ImageNet normalization, blur).

The course ships `image_utils.py` with this assignment (for RNN_Captioning_pytorch). In this
repository its one source is cs231n/assignment3/cs231n/image_utils.py, whose names this file
re-exports; the student release writes that file's code here instead.
"""
from dl4cv.given import export_into

export_into("cs231n/assignment2/cs231n/image_utils.py", globals())
