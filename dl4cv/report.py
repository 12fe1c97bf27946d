"""Headline figures printed by notebooks in a form the runner's report can parse.

`record("svm best validation accuracy", 0.382)` prints
`[dl4cv] svm best validation accuracy = 0.382`; the notebook runner collects these lines
(plus the course-style "relative error" / "accuracy" / "loss" prints) into build/report.md.
"""
import re

PREFIX = "[dl4cv]"
RECORD_RE = re.compile(r"^\[dl4cv\] (?P<name>.+?) = (?P<value>\S+)\s*$")
DATA_PREFIX = "[dl4cv:data]"
_noted = set()


def record(name: str, value, fmt: str = None) -> None:
    if "=" in name:
        raise ValueError(f"record name must not contain '=': {name!r}")
    text = format(value, fmt) if fmt else (f"{value:.6g}" if isinstance(value, float) else str(value))
    print(f"{PREFIX} {name} = {text}", flush=True)


def note_data(description: str) -> None:
    """Say which data a notebook used (e.g. "CIFAR-10 mirror subset: 5,170 train / 1,017 test").

    Loaders call this; the runner lists the descriptions next to the notebook's figures, so
    every reported number says what it was measured on. Printed once per description.
    """
    if description not in _noted:
        _noted.add(description)
        print(f"{DATA_PREFIX} {description}", flush=True)
