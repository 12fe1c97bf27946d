"""The ONE "train once, cache, reuse" rule for the models the stand-ins train.

Every cached model lives in `dl4cv.paths.cache_dir()` as `<name>.pt`, a dict
{"state_dict": ..., "info": {..., "data_fingerprint": ...}}, and is reused only while the data
it was trained on is unchanged: `data_fingerprint` is `dl4cv.paths.folder_fingerprint` of the
training-data folder(s) (file names and sizes), so that putting another copy of the data there
(the full set instead of the mirror subset) makes the model be retrained, not reused. A change
of recipe is a change of `name` (a version suffix, e.g. `_v1`).

    state, info = cached_model("cifar10_fallback_cnn_v1", data_fingerprint(cifar_root), train)

`train()` returns (state, info dict); state is anything `torch.save` can store (usually a
state_dict). Files are written to a temporary name and renamed, so notebooks running in
parallel never read half a file.
"""
import hashlib
import os
from pathlib import Path
from typing import Callable, Optional, Tuple

import torch

from dl4cv.paths import cache_dir, folder_fingerprint


def data_fingerprint(*folders) -> str:
    """Fingerprint of the training data in `folders` (one: its folder_fingerprint; several:
    a hash of theirs, in order). "" for a folder that does not exist."""
    prints = [folder_fingerprint(Path(f)) for f in folders]
    if len(prints) == 1:
        return prints[0]
    return hashlib.sha1("\n".join(prints).encode()).hexdigest()[:16]


def cache_path(name: str) -> Path:
    return cache_dir() / f"{name}.pt"


def load_cached(name: str, fingerprint: str) -> Tuple[Optional[object], Optional[dict]]:
    """(state, info) of the cached model `name` if it was trained on data with `fingerprint`,
    else (None, None) (not cached, another data set, or an unreadable file)."""
    path = cache_path(name)
    if not path.exists():
        return None, None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
        state, info = blob["state_dict"], dict(blob["info"])
    except Exception:  # noqa: BLE001  (half-written by an older version, truncated, ...)
        return None, None
    if info.get("data_fingerprint") != fingerprint:
        return None, None
    return state, info


def save_cached(name: str, fingerprint: str, state, info: dict) -> dict:
    """Store (state, info) as the cached model `name` trained on data `fingerprint`; returns
    the stored info (with data_fingerprint)."""
    info = dict(info, data_fingerprint=fingerprint)
    path = cache_path(name)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    torch.save({"state_dict": state, "info": info}, tmp)
    os.replace(tmp, path)   # atomic: concurrent runs never read half a file
    return info


def cached_model(name: str, fingerprint: str, train: Optional[Callable[[], tuple]] = None, *,
                 retrain: bool = False, verbose: bool = True, what: Optional[str] = None):
    """(state, info) of model `name` trained on data `fingerprint`: from the cache when it is
    there for this data, else `train()` (then cached). With train=None a missing model is
    (None, None). retrain=True trains even when a cached model fits."""
    if not retrain:
        state, info = load_cached(name, fingerprint)
        if state is not None:
            return state, info
    if train is None:
        return None, None
    if verbose:
        stale = cache_path(name).exists() and not retrain
        label = what or name
        print(f"The data on disk changed since the {label} was cached: retraining it ..." if stale
              else f"Training the {label} once (cached in {cache_path(name)}) ...", flush=True)
    state, info = train()
    return state, save_cached(name, fingerprint, state, info)


def frozen(module: torch.nn.Module, device=None) -> torch.nn.Module:
    """`module` on `device`, in eval mode, with requires_grad off (a fixed stand-in network)."""
    module = module.to(device or "cpu").eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
