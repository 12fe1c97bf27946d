"""The course's image helpers (ImageNet normalization, loading, a gentle blur); the work is
done by dl4cv.images."""
import numpy as np

from dl4cv import images as _images
from dl4cv.images import SQUEEZENET_MEAN, SQUEEZENET_STD  # noqa: F401


def blur_image(X, sigma=0.5):
    """A gentle Gaussian blur of a batch of images. X: (N, C, H, W) numpy array -> same shape."""
    import torch
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"X must be (N, C, H, W), got {X.shape}")
    return _images.blur_image(torch.from_numpy(np.ascontiguousarray(X)), sigma=sigma).numpy()


def preprocess_image(img):
    """(H, W, 3) uint8 image -> float32 image normalized with the SqueezeNet mean and std."""
    return (np.asarray(img).astype(np.float32) / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD


def deprocess_image(img, rescale=False):
    """Undo preprocess_image: (H, W, 3) float -> uint8; `rescale` stretches to the full range."""
    img = np.asarray(img) * SQUEEZENET_STD + SQUEEZENET_MEAN
    if rescale:
        low, high = img.min(), img.max()
        img = (img - low) / max(high - low, 1e-12)
    return np.clip(255 * img, 0.0, 255.0).astype(np.uint8)


def image_from_url(url):
    """Download an image (needs internet) -> (H, W, 3) uint8 array."""
    import io
    import urllib.request
    from PIL import Image
    with urllib.request.urlopen(url) as f:
        return np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB"))


def load_image(filename, size=None):
    """An image file -> (H, W, 3) uint8 array; `size` resizes the shorter side to `size`."""
    return _images.load_image(filename, size=size)
