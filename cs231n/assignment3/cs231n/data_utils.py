"""The course's data loaders (shared by all assignments through dl4cv)."""
from dl4cv.course_api import get_CIFAR10_data, load_CIFAR10, load_CIFAR_batch  # noqa: F401
