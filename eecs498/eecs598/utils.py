"""General helpers with the course's names (`eecs598.utils`): seeding, image conversion,
caption decoding, attention pictures, and (kept here too) the relative error."""
import random

import numpy as np
import torch

from dl4cv.captions import decode_captions  # noqa: F401 - given code in both courses, kept once
from dl4cv.images import tensor_to_uint8_image
from dl4cv.seeding import seed_everything


def reset_seed(number: int) -> None:
    """Seed python, numpy and torch so that a cell gives the same numbers on every run."""
    seed_everything(number)


def tensor_to_image(tensor: torch.Tensor):
    """(3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8 numpy array."""
    return tensor_to_uint8_image(tensor)


def visualize_dataset(X_data, y_data, samples_per_class, class_list):
    """A (rows = classes, columns = samples) grid of random images; see `eecs598.vis`."""
    from eecs598.vis import visualize_dataset as _vis
    return _vis(X_data, y_data, samples_per_class, class_list)


def rel_error(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-10) -> float:
    """The course's relative error; the same function as `eecs598.grad.rel_error`."""
    from eecs598.grad import rel_error as _rel
    return _rel(x, y, eps)


def attention_visualizer(img, attn_weights, token):
    """Overlay one word's attention map on its image, with the word written above.

    img: (3, H, W) tensor with values in [0, 255]; attn_weights: (h, w) tensor (e.g. 4x4),
    nearest-upsampled to (H, W) and blended half-and-half with the image; token: the word.
    Returns an (H + 25, W, 3) float64 array in [0, 1] whose channels are in BGR order (the
    course's layout: its notebook flips the channels back before showing the picture).
    """
    from PIL import Image, ImageDraw
    C, H, W = img.shape
    if C != 3:
        raise ValueError(f"attention_visualizer needs a 3-channel image, got {tuple(img.shape)}")
    weights = attn_weights.detach().cpu().double()
    weights = torch.nn.functional.interpolate(weights[None, None], size=(H, W),
                                              mode="nearest")[0, 0].numpy()
    picture = img.detach().cpu().double().div(255.0).permute(1, 2, 0).numpy()[:, :, ::-1]
    blended = 0.5 * weights[:, :, None] + 0.5 * picture
    strip = Image.new("RGB", (W, 25))
    ImageDraw.Draw(strip).text((10, 6), str(token), fill=(255, 255, 255))
    return np.concatenate([np.asarray(strip, dtype=np.float64) / 255.0, blended], axis=0)
