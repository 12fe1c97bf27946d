"""CIFAR-10 as torch tensors with the course's names (`eecs598.data`).

The images come from the copy on disk (`data/cifar-10-batches-py`, `./get_datasets.sh cifar10`)
instead of a download into the working folder; on the data mirror's subset, requests for more
images than are on disk get what is there (with a note) instead of an error.
"""
import numpy as np
import torch

from dl4cv.data.cifar10 import CIFAR10_CLASSES, load_cifar10


def _extract_tensors(dset, num=None, x_dtype=torch.float32):
    """(images, labels) -> x: (N, 3, 32, 32) `x_dtype` in [0, 1], y: (N,) int64.

    dset: any object with `.data` (N, 32, 32, 3) uint8-range pixels and `.targets` (N,), e.g.
    a torchvision CIFAR10 data set. num: keep only the first `num` samples (1 <= num <= N).
    """
    x = torch.tensor(np.asarray(dset.data), dtype=x_dtype).permute(0, 3, 1, 2).div_(255)
    y = torch.tensor(np.asarray(dset.targets), dtype=torch.int64)
    if num is not None:
        if num <= 0 or num > x.shape[0]:
            raise ValueError(f"Invalid value num={num}; must be in the range [1, {x.shape[0]}]")
        x, y = x[:num].clone(), y[:num].clone()
    return x, y


class _Split:
    """The two attributes of a torchvision CIFAR10 set that `_extract_tensors` reads."""

    def __init__(self, data, targets):
        self.data, self.targets = data, targets


def _take(split, num, x_dtype, what):
    if num is not None and num > len(split.targets):
        print(f"eecs598.data: {num:,} {what} images asked for, {len(split.targets):,} on "
              "disk (`./get_datasets.sh cifar10` fetches the full set); using those")
        num = len(split.targets)
    return _extract_tensors(split, num, x_dtype)


def cifar10(num_train=None, num_test=None, x_dtype=torch.float32):
    """CIFAR-10 as tensors, optionally only the first num_train / num_test samples.

    Returns x_train: (num_train, 3, 32, 32) `x_dtype` in [0, 1], y_train: (num_train,) int64,
    x_test: (num_test, 3, 32, 32), y_test: (num_test,).
    """
    xtr, ytr, xte, yte = load_cifar10(verbose=False)
    x_train, y_train = _take(_Split(xtr, ytr), num_train, x_dtype, "training")
    x_test, y_test = _take(_Split(xte, yte), num_test, x_dtype, "test")
    return x_train, y_train, x_test, y_test


def preprocess_cifar10(cuda=True, show_examples=True, bias_trick=False, flatten=True,
                       validation_ratio=0.2, dtype=torch.float32):
    """CIFAR-10 ready for a linear model or a small net.

    Steps: optionally show 12 samples per class; subtract the per-channel mean of the training
    images; optionally flatten to (N, 3072) and append a column of ones (bias trick); keep
    the last `validation_ratio` of the training images for validation. cuda=True moves the
    tensors to the GPU when there is one (on a CPU-only machine they stay on the CPU).

    Returns a dict with X_train, y_train, X_val, y_val, X_test, y_test; X_*: (N, D) `dtype`
    with D = 3072 (3073 with the bias trick) or (N, 3, 32, 32) when flatten=False.
    """
    X_train, y_train, X_test, y_test = cifar10(x_dtype=dtype)
    if cuda and torch.cuda.is_available():
        X_train, y_train = X_train.cuda(), y_train.cuda()
        X_test, y_test = X_test.cuda(), y_test.cuda()
    elif cuda:
        print("eecs598.data: no CUDA device here; the data stay on the CPU")

    if show_examples:
        import matplotlib.pyplot as plt
        from eecs598.utils import reset_seed
        from eecs598.vis import visualize_dataset
        reset_seed(0)
        plt.imshow(visualize_dataset(X_train, y_train, 12, list(CIFAR10_CLASSES)))
        plt.axis("off")
        plt.show()

    mean_image = X_train.mean(dim=(0, 2, 3), keepdim=True)
    X_train = X_train - mean_image
    X_test = X_test - mean_image
    if flatten:
        X_train = X_train.reshape(X_train.shape[0], -1)
        X_test = X_test.reshape(X_test.shape[0], -1)
    if bias_trick:
        X_train = torch.cat([X_train, X_train.new_ones(X_train.shape[0], 1)], dim=1)
        X_test = torch.cat([X_test, X_test.new_ones(X_test.shape[0], 1)], dim=1)

    num_training = int(X_train.shape[0] * (1.0 - validation_ratio))
    return {
        "X_train": X_train[:num_training], "y_train": y_train[:num_training],
        "X_val": X_train[num_training:], "y_val": y_train[num_training:],
        "X_test": X_test, "y_test": y_test,
    }
