"""Solution regions: the START/END markers and where they are.

A region is the code between `# *****START OF YOUR CODE*****` and `# *****END OF YOUR CODE*****`
inside a function of a module (.py, .pyx), a notebook code cell tagged `solution`, or a markdown
cell tagged `answer`. Every other part of the release tooling and the grader finds regions here.
"""
import ast
import re
from dataclasses import dataclass, field
from dl4cv_tools.release.files import _abs, _walk

START_RE = re.compile(r"^(?P<indent>[ \t]*)#.*\bSTART OF YOUR CODE\b")
END_RE = re.compile(r"^[ \t]*#.*\bEND OF YOUR CODE\b")
START_MARKER = "# *****START OF YOUR CODE*****"
END_MARKER = "# *****END OF YOUR CODE*****"
ANSWER_STUB = "**Your Answer:** YOUR ANSWER:"
MODULE_SUFFIXES = (".py", ".pyx")


class ReleaseError(ValueError):
    """A solution region breaks the marker contract (file:line says where)."""


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

