"""Stand-ins for the files of CS231n 2025 A3 DDPM.ipynb: the emoji data, its CLIP text
embeddings and the pretrained diffusion checkpoint `model-70000.pt`.

The course's files (`./get_datasets.sh cs231n-a3-ddpm`: data/cs231n_emoji/emoji_data.npz,
text_embeddings.pt, pretrained/model-70000.pt) are used when on disk. Without them:

(a) `emoji_files()` writes an image+caption set in exactly the emoji files' format to
    data/cs231n_emoji_standin/: one entry per CIFAR-10 training image on disk (the mirror's
    real images), captioned from its label and its dominant colour ("a photo of a red frog",
    "a red frog"); the captions' "text embeddings" are (n, 512) float16 like CLIP ViT-B/32's
    on a GPU, but made by a seeded bag of words (each word a fixed random 512-vector, seeded
    by a hash of the word; a caption the sum of its words', scaled to norm 10), with the
    same PCA fields as the course's file. `StandinTextEmbed().embed(text)` embeds any new
    caption the same way (the stand-in for `ClipEmbed`).
(b) `checkpoint()` gives a small text-conditioned DDPM trained by the project on those files
    (the course's Unet layout with dim 16, dim_mults (1, 2, 4), 100 diffusion steps (20 in
    smoke mode), noise prediction,
    the course's Trainer recipe: Adam lr 1e-3, betas (0.9, 0.99), gradient clipping at 1,
    condition dropped with probability 0.2), a few CPU minutes on one core; cached in
    data/cache with the data's fingerprint (`dl4cv.standins.cache`) and written as
    `model-<steps>.pt` in the Trainer's checkpoint format ({"step", "model", "opt"}) so that
    `Trainer.load(steps)` reads it.
(c) `sample_scorer()`: the sample-quality score's judge, the project's fallback CIFAR-10 CNN
    (trained on the same images): how often it finds the class named in the caption a sample
    was drawn for.

The network here is the project's own copy of the course's layout (same state_dict keys and
parameter order), so that the stand-in does not depend on the student's code.
"""
import hashlib
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv.paths import cache_dir, data_dir
from dl4cv.report import note_data
from dl4cv.standins.cache import cached_model, data_fingerprint

REAL_SUBDIR = "cs231n_emoji"                 # get_datasets.sh cs231n-a3-ddpm puts the files here
STANDIN_SUBDIR = "cs231n_emoji_standin"
DATA_VERSION = "emoji_standin_data_v3"
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "brown", "white", "gray", "black")
HUES = (("red", 15), ("orange", 45), ("yellow", 70), ("green", 170), ("blue", 260), ("purple", 345),
        ("red", 361))        # (name, upper end of its hue range in degrees)
EMB_DIM, EMB_NORM = 512, 10.0

# The stand-in DDPM (full / smoke).
MODEL_CONFIG = {"dim": 16, "dim_mults": (1, 2, 4), "condition_dim": EMB_DIM, "image_size": 32,
                "timesteps": 100, "objective": "pred_noise", "beta_schedule": "sigmoid"}
# smoke mode: 20 diffusion steps, so that sampling in CI takes seconds
SMOKE_CONFIG = dict(MODEL_CONFIG, timesteps=20)
NAME, SMOKE_NAME = "ddpm_emoji_standin_v3", "ddpm_emoji_standin_smoke_v3"
STEPS, BATCH = 400, 32          # ~0.5 s a step on one busy core: ~3-4 minutes
SMOKE_STEPS, SMOKE_BATCH = 10, 16
LR, BETAS, UNCOND_PROB, SEED = 1e-3, (0.9, 0.99), 0.2, 0


# ------------------------------------------------------------------ (a) data and embeddings

def class_names():
    """CIFAR-10's own class names, in label order, from its batches.meta ("airplane",
    "automobile", ...): the captions use them (dl4cv.data.cifar10.CIFAR10_CLASSES are the
    notebooks' short plot labels)."""
    import pickle
    from pathlib import Path

    with open(Path(cifar_root()) / "batches.meta", "rb") as f:
        return tuple(pickle.load(f, encoding="latin1")["label_names"])


def cifar_root():
    from dl4cv.data.cifar10 import default_root
    return default_root()


def dominant_colour(img) -> str:
    """img: (H, W, 3) uint8 -> a colour name for the mean colour of its central half (where
    the object usually is): white / gray / black when unsaturated (HSV saturation < 0.15),
    else by hue (red, orange, yellow, green, blue, purple), dark reds to yellows as brown."""
    import colorsys
    h, w = img.shape[:2]
    mean = img[h // 4: 3 * h // 4, w // 4: 3 * w // 4].reshape(-1, 3).astype(np.float64).mean(0) / 255
    hue, sat, val = colorsys.rgb_to_hsv(*mean)
    if sat < 0.15:
        return "white" if val > 0.7 else "black" if val < 0.25 else "gray"
    for name, upper in HUES:
        if hue * 360 < upper:
            break
    return "brown" if name in ("red", "orange", "yellow") and val < 0.55 else name


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def captions(colour, cls):
    """The two captions of an image: "a photo of a <colour> <class>", "a <colour> <class>"."""
    a = article(colour)
    return [f"a photo of {a} {colour} {cls}", f"{a} {colour} {cls}"]


def _word_vector(word):
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return torch.randn(EMB_DIM, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def embed_caption(text) -> torch.Tensor:
    """The stand-in 'CLIP' embedding of a caption: (512,) float32, norm 10."""
    v = sum(_word_vector(w) for w in text.lower().split())
    return (v / v.norm() * EMB_NORM).float()


class StandinTextEmbed:
    """Stand-in for the course's ClipEmbed: .embed(text) -> (512,) (see embed_caption)."""

    def embed(self, text):
        return embed_caption(text)


def _standin_dir():
    return data_dir() / STANDIN_SUBDIR


def build_emoji_files(folder, verbose=True):
    """Write emoji_data.npz and text_embeddings.pt (the course's format) into `folder`."""
    from dl4cv.data.cifar10_torchvision import CIFAR10
    start = time.time()
    train = CIFAR10(train=True)
    entries, all_texts = {}, []
    for i, (img, label) in enumerate(zip(train.data, train.targets)):
        texts = captions(dominant_colour(img), train.classes[label])
        entries[f"{i:05d}"] = np.array({"images": img[None], "texts": texts}, dtype=object)
        all_texts += texts
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "emoji_data.npz", **entries)

    texts = sorted(set(all_texts))
    embs = torch.stack([embed_caption(t) for t in texts])
    data = embs.numpy().astype(np.float64)
    mean = data.mean(axis=0)
    _, _, vt = np.linalg.svd(data - mean, full_matrices=False)   # the course's PCA fields
    torch.save({"idx_mapping": {t: i for i, t in enumerate(texts)}, "embs": embs.half(),
                "pca_components": torch.from_numpy(vt).float(),
                "mean": torch.from_numpy(mean).float()}, folder / "text_embeddings.pt")
    if verbose:
        print(f"Wrote the emoji stand-in ({len(entries):,} images, {len(texts)} captions) to "
              f"{folder} in {time.time() - start:.0f} s", flush=True)
    return len(entries), len(texts)


def _real_files():
    for folder in (data_dir() / REAL_SUBDIR,):
        data, emb = folder / "emoji_data.npz", folder / "text_embeddings.pt"
        if data.exists() and emb.exists():
            return data, emb
    return None


def emoji_files(verbose=True, allow_real=True):
    """(emoji_data.npz path, text_embeddings.pt path, real: bool, one line naming them).
    The course's files when on disk (data/cs231n_emoji/) and allow_real, else the stand-in
    (written on first use and again when the CIFAR-10 files on disk change). DDPM.ipynb
    passes allow_real=False when the course's checkpoint is missing: the stand-in model
    only knows the stand-in's captions and embeddings."""
    real = _real_files()
    if real is not None and allow_real:
        note_data("emoji images, captions and CLIP text embeddings: the course's files")
        return str(real[0]), str(real[1]), True, f"Emoji data: the course's files in {real[0].parent}"
    folder = _standin_dir()
    stamp = folder / "fingerprint.json"
    want = {"version": DATA_VERSION, "data_fingerprint": data_fingerprint(cifar_root())}
    current = json.loads(stamp.read_text()) if stamp.exists() else None
    if current is None or {k: current.get(k) for k in want} != want:
        n_img, n_txt = build_emoji_files(folder, verbose=verbose)
        stamp.write_text(json.dumps(dict(want, images=n_img, captions=n_txt)))
        current = json.loads(stamp.read_text())
    why = ("the course's emoji files are on disk but its model-70000.pt is not, so " if real is not None
           else "")
    line = (f"Emoji data: {why}the project's STAND-IN in {folder} ({current['images']:,} CIFAR-10 "
            f"training images on disk captioned '<colour> <class>', {current['captions']} "
            f"captions, seeded bag-of-words text embeddings in place of CLIP's), not the course's "
            f"emoji set (./get_datasets.sh cs231n-a3-ddpm)")
    note_data(f"emoji stand-in: {current['images']:,} CIFAR-10 training images on disk, captioned "
              f"'<colour> <class>', seeded bag-of-words text embeddings")
    return str(folder / "emoji_data.npz"), str(folder / "text_embeddings.pt"), False, line


# ------------------------------------------------------------------ (b) the stand-in DDPM

class _RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))
        self.scale = dim ** 0.5

    def forward(self, x):
        return F.normalize(x, dim=1) * self.g * self.scale


class _Block(nn.Module):
    def __init__(self, dim, dim_out):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim_out, 3, padding=1)
        self.norm = _RMSNorm(dim_out)

    def forward(self, x, scale_shift=None):
        x = self.norm(self.proj(x))
        if scale_shift is not None:
            x = x * (scale_shift[0] + 1) + scale_shift[1]
        return F.gelu(x)


class _ResBlock(nn.Module):
    def __init__(self, dim, dim_out, ctx):
        super().__init__()
        self.mlp = nn.Sequential(nn.GELU(), nn.Linear(ctx, dim_out * 2))
        self.block1 = _Block(dim, dim_out)
        self.block2 = _Block(dim_out, dim_out)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x, ctx):
        scale_shift = self.mlp(ctx)[:, :, None, None].chunk(2, dim=1)
        h = F.dropout(self.block1(x, scale_shift), 0.1, self.training)
        return self.block2(h) + self.res_conv(x)


class _TimeEmb(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, t):
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half) * -(math.log(10000) / (half - 1)))
        a = t[:, None].float() * freqs[None]
        return torch.cat([a.sin(), a.cos()], dim=-1)


class StandinUnet(nn.Module):
    """The course's Unet layout (same state_dict keys, same parameter order)."""

    def __init__(self, dim, condition_dim, dim_mults=(1, 2, 4, 8), channels=3, uncond_prob=0.2):
        super().__init__()
        self.init_conv = nn.Conv2d(channels, dim, 3, padding=1)
        dims = [dim] + [dim * m for m in dim_mults]
        in_out = list(zip(dims[:-1], dims[1:]))
        ctx = dim * 4
        self.time_mlp = nn.Sequential(_TimeEmb(dim), nn.Linear(dim, ctx), nn.GELU(), nn.Linear(ctx, ctx))
        self.condition_dim, self.uncond_prob = condition_dim, uncond_prob
        self.condition_mlp = nn.Sequential(nn.Linear(condition_dim, ctx), nn.GELU(), nn.Linear(ctx, ctx))
        self.downs = nn.ModuleList([nn.ModuleList([_ResBlock(a, a, ctx), _ResBlock(a, a, ctx),
                                                   nn.Conv2d(a, b, 2, stride=2)]) for a, b in in_out])
        # registered before the middle blocks, as in the course (parameter order = Adam's)
        self.ups = nn.ModuleList([nn.ModuleList([
            nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(b, a, 3, padding=1)),
            _ResBlock(2 * a, a, ctx), _ResBlock(2 * a, a, ctx)]) for a, b in reversed(in_out)])
        self.mid_block1 = _ResBlock(dims[-1], dims[-1], ctx)
        self.mid_block2 = _ResBlock(dims[-1], dims[-1], ctx)
        self.final_conv = nn.Conv2d(dim, channels, 1)

    def forward(self, x, t, text_emb):
        """x: (b, 3, H, W); t: (b,); text_emb: (b, condition_dim) -> (b, 3, H, W)."""
        if self.training:
            keep = (torch.rand(text_emb.shape[0]) > self.uncond_prob).float()[:, None]
            text_emb = text_emb * keep
        ctx = self.time_mlp(t) + self.condition_mlp(text_emb)
        x, skips = self.init_conv(x), []
        for b1, b2, down in self.downs:
            x = b1(x, ctx)
            skips.append(x)
            x = b2(x, ctx)
            skips.append(x)
            x = down(x)
        x = self.mid_block2(self.mid_block1(x, ctx), ctx)
        for up, b1, b2 in self.ups:
            x = up(x)
            x = b1(torch.cat([x, skips.pop()], 1), ctx)
            x = b2(torch.cat([x, skips.pop()], 1), ctx)
        return self.final_conv(x)


def _sigmoid_betas(timesteps, start=-3, end=3):
    t = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64) / timesteps
    v_start, v_end = torch.tensor(start).sigmoid(), torch.tensor(end).sigmoid()
    ac = (v_end - (t * (end - start) + start).sigmoid()) / (v_end - v_start)
    ac = ac / ac[0]
    return torch.clip(1 - ac[1:] / ac[:-1], 0, 0.999)


class StandinDiffusion(nn.Module):
    """The buffers of the course's GaussianDiffusion (pred_noise, sigmoid schedule) around a
    StandinUnet, with the denoising loss."""

    def __init__(self, model, timesteps):
        super().__init__()
        self.model = model
        betas = _sigmoid_betas(timesteps)
        alphas = 1 - betas
        ac = torch.cumprod(alphas, 0)
        ac_prev = F.pad(ac[:-1], (1, 0), value=1.0)
        buffers = {
            "betas": betas, "alphas": alphas, "alphas_cumprod": ac,
            "sqrt_alphas_cumprod": ac.sqrt(), "sqrt_one_minus_alphas_cumprod": (1 - ac).sqrt(),
            "posterior_mean_coef1": betas * ac_prev.sqrt() / (1 - ac),
            "posterior_mean_coef2": (1 - ac_prev) * alphas.sqrt() / (1 - ac),
            "posterior_std": (betas * (1 - ac_prev) / (1 - ac)).clamp(min=1e-20).sqrt(),
            "loss_weight": torch.ones_like(ac)}
        for name, value in buffers.items():
            self.register_buffer(name, value.float())
        self.num_timesteps = timesteps

    def loss(self, x0, text_emb):
        """x0: (b, 3, H, W) in [0, 1] -> the denoising loss (noise prediction, MSE)."""
        b = x0.shape[0]
        t = torch.randint(0, self.num_timesteps, (b,))
        x0 = x0 * 2 - 1
        noise = torch.randn_like(x0)
        x_t = (self.sqrt_alphas_cumprod[t][:, None, None, None] * x0
               + self.sqrt_one_minus_alphas_cumprod[t][:, None, None, None] * noise)
        return F.mse_loss(self.model(x_t, t, text_emb), noise)


def _training_batches(batch, seed):
    """Endless (images (batch, 3, 32, 32) in [0, 1], text_emb (batch, 512)) from the emoji
    files, a random caption of each image, seeded."""
    data_path, emb_path, _, _ = emoji_files(verbose=False, allow_real=False)
    loaded = np.load(data_path, allow_pickle=True)
    entries = [loaded[k].item() for k in loaded]
    emb = torch.load(emb_path)
    images = torch.from_numpy(np.stack([e["images"][0] for e in entries])).permute(0, 3, 1, 2).float() / 255
    rng = np.random.default_rng(seed)
    while True:
        for idx in np.array_split(rng.permutation(len(entries)), max(1, len(entries) // batch)):
            idx = idx[:batch]
            texts = [entries[i]["texts"][rng.integers(len(entries[i]["texts"]))] for i in idx]
            yield images[idx], torch.stack([emb["embs"][emb["idx_mapping"][t]].float() for t in texts])


def train_standin(steps=STEPS, batch=BATCH, seed=SEED, verbose=True, cfg=None):
    """Train the stand-in DDPM -> (Trainer checkpoint dict {"step", "model", "opt"}, info)."""
    torch.manual_seed(seed)
    cfg = cfg or MODEL_CONFIG
    model = StandinDiffusion(StandinUnet(cfg["dim"], cfg["condition_dim"], cfg["dim_mults"],
                                         uncond_prob=UNCOND_PROB), cfg["timesteps"])
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS)
    batches = _training_batches(batch, seed)
    model.train()
    start, losses = time.time(), []
    for step in range(steps):
        x, text_emb = next(batches)
        loss = model.loss(x, text_emb)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if verbose and (step % 100 == 0 or step == steps - 1):
            print(f"  stand-in DDPM step {step + 1}/{steps}: loss {loss.item():.4f} "
                  f"({time.time() - start:.0f} s)", flush=True)
    tail = losses[-min(50, len(losses)):]
    info = {"steps": steps, "batch_size": batch, "seed": seed, "config": dict(cfg),
            "first_loss": losses[0], "last_loss_mean50": float(np.mean(tail)),
            "train_seconds": round(time.time() - start, 1)}
    ckpt = {"step": steps, "model": model.state_dict(), "opt": opt.state_dict()}
    return ckpt, info


def checkpoint(smoke=None, verbose=True, retrain=False):
    """(results_folder, milestone, info, line) of the stand-in DDPM, written as
    {results_folder}/model-{milestone}.pt in the Trainer's format. smoke=None: the mode's."""
    from dl4cv.mode import is_smoke
    smoke = is_smoke() if smoke is None else smoke
    steps, batch = (SMOKE_STEPS, SMOKE_BATCH) if smoke else (STEPS, BATCH)
    name = SMOKE_NAME if smoke else NAME
    emoji_files(verbose=verbose, allow_real=False)     # the training data first (built once)
    fingerprint = data_fingerprint(cifar_root(), _standin_dir())
    cfg = SMOKE_CONFIG if smoke else MODEL_CONFIG
    ckpt, info = cached_model(name, fingerprint, lambda: train_standin(steps, batch, verbose=verbose, cfg=cfg),
                              retrain=retrain, verbose=verbose, what="stand-in DDPM")
    folder = cache_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"model-{info['steps']}.pt"
    tmp = path.with_suffix(".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    line = (f"Diffusion checkpoint: the project's STAND-IN {path} (Unet dim {info['config']['dim']}, "
            f"dim_mults {tuple(info['config']['dim_mults'])}, {info['config']['timesteps']} steps, "
            f"trained {info['steps']} Adam steps x {info['batch_size']} images of the emoji stand-in, "
            f"seed {info['seed']}; loss {info['first_loss']:.3f} -> {info['last_loss_mean50']:.3f}), "
            f"not the course's model-70000.pt (./get_datasets.sh cs231n-a3-ddpm)")
    note_data(f"diffusion model: the project's stand-in, {info['steps']} Adam steps on the emoji stand-in")
    return str(folder), info["steps"], info, line


def real_checkpoint():
    """The course's results folder when model-70000.pt is on disk, else None."""
    folder = data_dir() / REAL_SUBDIR / "pretrained"
    if not (folder / "model-70000.pt").exists():
        return None
    note_data("diffusion model: the course's pretrained model-70000.pt")
    return str(folder)


# ------------------------------------------------------------------ (c) the sample scorer

def sample_scorer(verbose=True):
    """(scorer, info): the sample-quality judge, the project's fallback CIFAR-10 CNN
    (`dl4cv.standins.cifar_cnn`, trained on the CIFAR-10 images on disk, i.e. the stand-in's
    real images; cached) behind its input normalisation: images (N, 3, 32, 32) in [0, 1] ->
    logits (N, 10) in the order of class_names(). info: its test_accuracy, num_train, epochs."""
    from torchvision.transforms import Normalize

    from dl4cv.images import SQUEEZENET_MEAN, SQUEEZENET_STD
    from dl4cv.standins.cifar_cnn import load_fallback_cnn
    cnn, info = load_fallback_cnn(verbose=verbose)
    return nn.Sequential(Normalize(SQUEEZENET_MEAN.tolist(), SQUEEZENET_STD.tolist()), cnn).eval(), info
