"""The student release: every solution region replaced by its course-style stub.

    python -m dl4cv.release                      # every assignment -> build/release/ + zips
    python -m dl4cv.release cs231n/assignment2   # one assignment (or several)
    options: --out DIR (default build/release), --no-check

What is a solution (the contract the assignments follow):
- modules (.py, .pyx): the statements between `# *****START OF YOUR CODE*****` and
  `# *****END OF YOUR CODE*****`, inside a function. The release keeps the markers and the TODO
  text above them and puts `raise NotImplementedError("Implement <qualname> in <file>")` between
  them (same indentation), so released modules import and the first call names what to write.
- notebooks: code cells tagged `solution` become a stub (their leading comment block and any code
  outside START/END markers are kept), markdown cells tagged `answer` become
  `**Your Answer:** YOUR ANSWER:`; every output is cleared. Other cells (the Colab set-up cell
  included) are kept as they are.

The release tree mirrors the repository: the assignment folders, the shared support the
assignments import (`dl4cv`, `eecs498/eecs598`, install files, get_datasets.sh) and a short
README. Tests, fixtures, compiled files and git-ignored files never ship. Each assignment also
gets `<course>-<assignment>.zip` (support + that assignment), byte-identical from run to run.
`check_release` (run after every build) asserts that no non-trivial line of any solution region
appears anywhere in the release and that no test/fixture/compiled file ships.
"""
import argparse
import ast
import fnmatch
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dl4cv.paths import REPO_ROOT, build_dir

START_RE = re.compile(r"^(?P<indent>[ \t]*)#.*\bSTART OF YOUR CODE\b")
END_RE = re.compile(r"^[ \t]*#.*\bEND OF YOUR CODE\b")
START_MARKER = "# *****START OF YOUR CODE*****"
END_MARKER = "# *****END OF YOUR CODE*****"
ANSWER_STUB = "**Your Answer:** YOUR ANSWER:"
MODULE_SUFFIXES = (".py", ".pyx")
COURSE_DIRS = ("cs231n", "eecs498")
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
README = """# dl4cv: student release

The assignments of Stanford CS231n (2020) 1-3 and Michigan EECS 498-007 (Fall 2020) A4-A6.

1. `python -m pip install -e .` (Python >= 3.10), then `./get_datasets.sh <dataset>` as the
   notebooks tell you (a missing dataset names the command to run).
2. Open each notebook in its assignment folder and run it top to bottom. It stops with a
   `NotImplementedError` naming the function (file and name) or the cell you have to write next.
3. Write your code between `# *****START OF YOUR CODE*****` and `# *****END OF YOUR CODE*****`
   (keep both lines: the grader finds your code by them) and your answers in the
   `YOUR ANSWER:` cells.
4. Hand in the whole assignment folder.
"""


class ReleaseError(ValueError):
    """A solution region breaks the marker contract (file:line says where)."""


# ---------------------------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------------------------
@dataclass
class Region:
    """One solution region. `id` is `<file relative to the assignment>::<qualname>` (plus `#k`
    for the k-th further region in the same function) or `<notebook>::<cell id>`."""
    id: str
    file: str                 # relative to the assignment folder (posix)
    kind: str                 # "module" | "cell"
    label: str                # what to implement: qualname, or a description of the cell
    start: int = 0            # module: 0-based line index of the START marker
    end: int = 0              # module: 0-based line index of the END marker
    lines: list = field(default_factory=list)   # the solution text, line by line


def find_marker_pairs(lines, where="?"):
    """-> [(start_index, end_index, indent)] for START/END marker pairs in `lines`."""
    pairs, open_at = [], None
    for i, line in enumerate(lines):
        m = START_RE.match(line)
        if m:
            if open_at is not None:
                raise ReleaseError(f"{where}:{i + 1}: START marker inside an open region "
                                   f"(opened at line {open_at[0] + 1})")
            open_at = (i, m.group("indent"))
        elif END_RE.match(line):
            if open_at is None:
                raise ReleaseError(f"{where}:{i + 1}: END marker without a START marker")
            pairs.append((open_at[0], i, open_at[1]))
            open_at = None
    if open_at is not None:
        raise ReleaseError(f"{where}:{open_at[0] + 1}: START marker without an END marker")
    return pairs


def _qualnames_py(text, where):
    """-> function (start, end, qualname) spans of a Python source, 1-based inclusive lines."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise ReleaseError(f"{where}:{e.lineno}: does not parse: {e.msg}") from None
    spans = []

    def visit(node, prefix, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                is_fn = not isinstance(child, ast.ClassDef)
                if is_fn:
                    spans.append((child.lineno, child.end_lineno, name))
                visit(child, name + ".", in_function or is_fn)
            else:
                visit(child, prefix, in_function)

    visit(tree, "", False)
    return spans


def _qualnames_indent(lines):
    """For Cython: spans from `def`/`cdef`/`cpdef`/`class` lines and indentation."""
    heads = []
    head_re = re.compile(r"^(?P<ind>[ \t]*)(?:c?p?def|cdef\s+class|class)\s+(?:[\w\[\], ]+\s+)*?"
                         r"(?P<name>\w+)\s*[\(:]")
    for i, line in enumerate(lines):
        m = head_re.match(line)
        if m:
            heads.append((i, len(m.group("ind").expandtabs()), m.group("name"),
                          "class" not in line.split("(")[0]))
    spans = []
    for k, (i, ind, name, is_fn) in enumerate(heads):
        end = len(lines) - 1
        for j in range(i + 1, len(lines)):
            s = lines[j]
            if s.strip() and not s.lstrip().startswith("#") and len(s) - len(s.lstrip()) <= ind:
                end = j - 1
                break
        parents = [h for h in spans if h[0] <= i + 1 <= h[1]]
        prefix = parents[-1][2] + "." if parents else ""
        spans.append((i + 1, end + 1, prefix + name, is_fn))
    return [(a, b, n) for a, b, n, is_fn in spans if is_fn]


def module_regions(text, rel):
    """Regions of one module. Raises ReleaseError if a region is not inside a function."""
    lines = text.splitlines()
    pairs = find_marker_pairs(lines, rel)
    if not pairs:
        return []
    spans = _qualnames_py(text, rel) if rel.endswith(".py") else _qualnames_indent(lines)
    regions, seen = [], {}
    for start, end, _ in pairs:
        # The function must hold the region's first statement (comments after a function's
        # last statement are outside its ast span, so the END marker may be too).
        body = [i for i in range(start + 1, end) if lines[i].strip()
                and not lines[i].lstrip().startswith("#")]
        anchor = (body[0] if body else start) + 1
        inside = [s for s in spans if s[0] < anchor <= s[1]]
        if not inside:
            raise ReleaseError(f"{rel}:{start + 1}: solution region outside a function (the "
                               "release would not import); put the markers inside the body")
        qualname = max(inside, key=lambda s: s[0])[2]
        k = seen.get(qualname, 0)
        seen[qualname] = k + 1
        rid = f"{rel}::{qualname}" + (f"#{k + 1}" if k else "")
        regions.append(Region(rid, rel, "module", qualname, start, end, lines[start + 1:end]))
    return regions


def _cell_label(cell, index):
    return f"this cell ({cell.get('id') or f'index-{index}'})"


def notebook_regions(nb, rel):
    """Solution code cells and answer cells of a notebook (a dict-like nbformat node)."""
    regions = []
    for index, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        cid = cell.get("id") or f"index-{index}"
        if _is_solution_cell(cell):
            regions.append(Region(f"{rel}::{cid}", rel, "cell", _cell_label(cell, index),
                                  lines=_cell_solution_lines(cell.source)))
        elif cell.cell_type == "markdown" and "answer" in tags:
            regions.append(Region(f"{rel}::{cid}", rel, "answer", _cell_label(cell, index),
                                  lines=cell.source.splitlines()))
    return regions


def _is_solution_cell(cell):
    """A code cell tagged `solution` with code in it (a comment-only cell, e.g. "implemented in
    vae.py", has nothing to hide and stays as it is)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.cell_type == "code" and "solution" in tags and any(
        ln.strip() and not ln.lstrip().startswith("#") for ln in _cell_solution_lines(cell.source))


def _cell_solution_lines(source):
    lines = source.splitlines()
    pairs = find_marker_pairs(lines)
    if pairs:
        return [ln for s, e, _ in pairs for ln in lines[s + 1:e]]
    head = _leading_comments(lines)
    return lines[head:]


def _leading_comments(lines):
    n = 0
    while n < len(lines) and (not lines[n].strip() or lines[n].lstrip().startswith("#")):
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Stubs
# ---------------------------------------------------------------------------------------------
def _raise_line(indent, what, rel):
    return f'{indent}raise NotImplementedError("Implement {what} in {rel}")'


def stub_module(text, rel, only=None):
    """The module with its solution regions stubbed (all, or those whose id is in `only`)."""
    regions = module_regions(text, rel)
    if not regions:
        return text
    lines = text.splitlines()
    out, pos = [], 0
    for r in regions:
        if only is not None and r.id not in only:
            continue
        indent = START_RE.match(lines[r.start]).group("indent")
        out += lines[pos:r.start + 1]
        out.append(_raise_line(indent, r.label, rel))
        pos = r.end
    out += lines[pos:]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def stub_cell_source(source, what, rel):
    lines = source.splitlines()
    pairs = find_marker_pairs(lines, f"{rel} ({what})")
    msg = f"Implement {what} in {rel}"
    if pairs:
        out, pos = [], 0
        for s, e, indent in pairs:
            out += lines[pos:s + 1]
            out.append(f'{indent}raise NotImplementedError("{msg}")')
            pos = e
        return "\n".join(out + lines[pos:])
    head = _leading_comments(lines)
    keep = lines[:head]
    while keep and not keep[-1].strip():
        keep.pop()
    return "\n".join(keep + [START_MARKER, f'raise NotImplementedError("{msg}")', END_MARKER])


def stub_notebook(nb, rel, only=None, clear=True):
    """A copy of notebook `nb` with its solution/answer cells stubbed and outputs cleared."""
    import copy
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        cid = cell.get("id") or f"index-{index}"
        if only is not None and f"{rel}::{cid}" not in only:
            pass
        elif _is_solution_cell(cell):
            cell.source = stub_cell_source(cell.source, _cell_label(cell, index), rel)
        elif cell.cell_type == "markdown" and "answer" in tags:
            cell.source = ANSWER_STUB
        elif "colab-setup" in tags:
            from dl4cv.nbbuild import student_colab_cell_source
            cell.source = student_colab_cell_source(cell.source) or cell.source
        if clear and cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if clear:
            for key in ("execution", "collapsed", "scrolled"):
                cell.get("metadata", {}).pop(key, None)
    if clear:
        nb.metadata.pop("widgets", None)
    return nb


def read_notebook(path):
    import nbformat
    return nbformat.read(str(path), as_version=4)


def write_notebook_text(nb):
    import nbformat
    return nbformat.writes(nb) + "\n"


def assignment_regions(folder):
    """Every solution region of an assignment folder (absolute or relative to the repo)."""
    folder = _abs(folder)
    regions = []
    for path in sorted(_walk(folder)):
        rel = path.relative_to(folder).as_posix()
        if path.suffix in MODULE_SUFFIXES:
            regions += module_regions(path.read_text(), rel)
        elif path.suffix == ".ipynb":
            regions += notebook_regions(read_notebook(path), rel)
    return regions


def stub_file(path, rel, only=None):
    """Released bytes of one file of an assignment (`rel` relative to the assignment)."""
    path = Path(path)
    if path.suffix in MODULE_SUFFIXES:
        return stub_module(path.read_text(), rel, only).encode()
    if path.suffix == ".ipynb":
        return write_notebook_text(stub_notebook(read_notebook(path), rel, only)).encode()
    return path.read_bytes()


def make_mutant(src_folder, dst_folder, region_id):
    """Copy an assignment folder with exactly one region stubbed (for the mutant sweep)."""
    src_folder, dst_folder = Path(src_folder), Path(dst_folder)
    rel = region_id.split("::")[0]
    shutil.copytree(src_folder, dst_folder, ignore=shutil.ignore_patterns("__pycache__"))
    target = dst_folder / rel
    if target.suffix == ".ipynb":
        nb = stub_notebook(read_notebook(target), rel, only={region_id}, clear=False)
        target.write_text(write_notebook_text(nb))
    else:
        target.write_text(stub_module(target.read_text(), rel, only={region_id}))
    return dst_folder


# ---------------------------------------------------------------------------------------------
# Files to ship
# ---------------------------------------------------------------------------------------------
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
    root = Path(root)
    found = []
    for course in COURSE_DIRS:
        base = root / course
        if base.is_dir():
            for d in sorted(base.iterdir()):
                if d.is_dir() and d.name != "eecs598" and not d.name.startswith((".", "_")) \
                        and any(_walk(d)):
                    found.append(d.relative_to(root).as_posix())
    return found


def zip_name(assignment):
    parts = PurePosixPath(assignment).parts
    return "-".join(parts[-2:]) + ".zip"


@dataclass
class Release:
    out: Path
    files: dict          # release-relative path -> (bytes, mode)
    zips: list
    regions: dict        # assignment -> [Region]


def _mode(path):
    return 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644


def collect(root=REPO_ROOT, assignments=None, support=SUPPORT):
    """-> ({release path: (bytes, mode)} for support files, {assignment: {...}}, regions)."""
    root = Path(root)
    assignments = discover_assignments(root) if assignments is None else list(assignments)
    support_files = {"README.md": (README.encode(), 0o644)}
    for item in support:
        target = root / item
        if not target.exists():
            continue
        for path in _walk(target, root):
            rel = path.relative_to(root).as_posix()
            inner = path.relative_to(target).as_posix() if target.is_dir() else path.name
            support_files[rel] = (stub_file(path, inner), _mode(path))
    per_assignment, regions = {}, {}
    for a in assignments:
        folder = root / a
        if not folder.is_dir():
            raise ReleaseError(f"no assignment folder {folder}")
        files = {}
        for path in _walk(folder, root):
            inner = path.relative_to(folder).as_posix()
            files[f"{a}/{inner}"] = (stub_file(path, inner), _mode(path))
        per_assignment[a] = files
        regions[a] = assignment_regions(folder)
    return support_files, per_assignment, regions


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


def build(out=None, root=REPO_ROOT, assignments=None, support=SUPPORT, check=True):
    """Write the release tree and one zip per assignment into `out`; -> Release."""
    root = Path(root)
    out = Path(out) if out else build_dir() / "release"
    support_files, per_assignment, regions = collect(root, assignments, support)
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
        zpath = out / zip_name(a)
        write_zip(zpath, {**support_files, **files})
        zips.append(zpath)
    release = Release(out, all_files, zips, regions)
    if check:
        problems = check_release(release, root)
        if problems:
            raise ReleaseError("release check failed:\n  " + "\n  ".join(problems[:30]))
    return release


# ---------------------------------------------------------------------------------------------
# Leak check
# ---------------------------------------------------------------------------------------------
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
    assignments = list(release.regions)
    # Given = the assignments' own non-solution text. The support packages do not count as
    # given: a solution line that also sits in a helper package may leak through it.
    given = given_lines(root, assignments, support=())
    secret, per_region = {}, {}
    for a, regs in release.regions.items():
        for r in regs:
            key = f"{a}/{r.id}"
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
        for line in matched:
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


def check_release(release, root=REPO_ROOT):
    problems = [f"leaked: {x}" for x in leaks(release, root)]
    problems += [f"must not ship: {x}" for x in forbidden_files(release)]
    for name, (data, _) in release.files.items():
        if name.endswith(".py"):
            try:
                compile(data, name, "exec", dont_inherit=True)
            except SyntaxError as e:
                problems.append(f"does not compile: {name}:{e.lineno}: {e.msg}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="e.g. cs231n/assignment2 (default: all)")
    parser.add_argument("--out", default=None, help="output folder (default build/release)")
    parser.add_argument("--no-check", action="store_true", help="skip the leak check")
    args = parser.parse_args(argv)
    try:
        release = build(args.out, REPO_ROOT, args.assignments or None, check=not args.no_check)
    except ReleaseError as e:
        print(f"dl4cv.release: {e}", file=sys.stderr)
        return 1
    for a, regs in release.regions.items():
        n_mod = sum(r.kind == "module" for r in regs)
        n_nb = len(regs) - n_mod
        print(f"{a}: {n_mod} module regions, {n_nb} notebook cells stubbed")
    for z in release.zips:
        print(f"wrote {z}")
    print(f"release: {release.out} ({len(release.files)} files)" +
          ("" if args.no_check else "; leak check passed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
