"""The student release asks for every name its given cells use.

A given (untagged) code cell that reads a name only a solution cell defines works in the
solutions but raises NameError in the student's notebook unless the stub of some solution
cell asks for that name (in its kept code or its TODO comments). Static check on every
notebook of the manifest: names stored anywhere in a cell (assignments, defs, imports,
arguments) count as defined from that cell on.
"""
import ast
import builtins
import re

import nbformat
import pytest

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest
from dl4cv_tools.release.stubs import stub_notebook

NOTEBOOKS = [nb for a in manifest.ASSIGNMENTS for nb in a.notebook_paths]
ALWAYS_DEFINED = set(dir(builtins)) | {"get_ipython", "display"}


def parse(source):
    """The cell as Python, IPython magics and shell lines blanked; None if it isn't Python."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def stored_names(tree) -> set:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def loaded_names(tree) -> set:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def unasked_names(nb, name):
    """[(cell id, name)] for each name a given cell reads that only a solution cell defines and
    no stub (kept code or comments) mentions."""
    stubbed = stub_notebook(nb, name)
    defined, only_in_solutions, asked, problems = set(ALWAYS_DEFINED), set(), "", []
    for cell, stub in zip(nb.cells, stubbed.cells):
        if cell.cell_type != "code":
            continue
        tree, stub_tree = parse(cell.source), parse(stub.source)
        if tree is None or stub_tree is None:
            continue
        if "solution" in cell.metadata.get("tags", []):
            only_in_solutions |= stored_names(tree) - stored_names(stub_tree)
            defined |= stored_names(stub_tree)
            asked += "\n" + stub.source
            continue
        missing = (loaded_names(tree) - defined - stored_names(tree)) & only_in_solutions
        problems += [(cell.get("id"), n) for n in sorted(missing)
                     if not re.search(rf"\b{re.escape(n)}\b", asked)]
        defined |= stored_names(tree)
    return problems


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_given_cells_use_only_names_the_release_defines_or_asks_for(rel):
    nb = nbformat.read(REPO_ROOT / rel, as_version=4)
    assert unasked_names(nb, rel.rsplit("/", 1)[-1]) == []


def test_the_check_catches_a_name_defined_only_in_a_solution_cell():
    nb = nbformat.v4.new_notebook()
    sol = nbformat.v4.new_code_cell("best = 3\nhelper = 4")
    sol.metadata["tags"] = ["solution"]
    sol2 = nbformat.v4.new_code_cell("# TODO: set `helper2`\nhelper2 = 5")
    sol2.metadata["tags"] = ["solution"]
    nb.cells = [sol, sol2, nbformat.v4.new_code_cell("print(best + helper2)")]
    for i, c in enumerate(nb.cells):
        c.id = f"cell-{i:03d}"
    assert unasked_names(nb, "x.ipynb") == [("cell-002", "best")]
