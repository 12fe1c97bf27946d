"""Data for SimCLR: the augmentations that make two views of an image, and a CIFAR-10
dataset that returns both views.

`CIFAR10` is torchvision's CIFAR10 over the files on disk (dl4cv.data.cifar10_torchvision: the
full set or the mirror's subset, never downloading; `root` defaults to the project's data
folder).
"""
import random

import torch
from PIL import Image
from torchvision import transforms

from dl4cv.data.cifar10_torchvision import CIFAR10

# The course's CIFAR-10 channel statistics.
CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2023, 0.1994, 0.2010]


def compute_train_transform(seed=123456):
    """The random augmentation applied to one training image (a PIL image) -> (3, 32, 32)
    tensor, normalized. Seeds python's and torch's generators first, as the course does.
    """
    random.seed(seed)
    torch.random.manual_seed(seed)

    # Colour jitter: brightness 0.4, contrast 0.4, saturation 0.4, hue 0.1.
    color_jitter = transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)

    # Step 1 (given): a random crop of random size and aspect ratio, resized to 32x32.
    augmentations = [transforms.RandomResizedCrop(32)]
    # TODO Steps 2-4: append to `augmentations`, with the transforms of torchvision.transforms,
    # 2. a left-right flip with probability 0.5;
    # 3. with probability 0.8, color_jitter;
    # 4. with probability 0.2, conversion to grayscale (3 channels kept).
    # *****START OF YOUR CODE*****
    augmentations += [transforms.RandomHorizontalFlip(p=0.5),
                      transforms.RandomApply([color_jitter], p=0.8),
                      transforms.RandomGrayscale(p=0.2)]
    # *****END OF YOUR CODE*****

    train_transform = transforms.Compose(
        augmentations + [transforms.ToTensor(), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)])
    return train_transform


def compute_test_transform():
    """Test images are only converted and normalized."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)])


class CIFAR10Pair(CIFAR10):
    """CIFAR-10 whose items are (x_i, x_j, target): two views of the same image, each drawn
    by its own call of the random `transform`."""

    def __getitem__(self, index):
        img, target = self.data[index], self.targets[index]
        img = Image.fromarray(img)

        x_i = None
        x_j = None

        if self.transform is not None:
            # TODO: apply self.transform to img twice, once for x_i and once for x_j.
            # *****START OF YOUR CODE*****
            x_i = self.transform(img)
            x_j = self.transform(img)
            # *****END OF YOUR CODE*****

        if self.target_transform is not None:
            target = self.target_transform(target)

        return x_i, x_j, target
