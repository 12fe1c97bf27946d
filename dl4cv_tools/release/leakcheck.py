"""The leak check: no line of a solution region may appear anywhere in the release, and no
test, fixture or compiled file may ship."""
import json
import re
import zipfile
from pathlib import Path, PurePosixPath

from dl4cv.paths import REPO_ROOT
from dl4cv_tools.release.given import exempt_regions
from dl4cv_tools.release.files import SUPPORT, _excluded, _walk, discover_assignments
from dl4cv_tools.release.regions import (END_RE, MODULE_SUFFIXES, START_RE, _cell_solution_lines,
                                         _is_solution_cell, find_marker_pairs, read_notebook)


def _norm(line):
    return " ".join(line.split())


def nontrivial(line):
    """A solution line worth checking for leakage: >= 12 characters with letters, not a marker."""
    s = _norm(line)
    return len(s) >= 12 and re.search(r"[A-Za-z]", s) is not None \
        and not START_RE.match(s) and not END_RE.match(s)


def _text_lines_of(name, data):
    """Normalised lines of a released file (notebook: every string in its JSON)."""
    if name.endswith(".ipynb"):
        try:
            doc = json.loads(data.decode())
        except ValueError:
            doc = None
        if doc is not None:
            strings = []

            def walk(x):
                if isinstance(x, str):
                    strings.append(x)
                elif isinstance(x, list):
                    if all(isinstance(s, str) for s in x):
                        strings.append("".join(x))
                    else:
                        for y in x:
                            walk(y)
                elif isinstance(x, dict):
                    for y in x.values():
                        walk(y)
            walk(doc)
            return {_norm(ln) for s in strings for ln in s.splitlines()}
    return {_norm(ln) for ln in data.decode("utf-8", errors="ignore").splitlines()}


def given_lines(root, assignments, support=SUPPORT):
    """Normalised lines of the shipped sources that are NOT solutions (given code/text)."""
    root = Path(root)
    given = set()
    targets = [root / s for s in support] + [root / a for a in assignments]
    for target in targets:
        if not target.exists():
            continue
        for path in _walk(target, root):
            if path.suffix in MODULE_SUFFIXES:
                lines = path.read_text().splitlines()
                inside = set()
                for s, e, _ in find_marker_pairs(lines, str(path)):
                    inside.update(range(s + 1, e))
                given.update(_norm(ln) for i, ln in enumerate(lines) if i not in inside)
            elif path.suffix == ".ipynb":
                nb = read_notebook(path)
                for cell in nb.cells:
                    tags = cell.get("metadata", {}).get("tags", [])
                    lines = cell.source.splitlines()
                    if cell.cell_type == "markdown" and "answer" in tags:
                        continue
                    if _is_solution_cell(cell):
                        sol = {_norm(x) for x in _cell_solution_lines(cell.source)}
                        given.update(_norm(ln) for ln in lines if _norm(ln) not in sol)
                    else:
                        given.update(_norm(ln) for ln in lines)
            else:
                given.update(_norm(ln) for ln in
                             path.read_bytes().decode("utf-8", errors="ignore").splitlines())
    return given


def leaks(release, root=REPO_ROOT, support=SUPPORT):
    """-> ["<release file>: <leaked solution line> (from <region id>)"].

    In an assignment's own files (and anything unexpected) one non-trivial solution line is a
    leak. In the shared support packages (dl4cv, eecs598), which legitimately hold generic code
    such as `return nn.Sequential(`, a region leaks when two of its lines appear in one file (or
    its only line, if it is 30 characters or more): that is a solution copied into a helper."""
    # Given = the non-solution text of every assignment of the tree, shipped in this release or
    # in another edition's (public either way). The support packages do not count as given: a
    # solution line that also sits in a helper package may leak through it.
    assignments = sorted(set(release.regions) | set(discover_assignments(root)))
    given = given_lines(root, assignments, support=())
    secret, per_region, assignment_of = {}, {}, {}
    for a, regs in release.regions.items():
        for r in regs:
            key = f"{a}/{r.id}"
            assignment_of[key] = a
            for ln in r.lines:
                n = _norm(ln)
                if nontrivial(n) and n not in given:
                    secret.setdefault(n, set()).add(key)
                    per_region.setdefault(key, set()).add(n)
    found = []
    blobs = [(name, data) for name, (data, _) in release.files.items()]
    for z in release.zips:
        with zipfile.ZipFile(z) as zf:
            blobs += [(f"{z.name}:{n}", zf.read(n)) for n in zf.namelist()]
    # Files on disk too (catches anything written outside `files`, e.g. compiled leftovers).
    for p in sorted(release.out.rglob("*")):
        if p.is_file() and p.suffix != ".zip":
            blobs.append((p.relative_to(release.out).as_posix(), p.read_bytes()))
    support = tuple(support)
    for name, data in blobs:
        inner = name.split(":", 1)[-1]
        in_support = any(inner == s or inner.startswith(s + "/") for s in support)
        matched = _text_lines_of(name, data) & secret.keys()
        # A file the course gives as a copy of an earlier assignment's code (dl4cv.given) may hold
        # the lines of that assignment's solutions (whichever other region shares them), no others.
        exempt = exempt_regions(name)
        for line in matched:
            if exempt and any(assignment_of[key] == exempt for key in secret[line]):
                continue
            for key in sorted(secret[line]):
                if in_support:
                    mine = per_region[key] & matched
                    if not (len(mine) >= 2 or (len(per_region[key]) == 1 and len(line) >= 30)):
                        continue
                found.append(f"{name}: {line!r} (from {key})")
    return sorted(set(found))


def forbidden_files(release):
    """Release files that must never ship (tests, fixtures, compiled files)."""
    bad = []
    names = [p.relative_to(release.out).as_posix() for p in release.out.rglob("*") if p.is_file()]
    for z in release.zips:
        with zipfile.ZipFile(z) as zf:
            names += zf.namelist()
    prefixes = sorted(list(release.regions) + list(SUPPORT), key=len, reverse=True)
    for name in names:
        parts = PurePosixPath(name).parts
        if name.endswith(".zip") and len(parts) == 1:
            continue
        # Judge the path below its assignment (or support) folder: the fixture assignment
        # itself lives under tests/fixtures/.
        base = next((p for p in prefixes if name.startswith(p + "/")), None)
        inner = PurePosixPath(name[len(base) + 1:]).parts if base else parts
        if _excluded(inner):
            bad.append(name)
    return sorted(set(bad))

