"""Smoke mode vs full mode, read from the environment in one place.

`DL4CV_SMOKE=1` (set by CI and by `make run` unless FULL=1) shrinks data sizes and iteration
counts so that every notebook runs on 2 CPU cores in a few minutes; `FULL=1` (or the absence
of DL4CV_SMOKE) uses the course's sizes on whatever data is on disk.
"""
import os


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def is_smoke() -> bool:
    return _flag("DL4CV_SMOKE") and not _flag("FULL")


def is_full() -> bool:
    return not is_smoke()


def pick(full, smoke):
    """`pick(full=1000, smoke=20)`: the value for the current mode."""
    return smoke if is_smoke() else full


def describe() -> str:
    return "smoke" if is_smoke() else "full"
