"""The course's data loaders (shared by all assignments through dl4cv)."""
from dl4cv.course_api import get_CIFAR10_data, load_CIFAR10, load_CIFAR_batch  # noqa: F401
from dl4cv.pretrained import load_imagenet_val  # noqa: F401
