"""The two pictures of the EECS 498 A3 convolution aside (a kitten and a puppy), or seeded
stand-ins drawn here when they cannot be downloaded.

The real files come from `./get_datasets.sh eecs498-a3` (data set `eecs498_a3_pictures`, the
course's URLs, into `<data>/eecs498_a3_pictures/{kitten,puppy}.jpg`). Offline, `load_a3_pictures`
draws two stand-ins in the same format (RGB JPEG) and roughly the same sizes: a wide "kitten"
(400 x 266) and a square "puppy" (517 x 517), simple shapes with clear edges on a smooth
background, written once to `<data>/synthetic_pictures/v<FORMAT_VERSION>_s<seed>/` and read back
like the real files, so the notebook code is the same either way.

    from dl4cv.standins.course_pictures import load_a3_pictures
    kitten, puppy = load_a3_pictures()     # (H, W, 3) uint8 arrays; prints which ones
"""
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from dl4cv.paths import data_dir

DATASET = "eecs498_a3_pictures"
NAMES = ("kitten.jpg", "puppy.jpg")
# (width, height) of each stand-in, close to the course's pictures: the kitten is wide, the
# puppy square (the notebook crops the kitten to a square).
SIZES = {"kitten.jpg": (400, 266), "puppy.jpg": (517, 517)}
FORMAT_VERSION = 1   # bump when the drawing changes (cached stand-ins are redrawn)


def real_folder() -> Path:
    return data_dir() / DATASET


def standin_folder(seed: int = 0) -> Path:
    return data_dir() / "synthetic_pictures" / f"v{FORMAT_VERSION}_s{seed}"


def _background(rng, w: int, h: int) -> np.ndarray:
    """Smooth vertical colour gradient (sky-like top, floor-like bottom) plus mild noise;
    (h, w, 3) float array in [0, 255]."""
    top, bottom = rng.uniform(120, 230, 3), rng.uniform(40, 140, 3)
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    img = (1 - t) * top + t * bottom + np.zeros((h, w, 3))
    return np.clip(img + rng.normal(0, 4, size=img.shape), 0, 255)


def _draw_kitten(rng, w: int, h: int):
    """A seated cat: an ellipse body, a round head with triangular ears, eyes and a tail."""
    from PIL import Image, ImageDraw
    im = Image.fromarray(_background(rng, w, h).astype(np.uint8))
    d = ImageDraw.Draw(im)
    fur = tuple(int(c) for c in (rng.integers(170, 230), rng.integers(110, 150), rng.integers(50, 90)))
    dark = tuple(max(c - 70, 0) for c in fur)
    cx, base = w // 2, h - 20
    d.ellipse([cx - 80, base - 125, cx + 80, base], fill=fur, outline=dark, width=3)      # body
    d.arc([cx + 40, base - 90, cx + 160, base + 10], 200, 340, fill=dark, width=12)         # tail
    hr = 50
    hy = base - 140
    d.polygon([(cx - hr + 4, hy - 18), (cx - hr + 22, hy - hr - 30), (cx - 8, hy - hr + 4)],
              fill=fur, outline=dark)                                                        # ears
    d.polygon([(cx + hr - 4, hy - 18), (cx + hr - 22, hy - hr - 30), (cx + 8, hy - hr + 4)],
              fill=fur, outline=dark)
    d.ellipse([cx - hr, hy - hr, cx + hr, hy + hr], fill=fur, outline=dark, width=3)       # head
    for ex in (cx - 22, cx + 22):                                                            # eyes
        d.ellipse([ex - 10, hy - 14, ex + 10, hy + 4], fill=(70, 160, 60))
        d.ellipse([ex - 3, hy - 12, ex + 3, hy + 2], fill=(10, 10, 10))
    d.polygon([(cx - 7, hy + 14), (cx + 7, hy + 14), (cx, hy + 22)], fill=(220, 120, 130))  # nose
    for side in (-1, 1):                                                                     # whiskers
        for dy in (-4, 4, 12):
            d.line([(cx + side * 14, hy + 20), (cx + side * 70, hy + 20 + dy)], fill=(240, 240, 240), width=2)
    return im


def _draw_puppy(rng, w: int, h: int):
    """A puppy's head filling most of a square picture: round head, floppy ears, muzzle, eyes."""
    from PIL import Image, ImageDraw
    im = Image.fromarray(_background(rng, w, h).astype(np.uint8))
    d = ImageDraw.Draw(im)
    fur = tuple(int(c) for c in (rng.integers(150, 210), rng.integers(100, 140), rng.integers(50, 90)))
    ear = tuple(max(c - 60, 0) for c in fur)
    cx, cy, r = w // 2, h // 2 + 20, 170
    d.ellipse([cx - r - 60, cy - r + 10, cx - r + 60, cy + 90], fill=ear)                  # ears
    d.ellipse([cx + r - 60, cy - r + 10, cx + r + 60, cy + 90], fill=ear)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fur, outline=ear, width=4)             # head
    d.ellipse([cx - 90, cy + 10, cx + 90, cy + 150], fill=(235, 225, 205))                  # muzzle
    d.ellipse([cx - 32, cy + 20, cx + 32, cy + 62], fill=(25, 20, 20))                      # nose
    d.line([(cx, cy + 62), (cx, cy + 100)], fill=(25, 20, 20), width=5)
    d.arc([cx - 50, cy + 70, cx + 50, cy + 125], 20, 160, fill=(25, 20, 20), width=5)       # mouth
    for ex in (cx - 70, cx + 70):                                                            # eyes
        d.ellipse([ex - 24, cy - 70, ex + 24, cy - 22], fill=(250, 250, 250))
        d.ellipse([ex - 14, cy - 60, ex + 14, cy - 32], fill=(40, 25, 15))
    d.rectangle([0, h - 60, w, h], fill=(60, 110, 170))                                      # floor
    return im


def write_standin_pictures(folder: Optional[Path] = None, seed: int = 0) -> Path:
    """Draw the two stand-ins (seeded) as JPEGs into `folder` (default: standin_folder(seed));
    returns the folder. Existing files are kept (they are the same drawing)."""
    folder = Path(folder) if folder is not None else standin_folder(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, draw in (("kitten.jpg", _draw_kitten), ("puppy.jpg", _draw_puppy)):
        im = draw(rng, *SIZES[name])   # drawn even when cached, so each keeps its own draws
        path = folder / name
        if not path.exists():
            tmp = path.with_name(f".{name}.tmp")
            im.save(tmp, format="JPEG", quality=90)
            tmp.replace(path)   # atomic: parallel notebooks never read half a file
    return folder


def _read(path: Path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_a3_pictures(seed: int = 0, verbose: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(kitten, puppy): (H, W, 3) uint8 RGB arrays. The course's pictures when
    `get_datasets.sh eecs498-a3` fetched them, else the seeded stand-ins (printed)."""
    real = real_folder()
    if all((real / n).exists() for n in NAMES):
        folder = real
        if verbose:
            print(f"pictures: the course's kitten and puppy ({folder})")
    else:
        folder = write_standin_pictures(seed=seed)
        if verbose:
            print("pictures: the course's kitten and puppy are not on disk (`./get_datasets.sh "
                  "eecs498-a3` fetches them); using drawn stand-ins "
                  f"(dl4cv.standins.course_pictures, seed {seed})")
    return _read(folder / "kitten.jpg"), _read(folder / "puppy.jpg")
