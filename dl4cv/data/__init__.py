"""Data sets: where they come from (`registry`), fetching (`fetch`), and loading."""
import importlib

_EXPORTS = {"load_cifar10": "dl4cv.data.cifar10", "get_cifar10_data": "dl4cv.data.cifar10",
            "CIFAR10_CLASSES": "dl4cv.data.cifar10", "load_mnist": "dl4cv.data.mnist"}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
