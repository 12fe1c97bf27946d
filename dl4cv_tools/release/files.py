"""What ships: the files of the release tree and of each zip, and how the zips are written.

The release mirrors the repository: the assignment folders (from dl4cv_tools.manifest) and the
runtime support the assignments import (SUPPORT: the `dl4cv` package, `eecs498/eecs598`, the
install files, get_datasets.sh). Maintainer tooling (`dl4cv_tools/`), experiments/,
benchmarks/, tests/ and the rubrics are not in SUPPORT and never ship; tests, fixtures,
compiled files and git-ignored files never ship from inside a shipped folder either.
"""
import fnmatch
import io
import os
import re
import stat
import subprocess
import zipfile
from pathlib import Path

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest

# Only the runtime: never dl4cv_tools/, experiments/, benchmarks/, tests/ (rubrics included).
SUPPORT = ("dl4cv", "eecs498/eecs598", "pyproject.toml", "setup.py", "requirements.txt",
           "get_datasets.sh", "LICENSE")
# Never shipped: tests and their fixtures (they reveal expected outputs), compiled or generated
# files, editor/build leftovers. Matched against each path component / file name.
EXCLUDE_DIRS = {"tests", "test", "fixtures", "__pycache__", ".ipynb_checkpoints", "build",
                ".pytest_cache", ".git", "*.egg-info"}
EXCLUDE_FILES = {"test_*.py", "*_test.py", "conftest.py", "*.pyc", "*.pyo", "*.so", "*.pyd",
                 "*.o", "*.c", "*.cpp", ".DS_Store", "*.orig", "*.rej", "*.swp"}
KEEP_FILES = {"keep.c"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _abs(folder):
    folder = Path(folder)
    return folder if folder.is_absolute() else REPO_ROOT / folder


def _excluded(rel_parts):
    *dirs, name = rel_parts
    if any(fnmatch.fnmatch(d, pat) for d in dirs for pat in EXCLUDE_DIRS):
        return True
    if name in KEEP_FILES:
        return False
    return any(fnmatch.fnmatch(name, pat) for pat in EXCLUDE_FILES)


def _git_files(root, target):
    """Tracked + untracked-not-ignored files under `target` (None if git is unavailable)."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z", "--",
                              str(target)], cwd=root, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    files = {root / p for p in out.stdout.decode().split("\0") if p}
    return {f for f in files if f.is_file() and not f.is_symlink()}


def _walk(target, root=None):
    """Files under `target` that ship (or under a single file), excluding tests/compiled/etc."""
    target = Path(target)
    if target.is_file():
        return [target] if not _excluded([target.name]) else []
    found = _git_files(root, target) if root is not None else None
    if found is None:
        found = {p for p in target.rglob("*") if p.is_file() and not p.is_symlink()}
    found = {p for p in found if p.is_relative_to(target)}
    return sorted(p for p in found if not _excluded(p.relative_to(target).parts))


def discover_assignments(root=REPO_ROOT):
    """The assignments of a tree: the manifest's for this repository; for another tree (a
    test's fixture), every non-empty folder under a course folder."""
    root = Path(root)
    if root.resolve() == REPO_ROOT.resolve():
        return list(manifest.PATHS)
    found = []
    for course in manifest.COURSES:
        base = root / course
        if base.is_dir():
            for d in sorted(base.iterdir()):
                if d.is_dir() and d.name != "eecs598" and not d.name.startswith((".", "_")) \
                        and any(_walk(d)):
                    found.append(d.relative_to(root).as_posix())
    return found


zip_name = manifest.zip_name


def _mode(path):
    return 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644


# Lines of pyproject.toml that name the tooling package: the student's `pip install -e .` must
# not look for dl4cv_tools/, which the release does not have.
TOOLING_LINE_RE = re.compile(r"\bdl4cv_tools\b")


def student_pyproject(text):
    """The release's pyproject.toml: every line naming dl4cv_tools dropped (its packages and
    console scripts), and a [project.scripts] table left empty by that dropped too."""
    lines = [ln for ln in text.splitlines() if not TOOLING_LINE_RE.search(ln)]
    out = []
    for i, line in enumerate(lines):
        nxt = next((ln for ln in lines[i + 1:] if ln.strip()), "")
        if line.strip() == "[project.scripts]" and (not nxt or nxt.lstrip().startswith("[")):
            continue
        out.append(line)
    text_out = "\n".join(out)
    while "\n\n\n\n" in text_out:          # no gap wider than the file's own
        text_out = text_out.replace("\n\n\n\n", "\n\n\n")
    text_out = text_out.replace("\n\n\n[", "\n\n[")
    return text_out + ("\n" if text.endswith("\n") else "")


def write_zip(path, files):
    """Deterministic zip: sorted entries, fixed timestamps and permissions."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.create_system = 3
            z.writestr(info, data)
    Path(path).write_bytes(buf.getvalue())

