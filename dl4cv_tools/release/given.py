"""The release side of dl4cv.given: given code written out in full where the course ships it.

In the repository, assignment 3's `layers.py` & co. are thin files that load assignment 2's
(dl4cv.given.GIVEN_FROM). The student release instead ships the course's layout: each such file
holds its source's code, the solution regions kept as ordinary given code (the markers and the
TODO comment right above each region dropped, as the course's own given copy reads).

- vendored_files(root, assignment) -> {release path: bytes} to write over the thin files.
- exempt_regions(release path) -> the assignment whose solution lines that file may contain
  (for the leak check), or None.
"""
import re
from pathlib import Path, PurePosixPath

from dl4cv.given import GIVEN_FROM
from dl4cv_tools.release.regions import END_RE, START_RE, find_marker_pairs

_TODO_RE = re.compile(r"^[ \t]*#\s*TODO\b")


def _header(source):
    """One comment line naming where the file comes from (in a .pyx a comment may precede the
    `# cython:` directive line, so the directives still apply)."""
    return f"# Given code, nothing to write here (copied from {source})\n"


def _todo_block(lines, start):
    """Indices of the `# TODO ...` comment block that ends right above line `start` (the START
    marker), or [] when the lines above are not such a block."""
    i = start - 1
    while (i >= 0 and lines[i].lstrip().startswith("#") and not _TODO_RE.match(lines[i])
           and not (START_RE.match(lines[i]) or END_RE.match(lines[i]))):
        i -= 1
    if i >= 0 and _TODO_RE.match(lines[i]):
        return list(range(i, start))
    return []


def as_given_code(text, where="?"):
    """`text` with every START/END marker line (and the TODO block above each START) removed,
    so the solution reads as plain code. Raises ReleaseError on unbalanced markers."""
    lines = text.splitlines(keepends=True)
    drop = set()
    for start, end, _ in find_marker_pairs([ln.rstrip("\r\n") for ln in lines], where):
        drop.update((start, end), _todo_block(lines, start))
    return "".join(ln for i, ln in enumerate(lines) if i not in drop)


def _inside(path, assignment):
    return PurePosixPath(path).is_relative_to(PurePosixPath(assignment))


def vendored_files(root, assignment):
    """{release-relative path: file bytes} for every GIVEN_FROM target inside `assignment`
    (e.g. "cs231n/assignment3"), read from the source files under `root` (the repository)."""
    root = Path(root)
    files = {}
    for target, source in sorted(GIVEN_FROM.items()):
        if not _inside(target, assignment):
            continue
        path = root / source
        if not path.is_file():
            raise FileNotFoundError(f"{target} is given code from {source}, which is missing "
                                    f"under {root}: restore it (`git checkout -- {source}`)")
        # (the .pyx has no markers: as_given_code returns its text unchanged)
        files[target] = (_header(source) + as_given_code(path.read_text(), source)).encode()
    return files


def _assignment_of(path):
    """`cs231n/assignment2/cs231n/layers.py` -> `cs231n/assignment2` (course/assignment)."""
    return PurePosixPath(*PurePosixPath(path).parts[:2]).as_posix()


def exempt_regions(release_path):
    """The assignment whose solution regions the released file `release_path` may contain
    (it is that assignment's code, shipped as given code), or None for every other file.
    A zip member name (`cs231n-assignment3.zip:cs231n/...`) counts as its inner path."""
    inner = str(release_path).split(":", 1)[-1]
    source = GIVEN_FROM.get(PurePosixPath(inner).as_posix())
    return _assignment_of(source) if source else None
