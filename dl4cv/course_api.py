"""The CS231n course's data-loading names, defined once and re-exported by each assignment's
`cs231n/data_utils.py`."""
from dl4cv.data.cifar10 import _load_batch, get_cifar10_data, load_cifar10


def load_CIFAR_batch(filename):
    """One CIFAR-10 batch file -> X: (K, 32, 32, 3) float64, Y: (K,) int64."""
    return _load_batch(filename)


def load_CIFAR10(ROOT=None):
    """All CIFAR-10 on disk -> Xtr: (N, 32, 32, 3) float64, Ytr, Xte, Yte. ROOT defaults to
    data/cifar-10-batches-py; a missing folder names the get_datasets.sh command to run."""
    return load_cifar10(ROOT)


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True):
    """Mean-subtracted train/val/test splits, channels first: X_*: (N, 3, 32, 32)."""
    return get_cifar10_data(num_training, num_validation, num_test, subtract_mean)
