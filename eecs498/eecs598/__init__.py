"""The EECS 498-007 helper package, shared by A1-A6 (installed once by `pip install -e .`).

The public names are the course's FA2020 `eecs598` package (A4-A6): `eecs598.data`,
`eecs598.grad`, `eecs598.submit`, `eecs598.utils`, `eecs598.vis`, `eecs598.Solver`,
`eecs598.reset_seed`, `eecs598.tensor_to_image`, `eecs598.visualize_dataset`. The code is ours;
shared work (seeding, image conversion, CIFAR-10 on disk) is done by `dl4cv`.
"""
from eecs598 import data, grad, submit, utils, vis
from eecs598.solver import Solver
from eecs598.utils import reset_seed
from eecs598.vis import tensor_to_image, visualize_dataset

__all__ = ["data", "grad", "submit", "utils", "vis", "Solver", "reset_seed",
           "tensor_to_image", "visualize_dataset"]
