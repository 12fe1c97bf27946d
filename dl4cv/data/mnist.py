"""MNIST from the official IDX files (gzipped), full set or the mirror's subset."""
import gzip
from pathlib import Path

import numpy as np

from dl4cv.errors import DataMissingError
from dl4cv.paths import data_dir
from dl4cv.report import note_data

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}


def default_root() -> Path:
    return data_dir() / "mnist"


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    count = int(np.prod(dims))
    if data.size < count:
        raise ValueError(f"{path}: header says {dims} but file holds {data.size} bytes (truncated?)")
    return data[:count].reshape(dims)


def load_mnist(split="train", root=None, verbose=True):
    """Images (N, 28, 28) uint8 and labels (N,) int64 for 'train' or 'test'.

    Uses all images the files hold (the count in the IDX header), and says when that is
    fewer than the official set.
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root) if root is not None else default_root()
    images_name, labels_name, full = FILES[split]
    for name in (images_name, labels_name):
        if not (root / name).exists():
            raise DataMissingError(f"MNIST {split} set", "mnist", root / name)
    images = _read_idx(root / images_name)
    labels = _read_idx(root / labels_name).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    note_data(f"MNIST {split} {'full' if len(images) == full else 'subset'}: {len(images):,} images")
    if verbose:
        note = "" if len(images) == full else f" (a subset of the official {full:,})"
        print(f"MNIST {split}: {len(images):,} images{note}")
    return images, labels
