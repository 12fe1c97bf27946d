"""The EECS 498-007 helper package, shared by A4-A6 (installed once by `pip install -e .`).

Same names as the course's `eecs598` package; the work is done by `dl4cv`.
"""
from eecs598 import grad, utils
from eecs598.utils import reset_seed, tensor_to_image

__all__ = ["grad", "utils", "reset_seed", "tensor_to_image"]
