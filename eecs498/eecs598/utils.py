"""Seeding, tensor/image conversion and relative error, with the course's names."""
import torch

from dl4cv.images import tensor_to_uint8_image
from dl4cv.seeding import seed_everything


def reset_seed(number: int) -> None:
    """Seed python, numpy and torch so that a cell gives the same numbers on every run."""
    seed_everything(number)


def tensor_to_image(tensor: torch.Tensor):
    """(3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8 numpy array."""
    return tensor_to_uint8_image(tensor)


def rel_error(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-10) -> float:
    """max |x - y| / (|x| + |y|) over all entries (the course's definition, eps-guarded)."""
    top = (x - y).abs().max().item()
    bot = (x.abs() + y.abs()).clamp(min=eps).max().item()
    return top / bot
