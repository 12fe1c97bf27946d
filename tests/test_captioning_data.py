"""The synthetic captioning set: both courses' formats, read back by the courses' loaders,
captions that match the CIFAR-10 labels, and a CS231n captioner that learns to name the class."""
import json

import h5py
import numpy as np
import pytest
import torch

from dl4cv.standins import synthetic_coco as sc
from dl4cv.data import load_cifar10
from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"


@pytest.fixture(scope="module")
def cs231n_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("coco") / "coco_captioning"
    return sc.write_cs231n(out, num_train=1200, num_val=300, seed=0)


def test_cs231n_format_and_loader(cs231n_dir):
    cu = course_module(A3, "cs231n.coco_utils")
    with h5py.File(cs231n_dir / "coco2014_captions.h5", "r") as f:
        assert set(f) == {"train_captions", "train_image_idxs", "val_captions", "val_image_idxs"}
        assert f["train_captions"].dtype == np.int32 and f["train_captions"].shape == (3600, 17)
    for split, n in (("train", 1200), ("val", 300)):
        with h5py.File(cs231n_dir / f"{split}2014_vgg16_fc7.h5", "r") as f:
            assert f["features"].shape == (n, 4096) and f["features"].dtype == np.float32
        with h5py.File(cs231n_dir / f"{split}2014_vgg16_fc7_pca.h5", "r") as f:
            assert f["features"].shape == (n, 512) and f["features"].dtype == np.float32
    vocab = json.loads((cs231n_dir / "coco2014_vocab.json").read_text())
    assert vocab["idx_to_word"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert all(vocab["idx_to_word"][i] == w for w, i in vocab["word_to_idx"].items())

    data = cu.load_coco_data(base_dir=cs231n_dir, pca_features=True)
    assert data["train_features"].shape == (1200, 512) and len(data["val_urls"]) == 300
    caps = data["train_captions"]
    assert (caps[:, 0] == 1).all() and ((caps == 2).sum(1) == 1).all()
    # every caption names its image's true CIFAR-10 class (labels read independently)
    _, ytr, _, _ = load_cifar10(verbose=False)
    decoded = cu.decode_captions(caps, data["idx_to_word"])
    named = np.array([sc.caption_class(c) for c in decoded])
    np.testing.assert_array_equal(named, ytr[data["train_image_idxs"]])
    # the URLs point at the PNGs of the same images
    from PIL import Image
    from urllib.request import url2pathname
    from urllib.parse import urlparse
    xtr = load_cifar10(verbose=False)[0]
    img = np.asarray(Image.open(url2pathname(urlparse(data["train_urls"][7]).path)))
    np.testing.assert_array_equal(img, xtr[7].astype(np.uint8))
    # the PCA features are decorrelated principal components of the fc7 features
    fc7 = cu.load_coco_data(base_dir=cs231n_dir, pca_features=False)["train_features"]
    assert fc7.shape == (1200, 4096)
    cov = np.cov(data["train_features"][:, :20].T)
    corr = np.corrcoef(data["train_features"][:, :20].T) - np.eye(20)
    assert np.abs(corr).max() < 0.15       # (the basis comes from a subsample of the rows)
    assert np.all(np.diff(np.diag(cov)[:10]) < 0.05 * np.diag(cov)[0])
    small = cu.load_coco_data(base_dir=cs231n_dir, max_train=50)
    assert small["train_captions"].shape == (50, 17)


def test_generator_is_seeded(tmp_path):
    a = sc.write_cs231n(tmp_path / "a", num_train=40, num_val=10, seed=3)
    b = sc.write_cs231n(tmp_path / "b", num_train=40, num_val=10, seed=3)
    for name, key in (("coco2014_captions.h5", "train_captions"),
                      ("train2014_vgg16_fc7_pca.h5", "features")):
        with h5py.File(a / name) as fa, h5py.File(b / name) as fb:
            np.testing.assert_array_equal(fa[key][()], fb[key][()])


def test_missing_real_data_names_get_datasets(tmp_path):
    from dl4cv.errors import DataMissingError
    cu = course_module(A3, "cs231n.coco_utils")
    with pytest.raises(DataMissingError, match="get_datasets.sh coco"):
        cu.load_coco_data(base_dir=tmp_path)
    helper = course_module("eecs498/A4", "a4_helper")
    with pytest.raises(DataMissingError, match="get_datasets.sh coco_eecs"):
        helper.load_COCO(tmp_path / "coco.pt")


def test_eecs_format_and_loader(tmp_path):
    path = sc.write_eecs(tmp_path / "coco.pt", num_train=30, num_val=10, seed=0)
    helper = course_module("eecs498/A4", "a4_helper")
    d = helper.load_COCO(path, verbose=False)
    assert set(d) == {"train_images", "val_images", "train_captions", "val_captions", "vocab"}
    assert d["train_images"].shape == (30, 3, 112, 112) and d["train_images"].dtype == torch.uint8
    assert d["val_captions"].shape == (10, 17) and d["val_captions"].dtype == torch.int64
    assert d["vocab"]["idx_to_token"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    _, _, _, yte = load_cifar10(verbose=False)
    named = [sc.caption_class(c) for c in helper.decode_captions(d["val_captions"],
                                                                   d["vocab"]["idx_to_token"])]
    np.testing.assert_array_equal(named, yte[:10])
    # the 112x112 image is the upsampled 32x32 one
    small = torch.nn.functional.avg_pool2d(d["train_images"][:1].float(), 112 // 16)
    ref = torch.nn.functional.adaptive_avg_pool2d(
        torch.from_numpy(load_cifar10(verbose=False)[0][:1]).permute(0, 3, 1, 2).float(), 16)
    assert (small - ref).abs().mean() < 6


@pytest.mark.slow
def test_lstm_captioner_names_the_class_above_chance(cs231n_dir):
    """Trained on 1,200 synthetic images, the captions it writes for 300 held-out images
    must name the right class far more often than the most frequent class would."""
    cu = course_module(A3, "cs231n.coco_utils")
    rnn = course_module(A3, "cs231n.classifiers.rnn")
    solver_mod = course_module(A3, "cs231n.captioning_solver")
    data = cu.load_coco_data(base_dir=cs231n_dir, pca_features=True)
    mean, std = data["train_features"].mean(0), data["train_features"].std(0) + 1e-6
    for split in ("train", "val"):
        data[f"{split}_features"] = (data[f"{split}_features"] - mean) / std
    model = rnn.CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=32,
                              hidden_dim=128, cell_type="lstm")
    solver = solver_mod.CaptioningSolver(model, data, update_rule="adam", num_epochs=5,
                                         batch_size=100, optim_config={"learning_rate": 1e-2},
                                         verbose=False, progress_bar=False)
    solver.train()
    pred = cu.decode_captions(model.sample(data["val_features"], 12), data["idx_to_word"])
    first = {}
    for cap, i in zip(data["val_captions"], data["val_image_idxs"]):
        first.setdefault(int(i), cu.decode_captions(cap, data["idx_to_word"]))
    acc, chance = sc.class_naming_accuracy(pred, [first[i] for i in range(len(pred))])
    print(f"class named correctly: {acc:.3f} (chance {chance:.3f})")
    assert acc > chance + 0.08
