"""CIFAR-10 in the official python-pickle layout (full set or the mirror's subset)."""
import pickle
from pathlib import Path

import numpy as np

from dl4cv.errors import DataMissingError
from dl4cv.paths import data_dir
from dl4cv.report import note_data

CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FULL_TRAIN, FULL_TEST = 50000, 10000


def default_root() -> Path:
    return data_dir() / "cifar-10-batches-py"


def _load_batch(path: Path):
    """One pickled batch -> X: (K, 32, 32, 3) float64, y: (K,) int64."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    x = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x.astype(np.float64), np.asarray(batch["labels"], dtype=np.int64)


def load_cifar10(root=None, verbose=True):
    """All of CIFAR-10 that is on disk.

    Returns Xtr: (Ntr, 32, 32, 3) float64 in [0, 255], ytr: (Ntr,), Xte: (Nte, 32, 32, 3), yte.
    Works on the full set (50,000 / 10,000) and on subsets such as the data mirror's.
    """
    root = Path(root) if root is not None else default_root()
    files = [root / f"data_batch_{b}" for b in range(1, 6)] + [root / "test_batch"]
    missing = [p for p in files if not p.exists()]
    if missing:
        raise DataMissingError("CIFAR-10", "cifar10", missing[0])
    parts = [_load_batch(p) for p in files[:5]]
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    xte, yte = _load_batch(files[5])
    full = len(xtr) >= FULL_TRAIN and len(xte) >= FULL_TEST
    note_data(f"CIFAR-10 {'full' if full else 'subset'}: {len(xtr):,} train / {len(xte):,} test images")
    if verbose and (len(xtr) < FULL_TRAIN or len(xte) < FULL_TEST):
        print(f"CIFAR-10: using the {len(xtr):,} training and {len(xte):,} test images on disk "
              f"(a subset of {FULL_TRAIN:,} / {FULL_TEST:,}; `./get_datasets.sh cifar10` "
              "fetches the full set)")
    return xtr, ytr, xte, yte


def split_sizes(available: int, num_training: int, num_validation: int):
    """Shrink (train, val) to what is available, keeping validation about a tenth."""
    if num_training + num_validation <= available:
        return num_training, num_validation
    num_validation = min(num_validation, max(1, available // 10))
    return min(num_training, available - num_validation), num_validation


def get_cifar10_data(num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True,
                     root=None, channels_first=True, verbose=True):
    """Train/val/test splits, mean-subtracted, as the courses' get_CIFAR10_data.

    Returns dict with X_train: (N, 3, 32, 32) float64 (channels_first) or (N, 32, 32, 3),
    y_train: (N,), and the same for _val and _test. If fewer images are on disk than asked
    for, uses what is there and says so.
    """
    xtr, ytr, xte, yte = load_cifar10(root, verbose=verbose)
    n_train, n_val = split_sizes(len(xtr), num_training, num_validation)
    n_test = min(num_test, len(xte))
    if verbose and (n_train, n_val, n_test) != (num_training, num_validation, num_test):
        print(f"CIFAR-10 split: {n_train} train / {n_val} val / {n_test} test "
              f"(asked for {num_training} / {num_validation} / {num_test})")
    data = {
        "X_train": xtr[:n_train], "y_train": ytr[:n_train],
        "X_val": xtr[n_train:n_train + n_val], "y_val": ytr[n_train:n_train + n_val],
        "X_test": xte[:n_test], "y_test": yte[:n_test],
    }
    if subtract_mean:
        mean_image = data["X_train"].mean(axis=0)
        for k in ("X_train", "X_val", "X_test"):
            data[k] = data[k] - mean_image
    if channels_first:
        for k in ("X_train", "X_val", "X_test"):
            data[k] = data[k].transpose(0, 3, 1, 2).copy()
    return data
