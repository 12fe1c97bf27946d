"""dl4cv: what every assignment shares (data, gradient checks, images, notebooks, benchmarks).

The course modules (`cs231n/...`, `eecs598`) keep the courses' names and delegate here. A
notebook's setup imports what it uses in one line, e.g.

    from dl4cv import build_dir, check, pick, record

and the stand-ins for what cannot be downloaded (synthetic COCO / VOC, the MNIST scorer, the
fallback networks) in at most one more: `from dl4cv.standins import ...`.
Attributes are imported lazily so that `python -m dl4cv.data.fetch` runs on a bare Python
(no numpy/torch yet).
"""
import importlib

_EXPORTS = {
    # errors, mode, device, seeding, report, paths, checks
    "DL4CVError": "dl4cv.errors", "DataMissingError": "dl4cv.errors",
    "is_smoke": "dl4cv.mode", "is_full": "dl4cv.mode", "pick": "dl4cv.mode", "describe": "dl4cv.mode",
    "get_device": "dl4cv.device", "seed_everything": "dl4cv.seeding",
    "record": "dl4cv.report", "note_data": "dl4cv.report",
    "build_dir": "dl4cv.paths", "data_dir": "dl4cv.paths", "cache_dir": "dl4cv.paths",
    "check": "dl4cv.checks",
    # images
    "load_image": "dl4cv.images", "preprocess": "dl4cv.images", "deprocess": "dl4cv.images",
    "image_grid": "dl4cv.images", "save_gif": "dl4cv.images",
    # pretrained networks (the real weights, or the stand-in when they are absent)
    "load_vision_model": "dl4cv.pretrained", "load_images": "dl4cv.pretrained",
    "load_feature_network": "dl4cv.pretrained",
    # PyTorch training loop shared by CS231n A2 and EECS 498 A4
    "TensorLoader": "dl4cv.torch_train", "cifar10_loaders": "dl4cv.torch_train",
    "evaluate": "dl4cv.torch_train", "train": "dl4cv.torch_train",
    "onecycle_sgd": "dl4cv.torch_train", "stock_preresnet": "dl4cv.torch_train",
    "copy_weights_by_position": "dl4cv.torch_train",
    # GAN notebooks
    "gif_path": "dl4cv.gan_tools", "mnist_loader": "dl4cv.gan_tools",
    "score_generator": "dl4cv.gan_tools",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dl4cv' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
