"""Import a course module from a given assignment folder, in isolation.

The three CS231n assignments each ship a package called `cs231n`, and the EECS assignments
flat modules with common names, so a test process that checks several assignments must not
let one folder's modules shadow another's. `course_module("cs231n/assignment2", "cs231n.layers")`
drops every cached module that came from another assignment folder, puts this folder first on
sys.path and imports. The grader uses the same function with a submission folder as root.
"""
import importlib
import os
import sys
from pathlib import Path

from dl4cv.paths import REPO_ROOT

_active = {"folder": None}


def _modules_from(folder: Path):
    folder = str(folder)
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        if path.startswith(folder + "/") or path.startswith(folder + "\\"):
            yield name


def resolve_folder(folder) -> Path:
    """`folder` as given, or the submission that $DL4CV_OVERRIDE maps it to.

    DL4CV_OVERRIDE="cs231n/assignment2=/path/to/submission" (';' between several) lets the
    grader run the project's tests against a student's folder without touching the tests.
    """
    key = Path(folder).as_posix().strip("/")
    for pair in filter(None, os.environ.get("DL4CV_OVERRIDE", "").split(";")):
        name, _, target = pair.partition("=")
        if name.strip().strip("/") == key:
            return Path(target)
    return Path(folder)


def activate(folder) -> Path:
    """Make `folder` (an assignment folder) the one that course imports resolve to."""
    folder = resolve_folder(folder)
    if not folder.is_absolute():
        folder = REPO_ROOT / folder
    folder = folder.resolve()
    previous = _active["folder"]
    if previous != folder:
        if previous is not None:
            for name in list(_modules_from(previous)):
                del sys.modules[name]
            if str(previous) in sys.path:
                sys.path.remove(str(previous))
        # A package of the same name imported from elsewhere (another assignment) must go too.
        for name in list(sys.modules):
            top = name.split(".")[0]
            if (folder / top).is_dir() or (folder / f"{top}.py").exists():
                mod = sys.modules[name]
                if not (getattr(mod, "__file__", "") or "").startswith(str(folder)):
                    del sys.modules[name]
        sys.path.insert(0, str(folder))
        importlib.invalidate_caches()
        _active["folder"] = folder
    return folder


def course_module(folder, name: str):
    """`course_module("eecs498/A5", "single_stage_detector")` -> the imported module."""
    activate(folder)
    return importlib.import_module(name)
