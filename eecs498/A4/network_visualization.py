"""
Network visualization in PyTorch: saliency maps, adversarial attacks, class visualization.
Write device-agnostic code: create new tensors on the device of the inputs.

`model` is any classifier mapping normalized images (N, 3, H, W) to scores (N, C) with
frozen parameters: SqueezeNet on ImageNet, or the project's CIFAR-10 fallback CNN
(dl4cv.pretrained says which one the notebook uses).
"""
import torch

from a4_helper import *  # noqa: F401,F403  (the course's given helpers, re-exported as the course did)
from dl4cv import images as _images
from dl4cv import pretrained as _pretrained


def hello():
    """Check that this file is importable (e.g. from Colab)."""
    print("Hello from network_visualization.py!")


def _check_images(X):
    if not torch.is_tensor(X) or X.dim() != 4 or X.shape[1] != 3:
        shape = tuple(X.shape) if hasattr(X, "shape") else type(X).__name__
        raise ValueError(f"X must be a (N, 3, H, W) tensor, got {shape}")


def compute_saliency_maps(X, y, model):
    """
    Compute a class saliency map using the model for images X and labels y.

    Input:
    - X: Input images; Tensor of shape (N, 3, H, W)
    - y: Labels for X; LongTensor of shape (N,)
    - model: A pretrained CNN that will be used to compute the saliency map.

    Returns:
    - saliency: A Tensor of shape (N, H, W) giving the saliency maps for the input
      images.
    """
    _check_images(X)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    # A leaf copy that requires gradient (the caller's X is left untouched).
    X = X.detach().clone().requires_grad_()
    saliency = None
    # TODO: Forward X through the model, sum the scores of the correct classes (one scalar for
    # the whole batch), backpropagate, and reduce |dscore/dX| to (N, H, W) by taking the
    # maximum over the 3 channels.
    # *****START OF YOUR CODE*****
    scores = model(X)
    scores[torch.arange(X.shape[0], device=X.device), y].sum().backward()
    saliency = X.grad.abs().max(dim=1).values
    # *****END OF YOUR CODE*****
    return saliency


def make_adversarial_attack(X, target_y, model, max_iter=100, verbose=True):
    """
    Generate an adversarial attack that is close to X, but that the model classifies
    as target_y.

    Inputs:
    - X: Input image; Tensor of shape (1, 3, H, W)
    - target_y: An integer class index
    - model: A pretrained CNN
    - max_iter: Upper bound on number of iterations to perform
    - verbose: If True, print the progress

    Returns:
    - X_adv: An image that is close to X, but that is classifed as target_y
      by the model.
    """
    _check_images(X)
    if X.shape[0] != 1:
        raise ValueError(f"expected one image (1, 3, H, W), got {tuple(X.shape)}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    X_adv = X.detach().clone().requires_grad_()
    learning_rate = 1
    # TODO: Gradient ascent on the target class score, stopping as soon as the model
    # predicts target_y (at most max_iter iterations). Normalize every step:
    #   dX = learning_rate * g / ||g||_2
    # Update X_adv in place under torch.no_grad() and zero its gradient after each step.
    # If verbose, print the iteration, the target score and the max score.
    # *****START OF YOUR CODE*****
    for it in range(max_iter):
        scores = model(X_adv)
        target_score, max_score = scores[0, target_y], scores[0].max()
        if verbose:
            print(f"Iteration {it}: target score {target_score.item():.3f}, "
                  f"max score {max_score.item():.3f}")
        if scores[0].argmax().item() == target_y:
            break
        target_score.backward()
        with torch.no_grad():
            g = X_adv.grad
            X_adv += learning_rate * g / g.norm()
            X_adv.grad.zero_()
    # *****END OF YOUR CODE*****
    return X_adv.detach()


def class_visualization_step(img, target_y, model, **kwargs):
    """
    Performs gradient step update to generate an image that maximizes the
    score of target_y under a pretrained model.

    Inputs:
    - img: random image with jittering as a PyTorch tensor, (1, 3, H, W), requires grad
    - target_y: Integer giving the index of the class
    - model: A pretrained CNN that will be used to generate the image

    Keyword arguments:
    - l2_reg: Strength of L2 regularization on the image
    - learning_rate: How big of a step to take
    """
    l2_reg = kwargs.pop("l2_reg", 1e-3)
    learning_rate = kwargs.pop("learning_rate", 25)
    # TODO: Gradient ascent on s_y(img) - l2_reg * ||img||_2^2: backpropagate to img, then
    # update img in place with the normalized gradient (learning_rate * g / ||g||_2) and
    # reset img.grad to zero.
    # *****START OF YOUR CODE*****
    objective = model(img)[0, target_y] - l2_reg * (img * img).sum()
    objective.backward()
    with torch.no_grad():
        img += learning_rate * img.grad / img.grad.norm()
        img.grad.zero_()
    # *****END OF YOUR CODE*****
    return img


def create_class_visualization(target_y, model, dtype=torch.float32, image_size=224, **kwargs):
    """Optimize a random image towards class target_y with class_visualization_step, jitter
    and periodic blur. Keyword arguments: l2_reg, learning_rate, num_iterations (100),
    blur_every (10), max_jitter (16), frame_every (5), seed (0), show_progress (True).
    Returns (img (1, 3, S, S) normalized tensor, frames: list of (S, S, 3) uint8 images)."""
    step_kwargs = {k: kwargs.pop(k) for k in ("l2_reg", "learning_rate") if k in kwargs}

    def step(img):
        class_visualization_step(img, target_y, model, **dict(step_kwargs))

    device = next(model.parameters()).device
    img, frames = _pretrained.class_visualization_loop(
        step, jitter, blur_image, image_size,
        num_iterations=kwargs.pop("num_iterations", 100), blur_every=kwargs.pop("blur_every", 10),
        max_jitter=kwargs.pop("max_jitter", 16), frame_every=kwargs.pop("frame_every", 5),
        seed=kwargs.pop("seed", 0), device=device, progress=kwargs.pop("show_progress", True))
    if kwargs:
        raise ValueError(f"unknown arguments: {sorted(kwargs)}")
    return img.to(dtype), frames
