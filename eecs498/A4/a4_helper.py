"""Given helpers of EECS 498-007 A4, with the course's names (every A4 module and notebook
takes them with `from a4_helper import *`):

- SqueezeNet / ImageNet images: SQUEEZENET_MEAN, SQUEEZENET_STD, preprocess, deprocess, rescale,
  blur_image, jitter, check_scipy, load_imagenet_val;
- CIFAR-10 loaders for pytorch_autograd_and_nn: load_CIFAR;
- captioning: load_COCO (coco.pt), decode_captions, train_captioner (= captioning_train),
  attention_visualizer, cache_features;
- dump_results (the .pkl files the course's autograder read).
"""
import math
import os
import pickle
import random  # noqa: F401  (the course's star import provided it to the notebooks)
import time
from collections import OrderedDict  # noqa: F401  (idem)
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn  # noqa: F401  (idem)
import torch.nn.functional as F  # noqa: F401  (idem)
import torch.optim as optim  # noqa: F401  (idem)
import torchvision.transforms as T

from dl4cv.captions import decode_captions  # noqa: F401  (given code, shared)
from dl4cv.errors import DataMissingError
from dl4cv.paths import data_dir

# ImageNet statistics the pretrained SqueezeNet was trained with (per RGB channel).
SQUEEZENET_MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float)
SQUEEZENET_STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float)
# The CIFAR-10 normalization the course's load_CIFAR used (hard-coded there).
_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2023, 0.1994, 0.2010)


def preprocess(img, size=224):
    """PIL image (or (H, W, 3) uint8 array) -> (1, 3, H', W') float tensor: shorter side resized
    to `size`, scaled to [0, 1], then normalized with SQUEEZENET_MEAN / SQUEEZENET_STD."""
    from PIL import Image
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    transform = T.Compose([T.Resize(size), T.ToTensor(),
                           T.Normalize(mean=SQUEEZENET_MEAN.tolist(), std=SQUEEZENET_STD.tolist())])
    return transform(img)[None]


def rescale(x):
    """Map x linearly onto [0, 1] (its minimum to 0, its maximum to 1)."""
    low, high = x.min(), x.max()
    return (x - low) / (high - low)


def deprocess(img, should_rescale=True):
    """Undo `preprocess`: (1, 3, H, W) tensor -> PIL image.

    The first image of the batch is un-normalized; with should_rescale (the default, used for
    style transfer) it is then stretched onto [0, 1] by `rescale`. Values outside [0, 1] are
    clipped (rather than wrapped around as a plain uint8 cast would)."""
    x = img[0].detach().to("cpu", torch.float32)
    x = x * SQUEEZENET_STD.view(3, 1, 1) + SQUEEZENET_MEAN.view(3, 1, 1)
    if should_rescale:
        x = rescale(x)
    return T.ToPILImage()(x.clamp(0, 1))


def blur_image(X, sigma=1):
    """Gaussian blur (std `sigma` pixels) of X (N, C, H, W) along H and W, IN PLACE; returns X.
    (scipy's gaussian_filter1d, as the course: a smoothness prior for class visualization.)"""
    from scipy.ndimage import gaussian_filter1d
    X_np = X.detach().cpu().clone().numpy()
    X_np = gaussian_filter1d(X_np, sigma, axis=2)
    X_np = gaussian_filter1d(X_np, sigma, axis=3)
    with torch.no_grad():
        X.copy_(torch.from_numpy(X_np).to(X))
    return X


def check_scipy():
    """Raise if SciPy is older than 0.16 (older image resizing gave other results)."""
    import scipy
    major, minor = (int(v) for v in scipy.__version__.split(".")[:2])
    assert major >= 1 or minor >= 16, "You must install SciPy >= 0.16.0 to complete this notebook."


def jitter(X, ox, oy):
    """Roll X (N, C, H, W) by ox pixels along the width and oy along the height (wrapping
    around); returns a new tensor."""
    return torch.roll(X, shifts=(oy, ox), dims=(2, 3))


def _cifar_root(path):
    """The CIFAR-10 batches under `path` (the course's ./datasets/) or else data/ here."""
    if path is not None:
        for candidate in (Path(path) / "cifar-10-batches-py", Path(path)):
            if (candidate / "data_batch_1").exists():
                return candidate
    return None


def load_CIFAR(path='./datasets/'):
    """CIFAR-10 as (loader_train, loader_val, loader_test), 64-image minibatches.

    Images are normalized with the course's fixed per-channel mean/std; the validation images
    are the last 1,000 training images (49,000 / 1,000 on the full set; the data mirror's
    subset is split the same way, about a tenth for validation). The training loader shuffles
    (seeded). Reads the pickled batches from `path` if they are there, else from data/
    (`./get_datasets.sh cifar10`); nothing is downloaded.
    """
    from dl4cv.data.cifar10 import load_cifar10, split_sizes
    from dl4cv.torch_train import TensorLoader
    xtr, ytr, xte, yte = load_cifar10(_cifar_root(path), verbose=False)
    n_train, n_val = split_sizes(len(xtr), 49000, 1000)

    def normalize(x):
        t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))
        return (t / 255 - torch.tensor(_CIFAR_MEAN).view(1, 3, 1, 1)) / \
            torch.tensor(_CIFAR_STD).view(1, 3, 1, 1)

    loader_train = TensorLoader(normalize(xtr[:n_train]), torch.from_numpy(ytr[:n_train]), 64,
                                shuffle=True, split="train")
    loader_val = TensorLoader(normalize(xtr[n_train:n_train + n_val]),
                              torch.from_numpy(ytr[n_train:n_train + n_val]), 64, split="val")
    loader_test = TensorLoader(normalize(xte), torch.from_numpy(yte), 64, split="test")
    return loader_train, loader_val, loader_test


def load_imagenet_val(num=None, path='./datasets/imagenet_val_25.npz'):
    """A few ImageNet validation images: X (num, 224, 224, 3) uint8, y (num,) int labels and
    class_names {label: name}; num=None gives all 25. Reads `path`, else data/imagenet_val_25.npz
    (`./get_datasets.sh imagenet_val`); a missing file raises DataMissingError."""
    from dl4cv.pretrained import imagenet_val_path
    from dl4cv.pretrained import load_imagenet_val as _load
    return _load(num, path if path is not None and os.path.isfile(path) else imagenet_val_path())


def dump_results(submission, path):
    """Pickle `submission` (a dict of results) to `path`, the file the course's autograder read."""
    with open(path, "wb") as f:
        pickle.dump(submission, f)


def hello_helper():
    print("Hello from a4_helper.py!")


def default_coco_path() -> Path:
    return data_dir() / "coco.pt"


def load_COCO(path='./datasets/coco.pt', verbose=True):
    """The course's coco.pt: dict with train_images / val_images (N, 3, 112, 112) uint8,
    train_captions / val_captions (N, 17) int64 word ids, and vocab {'idx_to_token': list,
    'token_to_idx': dict}. Reads `path` if it is there, else data/coco.pt
    (`./get_datasets.sh coco_eecs`); without either, raises DataMissingError naming that
    command (the synthetic set in the same format: `dl4cv.standins.synthetic_coco.eecs_coco_path()`)."""
    path = Path(path) if path is not None and os.path.isfile(path) else default_coco_path()
    if not path.exists():
        raise DataMissingError("COCO captioning (coco.pt)", "coco_eecs", path)
    data_dict = torch.load(path, map_location="cpu", weights_only=False)
    for split in ("train", "val"):
        images, captions = data_dict[f"{split}_images"], data_dict[f"{split}_captions"]
        if images.shape[0] != captions.shape[0]:
            raise ValueError(f"{path}: {images.shape[0]} {split} images but "
                             f"{captions.shape[0]} captions")
        V = len(data_dict["vocab"]["idx_to_token"])
        if captions.numel() and (int(captions.min()) < 0 or int(captions.max()) >= V):
            raise ValueError(f"{path}: {split}_captions hold ids outside the vocabulary of {V}")
    if verbose:
        for k, v in data_dict.items():
            if isinstance(v, torch.Tensor):
                print(k, type(v), v.shape, v.dtype)
            else:
                print(k, type(v), v.keys())
    return data_dict


def train_captioner(model, image_data, caption_data, num_epochs=80, batch_size=50,
                    learning_rate=1e-2, lr_decay=1, device="cpu", plot=True):
    """Adam on minibatches taken in order; the learning rate decays by lr_decay per epoch.
    Returns (model, loss_history)."""
    from tqdm.auto import tqdm
    model.to(device)
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: lr_decay ** epoch)
    iter_per_epoch = max(math.ceil(image_data.shape[0] / batch_size), 1)
    loss_history = []
    model.train()
    bar = tqdm(range(num_epochs), desc="epochs", leave=False)
    for epoch in bar:
        start = time.time()
        for j in range(iter_per_epoch):
            images = image_data[j * batch_size:(j + 1) * batch_size].to(device)
            captions = caption_data[j * batch_size:(j + 1) * batch_size].to(device)
            loss = model(images, captions)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_history.append(loss.item())
        scheduler.step()
        bar.set_postfix(loss=f"{loss_history[-1]:.4f}")
        if epoch % max(1, num_epochs // 10) == 0 or epoch == num_epochs - 1:
            bar.write(f"(Epoch {epoch} / {num_epochs}) loss: {loss_history[-1]:.4f} "
                      f"time per epoch: {time.time() - start:.1f}s")
    if plot:
        plt.plot(loss_history)
        plt.xlabel("Iteration")
        plt.ylabel("Loss")
        plt.title("Training loss history")
        plt.show()
    return model, loss_history


captioning_train = train_captioner


def attention_visualizer(img, attn_weights, token):
    """Draw one word's attention over its image.

    img: (3, H, W) uint8 tensor; attn_weights: (h, w) weights over the activation map;
    token: the word. Returns an (H + 25, W, 3) float array in [0, 1]: the word on a black
    strip above the image blended half-and-half with the upsampled attention map.
    """
    from PIL import Image, ImageDraw
    C, H, W = img.shape
    if C != 3:
        raise ValueError(f"img must have 3 color channels, got shape {tuple(img.shape)}")
    weights = attn_weights.detach().cpu().float()
    weights = torch.nn.functional.interpolate(weights[None, None], size=(H, W),
                                              mode="nearest")[0, 0].numpy()
    weights = weights / max(float(weights.max()), 1e-12)
    picture = img.float().div(255.0).permute(1, 2, 0).cpu().numpy()
    blended = 0.5 * picture + 0.5 * weights[:, :, None]
    strip = Image.new("RGB", (W, 25))
    ImageDraw.Draw(strip).text((5, 6), str(token), fill=(255, 255, 255))
    return np.concatenate([np.asarray(strip, dtype=np.float64) / 255.0, blended], axis=0)


def cache_features(model):
    """Make `model.feature_extractor` remember the features of images it has seen.

    The MobileNet backbone is frozen (no_grad, eval mode), so the features of a given batch
    never change; on a CPU, recomputing them every epoch dominates training time. Batches
    are recognised by their bytes (hash), so a cached answer is exact. Returns the model.
    """
    import hashlib
    extractor = model.feature_extractor
    compute = extractor.extract_mobilenet_feature
    memo = {}

    def extract(img, verbose=False):
        data = img.detach().cpu().contiguous()
        key = (tuple(data.shape), str(data.dtype),
               hashlib.blake2b(data.numpy().tobytes(), digest_size=16).hexdigest())
        if key not in memo:
            memo[key] = compute(img, verbose=verbose)
        return memo[key]

    extractor.extract_mobilenet_feature = extract
    return model
