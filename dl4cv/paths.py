"""Where things live: the repository, the data folder, the build folder."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The data folder: $DL4CV_DATA if set, else `<repo>/data` (git-ignored)."""
    return Path(os.environ.get("DL4CV_DATA", REPO_ROOT / "data")).expanduser()


def build_dir() -> Path:
    """Generated output (executed notebooks, report, bench): $DL4CV_BUILD or `<repo>/build`."""
    return Path(os.environ.get("DL4CV_BUILD", REPO_ROOT / "build")).expanduser()


def cache_dir() -> Path:
    """Models the project trains once and reuses (e.g. the CIFAR-10 fallback CNN)."""
    path = data_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def folder_fingerprint(folder) -> str:
    """A short hash of the file names and sizes under `folder` ("" if it does not exist).

    Models and data sets derived from a data folder store it, so that putting another copy
    there (the full CIFAR-10 instead of the mirror subset) makes them be rebuilt, not reused.
    """
    import hashlib
    folder = Path(folder)
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
        digest.update(f"{path.relative_to(folder).as_posix()}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16] if folder.is_dir() else ""
