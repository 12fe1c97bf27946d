"""Publish the notebooks: run them in full mode and write them back with their outputs and a stamp.

    python -m dl4cv_tools.publish                       # every notebook of the manifest
    python -m dl4cv_tools.publish cs231n/assignment1    # a folder, or notebooks (make publish NB=...)
    python -m dl4cv_tools.publish --check               # are the committed notebooks fresh?
    python -m dl4cv_tools.publish --from-run build/publish  # publish what an earlier run executed
                                                        # (e.g. one run on a GPU machine)

A notebook that ran to the end without a FAILED course check is written over its source with
its outputs, made light (stamp.slim_outputs: long logs cut to head and tail, progress bars at
their last state, large pictures scaled down, large GIFs linked instead of embedded) and the
stamp `metadata["dl4cv"]`: mode, device, the data it used, the commit whose code ran, the hash
of its code cells, its runtime and the hashes of the repository files it imported. A failed
notebook is left as it was; its failure is shown as `make run` shows it.

`--check` (and tests/test_published_notebooks.py) fails a notebook whose code cells are not the
ones that ran, whose outputs hold an error, or which has no full-mode stamp; it warns, per
notebook, when a file it imported changed after it was published, naming the command that
republishes it.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest, runner
from dl4cv_tools.runner import head_commit
from dl4cv_tools.execute import read_notebook, write_notebook
from dl4cv_tools.stamp import (freshness_problems, module_digest, module_drift, slim_outputs,
                               stamp_notebook)

DEFAULT_OUT = REPO_ROOT / "build" / "publish"
# Notebooks not yet published, each with why: tests/test_published_notebooks.py expects them to
# have no stamp (and fails once one is published, so that it leaves this list).
NOT_YET_PUBLISHED = {}


def tracked(paths) -> list:
    """The paths git tracks (build outputs such as a compiled .so are not code to compare)."""
    if not paths:
        return []
    out = subprocess.run(["git", "ls-files", "--", *paths], cwd=REPO_ROOT, capture_output=True,
                         text=True).stdout.split()
    return sorted(set(out))


def _code_cells(nb) -> list:
    """The cells' kinds and the code cells' sources, in order (what the outputs depend on)."""
    return [(c.cell_type, c.source if c.cell_type == "code" else None) for c in nb.cells]


def republish_command(rel: str) -> str:
    return f"make publish NB={rel}"


def publish_one(entry: dict, commit: str, root=REPO_ROOT) -> str:
    """Write the executed copy of one runner entry over its source notebook (under `root`);
    -> what was done."""
    rel = entry["notebook"]
    source = Path(root) / rel
    executed, current = read_notebook(entry["executed_copy"]), read_notebook(source)
    if _code_cells(executed) != _code_cells(current):
        return f"skipped {rel}: its code was edited after it ran; publish it again"
    for ran, now in zip(executed.cells, current.cells):   # text edited meanwhile is kept
        if now.cell_type == "markdown":
            ran.source, ran.metadata = now.source, now.metadata
    full_log = Path(entry["executed_copy"]).relative_to(root).as_posix() \
        if Path(entry["executed_copy"]).is_relative_to(root) else entry["executed_copy"]
    slim_outputs(executed, full_log=full_log)
    modules = {m: module_digest(root, m) for m in tracked(entry.get("modules") or [])}
    stamp_notebook(executed, mode=entry["mode"], device=entry["device"], data=entry.get("data") or [],
                   commit=commit, runtime_s=entry["runtime_s"], modules=modules)
    write_notebook(executed, source)
    size = source.stat().st_size
    return f"published {rel} ({size / 1e6:.2f} MB, {entry['runtime_s']:.0f} s)"


def check(notebooks) -> int:
    """Print each notebook's problems (exit 1 if any) and module drift (a warning)."""
    failed = 0
    for rel in notebooks:
        nb = read_notebook(REPO_ROOT / rel)
        if rel in NOT_YET_PUBLISHED and "dl4cv" not in nb.metadata:
            print(f"pending {rel}: not yet published: {NOT_YET_PUBLISHED[rel]}")
            continue
        problems = freshness_problems(nb)
        for p in problems:
            print(f"FAILED {rel}: {p}; republish: {republish_command(rel)}")
        failed += bool(problems)
        changed = module_drift(nb, REPO_ROOT) if not problems else []
        if changed:
            print(f"warning {rel}: changed since it was published: {', '.join(changed)}; "
                  f"republish: {republish_command(rel)}")
    pending = sum(rel in NOT_YET_PUBLISHED for rel in notebooks)
    print(f"{len(notebooks) - failed - pending} of {len(notebooks)} notebooks published and fresh"
          + (f", {pending} pending" if pending else ""))
    return 1 if failed else 0


def _relative(paths) -> list:
    return [Path(nb).relative_to(REPO_ROOT).as_posix() for nb in runner.discover(paths)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv_tools.publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks or folders (default: all)")
    parser.add_argument("--check", action="store_true", help="only check the committed notebooks")
    parser.add_argument("--jobs", "-j", type=int, default=1)
    parser.add_argument("--from-run", metavar="DIR",
                        help="publish the executed copies of an earlier run (its report.json) "
                             "instead of running the notebooks")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="where the runner writes its report and the full executed copies")
    args = parser.parse_args(argv)
    notebooks = _relative(args.notebooks)
    if args.check:
        return check(notebooks)
    commit = head_commit()
    if args.from_run:
        out, status = Path(args.from_run), 0
        commit = json.loads((out / "report.json").read_text()).get("commit", commit)
    else:
        out = Path(args.out)
        (out / "report.json").unlink(missing_ok=True)   # only this run's entries are published
        status = runner.main(["--full", "--jobs", str(args.jobs), "--out", str(out),
                              *[str(REPO_ROOT / nb) for nb in notebooks]])
    report = {e["notebook"]: e for e in json.loads((out / "report.json").read_text())["notebooks"]}
    for rel in notebooks if not args.from_run or args.notebooks else sorted(report):
        entry = report.get(rel)
        if entry is None or entry["status"] != "ok" or entry["mode"] != "full":
            print(f"not published {rel}: it did not run to the end in full mode (see {out / 'report.md'})")
            continue
        print(publish_one(entry, commit))
    return status


if __name__ == "__main__":
    sys.exit(main())
