"""Helpers for EECS 498-007 A4 captioning: COCO loading (coco.pt), caption decoding,
training loop and attention-map drawing."""
import math
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from dl4cv.captions import decode_captions  # noqa: F401  (given code, shared)
from dl4cv.errors import DataMissingError
from dl4cv.paths import data_dir


def hello_helper():
    print("Hello from a4_helper.py!")


def default_coco_path() -> Path:
    return data_dir() / "coco.pt"


def load_COCO(path=None, verbose=True):
    """The course's coco.pt: dict with train_images / val_images (N, 3, 112, 112) uint8,
    train_captions / val_captions (N, 17) int64 word ids, and vocab {'idx_to_token': list,
    'token_to_idx': dict}. path defaults to data/coco.pt; a missing file raises
    DataMissingError naming `./get_datasets.sh coco_eecs`."""
    path = Path(path) if path is not None else default_coco_path()
    if not path.exists():
        raise DataMissingError("COCO captioning (coco.pt)", "coco_eecs", path)
    data_dict = torch.load(path, map_location="cpu", weights_only=False)
    for split in ("train", "val"):
        images, captions = data_dict[f"{split}_images"], data_dict[f"{split}_captions"]
        if images.shape[0] != captions.shape[0]:
            raise ValueError(f"{path}: {images.shape[0]} {split} images but "
                             f"{captions.shape[0]} captions")
        V = len(data_dict["vocab"]["idx_to_token"])
        if captions.numel() and (int(captions.min()) < 0 or int(captions.max()) >= V):
            raise ValueError(f"{path}: {split}_captions hold ids outside the vocabulary of {V}")
    if verbose:
        for k, v in data_dict.items():
            if isinstance(v, torch.Tensor):
                print(k, type(v), v.shape, v.dtype)
            else:
                print(k, type(v), v.keys())
    return data_dict


def train_captioner(model, image_data, caption_data, num_epochs=80, batch_size=50,
                    learning_rate=1e-2, lr_decay=1, device="cpu", plot=True):
    """Adam on minibatches taken in order; the learning rate decays by lr_decay per epoch.
    Returns (model, loss_history)."""
    from tqdm.auto import tqdm
    model.to(device)
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: lr_decay ** epoch)
    iter_per_epoch = max(math.ceil(image_data.shape[0] / batch_size), 1)
    loss_history = []
    model.train()
    bar = tqdm(range(num_epochs), desc="epochs", leave=False)
    for epoch in bar:
        start = time.time()
        for j in range(iter_per_epoch):
            images = image_data[j * batch_size:(j + 1) * batch_size].to(device)
            captions = caption_data[j * batch_size:(j + 1) * batch_size].to(device)
            loss = model(images, captions)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_history.append(loss.item())
        scheduler.step()
        bar.set_postfix(loss=f"{loss_history[-1]:.4f}")
        if epoch % max(1, num_epochs // 10) == 0 or epoch == num_epochs - 1:
            bar.write(f"(Epoch {epoch} / {num_epochs}) loss: {loss_history[-1]:.4f} "
                      f"time per epoch: {time.time() - start:.1f}s")
    if plot:
        plt.plot(loss_history)
        plt.xlabel("Iteration")
        plt.ylabel("Loss")
        plt.title("Training loss history")
        plt.show()
    return model, loss_history


captioning_train = train_captioner


def attention_visualizer(img, attn_weights, token):
    """Draw one word's attention over its image.

    img: (3, H, W) uint8 tensor; attn_weights: (h, w) weights over the activation map;
    token: the word. Returns an (H + 25, W, 3) float array in [0, 1]: the word on a black
    strip above the image blended half-and-half with the upsampled attention map.
    """
    from PIL import Image, ImageDraw
    C, H, W = img.shape
    if C != 3:
        raise ValueError(f"img must have 3 color channels, got shape {tuple(img.shape)}")
    weights = attn_weights.detach().cpu().float()
    weights = torch.nn.functional.interpolate(weights[None, None], size=(H, W),
                                              mode="nearest")[0, 0].numpy()
    weights = weights / max(float(weights.max()), 1e-12)
    picture = img.float().div(255.0).permute(1, 2, 0).cpu().numpy()
    blended = 0.5 * picture + 0.5 * weights[:, :, None]
    strip = Image.new("RGB", (W, 25))
    ImageDraw.Draw(strip).text((5, 6), str(token), fill=(255, 255, 255))
    return np.concatenate([np.asarray(strip, dtype=np.float64) / 255.0, blended], axis=0)


def cache_features(model):
    """Make `model.feature_extractor` remember the features of images it has seen.

    The MobileNet backbone is frozen (no_grad, eval mode), so the features of a given batch
    never change; on a CPU, recomputing them every epoch dominates training time. Batches
    are recognised by their bytes (hash), so a cached answer is exact. Returns the model.
    """
    import hashlib
    extractor = model.feature_extractor
    compute = extractor.extract_mobilenet_feature
    memo = {}

    def extract(img, verbose=False):
        data = img.detach().cpu().contiguous()
        key = (tuple(data.shape), str(data.dtype),
               hashlib.blake2b(data.numpy().tobytes(), digest_size=16).hexdigest())
        if key not in memo:
            memo[key] = compute(img, verbose=verbose)
        return memo[key]

    extractor.extract_mobilenet_feature = extract
    return model
