"""Seeded stand-ins for what cannot be downloaded here, each printing which one is used:

- `synthetic_coco`: COCO-format captioning sets made of CIFAR-10 images (CS231n A3, EECS A4);
- `synthetic_voc`: a PASCAL-VOC-layout detection set of CIFAR-10 objects (EECS A5), and
  `voc_data_root`, which picks real VOC 2007 or this set;
- `cifar_cnn`: the small CIFAR-10 CNN standing in for ImageNet SqueezeNet (`dl4cv.pretrained`);
- `mobilenet`: the ONE MobileNet v2 backbone stand-in of EECS A4 and A5;
- `mnist_scorer`: the MNIST classifier that scores generated digits (CS231n A3, EECS A6);
- `cpu_detection`: the CPU-budget training pieces of EECS A5 (cached backbone features, ...);
- `course_pictures`: the kitten and puppy of EECS A3's convolution notebook (drawn when offline);
- `cache`: the one "train once, cache, reuse while the training data is unchanged" rule.

    from dl4cv.standins import synthetic_coco, load_scorer, format_scores
"""
import importlib

_EXPORTS = {
    "voc_data_root": "dl4cv.standins.synthetic_voc",
    "write_synthetic_voc": "dl4cv.standins.synthetic_voc",
    "load_scorer": "dl4cv.standins.mnist_scorer", "score_samples": "dl4cv.standins.mnist_scorer",
    "format_scores": "dl4cv.standins.mnist_scorer",
    "load_fallback_cnn": "dl4cv.standins.cifar_cnn",
    "mobilenet_v2_features": "dl4cv.standins.mobilenet",
    "ensure_backbone_weights": "dl4cv.standins.mobilenet",
    "cached_model": "dl4cv.standins.cache", "data_fingerprint": "dl4cv.standins.cache",
    "load_a3_pictures": "dl4cv.standins.course_pictures",
}
_MODULES = ("synthetic_coco", "synthetic_voc", "cifar_cnn", "mobilenet", "mnist_scorer",
            "cpu_detection", "course_pictures", "cache")
__all__ = list(_EXPORTS) + list(_MODULES)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _MODULES:
        return importlib.import_module(f"dl4cv.standins.{name}")
    raise AttributeError(f"module 'dl4cv.standins' has no attribute {name!r}")
