"""Build the release: collect what ships, stub it, write the tree and one zip per assignment,
then check it (leaks, forbidden files, check cells, every module compiles)."""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from dl4cv.paths import REPO_ROOT, build_dir
from dl4cv_tools import manifest
from dl4cv_tools.release.given import vendored_files
from dl4cv_tools.release.checkcells import check_cell_problems
from dl4cv_tools.release.files import (SUPPORT, _mode, _walk, discover_assignments,
                                       student_pyproject, write_zip, zip_name)
from dl4cv_tools.release.leakcheck import forbidden_files, leaks
from dl4cv_tools.release.regions import ReleaseError, assignment_regions
from dl4cv_tools.release.stubs import stub_file

README = """# dl4cv: student release

{contents}

1. `python -m pip install -e .` (Python >= 3.11), then `./get_datasets.sh <dataset>` as the
   notebooks tell you (a missing dataset names the command to run).
2. Open each notebook in its assignment folder and run it top to bottom. It stops with a
   `NotImplementedError` naming the function (file and name) or the cell you have to write next.
3. Write your code between `# *****START OF YOUR CODE*****` and `# *****END OF YOUR CODE*****`
   (keep both lines: the grader finds your code by them) and your answers in the
   `YOUR ANSWER:` cells.
4. Hand in the whole assignment folder.

{given_note}"""
TODAYS_SET = ("The assignments of Stanford CS231n (2020) 1-3 and Michigan EECS 498-007 (Fall 2020) "
              "A1-A6.")
GIVEN_LAYERS_NOTE = """
As in the course, CS231n assignment 3 ships assignment 2's numpy layers (`layers.py`,
`layer_utils.py`, `fast_layers.py`, `im2col*`, `pool_cython.pyx`) as given code, solutions included: hand out
`cs231n-assignment3.zip` after assignment 2 is due.
"""


def readme(edition=None, assignments=()):
    """The release's README: what it holds (today's set, or one edition's notebooks)."""
    if edition is None:
        return README.format(contents=TODAYS_SET, given_note=GIVEN_LAYERS_NOTE)
    lines = [f"The {edition} edition's notebooks of these assignments:", ""]
    for path in assignments:
        a = manifest.get(path)
        lines.append(f"- `{a.path}`: " + ", ".join(a.notebooks_in(edition)))
    return README.format(contents="\n".join(lines), given_note="")


@dataclass
class Release:
    out: Path
    files: dict          # release-relative path -> (bytes, mode)
    zips: list
    regions: dict        # assignment -> [Region]


def _manifest_entry(root, a):
    """The manifest's entry for assignment folder `a` of tree `root`, or None (a test fixture)."""
    if Path(root).resolve() != REPO_ROOT.resolve():
        return None
    try:
        return manifest.get(a)
    except KeyError:
        return None


def collect(root=REPO_ROOT, assignments=None, support=SUPPORT, edition=None):
    """-> ({release path: (bytes, mode)} for support files, {assignment: {...}}, regions).

    edition: a course edition of dl4cv_tools.manifest.EDITIONS ("2025"); None is each course's
    default edition (today's set). Only that edition's notebooks and the files they use ship.
    """
    root = Path(root)
    if assignments is None:
        assignments = (discover_assignments(root) if edition is None
                       or root.resolve() != REPO_ROOT.resolve()
                       else [a.path for a in manifest.edition_assignments(edition)])
    assignments = list(assignments)
    support_files = {"README.md": (readme(edition, assignments).encode(), 0o644)}
    for item in support:
        target = root / item
        if not target.exists():
            continue
        for path in _walk(target, root):
            rel = path.relative_to(root).as_posix()
            inner = path.relative_to(target).as_posix() if target.is_dir() else path.name
            data = stub_file(path, inner)
            if rel == "pyproject.toml":     # without the tooling package the release lacks
                data = student_pyproject(data.decode()).encode()
            support_files[rel] = (data, _mode(path))
    per_assignment, regions = {}, {}
    for a in assignments:
        folder = root / a
        if not folder.is_dir():
            raise ReleaseError(f"no assignment folder {folder}")
        # The manifest's editions apply to this repository's assignments; anything else (a test
        # fixture) ships everything.
        entry = _manifest_entry(root, a)

        def ships(inner):
            return entry is None or entry.ships(inner, edition)

        files = {}
        for path in _walk(folder, root):
            inner = path.relative_to(folder).as_posix()
            if ships(inner):
                files[f"{a}/{inner}"] = (stub_file(path, inner), _mode(path))
        # Given code the course copied from an earlier assignment (assignment 3's layers.py & co.
        # are assignment 2's): written in full over the repository's thin loader files.
        files.update({t: (data, 0o644) for t, data in vendored_files(root, a).items()
                      if ships(t[len(a) + 1:])})
        per_assignment[a] = files
        regions[a] = [r for r in assignment_regions(folder) if ships(r.file)]
    return support_files, per_assignment, regions


def build(out=None, root=REPO_ROOT, assignments=None, support=SUPPORT, check=True, edition=None):
    """Write the release tree and one zip per assignment into `out`; -> Release.
    edition: see collect (None: today's set, in build/release; else build/release-<edition>)."""
    root = Path(root)
    out = Path(out) if out else build_dir() / ("release" if edition is None else f"release-{edition}")
    support_files, per_assignment, regions = collect(root, assignments, support, edition)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    all_files = dict(support_files)
    for files in per_assignment.values():
        all_files.update(files)
    for rel, (data, mode) in sorted(all_files.items()):
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        os.chmod(dest, mode)
    zips = []
    for a, files in per_assignment.items():
        known = _manifest_entry(root, a) is not None
        zpath = out / (manifest.edition_zip_name(a, edition) if known else zip_name(a))
        write_zip(zpath, {**support_files, **files})
        zips.append(zpath)
    release = Release(out, all_files, zips, regions)
    if check:
        problems = check_release(release, root)
        if problems:
            raise ReleaseError("release check failed:\n  " + "\n  ".join(problems[:30]))
    return release


def check_release(release, root=REPO_ROOT):
    """-> problems of a built release (empty: it may ship)."""
    problems = [f"leaked: {x}" for x in leaks(release, root)]
    problems += [f"must not ship: {x}" for x in forbidden_files(release)]
    problems += [f"check cell restates a solution: {x}" for x in check_cell_problems(release)]
    for name, (data, _) in release.files.items():
        if name.endswith(".py"):
            try:
                compile(data, name, "exec", dont_inherit=True)
            except SyntaxError as e:
                problems.append(f"does not compile: {name}:{e.lineno}: {e.msg}")
    return problems

