"""torchvision's CIFAR10 dataset over the CIFAR-10 files on disk, full set or the mirror's subset.

    from dl4cv.data.cifar10_torchvision import CIFAR10
    train = CIFAR10(train=True, transform=...)      # items: (PIL image, int label)

For the notebooks that use torchvision's dataset class (CS231n 2025: the ViT, SimCLR's
CIFAR10Pair), in place of `torchvision.datasets.CIFAR10(root, download=True)`.
"""
import pickle
from pathlib import Path

import torchvision.datasets

from dl4cv.data.cifar10 import default_root
from dl4cv.errors import DataMissingError
from dl4cv.report import note_data


class CIFAR10(torchvision.datasets.CIFAR10):
    """torchvision's CIFAR10 without its MD5 checks and its download.

    torchvision checks each batch file's MD5, which a subset cannot match, and would then try to
    download; this class only requires the files to exist (a missing one raises DataMissingError
    naming the get_datasets.sh command) and never downloads: fetching is get_datasets.sh's job.
    `root` defaults to the project's data folder; `download` is accepted for the courses' call
    signature and ignored. `.data` is (N, 32, 32, 3) uint8, `.targets` a list of N ints.
    """

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        root = Path(root) if root is not None else default_root().parent
        super().__init__(root, train=train, transform=transform,
                         target_transform=target_transform, download=False)
        note_data(f"CIFAR-10 {'train' if train else 'test'} (torchvision): {len(self.data):,} images")

    def _check_integrity(self):
        names = [n for n, _ in (self.train_list if self.train else self.test_list)]
        for name in names + [self.meta["filename"]]:
            path = Path(self.root) / self.base_folder / name
            if not path.exists():
                raise DataMissingError("CIFAR-10", "cifar10", path)
        return True

    def _load_meta(self):
        # the class names, without torchvision's MD5 check (_check_integrity: the file exists)
        with open(Path(self.root) / self.base_folder / self.meta["filename"], "rb") as f:
            self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
