"""The README's verification table: per assignment, the student functions that a test compares
with an independent reference, out of all student functions.

A student function is a function or method of an assignment's modules that holds a solution
region (`# *****START OF YOUR CODE*****` ... `# *****END OF YOUR CODE*****`), named as in the
release tooling: "<path relative to the assignment>::<qualname>", e.g.
"cs231n/layers.py::affine_forward" in cs231n/assignment2.

A test declares the functions it checks against an independent reference (torch / torchvision,
numeric gradients, closed forms) with a marker that this module reads statically (no test runs):

    @pytest.mark.reference("cs231n/assignment2", "cs231n/layers.py::affine_forward",
                           "cs231n/layers.py::affine_backward")
    def test_affine_vs_linear(...): ...

One marker per assignment; a test may carry several (tests run on both courses' modules).

    python -m dl4cv_tools.verification            # print the table
    python -m dl4cv_tools.verification --update   # rewrite the README block
    python -m dl4cv_tools.verification --check    # exit 1 if the README block is stale
"""
import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from dl4cv.paths import REPO_ROOT
from dl4cv_tools.manifest import PATHS as ASSIGNMENTS
from dl4cv_tools.release.regions import assignment_regions

TESTS_DIR = REPO_ROOT / "tests"
README = REPO_ROOT / "README.md"
START = "<!-- verification:start -->"
END = "<!-- verification:end -->"
MARKER = "reference"


@dataclass(frozen=True)
class Declaration:
    test_file: str      # path relative to the repository, e.g. "tests/test_cs231n_a2_layers.py"
    test_name: str      # the decorated function ("TestX.test_y" inside a class)
    lineno: int
    assignment: str
    function: str


def student_functions(assignment, root=REPO_ROOT):
    """Sorted "<rel path>::<qualname>" of the functions holding a solution region."""
    regions = assignment_regions(Path(root) / assignment)
    return sorted({r.id.split("#")[0] for r in regions if r.kind == "module"})


def notebook_cells(assignment, root=REPO_ROOT):
    """Number of notebook solution code cells (written answers not counted)."""
    return sum(1 for r in assignment_regions(Path(root) / assignment) if r.kind == "cell")


def _is_reference_marker(node):
    """`pytest.mark.reference(...)` or `mark.reference(...)`."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    f = node.func
    return f.attr == MARKER and isinstance(f.value, ast.Attribute) and f.value.attr == "mark"


def declarations_in(path, root=REPO_ROOT):
    """Every reference declaration of one test file (module-level tests and Test* classes)."""
    path = Path(path)
    rel = path.resolve().relative_to(Path(root).resolve()).as_posix()
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def scan(fn, qualname):
        for dec in fn.decorator_list:
            if not _is_reference_marker(dec):
                continue
            args = dec.args
            if dec.keywords or len(args) < 2 or not all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                raise ValueError(f"{rel}:{dec.lineno}: @pytest.mark.{MARKER} takes string literals "
                                 "only: (assignment, function, ...)")
            assignment = args[0].value
            for a in args[1:]:
                found.append(Declaration(rel, qualname, dec.lineno, assignment, a.value))

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scan(node, node.name)
        elif isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    scan(child, f"{node.name}.{child.name}")
    return found


def all_declarations(tests_dir=TESTS_DIR, root=REPO_ROOT):
    out = []
    for path in sorted(Path(tests_dir).glob("test_*.py")):
        out += declarations_in(path, root)
    return out


def _short(test_file):
    name = Path(test_file).stem
    return name[len("test_"):] if name.startswith("test_") else name


def coverage(root=REPO_ROOT, tests_dir=TESTS_DIR):
    """-> {assignment: {"functions": [...], "covered": {function: [decl, ...]},
    "missing": [...], "cells": n}}, plus the declarations naming no student function."""
    decls = all_declarations(tests_dir, root)
    by_fn = defaultdict(list)
    for d in decls:
        by_fn[(d.assignment, d.function)].append(d)
    result, known = {}, set()
    for a in ASSIGNMENTS:
        fns = student_functions(a, root)
        known.update((a, f) for f in fns)
        covered = {f: by_fn[(a, f)] for f in fns if by_fn.get((a, f))}
        result[a] = {"functions": fns, "covered": covered,
                     "missing": [f for f in fns if f not in covered],
                     "cells": notebook_cells(a, root)}
    stale = [d for d in decls if (d.assignment, d.function) not in known]
    return result, stale


def render(cov):
    """The README block (markdown) for a coverage() result."""
    lines = ["| assignment | student functions with an independent reference / all | "
             "notebook solution cells | reference tests (`tests/test_*.py`) |",
             "|---|---|---|---|"]
    tot_c = tot_f = tot_cells = 0
    for a, c in cov.items():
        files = sorted({_short(d.test_file) for ds in c["covered"].values() for d in ds})
        n_c, n_f = len(c["covered"]), len(c["functions"])
        tot_c, tot_f, tot_cells = tot_c + n_c, tot_f + n_f, tot_cells + c["cells"]
        lines.append(f"| `{a}` | {n_c} / {n_f} | {c['cells']} | {', '.join(files)} |")
    lines.append(f"| **total** | **{tot_c} / {tot_f}** | **{tot_cells}** | |")
    missing = [(a, f) for a, c in cov.items() for f in c["missing"]]
    lines.append("")
    lines.append("Student functions are the functions and methods holding a solution region; a "
                 "test declares the ones it compares with an independent reference with "
                 "`@pytest.mark.reference(...)`. Notebook solution cells are not functions and "
                 "are not counted in the second column; they run when the notebooks execute, "
                 "next to the course's own checks. Regenerate with "
                 "`python -m dl4cv_tools.verification --update`.")
    if missing:
        lines.append("")
        lines.append("Without an independent reference: " +
                     ", ".join(f"`{a}/{f}`" for a, f in missing) + ".")
    return "\n".join(lines) + "\n"


def generate(root=REPO_ROOT, tests_dir=TESTS_DIR):
    return render(coverage(root, tests_dir)[0])


def readme_block(text):
    """The text between the markers (exclusive, without the newline after START)."""
    if text.count(START) != 1 or text.count(END) != 1:
        raise ValueError(f"README needs exactly one {START} and one {END}")
    body = text.split(START, 1)[1].split(END, 1)[0]
    return body[1:] if body.startswith("\n") else body


def replace_block(text, block):
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{START}\n{block}{END}{tail}"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m dl4cv_tools.verification", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--update", action="store_true", help="rewrite the README block")
    g.add_argument("--check", action="store_true", help="exit 1 if the README block is stale")
    args = p.parse_args(argv)
    block = generate()
    if args.update:
        text = README.read_text()
        new = replace_block(text, block)
        if new != text:
            README.write_text(new)
            print(f"updated {README.relative_to(REPO_ROOT)}")
        else:
            print(f"{README.relative_to(REPO_ROOT)} is up to date")
        return 0
    if args.check:
        if readme_block(README.read_text()) != block:
            print("README verification block is stale: python -m dl4cv_tools.verification --update",
                  file=sys.stderr)
            return 1
        print("README verification block is up to date")
        return 0
    sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
