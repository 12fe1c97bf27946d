"""Stubs: a solution region replaced by what a student is given.

A module region keeps its markers and gets `raise NotImplementedError("Implement <qualname> in
<file>")` (same indentation); a solution cell keeps its leading comments (and any code outside
its markers) and gets the same raise; an answer cell becomes `**Your Answer:** YOUR ANSWER:`.
"""
import shutil
from pathlib import Path

from dl4cv_tools.nbbuild import student_colab_cell_source
from dl4cv_tools.release.regions import (ANSWER_STUB, END_MARKER, MODULE_SUFFIXES, START_MARKER,
                                         START_RE, _cell_label, _is_solution_cell,
                                         _leading_comments, find_marker_pairs, module_regions,
                                         read_notebook, write_notebook_text)


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
            cell.source = student_colab_cell_source(cell.source) or cell.source
        if clear and cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if clear:
            for key in ("execution", "collapsed", "scrolled"):
                cell.get("metadata", {}).pop(key, None)
    if clear:   # the published run's widgets and stamp describe outputs no longer there
        nb.metadata.pop("widgets", None)
        nb.metadata.pop("dl4cv", None)
    return nb


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

