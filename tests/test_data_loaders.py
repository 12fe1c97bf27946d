"""CIFAR-10 and MNIST loaders on files written here in the official formats, and on the
mirror data when it has been fetched; missing data gives the get_datasets.sh command."""
import gzip
import pickle
import struct

import numpy as np
import pytest

from dl4cv.data.cifar10 import get_cifar10_data, load_cifar10, split_sizes
from dl4cv.data.mnist import load_mnist
from dl4cv.errors import DataMissingError
from dl4cv.paths import data_dir
from dl4cv_tools.testing import course_module


def write_cifar(root, per_batch=7, test=5, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    batches = {}
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", test)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        with open(root / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, f)
        batches[name] = (data, labels)
    return batches


def test_cifar_layout_matches_the_official_format(tmp_path):
    batches = write_cifar(tmp_path / "c")
    xtr, ytr, xte, yte = load_cifar10(tmp_path / "c", verbose=False)
    assert xtr.shape == (35, 32, 32, 3) and xte.shape == (5, 32, 32, 3)
    data, labels = batches["data_batch_2"]
    # Row-major planes: channel c, row r, column k is data[c*1024 + r*32 + k].
    i, r, k, c = 3, 17, 5, 2
    assert xtr[7 + i, r, k, c] == data[i, c * 1024 + r * 32 + k]
    assert ytr[7 + i] == labels[i]
    assert xtr.dtype == np.float64


def test_cifar_splits_shrink_to_what_is_there(tmp_path, capsys):
    write_cifar(tmp_path / "c", per_batch=20, test=8)
    d = get_cifar10_data(49000, 1000, 1000, root=tmp_path / "c")
    assert d["X_train"].shape[1:] == (3, 32, 32)
    assert len(d["X_train"]) + len(d["X_val"]) == 100 and len(d["X_test"]) == 8
    assert "asked for 49000 / 1000 / 1000" in capsys.readouterr().out
    assert abs(d["X_train"].mean()) < 1e-9  # mean image subtracted
    assert split_sizes(50000, 49000, 1000) == (49000, 1000)


def test_torchvision_cifar10_reads_a_subset_without_downloading(tmp_path):
    import torchvision
    from dl4cv.data.cifar10_torchvision import CIFAR10
    batches = write_cifar(tmp_path / "cifar-10-batches-py", per_batch=4, test=3)
    with open(tmp_path / "cifar-10-batches-py" / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["c%d" % i for i in range(10)]}, f)
    train = CIFAR10(root=tmp_path, train=True, download=True)   # subset: torchvision's MD5 fails
    test = CIFAR10(root=tmp_path, train=False)
    assert isinstance(train, torchvision.datasets.CIFAR10)
    assert len(train) == 20 and len(test) == 3 and train.classes[3] == "c3"
    data, labels = batches["data_batch_3"]
    image, label = train[8 + 1]                    # the second image of the third batch
    assert label == labels[1]
    # the official layout: channel c, row r, column k is data[c*1024 + r*32 + k]
    assert np.asarray(image)[17, 5, 2] == data[1, 2 * 1024 + 17 * 32 + 5]
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataMissingError, match=r"get_datasets.sh cifar10"):
        CIFAR10(root=tmp_path, train=False)


def test_missing_data_names_the_fix(tmp_path):
    with pytest.raises(DataMissingError, match=r"get_datasets.sh cifar10"):
        load_cifar10(tmp_path / "nothing")
    with pytest.raises(DataMissingError, match=r"get_datasets.sh mnist"):
        load_mnist("test", root=tmp_path)
    data_utils = course_module("cs231n/assignment1", "cs231n.data_utils")
    with pytest.raises(DataMissingError, match="get_datasets.sh"):
        data_utils.load_CIFAR10(str(tmp_path / "nothing"))


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_mnist_reads_idx_and_subsets(tmp_path, capsys):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=12).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    x, y = load_mnist("train", root=tmp_path)
    assert np.array_equal(x, images) and np.array_equal(y, labels)
    assert "subset of the official 60,000" in capsys.readouterr().out
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation", root=tmp_path)


def test_mnist_truncated_file_is_an_error(tmp_path):
    images = np.zeros((4, 28, 28), np.uint8)
    header = struct.pack(">HBB", 0, 0x08, 3) + b"".join(struct.pack(">I", d) for d in (10, 28, 28))
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    with pytest.raises(ValueError, match="truncated"):
        load_mnist("test", root=tmp_path)


@pytest.mark.skipif(not (data_dir() / "mnist").exists(), reason="data not fetched")
def test_mirror_data_loads():
    xte, yte = load_mnist("test", verbose=False)
    assert xte.shape == (10000, 28, 28) and np.bincount(yte).min() > 800
    xtr, ytr, xte, yte = load_cifar10(verbose=False)
    assert xtr.shape[1:] == (32, 32, 3) and len(xtr) >= 5000 and set(np.unique(ytr)) == set(range(10))
