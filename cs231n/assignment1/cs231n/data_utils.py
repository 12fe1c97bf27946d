"""The course's data loaders and the other helpers its data_utils had (load_pickle,
load_tiny_imagenet, load_models, load_imagenet_val), shared by all assignments through dl4cv."""
from dl4cv.course_api import (get_CIFAR10_data, load_CIFAR10, load_CIFAR_batch,  # noqa: F401
                              load_models, load_pickle, load_tiny_imagenet)
from dl4cv.pretrained import load_imagenet_val  # noqa: F401  (the course's load_imagenet_val(num=None))
