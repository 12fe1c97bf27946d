"""Every file the assignments download: official URL(s), official checksum, where it goes.

`checksum` is "md5:<hex>", "sha256:<hex>", "sha256-prefix:<hex>" (torch hub's convention:
the file name carries the first hex digits of its sha256) or None where the publisher gives
none; such files are then checked structurally (the archive must open) and the fetcher says so.
`mirror` is the file's path inside a mirror (verified against the mirror's SHA256SUMS).
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple


@dataclass(frozen=True)
class Item:
    name: str                      # file name, also its name in messages
    dest: str                      # path under the data folder ("@hub/" = torch hub checkpoints)
    urls: Tuple[str, ...]
    checksum: Optional[str]
    mirror: Optional[str] = None
    extract_to: Optional[str] = None   # extract the archive into this folder (relative to data)
    extracted: Optional[str] = None    # a path that exists once extracted
    member: Optional[str] = None       # the file is this member of the zip at `urls` (the
                                       # mirror, if any, holds the file itself)


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    items: Tuple[Item, ...] = field(default_factory=tuple)


_MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")


def _mnist(name, md5):
    return Item(name, f"mnist/{name}", tuple(u + name for u in _MNIST_URLS), f"md5:{md5}",
                mirror=f"mnist/{name}")


def _style(name):
    # Shipped inside the courses' starter zips, not published on their own: mirror only.
    return Item(name, f"styles/{name}", (), None, mirror=f"styles/{name}")


def _course_file(path):
    # Inside the course's starter zips, not published at a URL of their own: mirror only.
    return Item(path.rsplit("/", 1)[-1], f"course_files/{path}", (), None,
                mirror=f"course_files/{path}")


DATASETS = {d.name: d for d in (
    Dataset("cifar10", "CIFAR-10, python version (CS231n A1-A3, EECS A4-A5)", (
        Item("cifar-10-python.tar.gz", "downloads/cifar-10-python.tar.gz",
             ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
             "md5:c58f30108f718f92721af3b95e74349a", mirror="cifar-10-python.tar.gz",
             extract_to=".", extracted="cifar-10-batches-py/test_batch"),)),
    Dataset("mnist", "MNIST (CS231n A3 GANs, EECS A6)", (
        _mnist("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        _mnist("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        _mnist("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        _mnist("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"))),
    Dataset("styles", "Style-transfer content and style images (CS231n A3, EECS A4)", tuple(
        _style(n) for n in ("tubingen.jpg", "composition_vii.jpg", "the_scream.jpg",
                            "starry_night.jpg", "muse.jpg"))),
    Dataset("course_files", "Files the CS231n 2020 starter folders ship and the notebooks read "
            "(check values, pictures)", tuple(_course_file(p) for p in (
                "cs231n/assignment2/cs231n/notebook_images/kitten.jpg",
                "cs231n/assignment2/cs231n/notebook_images/puppy.jpg",
                "cs231n/assignment3/style-transfer-checks.npz",
                "cs231n/assignment3/gan-checks-tf.npz"))),
    Dataset("coco", "COCO captioning, CS231n format (HDF5 + vocab JSON)", (
        Item("coco_captioning.zip", "downloads/coco_captioning.zip",
             ("http://cs231n.stanford.edu/coco_captioning.zip",), None,
             extract_to=".", extracted="coco_captioning/coco2014_vocab.json"),)),
    Dataset("coco_eecs", "COCO captioning, EECS 498 A4 format (coco.pt)", (
        Item("coco.pt", "coco.pt",
             ("http://web.eecs.umich.edu/~justincj/teaching/eecs498/coco.pt",), None),)),
    Dataset("imagenet_val", "25 ImageNet validation images (network visualization)", (
        Item("imagenet_val_25.npz", "imagenet_val_25.npz",
             ("http://cs231n.stanford.edu/imagenet_val_25.npz",), None),)),
    Dataset("squeezenet", "torchvision squeezenet1_1 ImageNet weights (torch hub cache)", (
        Item("squeezenet1_1-b8a52dc0.pth", "@hub/squeezenet1_1-b8a52dc0.pth",
             ("https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",),
             "sha256-prefix:b8a52dc0"),)),
    Dataset("mobilenet_v2", "torchvision mobilenet_v2 ImageNet weights (EECS A4/A5 backbones)", (
        Item("mobilenet_v2-b0353104.pth", "@hub/mobilenet_v2-b0353104.pth",
             ("https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",),
             "sha256-prefix:b0353104"),)),
    Dataset("eecs498_a3_pictures", "Kitten and puppy pictures of the EECS 498 A3 convolution aside",
            tuple(Item(n, f"eecs498_a3_pictures/{n}",
                       (f"https://web.eecs.umich.edu/~justincj/teaching/eecs498/assets/a3/{n}",),
                       None) for n in ("kitten.jpg", "puppy.jpg"))),
    Dataset("simclr_weights", "The course's pretrained SimCLR ResNet-50 (CS231n A3 self-supervised "
            "learning, 2021-2025)", (
                Item("pretrained_simclr_model.pth", "pretrained_model/pretrained_simclr_model.pth",
                     ("http://downloads.cs.stanford.edu/downloads/cs231n/pretrained_simclr_model.pth",),
                     None),)),
    Dataset("simclr_sanity_check", "The check values of CS231n A3 Self_Supervised_Learning, "
            "extracted from the official 2024 starter zip", (
                Item("simclr_sanity_check.key",
                     "course_files/cs231n/assignment3/simclr_sanity_check.key",
                     ("https://cs231n.github.io/assignments/2024/assignment3_colab.zip",),
                     # the member's sha256, read from the official zip (cs231n.github.io 3d84654)
                     "sha256:65e046d7add4e470fa100d739d268df388842cc8d99aa1255bc41a1886915483",
                     mirror="course_files/cs231n/assignment3/simclr_sanity_check.key",
                     member="assignment3/simclr_sanity_check.key"),)),
    # CS231n 2025 A3 DDPM. No official 2025 file names these URLs: they are the ones public
    # copies of the 2025 assignment (2025/26 solution repositories) download from; no checksum
    # is published, so none is pinned (the files are checked structurally).
    Dataset("ddpm_emoji", "The emoji images + captions and their CLIP ViT-B/32 text embeddings "
            "(CS231n 2025 A3 DDPM)", (
                Item("emoji_data.npz", "cs231n_emoji/emoji_data.npz",
                     ("https://cs231n.stanford.edu/2025/storage/a3/emoji_data.npz",), None),
                Item("text_embeddings.pt", "cs231n_emoji/text_embeddings.pt",
                     ("https://cs231n.stanford.edu/2025/storage/a3/text_embeddings.pt",), None))),
    Dataset("ddpm_weights", "The course's pretrained text-conditioned DDPM, Trainer checkpoint "
            "after 70,000 steps (CS231n 2025 A3 DDPM)", (
                Item("model-70000.pt", "cs231n_emoji/pretrained/model-70000.pt",
                     ("https://cs231n.stanford.edu/2025/storage/a3/model-70000.pt",), None),)),
    Dataset("voc2007", "PASCAL VOC 2007 trainval (EECS A5)", (
        Item("VOCtrainval_06-Nov-2007.tar", "downloads/VOCtrainval_06-Nov-2007.tar",
             ("http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar",),
             "md5:c52e279531787c972589f7e41ab4ae64",
             extract_to=".", extracted="VOCdevkit/VOC2007/Annotations"),)),
)}

# What each assignment needs; `get_datasets.sh cs231n-a3` fetches a group.
GROUPS = {
    "cs231n-a1": ("cifar10",),
    "cs231n-a2": ("cifar10", "course_files", "coco"),
    "cs231n-a3": ("coco", "imagenet_val", "squeezenet", "styles", "mnist", "cifar10",
                  "course_files"),
    "cs231n-a3-simclr": ("cifar10", "simclr_weights", "simclr_sanity_check"),
    # the stand-ins of DDPM.ipynb are built from CIFAR-10 when the course's files are missing
    "cs231n-a3-ddpm": ("cifar10", "ddpm_emoji", "ddpm_weights"),
    "eecs498-a1": ("cifar10",),
    "eecs498-a2": ("cifar10",),
    "eecs498-a3": ("cifar10", "eecs498_a3_pictures"),
    "eecs498-a4": ("cifar10", "coco_eecs", "imagenet_val", "squeezenet", "mobilenet_v2", "styles"),
    "eecs498-a5": ("voc2007", "mobilenet_v2", "cifar10"),
    "eecs498-a6": ("mnist",),
}
# What the data mirror (../shared/data) holds; the rest can only come from the internet.
MIRRORED = ("cifar10", "mnist", "styles", "course_files")
