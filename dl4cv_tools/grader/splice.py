"""Splicing: the tree graded for one question is the reference assignment with only that
question's regions taken from the submission (module code between the markers, notebook
solution cells); everything else stays the reference's."""
import os
import shutil

from dl4cv_tools.release.regions import (ReleaseError, _cell_label, _is_solution_cell,
                                         find_marker_pairs, module_regions, read_notebook)
from dl4cv_tools.release.stubs import stub_cell_source, stub_module


def _copy_tree(src, dst):
    def ignore(folder, names):
        return {n for n in names if n in ("__pycache__", ".ipynb_checkpoints", ".git")
                or os.path.islink(os.path.join(folder, n))}
    shutil.copytree(src, dst, ignore=ignore)


def assemble(sub, ref, regions, keep, dst):
    """Write the tree graded for one question into `dst`: the reference assignment, in which
    only the regions whose id is in `keep` hold the submission's code (module regions between
    their markers, notebook solution cells; a region the submission lacks or whose file cannot
    be read is the release's stub). Every other file, every line outside a region and every
    other region is the reference's, so tampering with given code, tests or helpers, or adding
    files (a conftest.py, a module shadowing numpy), has no effect.
    -> notes (regions that could not be read from the submission)."""
    _copy_tree(ref, dst)
    notes = []
    by_file = {}
    for r in regions:
        by_file.setdefault(r.file, []).append(r)
    for fname, regs in sorted(by_file.items()):
        mine = [r for r in regs if r.id in keep]
        if not mine:            # nothing of this file is graded here: the reference file
            continue
        target, source = dst / fname, ref / fname
        try:
            if fname.endswith(".ipynb"):
                missing = _splice_notebook(target, source, sub / fname, fname, keep)
            else:
                missing = _splice_module(target, source, sub / fname, fname, regs, keep)
        except Exception as e:  # noqa: BLE001 - a mangled file earns nothing, the grader goes on
            missing = [f"{type(e).__name__}: {str(e)[:80]}"]
        if missing:
            notes.append(f"{fname}: not read from the submission (graded as not written): "
                         + ", ".join(missing))
    return notes


def _bodies(lines, pairs):
    return [lines[s + 1:e] for s, e, _ in pairs]


def _replace_bodies(lines, pairs, bodies):
    """`lines` with the body of marker pair i replaced by bodies[i] (None: unchanged)."""
    out, pos = [], 0
    for (s, e, _), body in zip(pairs, bodies):
        out += lines[pos:s + 1]
        out += lines[s + 1:e] if body is None else body
        pos = e
    return out + lines[pos:]


def _submission_module_bodies(path, fname, regs):
    """-> {region id: body lines} read from the submitted module (by marker order when it has
    as many regions as the reference, else by function name where the module still parses)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return {}
    lines = text.splitlines()
    try:
        pairs = find_marker_pairs(lines, fname)
    except ReleaseError:
        pairs = None
    if pairs is not None and len(pairs) == len(regs):
        return {r.id: body for r, body in zip(regs, _bodies(lines, pairs))}
    try:
        return {r.id: r.lines for r in module_regions(text, fname)}
    except Exception:  # noqa: BLE001 - does not parse and the markers do not match
        return {}


def _splice_module(target, source, subfile, fname, regs, keep):
    """The reference module with the kept regions' bodies from the submission. -> missing ids."""
    theirs = _submission_module_bodies(subfile, fname, regs)
    missing = [r.id for r in regs if r.id in keep and r.id not in theirs]
    text = source.read_text()
    if missing:                 # what the student was given: the release's stub
        text = stub_module(text, fname, only=set(missing))
    lines = text.splitlines()
    pairs = find_marker_pairs(lines, fname)
    bodies = [theirs[r.id] if r.id in keep and r.id in theirs else None for r in regs]
    target.write_text("\n".join(_replace_bodies(lines, pairs, bodies)) + "\n")
    return missing


def _submitted_cell_source(ref_cell, cell):
    """The code of a solution cell as the grader runs it: for a reference cell with markers,
    the reference cell with the bodies of the submitted cell's markers; else the whole
    submitted cell."""
    ref_lines = ref_cell.source.splitlines()
    ref_pairs = find_marker_pairs(ref_lines)
    if not ref_pairs:
        return cell.source
    lines = cell.source.splitlines()
    pairs = find_marker_pairs(lines)
    if len(pairs) != len(ref_pairs):
        raise ValueError("the cell's START/END markers do not match the given cell's")
    return "\n".join(_replace_bodies(ref_lines, ref_pairs, _bodies(lines, pairs)))


def _tagged_solution(cell):
    return cell.cell_type == "code" and "solution" in cell.get("metadata", {}).get("tags", [])


def _splice_notebook(target, source, subfile, fname, keep):
    """The reference notebook with the kept solution cells from the submission (matched by
    cell id, else by position among the solution cells). -> missing ids."""
    import nbformat
    ref = read_notebook(source)
    ref_cells = [(i, c) for i, c in enumerate(ref.cells) if _tagged_solution(c)]
    try:
        nb = read_notebook(subfile)
        cells = list(nb.cells)
    except Exception:  # noqa: BLE001 - missing or not a notebook
        cells = []
    by_id = {c.get("id"): c for c in cells if c.get("id")}
    theirs = [c for c in cells if _tagged_solution(c)]
    missing = []
    for n, (index, rc) in enumerate(ref_cells):
        rid = f"{fname}::{rc.get('id') or f'index-{index}'}"
        if rid not in keep or not _is_solution_cell(rc):
            continue
        cell = by_id.get(rc.get("id"))
        if (cell is None or cell.cell_type != "code") and len(theirs) == len(ref_cells):
            cell = theirs[n]
        try:
            if cell is None or cell.cell_type != "code":
                raise ValueError("no such cell")
            rc.source = _submitted_cell_source(rc, cell)
        except ValueError:
            missing.append(rid)
            rc.source = stub_cell_source(rc.source, _cell_label(rc, index), fname)
    target.write_text(nbformat.writes(ref) + "\n")
    return missing

