"""A small, seeded object-detection data set written in exactly the PASCAL VOC 2007 layout.

Real VOC 2007 (~450 MB) cannot always be fetched (CI, offline machines), yet the EECS 498 A5
detectors, their loader and their mAP evaluation must run end to end. This module writes

    <root>/VOCdevkit/VOC2007/JPEGImages/000001.jpg ...
    <root>/VOCdevkit/VOC2007/Annotations/000001.xml ...      (VOC XML: size, object/name/bndbox)
    <root>/VOCdevkit/VOC2007/ImageSets/Main/{train,val,trainval,test}.txt

Each image is a smooth random background with 1-4 real CIFAR-10 images (from the data mirror,
via `dl4cv.data.load_cifar10`), randomly mirrored, pasted at random scales, aspect ratios and
positions without overlapping; the boxes are the pasted rectangles, named with the VOC class
that matches the CIFAR class (plane -> aeroplane, car -> car, horse -> horse, ship -> boat, ...).
Objects of the `train` images come from the CIFAR-10 training images, those of the `val`/`test`
images from the CIFAR-10 test images, so no object appearance is shared between the splits
(nor with a backbone pretrained on the CIFAR-10 training images). Coordinates follow the VOC
convention: 1-based, inclusive pixel indices.

    from dl4cv.standins.synthetic_voc import write_synthetic_voc
    root = write_synthetic_voc(num_images=40, seed=0)   # -> folder that holds VOCdevkit/
"""
import hashlib
import json
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from dl4cv.paths import data_dir

# CIFAR-10 class index -> VOC class name (only the CIFAR classes that exist in VOC).
CIFAR_TO_VOC = {0: "aeroplane", 1: "car", 2: "bird", 3: "cat", 5: "dog", 7: "horse", 8: "boat"}
DEFAULT_CLASSES = ("aeroplane", "car", "horse")
FORMAT_VERSION = 2   # bump when the generator's output changes (cached sets are rewritten)


def default_root(num_images: int, seed: int) -> Path:
    return data_dir() / "synthetic_voc" / f"v{FORMAT_VERSION}_n{num_images}_s{seed}"


def _background(rng, h, w):
    """Smooth colour field (bilinear upsampling of a coarse random grid) + mild noise."""
    coarse = rng.uniform(0, 255, size=(3, 3, 3))
    ys = np.linspace(0, 2, h)[:, None]
    xs = np.linspace(0, 2, w)[None, :]
    y0, x0 = np.clip(ys.astype(int), 0, 1), np.clip(xs.astype(int), 0, 1)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    c = lambda dy, dx: coarse[y0 + dy, x0 + dx]  # noqa: E731  (h, w, 3) via broadcasting
    img = (c(0, 0) * (1 - fy) * (1 - fx) + c(0, 1) * (1 - fy) * fx
           + c(1, 0) * fy * (1 - fx) + c(1, 1) * fy * fx)
    img = img + rng.normal(0, 6, size=img.shape)
    return img


def _resize(patch, h, w):
    """Bilinear resize of a (32, 32, 3) float array to (h, w, 3)."""
    from PIL import Image
    im = Image.fromarray(np.clip(patch, 0, 255).astype(np.uint8))
    return np.asarray(im.resize((w, h), Image.BILINEAR), dtype=np.float64)


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _annotation_xml(filename, w, h, objects):
    parts = ["<annotation>", "\t<folder>VOC2007</folder>", f"\t<filename>{filename}</filename>",
             "\t<source><database>dl4cv synthetic VOC (CIFAR-10 objects)</database></source>",
             f"\t<size><width>{w}</width><height>{h}</height><depth>3</depth></size>",
             "\t<segmented>0</segmented>"]
    for name, (x1, y1, x2, y2) in objects:
        parts += ["\t<object>", f"\t\t<name>{escape(name)}</name>", "\t\t<pose>Unspecified</pose>",
                  "\t\t<truncated>0</truncated>", "\t\t<difficult>0</difficult>",
                  f"\t\t<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
                  f"<ymax>{y2}</ymax></bndbox>", "\t</object>"]
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def write_synthetic_voc(root=None, num_images=40, seed=0, classes=DEFAULT_CLASSES,
                        size_range=(200, 320), max_objects=4, val_fraction=0.25,
                        scale_range=(0.3, 0.6), cifar_root=None, overwrite=False) -> Path:
    """Write the data set (if not already there with the same parameters); return `root`.

    Inputs:
    - root: folder that will hold VOCdevkit/ (default data/synthetic_voc/v<version>_n<N>_s<seed>)
    - num_images: number of images; the first (1 - val_fraction) go to `train`, the rest to
      `val` (`trainval` = all, `test` = val)
    - seed: seeds every random choice (same seed -> byte-identical annotations and images)
    - classes: VOC class names to use; each must be one of CIFAR_TO_VOC's values
    - size_range: (min, max) image side in pixels; max_objects: 1..max_objects per image
    - scale_range: (min, max) object side as a fraction of the image's shorter side
    Objects of train images are CIFAR-10 training images, objects of val images CIFAR-10 test
    images (each split cycles through a seeded permutation of its pool, so an object repeats
    only after its whole pool has been used).
    """
    wanted = set(classes)
    unknown = wanted - set(CIFAR_TO_VOC.values())
    if unknown or not classes:
        raise ValueError(f"classes must be a non-empty subset of {sorted(CIFAR_TO_VOC.values())}, "
                         f"got {sorted(unknown) or list(classes)}")
    if num_images < 2:
        raise ValueError(f"num_images must be >= 2 (one train and one val image), got {num_images}")
    if not 0 < scale_range[0] <= scale_range[1] < 1:
        raise ValueError(f"scale_range must satisfy 0 < min <= max < 1, got {scale_range}")
    root = Path(root) if root is not None else default_root(num_images, seed)
    voc = root / "VOCdevkit" / "VOC2007"
    params = dict(version=FORMAT_VERSION, num_images=num_images, seed=seed, classes=list(classes),
                  size_range=list(size_range), max_objects=max_objects, val_fraction=val_fraction,
                  scale_range=list(scale_range))
    stamp = voc / "synthetic.json"
    if stamp.exists() and not overwrite and json.loads(stamp.read_text()) == params:
        return root

    from PIL import Image

    from dl4cv.data import load_cifar10
    xtr, ytr, xte, yte = load_cifar10(cifar_root, verbose=False)
    voc_to_cifar = {v: k for k, v in CIFAR_TO_VOC.items()}
    # Seeded from the parameters so that different data sets never share a random stream.
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))

    class _Pool:
        """Objects of one class from one CIFAR split, in a seeded order, reshuffled per pass."""

        def __init__(self, x, y, name):
            self.x, self.idx = x, np.flatnonzero(y == voc_to_cifar[name])
            if len(self.idx) == 0:
                raise ValueError(f"no CIFAR-10 image of class {name!r} on disk")
            self.order, self.pos = rng.permutation(self.idx), 0

        def draw(self):
            if self.pos == len(self.order):
                self.order, self.pos = rng.permutation(self.idx), 0
            self.pos += 1
            return self.x[self.order[self.pos - 1]]

    n_val = max(1, int(round(num_images * val_fraction)))
    pools = {"train": {c: _Pool(xtr, ytr, c) for c in classes},
             "val": {c: _Pool(xte, yte, c) for c in classes}}

    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    ids = [f"{i + 1:06d}" for i in range(num_images)]
    for k, image_id in enumerate(ids):
        split = "train" if k < num_images - n_val else "val"
        w, h = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, size=2))
        img = _background(rng, h, w)
        objects, placed = [], []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            for _attempt in range(20):  # rejection sampling: objects never overlap
                side = rng.uniform(*scale_range) * min(w, h)
                aspect = np.exp(rng.uniform(-0.3, 0.3))
                bw, bh = int(round(side * aspect)), int(round(side / aspect))
                bw, bh = min(bw, w - 2), min(bh, h - 2)
                x0, y0 = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
                box = (x0, y0, x0 + bw, y0 + bh)
                if all(_iou(box, other) == 0 for other in placed):
                    break
            else:
                continue
            name = classes[int(rng.integers(len(classes)))]
            src = pools[split][name].draw()
            if rng.random() < 0.5:
                src = src[:, ::-1]
            img[y0:y0 + bh, x0:x0 + bw] = _resize(src, bh, bw)
            placed.append(box)
            # VOC: 1-based inclusive pixel coordinates.
            objects.append((name, (x0 + 1, y0 + 1, x0 + bw, y0 + bh)))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            voc / "JPEGImages" / f"{image_id}.jpg", quality=92)
        (voc / "Annotations" / f"{image_id}.xml").write_text(
            _annotation_xml(f"{image_id}.jpg", w, h, objects))

    splits = {"train": ids[:-n_val], "val": ids[-n_val:], "trainval": ids, "test": ids[-n_val:]}
    for split, members in splits.items():
        (voc / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(members) + "\n")
    stamp.write_text(json.dumps(params))
    return root


def voc_data_root(num_synthetic=300, seed=0, prefer_real=True):
    """Which detection data a notebook uses: (folder holding VOCdevkit/, one-line description).

    Real PASCAL VOC 2007 from dl4cv.paths.data_dir() when it is there and prefer_real;
    otherwise the seeded synthetic set of dl4cv.standins.synthetic_voc (written on first use).
    """
    from dl4cv.paths import data_dir
    from dl4cv.report import note_data
    real = data_dir()
    if prefer_real and (real / "VOCdevkit" / "VOC2007" / "Annotations").is_dir():
        note_data("PASCAL VOC 2007")
        return real, f"PASCAL VOC 2007 from {real / 'VOCdevkit'}"
    note_data(f"synthetic VOC-format set: {num_synthetic} images of CIFAR-10 objects (dl4cv.standins.synthetic_voc)")
    root = write_synthetic_voc(num_images=num_synthetic, seed=seed)
    return root, (f"synthetic VOC-format set ({num_synthetic} images of CIFAR-10 objects pasted on "
                  f"backgrounds, seed {seed}, dl4cv.standins.synthetic_voc) in {root}")


if __name__ == "__main__":
    import sys
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    print(write_synthetic_voc(num_images=n))
