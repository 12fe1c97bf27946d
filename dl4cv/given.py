"""Given code that one assignment shares with another, kept in one place.

CS231n 2020 assignment 3 ships assignment 2's layers (`layers.py`, `layer_utils.py`,
`fast_layers.py`, `im2col.py`, `im2col_cython.pyx`; and our `pool_cython.pyx`, which
`fast_layers.py` uses) as given code. In this repository those files exist once, in
assignment 2: assignment 3's modules of the same name are thin files that call `export_into`,
which imports assignment 2's package under a private name and copies the module's public names
into theirs. The student release writes the source file's code in their place (see
dl4cv_tools.release.given), so students see the course's layout.

    # cs231n/assignment3/cs231n/layers.py
    from dl4cv.given import export_into
    export_into("cs231n/assignment3/cs231n/layers.py", globals())
"""
import importlib
import importlib.util
import re
import sys
from pathlib import Path, PurePosixPath

from dl4cv import paths

# target (the file the course ships) -> source (the one copy in this repository), both
# relative to the repository root
GIVEN_FROM = {
    "cs231n/assignment3/cs231n/layers.py": "cs231n/assignment2/cs231n/layers.py",
    "cs231n/assignment3/cs231n/layer_utils.py": "cs231n/assignment2/cs231n/layer_utils.py",
    "cs231n/assignment3/cs231n/fast_layers.py": "cs231n/assignment2/cs231n/fast_layers.py",
    "cs231n/assignment3/cs231n/im2col.py": "cs231n/assignment2/cs231n/im2col.py",
    "cs231n/assignment3/cs231n/im2col_cython.pyx": "cs231n/assignment2/cs231n/im2col_cython.pyx",
    "cs231n/assignment3/cs231n/pool_cython.pyx": "cs231n/assignment2/cs231n/pool_cython.pyx",
    # CS231n 2025 assignment 2 (RNN_Captioning_pytorch) ships the captioning data helpers
    # that assignment 3 holds here
    "cs231n/assignment2/cs231n/coco_utils.py": "cs231n/assignment3/cs231n/coco_utils.py",
    "cs231n/assignment2/cs231n/image_utils.py": "cs231n/assignment3/cs231n/image_utils.py",
}


def _alias(package_dir: str) -> str:
    """A package name no course import can collide with, e.g. `_given_cs231n_assignment2_cs231n`."""
    return "_given_" + re.sub(r"\W", "_", package_dir)


def _source_package(package_dir: str, target: str):
    """Import the source folder (relative to the repository root) as a package under its alias.

    submodule_search_locations makes it a real package, so its relative imports
    (`from .layers import *`) and its compiled `im2col_cython` beside the .pyx resolve inside it.
    """
    alias = _alias(package_dir)
    if alias in sys.modules:
        return alias
    folder = Path(paths.REPO_ROOT) / package_dir
    init = folder / "__init__.py"
    if not init.is_file():
        raise ImportError(f"{target} is given code whose source, {package_dir}/, is missing: "
                          f"restore it (`git checkout -- {package_dir}`) or use the student "
                          "release, which has the code in place")
    spec = importlib.util.spec_from_file_location(alias, init,
                                                  submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[alias] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[alias]
        raise
    return alias


def load_given(target: str):
    """The source module of `target` (a key of GIVEN_FROM), imported under the private alias."""
    try:
        source = PurePosixPath(GIVEN_FROM[target])
    except KeyError:
        raise KeyError(f"{target} is not given code: add it to GIVEN_FROM in dl4cv/given.py "
                       "(known: " + ", ".join(sorted(GIVEN_FROM)) + ")") from None
    if source.suffix != ".py":
        raise ValueError(f"{target} is not a Python module; only .py targets can be loaded")
    alias = _source_package(source.parent.as_posix(), target)
    return importlib.import_module(f"{alias}.{source.stem}")


def export_into(target: str, namespace: dict):
    """Copy the public names of `target`'s source module into `namespace` (a module's globals),
    as `from <source> import *` would: its `__all__`, else every name without a leading `_`."""
    module = load_given(target)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    namespace.update({n: getattr(module, n) for n in names})
    return module
