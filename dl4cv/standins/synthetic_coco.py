"""A small, seeded image-captioning data set built from real CIFAR-10 images.

COCO captioning cannot be downloaded here, so the captioning notebooks and tests use this
stand-in, written in exactly the two courses' on-disk formats:

* CS231n (assignment 3), a folder like `coco_captioning/`:
  `coco2014_captions.h5` (train_captions / val_captions: (Nc, 17) int32 token ids,
  train_image_idxs / val_image_idxs: (Nc,) int32), `train2014_vgg16_fc7.h5` and
  `val2014_vgg16_fc7.h5` (dataset `features`: (Ni, 4096) float32), the `*_pca.h5`
  versions ((Ni, 512) float32), `coco2014_vocab.json` (idx_to_word list, word_to_idx dict;
  ids 0-3 are <NULL> <START> <END> <UNK>) and `train2014_urls.txt` / `val2014_urls.txt`
  (one URL per image; here file:// URLs of PNGs written next to them).
* EECS 498 (A4), one file like `coco.pt`: a dict with train_images / val_images
  ((N, 3, 112, 112) uint8), train_captions / val_captions ((N, 17) int64, one caption per
  image) and vocab {"idx_to_token": list, "token_to_idx": dict}.

Each image is a real CIFAR-10 image (train split -> train, test split -> val). Its captions
come from its class and two simple visual attributes measured on the pixels: the colour of
the centre (where the object usually is) and whether the border (background) is bright or
dark, e.g. "a white ship on a bright background". The "fc7" features come from a fixed,
seeded random network (one conv layer with a ReLU pair and 8x8 average pooling, 4096-d);
the PCA features are its top 512 principal components. Everything is a pure function of the
seed and the images on disk, cached in data/ under names that cannot be mistaken for the
real files (`synthetic_coco_captioning/`, `synthetic_coco.pt`).
"""
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dl4cv.paths import data_dir
from dl4cv.report import note_data

VERSION = 2
SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>", "<UNK>")
CAPTION_WIDTH = 17            # both courses store <START> + up to 15 words + <END>, NULL-padded
CLASS_WORDS = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
COLOR_WORDS = ("red", "orange", "yellow", "green", "blue", "purple", "brown", "white", "gray",
               "black")
BACKGROUND_WORDS = ("bright", "dark")
TEMPLATES = (
    "a {color} {cls} on a {bg} background",
    "a photo of a {color} {cls}",
    "a {cls} in front of a {bg} background",
    "there is a {color} {cls} in the picture",
    "a small {cls} with a {bg} background",
)
CS231N_DIRNAME = "synthetic_coco_captioning"
EECS_FILENAME = "synthetic_coco.pt"
FC7_DIM, PCA_DIM = 4096, 512


# ----------------------------------------------------------------------------- captions
def vocabulary():
    """-> idx_to_word (list), word_to_idx (dict); special tokens first, then sorted words."""
    words = set(CLASS_WORDS) | set(COLOR_WORDS) | set(BACKGROUND_WORDS)
    for t in TEMPLATES:
        words |= {w for w in t.split() if not w.startswith("{")}
    idx_to_word = list(SPECIAL_TOKENS) + sorted(words)
    return idx_to_word, {w: i for i, w in enumerate(idx_to_word)}


def _rgb_to_hsv(rgb):
    """(N, 3) floats in [0, 1] -> hue in degrees, saturation, value."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    mx, mn = rgb.max(1), rgb.min(1)
    delta = mx - mn
    safe = np.where(delta > 0, delta, 1.0)
    hue = np.select([mx == r, mx == g], [((g - b) / safe) % 6, (b - r) / safe + 2],
                    (r - g) / safe + 4) * 60.0
    hue = np.where(delta > 0, hue, 0.0)
    sat = np.where(mx > 0, delta / np.where(mx > 0, mx, 1.0), 0.0)
    return hue, sat, mx


def image_attributes(images):
    """images: (N, 32, 32, 3) uint8/float in [0, 255] -> (color_ids, background_ids), (N,) each.

    Colour: the mean of the central 12x12 patch, named by hue (or by brightness when grey).
    Background: the mean luminance of the 4-pixel border, bright when above mid-grey.
    """
    x = np.asarray(images, dtype=np.float64) / 255.0
    h, w = x.shape[1:3]
    centre = x[:, h // 2 - 6:h // 2 + 6, w // 2 - 6:w // 2 + 6].mean(axis=(1, 2))
    hue, sat, val = _rgb_to_hsv(centre)
    hue_names = np.select([hue < 15, hue < 45, hue < 70, hue < 170, hue < 260, hue < 330],
                          [0, 1, 2, 3, 4, 5], 0)          # red orange yellow green blue purple
    hue_names = np.where((hue_names == 1) & (val < 0.55), 6, hue_names)   # dark orange: brown
    grey = np.select([val > 0.7, val > 0.3], [7, 8], 9)                   # white gray black
    colors = np.where((sat < 0.2) | (val < 0.15), grey, hue_names)
    border = np.ones((h, w), dtype=bool)
    border[4:-4, 4:-4] = False
    lum = (x[:, border] @ np.array([0.299, 0.587, 0.114])).mean(axis=1)
    backgrounds = (lum <= 0.5).astype(np.int64)                           # 0 bright, 1 dark
    return colors.astype(np.int64), backgrounds


def make_captions(labels, colors, backgrounds, per_image, rng, word_to_idx):
    """-> captions (N * per_image, 17) int64 token ids, image_idxs (N * per_image,) int64.

    Each image gets `per_image` distinct templates (chosen by `rng`), filled with its class,
    colour and background words, as <START> words <END> <NULL>...
    """
    n = len(labels)
    caps = np.full((n * per_image, CAPTION_WIDTH), word_to_idx["<NULL>"], dtype=np.int64)
    idxs = np.repeat(np.arange(n), per_image)
    for i in range(n):
        chosen = rng.choice(len(TEMPLATES), size=per_image, replace=False)
        for k, t in enumerate(chosen):
            text = TEMPLATES[t].format(color=COLOR_WORDS[colors[i]], cls=CLASS_WORDS[labels[i]],
                                       bg=BACKGROUND_WORDS[backgrounds[i]])
            ids = [word_to_idx["<START>"]] + [word_to_idx[w] for w in text.split()] + \
                  [word_to_idx["<END>"]]
            caps[i * per_image + k, :len(ids)] = ids
    return caps, idxs


def caption_class(caption):
    """The CIFAR-10 class a caption names: index of the first class word in it, else -1.

    caption: a decoded string ("<START> a red car ...") or a list of words.
    """
    words = caption.split() if isinstance(caption, str) else list(caption)
    for w in words:
        if w in CLASS_WORDS:
            return CLASS_WORDS.index(w)
    return -1


def class_naming_accuracy(predicted, reference):
    """Fraction of generated captions that name the class their reference caption names.

    predicted, reference: lists of decoded caption strings (same length). Returns
    (accuracy, chance) where chance is the accuracy of always naming the most frequent
    reference class.
    """
    if len(predicted) != len(reference) or not predicted:
        raise ValueError(f"need equally many predicted and reference captions, got "
                         f"{len(predicted)} and {len(reference)}")
    truth = np.array([caption_class(c) for c in reference])
    guess = np.array([caption_class(c) for c in predicted])
    counts = np.bincount(truth[truth >= 0], minlength=len(CLASS_WORDS))
    return float(np.mean(guess == truth)), float(counts.max() / len(truth))


# ----------------------------------------------------------------------------- features
def fc7_features(images, seed=0, batch=1000):
    """Features of a fixed seeded random network: (N, 32, 32, 3) [0, 255] -> (N, 4096) f32.

    One 5x5 stride-2 convolution with 32 zero-mean unit-norm random filters on the
    per-image-centred image, the pair ReLU(z), ReLU(-z) (64 maps of 16x16), 2x2 average
    pooling to 8x8: 64 * 8 * 8 = 4096 values. A linear classifier on these reaches about
    half of CIFAR-10 test accuracy, so the class is recoverable but not trivially so.
    """
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(1000 + seed)
    w = torch.randn(32, 3, 5, 5, generator=g)
    w -= w.mean(dim=(1, 2, 3), keepdim=True)
    w /= w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.as_tensor(np.asarray(images[i:i + batch]), dtype=torch.float32)
            x = x.permute(0, 3, 1, 2) / 255.0
            x = x - x.mean(dim=(2, 3), keepdim=True)
            z = F.conv2d(x, w, padding=2, stride=2)
            z = torch.cat([F.relu(z), F.relu(-z)], dim=1)
            out.append(F.adaptive_avg_pool2d(z, 8).flatten(1))
    return torch.cat(out).numpy().astype(np.float32) * 10.0


def pca_basis(features, k=PCA_DIM, max_rows=768, seed=0):
    """Mean (D,) and top-k principal directions (D, k) of `features`, from at most
    `max_rows` rows (seeded subsample), via the Gram matrix (cheap when rows < D)."""
    rng = np.random.default_rng(seed)
    rows = features if len(features) <= max_rows else \
        features[np.sort(rng.choice(len(features), max_rows, replace=False))]
    x = rows.astype(np.float32)
    mean = x.mean(axis=0)
    x = x - mean
    evals, evecs = np.linalg.eigh((x @ x.T).astype(np.float64))
    order = np.argsort(evals)[::-1][:k]
    evals, evecs = np.clip(evals[order], 1e-12, None), evecs[:, order].astype(np.float32)
    basis = (x.T @ evecs) / np.sqrt(evals).astype(np.float32)
    if basis.shape[1] < k:      # fewer rows than k: pad with zero directions
        basis = np.pad(basis, ((0, 0), (0, k - basis.shape[1])))
    return mean, basis


# ----------------------------------------------------------------------------- writers
def _source_images(num_train, num_val, root=None):
    from dl4cv.data.cifar10 import load_cifar10
    xtr, ytr, xte, yte = load_cifar10(root, verbose=False)
    n_tr = len(xtr) if num_train is None else min(num_train, len(xtr))
    n_va = len(xte) if num_val is None else min(num_val, len(xte))
    return (xtr[:n_tr].astype(np.uint8), ytr[:n_tr], xte[:n_va].astype(np.uint8), yte[:n_va])


def _stamp(kind, **params):
    return json.dumps({"kind": kind, "version": VERSION, **params}, sort_keys=True)


def write_cs231n(out_dir, num_train=None, num_val=None, captions_per_image=3, seed=0,
                 cifar_root=None, url_root=None):
    """Write the CS231n-format set into `out_dir` (created; existing files replaced).

    The image URLs are file:// URLs of PNGs under `url_root` (default `out_dir`; the cached
    set is written to a temporary folder and moved to `url_root` when complete).
    """
    import h5py
    from PIL import Image
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    xtr, ytr, xva, yva = _source_images(num_train, num_val, cifar_root)
    idx_to_word, word_to_idx = vocabulary()
    rng = np.random.default_rng(seed)
    with h5py.File(out_dir / "coco2014_captions.h5", "w") as f:
        for split, x, y in (("train", xtr, ytr), ("val", xva, yva)):
            colors, bgs = image_attributes(x)
            caps, idxs = make_captions(y, colors, bgs, captions_per_image, rng, word_to_idx)
            order = rng.permutation(len(caps))        # COCO's files are not grouped by image
            f.create_dataset(f"{split}_captions", data=caps[order].astype(np.int32))
            f.create_dataset(f"{split}_image_idxs", data=idxs[order].astype(np.int32))
    feats = {"train": fc7_features(xtr, seed), "val": fc7_features(xva, seed)}
    mean, basis = pca_basis(feats["train"], seed=seed)
    for split in ("train", "val"):
        with h5py.File(out_dir / f"{split}2014_vgg16_fc7.h5", "w") as f:
            f.create_dataset("features", data=feats[split])
        pca = ((feats[split] - mean) @ basis).astype(np.float32)
        with h5py.File(out_dir / f"{split}2014_vgg16_fc7_pca.h5", "w") as f:
            f.create_dataset("features", data=pca)
    (out_dir / "coco2014_vocab.json").write_text(
        json.dumps({"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}))
    url_root = Path(url_root) if url_root is not None else out_dir
    for split, x in (("train", xtr), ("val", xva)):
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        urls = []
        for i in range(len(x)):
            rel = Path("images") / split / f"{i:05d}.png"
            Image.fromarray(x[i]).save(out_dir / rel)
            urls.append((url_root / rel).resolve().as_uri())
        (out_dir / f"{split}2014_urls.txt").write_text("\n".join(urls) + "\n")
    return out_dir


def write_eecs(out_path, num_train=2000, num_val=500, seed=0, image_size=112, cifar_root=None):
    """Write the EECS-format set (one torch.save'd dict) to `out_path`."""
    import torch
    import torch.nn.functional as F
    xtr, ytr, xva, yva = _source_images(num_train, num_val, cifar_root)
    idx_to_word, word_to_idx = vocabulary()
    rng = np.random.default_rng(seed + 1)
    data = {}
    for split, x, y in (("train", xtr, ytr), ("val", xva, yva)):
        t = torch.from_numpy(x).permute(0, 3, 1, 2).float()
        t = F.interpolate(t, size=(image_size, image_size), mode="bilinear", align_corners=False)
        data[f"{split}_images"] = t.round().clamp(0, 255).to(torch.uint8).contiguous()
        colors, bgs = image_attributes(x)
        caps, _ = make_captions(y, colors, bgs, 1, rng, word_to_idx)
        data[f"{split}_captions"] = torch.from_numpy(caps)
    data["vocab"] = {"idx_to_token": idx_to_word, "token_to_idx": word_to_idx}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, out_path)
    return out_path


# ----------------------------------------------------------------------------- cached
def _publish(tmp: Path, final: Path):
    """Move a finished temporary file/folder into place; if another process won, keep theirs."""
    try:
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        os.replace(tmp, final)
    except OSError:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink()
        if not final.exists():
            raise


def cs231n_coco_dir(root=None, num_train=None, num_val=None, seed=0, verbose=True) -> Path:
    """The synthetic CS231n-format folder, generated on first use and cached in data/.

    num_train / num_val: how many CIFAR-10 train / test images to use (default: all on disk).
    """
    root = Path(root) if root is not None else data_dir()
    final = root / CS231N_DIRNAME
    stamp = _stamp("cs231n", num_train=num_train, num_val=num_val, seed=seed)
    stamp_file = final / "SYNTHETIC.json"
    note_data("synthetic COCO-format captions (dl4cv.standins.synthetic_coco, CIFAR-10 images on disk)")
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return final
    if verbose:
        print(f"Generating the synthetic captioning set (once) into {final} ...", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".synthetic-coco-", dir=root))
    write_cs231n(tmp, num_train, num_val, seed=seed, url_root=final)
    (tmp / "SYNTHETIC.json").write_text(stamp)
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        shutil.rmtree(tmp, ignore_errors=True)     # another process finished first: keep it
        return final
    _publish(tmp, final)
    return final


def eecs_coco_path(root=None, num_train=2000, num_val=500, seed=0, verbose=True) -> Path:
    """The synthetic EECS-format coco.pt, generated on first use and cached in data/."""
    root = Path(root) if root is not None else data_dir()
    final = root / EECS_FILENAME
    stamp = _stamp("eecs", num_train=num_train, num_val=num_val, seed=seed)
    stamp_file = root / (EECS_FILENAME + ".json")
    note_data("synthetic COCO-format captions (dl4cv.standins.synthetic_coco, CIFAR-10 images on disk)")
    if final.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return final
    if verbose:
        print(f"Generating the synthetic captioning set (once) into {final} ...", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".synthetic-coco-", suffix=".pt", dir=root)
    os.close(fd)
    write_eecs(tmp, num_train, num_val, seed=seed)
    _publish(Path(tmp), final)
    stamp_file.write_text(stamp)
    return final
