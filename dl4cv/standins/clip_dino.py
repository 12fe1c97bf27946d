"""Stand-ins for CS231n 2025 A3 `CLIP_DINO`: a small CLIP, a small DINO ViT, a DAVIS-like clip.

The course's notebook downloads OpenAI's CLIP ViT-B/32 (`clip.load`), DINO ViT-S/8
(`torch.hub.load('facebookresearch/dino:main', 'dino_vits8')`) and DAVIS 2017
(tensorflow_datasets `davis/480p`). Where those are missing (no package, no internet), the
notebook uses these instead, each seeded and named in one printed line:

(a) `TinyCLIP`: a CLIP-style dual encoder (a small CNN for 32x32 images, a one-layer
    Transformer over a word tokenizer for text), trained contrastively (CLIP's symmetric
    cross-entropy with a learned temperature) on the synthetic COCO-format captions of the
    CIFAR-10 training images on disk ("a photo of a red frog", ...:
    `dl4cv.standins.synthetic_coco`); `load_clip` returns the `clip.load`-like pair
    (model with encode_image / encode_text / tokenize, preprocess).
(b) `TinyViT`: a ViT (4x4 patches, width 128, 3 blocks, 4 heads) trained by DINO
    self-distillation (student / EMA teacher, centering and sharpening, 2 global 32x32 + 2 local
    16x16 crops, a weight-normalized prototype layer with unit-length prototypes) on the CIFAR-10
    training images on disk, with DINO's `get_intermediate_layers` / `get_last_selfattention`.
    It is trained for only a few CPU minutes: on the synthetic clips below, its features
    segment no better than those of the same ViT before training (the notebook shows both).
(c) `SyntheticDavis`: videos in the tfds `davis/480p` layout (frames (T, H, W, 3) uint8,
    segmentations (T, H, W, 1) uint8, metadata video_name), made of CIFAR-10 *test* images
    (never seen by (a) or (b)) pasted on smooth backgrounds and moving a few pixels per frame;
    the mask of an object is its pasted rectangle, numbered 1, 2, ... (0: background).

Models (a) and (b) are trained once and cached in data/cache with the fingerprint of the data
they were trained on (`dl4cv.standins.cache`); smoke mode trains much shorter versions under
their own names.

    model, preprocess, line = load_clip(device)
    dino, line = load_dino(device)
    videos, line = davis_videos()           # None when tensorflow_datasets is installed
"""
import re
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv.optional import available, install_command
from dl4cv.standins.cache import cached_model, data_fingerprint

SEED = 0
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)   # DINO's / DAVIS's

# (a) CLIP stand-in
CLIP_NAME, CLIP_SMOKE_NAME = "clip_dino_tinyclip_v1", "clip_dino_tinyclip_smoke_v1"
# 400 steps: 171-236 s of one CPU core on a busy shared 2-core machine; smoke: ~5 s
CLIP_STEPS, CLIP_SMOKE_STEPS, CLIP_BATCH = 400, 8, 128
CONTEXT = 20
EMBED_DIM = 128
EXTRA_WORDS = ("photo", "image", "picture", "of", "an", "the", "and", "animal", "vehicle",
               "person", "food", "landscape", "other", "sports", "white", "black")

# (b) DINO stand-in
DINO_NAME, DINO_SMOKE_NAME = "clip_dino_tinyvit_dino_v2", "clip_dino_tinyvit_dino_smoke_v2"
# 120 steps: 162-277 s of one CPU core on a busy shared 2-core machine; smoke: ~8 s
DINO_STEPS, DINO_SMOKE_STEPS, DINO_BATCH = 120, 3, 48
VIT_DIM, VIT_DEPTH, VIT_HEADS, PATCH = 128, 3, 4, 4
DINO_OUT = 512

# (c) DAVIS stand-in
VIDEO_FRAMES, VIDEO_H, VIDEO_W, NUM_VIDEOS = 99, 128, 224, 10
VIDEO_IMG_SIZE = 96          # frames are resized to 96 x 96: a 24 x 24 grid of 4x4 patches


def _cifar(train=True):
    """CIFAR-10 images on disk: (N, 32, 32, 3) uint8, labels (N,)."""
    from dl4cv.data.cifar10 import load_cifar10
    xtr, ytr, xte, yte = load_cifar10(verbose=False)
    x, y = (xtr, ytr) if train else (xte, yte)
    return x.astype(np.uint8), np.asarray(y, dtype=np.int64)


def _smoke(smoke):
    from dl4cv.mode import is_smoke
    return is_smoke() if smoke is None else smoke


# ============================================================================ (a) TinyCLIP
class WordTokenizer:
    """Lower-case words -> ids: 0 padding, 1 start, 2 end, 3 unknown word, then the
    vocabulary; every text becomes CONTEXT ids (start, words..., end, padding)."""

    def __init__(self, words, context=CONTEXT):
        self.words = ["<pad>", "<sot>", "<eot>", "<unk>"] + sorted(set(words))
        self.index = {w: i for i, w in enumerate(self.words)}
        self.context = context

    def __call__(self, texts):
        if isinstance(texts, str):
            texts = [texts]
        out = torch.zeros(len(texts), self.context, dtype=torch.long)
        for i, text in enumerate(texts):
            ids = [self.index.get(w, 3) for w in re.findall(r"[a-z]+", text.lower())]
            ids = [1] + ids[:self.context - 2] + [2]
            out[i, :len(ids)] = torch.tensor(ids)
        return out


def clip_vocabulary():
    from dl4cv.standins.synthetic_coco import SPECIAL_TOKENS, vocabulary
    idx_to_word, _ = vocabulary()
    return [w for w in idx_to_word if w not in SPECIAL_TOKENS] + list(EXTRA_WORDS)


class TinyCLIP(nn.Module):
    """A CLIP-style dual encoder for 32x32 images and short captions.

    encode_image(x: (N, 3, 32, 32)) -> (N, EMBED_DIM); encode_text(tokens: (N, CONTEXT) long)
    -> (N, EMBED_DIM); tokenize(list of str) -> (N, CONTEXT) long. Features are not
    normalized (as in CLIP); logit_scale is CLIP's learned log inverse temperature.
    """

    def __init__(self, vocab_words=None, width=128, embed_dim=EMBED_DIM):
        super().__init__()
        self.tokenizer = WordTokenizer(vocab_words or clip_vocabulary())

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.visual = nn.Sequential(block(3, 32), nn.MaxPool2d(2), block(32, 64),
                                    nn.MaxPool2d(2), block(64, 128), nn.MaxPool2d(2),
                                    block(128, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                    nn.Linear(128, embed_dim))
        self.token_embedding = nn.Embedding(len(self.tokenizer.words), width)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT, width) * 0.02)
        self.transformer = nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0,
                                                      batch_first=True, norm_first=True)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Linear(width, embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def tokenize(self, texts):
        return self.tokenizer(texts)

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):
        text = text.to(self.positional_embedding.device)
        pad = text == 0
        x = self.token_embedding(text) + self.positional_embedding[:text.shape[1]]
        x = self.ln_final(self.transformer(x, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).float()
        x = (x * keep).sum(1) / keep.sum(1)           # mean over the real tokens
        return self.text_projection(x)

    def forward(self, image, text):
        """-> (logits_per_image (N, M), logits_per_text (M, N)), as CLIP's forward."""
        img = F.normalize(self.encode_image(image), dim=-1)
        txt = F.normalize(self.encode_text(text), dim=-1)
        logits = self.logit_scale.exp() * img @ txt.t()
        return logits, logits.t()


def clip_preprocess():
    """PIL image (any size) -> (3, 32, 32) normalized tensor, as CLIP's `preprocess`."""
    from torchvision import transforms as T
    return T.Compose([T.Lambda(lambda im: im.convert("RGB")), T.Resize(32), T.CenterCrop(32),
                      T.ToTensor(), T.Normalize(CIFAR_MEAN, CIFAR_STD)])


def _caption_pairs():
    """(images (N, 32, 32, 3) uint8, captions list of str, caption -> image index (Nc,)) of the
    synthetic COCO-format training split, and the folders they come from."""
    import h5py

    from dl4cv.data.cifar10 import default_root
    from dl4cv.standins.synthetic_coco import cs231n_coco_dir, vocabulary
    coco = cs231n_coco_dir(verbose=False)
    idx_to_word, _ = vocabulary()
    with h5py.File(coco / "coco2014_captions.h5", "r") as f:
        caps, idxs = np.asarray(f["train_captions"]), np.asarray(f["train_image_idxs"])
    texts = [" ".join(idx_to_word[t] for t in row if t > 3) for row in caps]
    images, _ = _cifar(train=True)
    return images, texts, idxs.astype(np.int64), (default_root(), coco)


def _warmup_cosine(opt, steps):
    """Linear warm-up over the first 10% of the steps, then a cosine decay to zero."""
    warm = max(1, steps // 10)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (
        1 + np.cos(np.pi * min(1.0, max(0, s - warm) / max(1, steps - warm)))))


def _augment(x, gen):
    """Random 4-pixel shifts (padding by reflection) and left-right flips of (N, 3, 32, 32)."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    dx, dy = torch.randint(0, 9, (2, n), generator=gen)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32] for i in range(n)])
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def train_clip(steps=CLIP_STEPS, batch=CLIP_BATCH, seed=SEED, verbose=True):
    """Train TinyCLIP on (image, caption) pairs of the synthetic captioning set -> (state, info)."""
    images, texts, idxs, _ = _caption_pairs()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = TinyCLIP()
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    x_all = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 - mean) / std
    tokens_all = model.tokenize(texts)
    # table[i] = the caption rows of image i (every image has the same number of captions)
    order = np.argsort(idxs, kind="stable")
    per_image = len(idxs) // len(images)
    table = torch.from_numpy(order[:per_image * len(images)].reshape(len(images), per_image))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    sched = _warmup_cosine(opt, steps)
    model.train()
    start, losses = time.time(), []
    for step in range(steps):
        # one caption per image in a batch: no two rows describe the same picture
        img_ids = torch.randperm(len(images), generator=gen)[:batch]
        pick = torch.randint(0, per_image, (len(img_ids),), generator=gen)
        cap_ids = table[img_ids, pick]
        x = _augment(x_all[img_ids], gen)
        logits, _ = model(x, tokens_all[cap_ids])
        target = torch.arange(len(img_ids))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, float(np.log(100)))
        losses.append(loss.item())
        if verbose and (step % 100 == 0 or step == steps - 1):
            print(f"  TinyCLIP step {step + 1}/{steps}: loss {loss.item():.4f} "
                  f"({time.time() - start:.0f} s)", flush=True)
    info = {"steps": steps, "batch_size": batch, "seed": seed, "num_images": len(images),
            "num_captions": len(texts), "first_loss": losses[0], "last_loss": losses[-1],
            "vocab": model.tokenizer.words[4:], "train_seconds": round(time.time() - start, 1)}
    return model.state_dict(), info


def load_clip_standin(device="cpu", smoke=None, verbose=True, retrain=False):
    """(TinyCLIP in eval mode on `device`, preprocess, info), trained once and cached."""
    from dl4cv.data.cifar10 import default_root
    from dl4cv.standins.cache import frozen
    from dl4cv.standins.synthetic_coco import cs231n_coco_dir
    smoke = _smoke(smoke)
    steps = CLIP_SMOKE_STEPS if smoke else CLIP_STEPS
    fp = data_fingerprint(default_root(), cs231n_coco_dir(verbose=False))
    state, info = cached_model(CLIP_SMOKE_NAME if smoke else CLIP_NAME, fp,
                               lambda: train_clip(steps, verbose=verbose), retrain=retrain,
                               verbose=verbose, what="CLIP stand-in (TinyCLIP)")
    model = TinyCLIP(vocab_words=info["vocab"])
    model.load_state_dict(state)
    return frozen(model, device), clip_preprocess(), info


def describe_clip(info):
    return (f"CLIP: the project's STAND-IN (TinyCLIP: small CNN + one-layer text Transformer, "
            f"{EMBED_DIM}-d, trained contrastively for {info['steps']} steps of "
            f"{info['batch_size']} pairs on {info['num_captions']:,} synthetic captions of "
            f"{info['num_images']:,} CIFAR-10 training images, seed {info['seed']}; loss "
            f"{info['first_loss']:.3f} -> {info['last_loss']:.3f}), not OpenAI's CLIP ViT-B/32 "
            f"(pip install git+https://github.com/openai/CLIP.git)")


def load_clip(device="cpu", verbose=True):
    """(model, preprocess, line, real): OpenAI's CLIP ViT-B/32 when the `clip` package is
    installed and its weights can be loaded, else the stand-in."""
    try:
        import clip
        model, preprocess = clip.load("ViT-B/32", device=device)
        return model, preprocess, "CLIP: OpenAI's pretrained ViT-B/32 (clip.load)", True
    except Exception as err:  # noqa: BLE001  (not installed, no internet, ...)
        if verbose:
            print(f"OpenAI CLIP not available ({type(err).__name__}: {err}); using the stand-in.")
    model, preprocess, info = load_clip_standin(device, verbose=verbose)
    return model, preprocess, describe_clip(info), False


# ============================================================================ (b) TinyViT + DINO
class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        """x: (B, N, D) -> (out (B, N, D), attention weights (B, heads, N, N))."""
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (D // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, D)), attn


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x, return_attention=False):
        y, attn = self.attn(self.norm1(x))
        if return_attention:
            return attn
        x = x + y
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, dim):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)       # (B, P, D)


class TinyViT(nn.Module):
    """DINO's ViT interface at a small size: [CLS] + patch tokens, learned position embeddings
    for a 32x32 image (8x8 patches of 4 pixels), interpolated for other sizes.

    forward(x (B, 3, H, W)) -> (B, D) [CLS] output; get_intermediate_layers(x, n=1) -> list of
    the normalized outputs (B, 1 + P, D) of the last n blocks; get_last_selfattention(x) ->
    (B, heads, 1 + P, 1 + P).
    """

    def __init__(self, dim=VIT_DIM, depth=VIT_DEPTH, heads=VIT_HEADS, patch_size=PATCH,
                 img_size=32):
        super().__init__()
        self.embed_dim = dim
        self.patch_embed = PatchEmbed(patch_size, dim)
        self.grid = img_size // patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + self.grid ** 2, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def _pos(self, gh, gw):
        if gh == gw == self.grid:
            return self.pos_embed
        cls, grid = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        grid = grid.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([cls, grid.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)], dim=1)

    def prepare_tokens(self, x):
        p = self.patch_embed.patch_size
        gh, gw = x.shape[2] // p, x.shape[3] // p
        t = self.patch_embed(x)
        t = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), t], dim=1)
        return t + self._pos(gh, gw)

    def forward(self, x):
        x = self.prepare_tokens(x)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)[:, 0]

    def get_intermediate_layers(self, x, n=1):
        x = self.prepare_tokens(x)
        out = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if len(self.blocks) - i <= n:
                out.append(self.norm(x))
        return out

    def get_last_selfattention(self, x):
        x = self.prepare_tokens(x)
        for blk in self.blocks[:-1]:
            x = blk(x)
        return self.blocks[-1](x, return_attention=True)


class DINOHead(nn.Module):
    """MLP -> L2-normalized bottleneck -> weight-normalized linear layer, as DINO's head."""

    def __init__(self, dim, out_dim=DINO_OUT, hidden=256, bottleneck=64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                 nn.GELU(), nn.Linear(hidden, bottleneck))
        self.last = nn.utils.parametrizations.weight_norm(nn.Linear(bottleneck, out_dim, bias=False))
        # DINO's norm_last_layer: unit-length prototypes (g fixed to 1) keep training stable
        g = self.last.parametrizations.weight.original0
        g.data.fill_(1.0)
        g.requires_grad_(False)

    def forward(self, x):
        return self.last(F.normalize(self.mlp(x), dim=-1))


def _crops(x, gen, size, scale):
    """Random resized crops (output size x size, area fraction in `scale`) + flips +
    brightness/contrast jitter of a batch x: (B, 3, 32, 32) in [0, 1]."""
    B = x.shape[0]
    area = torch.empty(B).uniform_(*scale, generator=gen)
    ratio = torch.exp(torch.empty(B).uniform_(np.log(3 / 4), np.log(4 / 3), generator=gen))
    w = (torch.sqrt(area * ratio)).clamp(max=1.0)
    h = (torch.sqrt(area / ratio)).clamp(max=1.0)
    cx = w / 2 + torch.rand(B, generator=gen) * (1 - w)
    cy = h / 2 + torch.rand(B, generator=gen) * (1 - h)
    flip = torch.where(torch.rand(B, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = w * flip, h
    theta[:, 0, 2], theta[:, 1, 2] = cx * 2 - 1, cy * 2 - 1
    grid = F.affine_grid(theta, (B, 3, size, size), align_corners=False)
    out = F.grid_sample(x, grid, align_corners=False)
    bright = 1 + 0.4 * (torch.rand(B, 1, 1, 1, generator=gen) - 0.5)
    contrast = 1 + 0.4 * (torch.rand(B, 1, 1, 1, generator=gen) - 0.5)
    m = out.mean(dim=(1, 2, 3), keepdim=True)
    gray = torch.rand(B, 1, 1, 1, generator=gen) < 0.2
    out = ((out - m) * contrast + m) * bright
    out = torch.where(gray, out.mean(1, keepdim=True).expand_as(out), out)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (out.clamp(0, 1) - mean) / std


def train_dino(steps=DINO_STEPS, batch=DINO_BATCH, seed=SEED, verbose=True):
    """DINO self-distillation of TinyViT on the CIFAR-10 training images -> (state, info)."""
    import copy
    images, _ = _cifar(train=True)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    student = nn.ModuleDict({"backbone": TinyViT(), "head": DINOHead(VIT_DIM)})
    teacher = copy.deepcopy(student)
    for p in teacher.parameters():
        p.requires_grad_(False)
    center = torch.zeros(1, DINO_OUT)
    opt = torch.optim.AdamW(student.parameters(), lr=5e-4, weight_decay=0.04)
    sched = _warmup_cosine(opt, steps)
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    t_student, start, losses = 0.1, time.time(), []

    def run(net, x):
        return net["head"](net["backbone"](x))

    for step in range(steps):
        frac = step / max(1, steps - 1)
        t_teacher = 0.04 + (0.07 - 0.04) * min(1.0, 2 * frac)   # DINO's teacher warm-up
        momentum = 1 - (1 - 0.99) * (np.cos(np.pi * frac) + 1) / 2
        x = x_all[torch.randint(0, len(x_all), (batch,), generator=gen)]
        globals_ = [_crops(x, gen, 32, (0.4, 1.0)) for _ in range(2)]
        locals_ = [_crops(x, gen, 16, (0.1, 0.4)) for _ in range(2)]
        with torch.no_grad():
            t_out = [run(teacher, g) for g in globals_]
            t_prob = [F.softmax((o - center) / t_teacher, dim=-1) for o in t_out]
        s_out = [run(student, v) for v in globals_ + locals_]
        loss, terms = 0.0, 0
        for ti, tp in enumerate(t_prob):
            for si, so in enumerate(s_out):
                if si == ti:
                    continue                     # never the same view
                loss = loss + torch.sum(-tp * F.log_softmax(so / t_student, dim=-1), dim=-1).mean()
                terms += 1
        loss = loss / terms
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(student.parameters(), 3.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            for ps, pt in zip(student.parameters(), teacher.parameters()):
                pt.mul_(momentum).add_(ps.detach(), alpha=1 - momentum)
            center = 0.9 * center + 0.1 * torch.cat(t_out).mean(0, keepdim=True)
        losses.append(loss.item())
        if verbose and (step % 50 == 0 or step == steps - 1):
            print(f"  TinyViT DINO step {step + 1}/{steps}: loss {loss.item():.4f} "
                  f"({time.time() - start:.0f} s)", flush=True)
    info = {"steps": steps, "batch_size": batch, "seed": seed, "num_images": len(images),
            "first_loss": losses[0], "last_loss": losses[-1],
            "train_seconds": round(time.time() - start, 1)}
    # the teacher is DINO's output network
    return teacher["backbone"].state_dict(), info


def load_dino_standin(device="cpu", smoke=None, verbose=True, retrain=False):
    """(TinyViT teacher backbone in eval mode on `device`, info), trained once and cached."""
    from dl4cv.data.cifar10 import default_root
    from dl4cv.standins.cache import frozen
    smoke = _smoke(smoke)
    steps = DINO_SMOKE_STEPS if smoke else DINO_STEPS
    state, info = cached_model(DINO_SMOKE_NAME if smoke else DINO_NAME,
                               data_fingerprint(default_root()),
                               lambda: train_dino(steps, verbose=verbose), retrain=retrain,
                               verbose=verbose, what="DINO stand-in (TinyViT)")
    model = TinyViT()
    model.load_state_dict(state)
    return frozen(model, device), info


def describe_dino(info):
    return (f"DINO: the project's STAND-IN (TinyViT: {VIT_DEPTH} blocks, width {VIT_DIM}, "
            f"{VIT_HEADS} heads, {PATCH}x{PATCH} patches, DINO self-distillation for "
            f"{info['steps']} steps of {info['batch_size']} images from the "
            f"{info['num_images']:,} CIFAR-10 training images on disk, seed {info['seed']}; "
            f"loss {info['first_loss']:.3f} -> {info['last_loss']:.3f}), not DINO ViT-S/8 "
            f"(torch.hub 'facebookresearch/dino:main', 'dino_vits8')")


def load_dino(device="cpu", verbose=True):
    """(model, line, real): DINO ViT-S/8 from torch.hub when it can be loaded, else the
    stand-in."""
    try:
        model = torch.hub.load('facebookresearch/dino:main', 'dino_vits8', verbose=False)
        return model.eval().to(device), "DINO: the pretrained ViT-S/8 (torch.hub)", True
    except Exception as err:  # noqa: BLE001  (no internet, no cache, ...)
        if verbose:
            print(f"DINO ViT-S/8 not available ({type(err).__name__}); using the stand-in.")
    model, info = load_dino_standin(device, verbose=verbose)
    return model, describe_dino(info), False


# ============================================================================ (c) DAVIS layout
class SyntheticDavis:
    """A sequence of videos in the tfds `davis/480p` layout (see the module docstring).

    Video i (seed + i): a smooth random background, 2 or 3 CIFAR-10 test images resized to
    40-64 pixels, each moving on a straight line at 1-3 pixels per frame and bouncing off the
    borders; later objects occlude earlier ones; mild per-frame noise.
    """

    def __init__(self, num_videos=NUM_VIDEOS, num_frames=VIDEO_FRAMES, height=VIDEO_H,
                 width=VIDEO_W, seed=SEED):
        self.num_videos, self.num_frames = num_videos, num_frames
        self.height, self.width, self.seed = height, width, seed

    def __len__(self):
        return self.num_videos

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        from dl4cv.standins.synthetic_voc import _background, _resize
        images, labels = _cifar(train=False)
        rng = np.random.default_rng(1000 * self.seed + i)
        H, W, T = self.height, self.width, self.num_frames
        bg = _background(rng, H, W)
        objs = []
        for k in range(int(rng.integers(2, 4))):
            j = int(rng.integers(len(images)))
            s = int(rng.integers(40, 65))
            patch = _resize(images[j].astype(np.float64), s, s)
            pos = np.array([rng.uniform(0, H - s), rng.uniform(0, W - s)])
            vel = rng.uniform(1, 3, size=2) * rng.choice([-1, 1], size=2)
            objs.append([patch, s, pos, vel])
        frames = np.zeros((T, H, W, 3), np.uint8)
        masks = np.zeros((T, H, W, 1), np.uint8)
        for t in range(T):
            img, m = bg.copy(), np.zeros((H, W), np.uint8)
            for k, (patch, s, pos, vel) in enumerate(objs, start=1):
                y, x = int(round(pos[0])), int(round(pos[1]))
                img[y:y + s, x:x + s] = patch
                m[y:y + s, x:x + s] = k
                pos += vel                      # bounce off the frame's borders
                for d, lim in ((0, H - s), (1, W - s)):
                    if not 0 <= pos[d] <= lim:
                        vel[d] = -vel[d]
                        pos[d] = np.clip(pos[d], 0, lim)
            img = img + rng.normal(0, 3, size=img.shape)
            frames[t] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
            masks[t, ..., 0] = m
        return {"video": {"frames": frames, "segmentations": masks},
                "metadata": {"video_name": f"synthetic-{i:02d}".encode(), "num_frames": T}}


def davis_videos(verbose=True):
    """(videos, line): None (read DAVIS through tensorflow_datasets) when that package is
    installed, else the synthetic clips."""
    if available("tensorflow_datasets"):
        return None, "DAVIS: tensorflow_datasets davis/480p (validation)"
    if verbose:
        print(f"tensorflow_datasets is not installed ({install_command('tensorflow_datasets')}); "
              "using the synthetic clips.")
    return SyntheticDavis(), (
        f"DAVIS: the project's SYNTHETIC clips in the davis/480p layout ({NUM_VIDEOS} videos "
        f"of {VIDEO_FRAMES} frames of {VIDEO_H}x{VIDEO_W}: 2-3 CIFAR-10 test images pasted on "
        f"smooth backgrounds, moving 1-3 pixels per frame; masks = the pasted rectangles), "
        f"not DAVIS 2017")
