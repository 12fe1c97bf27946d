"""COCO captioning data in the course's files: caption ids and image features (HDF5), the
vocabulary (JSON) and the image URLs (text), with minibatch sampling and decoding."""
import json
import os
from pathlib import Path

import numpy as np

from dl4cv.captions import decode_captions  # noqa: F401  (given code, shared)
from dl4cv.errors import DataMissingError
from dl4cv.paths import data_dir

dir_path = os.path.dirname(os.path.realpath(__file__))   # the course's name (its package folder)
BASE_DIR = str(data_dir() / "coco_captioning")
_FILES = ("coco2014_captions.h5", "coco2014_vocab.json", "train2014_urls.txt",
          "val2014_urls.txt")


def load_coco_data(base_dir=None, max_train=None, pca_features=True):
    """Everything in a COCO-captioning folder as one dict.

    Keys: train_captions / val_captions (Nc, 17) int32 word ids, train_image_idxs /
    val_image_idxs (Nc,) int32 (row of the image in the features), train_features /
    val_features (Ni, 512) float32 PCA features or (Ni, 4096) fc7 features when
    pca_features=False, idx_to_word (list), word_to_idx (dict), train_urls / val_urls
    (arrays of str). max_train keeps a random subset of that many training captions
    (np.random, so seed it for repeatable subsets).
    base_dir defaults to data/coco_captioning; a missing folder raises DataMissingError
    naming `./get_datasets.sh coco`.
    """
    import h5py
    base_dir = Path(base_dir) if base_dir is not None else Path(BASE_DIR)
    suffix = "_pca" if pca_features else ""
    needed = list(_FILES) + [f"{s}2014_vgg16_fc7{suffix}.h5" for s in ("train", "val")]
    for name in needed:
        if not (base_dir / name).exists():
            raise DataMissingError("COCO captioning data", "coco", base_dir / name)
    if max_train is not None and (int(max_train) != max_train or max_train < 1):
        raise ValueError(f"max_train must be a positive integer or None, got {max_train!r}")

    data = {}
    with h5py.File(base_dir / "coco2014_captions.h5", "r") as f:
        for k, v in f.items():
            data[k] = np.asarray(v)
    for split in ("train", "val"):
        with h5py.File(base_dir / f"{split}2014_vgg16_fc7{suffix}.h5", "r") as f:
            data[f"{split}_features"] = np.asarray(f["features"])
    with open(base_dir / "coco2014_vocab.json") as f:
        data.update(json.load(f))
    for split in ("train", "val"):
        with open(base_dir / f"{split}2014_urls.txt") as f:
            data[f"{split}_urls"] = np.asarray([line.strip() for line in f if line.strip()])

    vocab_size = len(data["idx_to_word"])
    for split in ("train", "val"):
        caps, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
        if caps.size and (caps.min() < 0 or caps.max() >= vocab_size):
            raise ValueError(f"{split}_captions hold ids outside the vocabulary of "
                             f"{vocab_size} words ([{caps.min()}, {caps.max()}])")
        if idxs.size and (idxs.min() < 0 or idxs.max() >= len(data[f"{split}_features"])):
            raise ValueError(f"{split}_image_idxs point outside the "
                             f"{len(data[f'{split}_features'])} images")

    if max_train is not None:
        num_train = data["train_captions"].shape[0]
        mask = np.random.randint(num_train, size=max_train)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def sample_coco_minibatch(data, batch_size=100, split="train"):
    """A random minibatch (np.random): captions (B, 17), image features (B, D), urls (B,)."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    split_size = data[f"{split}_captions"].shape[0]
    mask = np.random.choice(split_size, batch_size)
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    image_features = data[f"{split}_features"][image_idxs]
    urls = data[f"{split}_urls"][image_idxs]
    return captions, image_features, urls
