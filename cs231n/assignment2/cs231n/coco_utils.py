"""Given code (no code to write here): loading, sampling and decoding the COCO captioning data.

The course ships `coco_utils.py` with this assignment (for RNN_Captioning_pytorch). In this
repository its one source is cs231n/assignment3/cs231n/coco_utils.py, whose names this file
re-exports; the student release writes that file's code here instead.
"""
from dl4cv.given import export_into

export_into("cs231n/assignment2/cs231n/coco_utils.py", globals())
