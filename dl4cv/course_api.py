"""The CS231n course's data-loading names (its `data_utils.py`), defined once and re-exported
by each assignment's `cs231n/data_utils.py`: the CIFAR-10 loaders, load_pickle,
load_tiny_imagenet, load_models (load_imagenet_val lives in dl4cv.pretrained)."""
import os
import pickle

import numpy as np

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


def load_pickle(f):
    """Unpickle from the open binary file `f`; latin1 reads the course's Python 2 pickles."""
    return pickle.load(f, encoding="latin1")


def _read_image(path, dtype):
    """One 64x64 Tiny ImageNet image as (3, 64, 64); grayscale files become one channel that
    broadcasts over three, as in the course's loader."""
    from imageio.v2 import imread
    img = np.asarray(imread(path))
    if img.ndim == 2:
        img = img[:, :, None]
    return img.transpose(2, 0, 1).astype(dtype)


def load_tiny_imagenet(path, dtype=np.float32, subtract_mean=True):
    """Load TinyImageNet (TinyImageNet-100-A, -100-B or -200: the same layout) from `path`.

    Returns a dict: class_names (list: class i -> its WordNet names), X_train (N_tr, 3, 64, 64),
    y_train (N_tr,), X_val (N_val, 3, 64, 64), y_val (N_val,), X_test (N_test, 3, 64, 64),
    y_test ((N_test,), or None where test/test_annotations.txt is absent) and mean_image
    (3, 64, 64), the mean training image (subtracted from every split if subtract_mean).
    """
    with open(os.path.join(path, "wnids.txt")) as f:
        wnids = [line.strip() for line in f]
    label_of = {wnid: i for i, wnid in enumerate(wnids)}
    with open(os.path.join(path, "words.txt")) as f:
        words = dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)
    class_names = [[w.strip() for w in words[wnid].split(",")] for wnid in wnids]

    X_parts, y_parts = [], []
    for i, wnid in enumerate(wnids):
        if (i + 1) % 20 == 0:
            print("loading training data for synset %d / %d" % (i + 1, len(wnids)))
        with open(os.path.join(path, "train", wnid, "%s_boxes.txt" % wnid)) as f:
            names = [line.split("\t")[0] for line in f]
        block = np.zeros((len(names), 3, 64, 64), dtype=dtype)
        for j, name in enumerate(names):
            block[j] = _read_image(os.path.join(path, "train", wnid, "images", name), dtype)
        X_parts.append(block)
        y_parts.append(np.full(len(names), label_of[wnid], dtype=np.int64))
    X_train, y_train = np.concatenate(X_parts), np.concatenate(y_parts)

    with open(os.path.join(path, "val", "val_annotations.txt")) as f:
        val = [line.split("\t")[:2] for line in f]
    y_val = np.array([label_of[wnid] for _, wnid in val])
    X_val = np.zeros((len(val), 3, 64, 64), dtype=dtype)
    for i, (name, _) in enumerate(val):
        X_val[i] = _read_image(os.path.join(path, "val", "images", name), dtype)

    test_names = os.listdir(os.path.join(path, "test", "images"))
    X_test = np.zeros((len(test_names), 3, 64, 64), dtype=dtype)
    for i, name in enumerate(test_names):
        X_test[i] = _read_image(os.path.join(path, "test", "images", name), dtype)
    y_test = None
    annotations = os.path.join(path, "test", "test_annotations.txt")
    if os.path.isfile(annotations):
        with open(annotations) as f:
            wnid_of = {parts[0]: parts[1] for parts in (line.split("\t") for line in f)}
        y_test = np.array([label_of[wnid_of[name]] for name in test_names])

    mean_image = X_train.mean(axis=0)
    if subtract_mean:
        X_train -= mean_image[None]
        X_val -= mean_image[None]
        X_test -= mean_image[None]
    return {"class_names": class_names, "X_train": X_train, "y_train": y_train,
            "X_val": X_val, "y_val": y_val, "X_test": X_test, "y_test": y_test,
            "mean_image": mean_image}


def load_models(models_dir):
    """{file name: model} for every file in `models_dir` that unpickles to a dict with a 'model'
    entry; files that are not pickles (a README, say) are skipped."""
    models = {}
    for name in os.listdir(models_dir):
        with open(os.path.join(models_dir, name), "rb") as f:
            try:
                models[name] = load_pickle(f)["model"]
            except pickle.UnpicklingError:
                continue
    return models
