"""Network visualization in PyTorch: saliency maps, fooling images, class visualization.

Every function works with any classifier `model` mapping normalized images (N, 3, H, W) to
class scores (N, C): SqueezeNet on ImageNet, or the project's CIFAR-10 fallback CNN
(see dl4cv.pretrained). The model's parameters are frozen; gradients flow to the pixels.
"""

import numpy as np
import torch

from dl4cv import images as _images
from dl4cv import pretrained as _pretrained
from dl4cv.images import SQUEEZENET_MEAN, SQUEEZENET_STD


def _check_images(X, name="X"):
    if not torch.is_tensor(X) or X.dim() != 4 or X.shape[1] != 3:
        shape = tuple(X.shape) if hasattr(X, "shape") else type(X).__name__
        raise ValueError(f"{name} must be a (N, 3, H, W) tensor, got {shape}")


def compute_saliency_maps(X, y, model):
    """Class saliency maps (Simonyan et al., 2014).

    Inputs:
    - X: input images, (N, 3, H, W) tensor (normalized).
    - y: labels for X, (N,) LongTensor.
    - model: a pretrained CNN whose parameters do not require gradients.

    Returns:
    - saliency: (N, H, W) tensor, the largest absolute gradient of the correct class score
      over the three color channels, per pixel.
    """
    _check_images(X)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    model.eval()
    # Work on a leaf copy so the caller's tensor is not modified.
    X = X.detach().clone().requires_grad_()
    saliency = None
    # TODO: Compute the saliency maps. Run the model forward on X, pick out the score of the
    # correct class for every image (gather with y), sum them into one scalar so a single
    # backward pass gives every image's gradient, then take the absolute value of X.grad
    # and its maximum over the channel dimension: saliency is (N, H, W).
    # *****START OF YOUR CODE*****
    scores = model(X)
    correct = scores.gather(1, y.view(-1, 1)).sum()
    correct.backward()
    saliency = X.grad.abs().amax(dim=1)
    # *****END OF YOUR CODE*****
    return saliency


def make_fooling_image(X, target_y, model):
    """An image close to X that the model classifies as target_y.

    Inputs:
    - X: input image, (1, 3, H, W) tensor (normalized).
    - target_y: an integer class index.
    - model: a pretrained CNN.

    Returns:
    - X_fooling: (1, 3, H, W) tensor close to X that the model classifies as target_y.
    """
    _check_images(X)
    if X.shape[0] != 1:
        raise ValueError(f"make_fooling_image takes one image (1, 3, H, W), got {tuple(X.shape)}")
    model.eval()
    X_fooling = X.detach().clone().requires_grad_()
    learning_rate = 1
    # TODO: Gradient ascent on the score of target_y with respect to the pixels, for at most
    # 100 iterations, stopping as soon as the model's prediction is target_y. Normalize each
    # step: X_fooling += learning_rate * g / ||g||_2 (do the update inside torch.no_grad() and
    # zero X_fooling.grad afterwards).
    # *****START OF YOUR CODE*****
    for _ in range(100):
        scores = model(X_fooling)
        if scores.argmax(dim=1).item() == target_y:
            break
        scores[0, target_y].backward()
        with torch.no_grad():
            g = X_fooling.grad
            X_fooling += learning_rate * g / g.norm()
            X_fooling.grad.zero_()
    # *****END OF YOUR CODE*****
    return X_fooling.detach()


def class_visualization_update(img, model, target_y, l2_reg, learning_rate):
    """One gradient-ascent step (in place) on img towards an image that maximizes
    s_y(img) - l2_reg * ||img||^2.

    Inputs:
    - img: (1, 3, H, W) tensor that requires grad (updated in place).
    - model, target_y: as in make_fooling_image.
    - l2_reg: strength of the L2 regularization; learning_rate: step size.
    """
    # TODO: Compute the regularized score of target_y, backpropagate to img, and take a
    # gradient ASCENT step on img.data with the normalized gradient
    # (learning_rate * g / ||g||_2). Zero img.grad afterwards.
    # *****START OF YOUR CODE*****
    objective = model(img)[0, target_y] - l2_reg * img.pow(2).sum()
    objective.backward()
    with torch.no_grad():
        g = img.grad
        img += learning_rate * g / g.norm()
        img.grad.zero_()
    # *****END OF YOUR CODE*****


# The course's name (CS231n 2020 calls the step `class_visualization_update_step` from its
# notebook's create_class_visualization); the same function.
class_visualization_update_step = class_visualization_update


def preprocess(img, size=224):
    """A PIL image or (H, W, 3) uint8 array -> (1, 3, H', W') normalized tensor (shorter side
    resized to `size`)."""
    return _images.preprocess(np.asarray(img), size=size)


def deprocess(img, should_rescale=True):
    """(1, 3, H, W) normalized tensor -> (H, W, 3) uint8 image, optionally contrast-stretched."""
    return _images.deprocess(img, rescale=should_rescale)


def rescale(x):
    """Linearly map x to [0, 1]."""
    low, high = x.min(), x.max()
    return (x - low) / (high - low)


def blur_image(X, sigma=1):
    """Gaussian blur of a (N, 3, H, W) tensor (a smoothness prior for class visualization)."""
    return _images.blur_image(X, sigma=sigma)


def jitter(X, ox, oy):
    """Randomly-shifted image prior: roll X by ox pixels horizontally and oy vertically
    (wrapping around). X: (N, C, H, W)."""
    if ox != 0:
        X = torch.roll(X, shifts=ox, dims=3)
    if oy != 0:
        X = torch.roll(X, shifts=oy, dims=2)
    return X


def create_class_visualization(target_y, model, dtype=torch.float32, image_size=224, **kwargs):
    """Generate an image that the model scores highly as target_y.

    Keyword arguments: l2_reg (1e-3), learning_rate (25), num_iterations (100), blur_every (10),
    max_jitter (16), frame_every (5), seed (0), show_progress (True).
    Returns (img (1, 3, S, S) normalized tensor, frames: list of (S, S, 3) uint8 images)."""
    l2_reg = kwargs.pop("l2_reg", 1e-3)
    learning_rate = kwargs.pop("learning_rate", 25)
    model.eval()

    def step(img):
        class_visualization_update(img, model, target_y, l2_reg, learning_rate)

    device = next(model.parameters()).device
    img, frames = _pretrained.class_visualization_loop(
        step, jitter, blur_image, image_size,
        num_iterations=kwargs.pop("num_iterations", 100), blur_every=kwargs.pop("blur_every", 10),
        max_jitter=kwargs.pop("max_jitter", 16), frame_every=kwargs.pop("frame_every", 5),
        seed=kwargs.pop("seed", 0), device=device, progress=kwargs.pop("show_progress", True))
    if kwargs:
        raise ValueError(f"unknown arguments: {sorted(kwargs)}")
    return img.to(dtype), frames


__all__ = ["compute_saliency_maps", "make_fooling_image", "class_visualization_update",
           "class_visualization_update_step",
           "create_class_visualization", "preprocess", "deprocess", "rescale", "blur_image",
           "jitter", "SQUEEZENET_MEAN", "SQUEEZENET_STD"]
