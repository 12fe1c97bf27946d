"""Execute the notebooks headless and write build/report.md (the project's main job).

    python -m dl4cv_tools.runner                    # every notebook
    python -m dl4cv_tools.runner --course cs231n    # one course (or --assignment cs231n/assignment2)
    python -m dl4cv_tools.runner path/to/nb.ipynb   # one or more notebooks
    options: --smoke / --full, --jobs N, --timeout SECONDS, --out DIR

The notebooks and their order come from dl4cv_tools.manifest, and dl4cv_tools.execute (the
grader's executor too) runs them. Each notebook runs in its own folder (so `from cs231n.layers
import ...` resolves), its executed copy goes to <out>/notebooks/<same path>, and a failing
cell is shown as one short block (notebook, cell, error) while the other notebooks go on; the
exit status is non-zero if any failed. The report is rewritten after every notebook, and an interrupted run (Ctrl-C,
SIGTERM) stops its kernels and keeps what finished. The report lists, per notebook, its status,
runtime and the figures it printed: `record()` headline figures, every course check printed by
`dl4cv.check` (name, value, rule, status) and other course-style prints (relative errors,
losses, accuracies).

Notebooks are tests: a notebook whose `dl4cv.check` lines include a FAILED one is `failed`
(its failure block names each failed check, its value and its rule), like one whose cell raised.
"""
import argparse
import json
import multiprocessing
import os
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from dl4cv.paths import REPO_ROOT, build_dir
from dl4cv_tools import manifest
from dl4cv_tools.execute import (ANSI_RE, NotebookRun, extract_figures, read_notebook,
                                 write_notebook)


def discover(paths=(), course=None, assignment=None):
    """Notebooks to run, as absolute paths, in run order: the manifest's (all, one course's or
    one assignment's); for `paths`, each notebook given and, for a folder, the manifest's
    notebooks under it (any other folder, e.g. a test's: its notebooks, sorted)."""
    if not paths:
        return [REPO_ROOT / nb for nb in manifest.notebooks(course, assignment)]
    found = []
    for p in paths:
        p = Path(p).resolve()
        if not p.exists():
            raise SystemExit(f"dl4cv_tools.runner: no such notebook or folder: {p}")
        if not p.is_dir():
            found.append(p)
            continue
        listed = [REPO_ROOT / nb for nb in manifest.notebooks()
                  if (REPO_ROOT / nb).is_relative_to(p)]
        found += listed or [nb for nb in sorted(p.rglob("*.ipynb"))
                            if ".ipynb_checkpoints" not in nb.parts]
    return found


def _describe_failed_checks(nb_rel, course_checks, crashed):
    """Lines naming each FAILED course check: cell, name, value and rule."""
    failed = [c for c in course_checks if c["status"] == "FAILED"]
    if not failed:
        return []
    lines = [] if crashed else [f"FAILED {nb_rel}: {len(failed)} of {len(course_checks)} course "
                                f"check(s) failed"]
    if crashed:
        lines.append(f"    and {len(failed)} of {len(course_checks)} course check(s) failed before:")
    lines += [f"    cell {c['cell']}: {c['name']} = {c['value']}, needs [{c['by']}: {c['rule']}]"
              for c in failed]
    return lines


def _describe_failure(nb_rel, nb, error):
    """One short block: notebook, cell number and source head, the error's last lines."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    has_error = [i for i, c in enumerate(nb.cells)
                 if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    # A DL4CVError prints one line instead of an error output: then the last executed cell.
    executed = [i for i, c in enumerate(nb.cells) if c.get("execution_count")]
    cell_index = has_error[0] if has_error else (executed[-1] if executed else None)
    source = nb.cells[cell_index].source if cell_index is not None else ""
    if isinstance(error, CellTimeoutError):
        summary = f"timed out ({error})".splitlines()[0]
    elif isinstance(error, CellExecutionError):
        summary = f"{error.ename}: {error.evalue}"
    else:
        summary = f"{type(error).__name__}: {error}"
    head = source.strip().splitlines()[:2] if source else []
    where = f"cell {cell_index + 1}" if cell_index is not None else "while starting"
    lines = [f"FAILED {nb_rel} ({where})"] + [f"    | {s[:100]}" for s in head]
    lines.append(f"    {ANSI_RE.sub('', summary)[:300]}")
    return "\n".join(lines)


# Printed by the kernel after the last cell: the files of every module it imported, so that
# a published notebook can name the code its outputs came from (dl4cv_tools.publish).
MODULES_PROBE = """import json as _j, sys as _s
print(_j.dumps(sorted({_m.__file__ for _m in list(_s.modules.values())
                       if isinstance(getattr(_m, "__file__", None), str)})))"""


def _loaded_files(probe_output):
    """The repository files among the probe's module files, relative to the repository and
    sorted; [] when the probe did not run (a failed notebook)."""
    try:
        files = json.loads(probe_output or "[]")
    except ValueError:
        return []
    root, found = REPO_ROOT.resolve(), set()
    for f in files:
        path = Path(f).resolve()
        if path.is_relative_to(root) and ".venv" not in path.relative_to(root).parts:
            found.add(path.relative_to(root).as_posix())
    return sorted(found)


_PROGRESS = None  # a worker's queue to the runner: (notebook, cell number, number of cells)


def _init_worker(progress):
    global _PROGRESS
    _PROGRESS = progress


def _report_cell(rel, num_cells):
    def on_cell_start(cell, cell_index):
        if _PROGRESS is not None:
            _PROGRESS.put((rel, cell_index + 1, num_cells))
    return on_cell_start


def execute_one(nb_path: str, out_dir: str, timeout: int, threads: int, env: dict,
                nb_timeout: int = 0):
    """Run one notebook; returns a result dict. Runs in a worker process."""
    os.environ.update(env)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    nb_path = Path(nb_path)
    rel = nb_path.relative_to(REPO_ROOT).as_posix() if nb_path.is_relative_to(REPO_ROOT) else nb_path.name
    nb = read_notebook(nb_path)
    run = NotebookRun(nb, nb_path.parent, cell_timeout=timeout, budget=nb_timeout or None,
                      on_cell_start=_report_cell(rel, len(nb.cells)), probe=MODULES_PROBE)

    def stop(signum, frame):
        # The runner is being stopped: take the kernel down with this worker, not orphan it.
        run.kill()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    result = run.execute()
    status, failure = result.status, None
    if result.status != "ok":
        failure = _describe_failure(rel, nb, result.error)
        if result.over_budget:
            failure = f"FAILED {rel}: ran past --nb-timeout ({nb_timeout} s); killed"
    target = Path(out_dir) / "notebooks" / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(nb, target)
    headline, checks, data, course_checks = extract_figures(nb)
    check_lines = _describe_failed_checks(rel, course_checks, crashed=failure is not None)
    if check_lines:  # a FAILED course check fails the notebook, as a raised error does
        status = "failed"
        failure = "\n".join(([failure] if failure else []) + check_lines)
    return {"notebook": rel, "status": status, "runtime_s": round(result.seconds, 1),
            "failure": failure, "headline": headline, "checks": checks, "data": data,
            "num_course_checks": len(course_checks), "course_checks": course_checks,
            "modules": _loaded_files(result.probe), "executed_copy": str(target)}


def head_commit() -> str:
    """The commit checked out, with "+changes" when tracked files differ from it."""
    import subprocess

    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_report(results, out_dir: Path, mode: str, device: str, commit: str = None):
    """Merge `results` into <out>/report.json (other notebooks' entries kept) and render it."""
    report_json = out_dir / "report.json"
    entries = {}
    if report_json.exists():
        try:
            entries = {e["notebook"]: e for e in json.loads(report_json.read_text())["notebooks"]}
        except (ValueError, KeyError):
            entries = {}
    stamp = time.strftime("%Y-%m-%d %H:%M")
    for r in results:
        entries[r["notebook"]] = dict(r, mode=mode, device=device, when=stamp)
    ordered = [entries[k] for k in sorted(entries)]
    report_json.write_text(json.dumps({"commit": commit or head_commit(), "notebooks": ordered}, indent=2) + "\n")
    lines = ["# Notebook report", "",
             "Generated by `python -m dl4cv_tools.runner` (`make run`). Mode `smoke` = CI sizes, "
             "`full` = the course's sizes on the data on disk.", "",
             "| notebook | status | runtime | mode | device | course checks | data | headline figures |",
             "|---|---|---|---|---|---|---|---|"]
    for e in ordered:
        figs = "; ".join(f"{k} = {v}" for k, v in e["headline"].items()) or "-"
        data = "; ".join(e.get("data", [])) or "-"
        lines.append(f"| `{e['notebook']}` | {e['status']} | {e['runtime_s']:.0f} s | "
                     f"{e['mode']} | {e['device']} | {_count_checks(e)} | {data} | {figs} |")
    for e in ordered:
        lines += ["", f"## {e['notebook']}", ""]
        if e["failure"]:
            lines += ["```", e["failure"], "```", ""]
        course = e.get("course_checks") or []
        lines += [f"Course checks ({len(course)}):", ""]
        if course:
            lines += ["| cell | check | value | rule | status |", "|---|---|---|---|---|"]
            lines += [f"| {c['cell']} | {_md(c['name'])} | {c['value']} | {c['by']}: {_md(c['rule'])} | "
                      f"{c['status']} |" for c in course]
        else:
            lines.append("- (no `dl4cv.check` line printed)")
        lines += ["", "Other figures printed:", ""]
        lines += [f"- {c}" for c in e["checks"]] or ["- (none)"]
    (out_dir / "report.md").write_text("\n".join(lines) + "\n")


def _md(text):
    """Text for a markdown table cell (a '|' would split it)."""
    return str(text).replace("|", "\\|")


def _count_checks(entry):
    """'12' or '12 (1 FAILED)' or '12 (3 not enforced)': the report's course-check column."""
    course = entry.get("course_checks") or []
    failed = sum(c["status"] == "FAILED" for c in course)
    loose = sum(c["status"] not in ("ok", "FAILED") for c in course)
    notes = [f"{failed} FAILED"] * bool(failed) + [f"{loose} not enforced"] * bool(loose)
    return f"{len(course)}" + (f" ({', '.join(notes)})" if notes else "")


def _show_cells(progress, bar, cells, last_line, every_s=60.0):
    """Which cell each running notebook is in: the bar's postfix on a terminal; in a log, a
    line per notebook at most every `every_s` seconds (long full-mode cells stay visible)."""
    while not progress.empty():
        rel, index, count = progress.get()
        cells[rel] = (index, count, cells.get(rel, (0, 0, time.time()))[2])
    if not cells:
        return
    if not bar.disable:
        bar.set_postfix_str(", ".join(f"{Path(r).name} cell {i}/{n}" for r, (i, n, _) in cells.items()))
        return
    now = time.time()
    for rel, (index, count, start) in cells.items():
        if now - last_line.get(rel, start) >= every_s:
            print(f"  ... {rel}: cell {index}/{count}, {now - start:.0f} s", flush=True)
            last_line[rel] = now


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv_tools.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks or folders (default: all)")
    parser.add_argument("--course", choices=manifest.COURSES)
    parser.add_argument("--assignment", help="e.g. cs231n/assignment2 or eecs498/A5")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="small sizes (DL4CV_SMOKE=1)")
    mode.add_argument("--full", action="store_true", help="the course's sizes (FULL=1)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="notebooks run in parallel")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds per cell (default: 600 in smoke mode; in full mode, the "
                             "notebook's limit, since one training cell can take hours on a CPU)")
    parser.add_argument("--nb-timeout", type=int, default=None,
                        help="seconds per notebook (default: 900 in smoke mode, 4 h in full mode)")
    parser.add_argument("--out", default=None,
                        help="output folder for the report, executed notebooks and the images "
                             "they save (default build/)")
    args = parser.parse_args(argv)

    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONUNBUFFERED": "1"}
    if args.smoke:
        env.update(DL4CV_SMOKE="1", FULL="0")
    elif args.full:
        env.update(DL4CV_SMOKE="0", FULL="1")
    os.environ.update(env)
    from dl4cv.mode import describe
    mode_name = describe()
    import torch
    device = "cuda" if torch.cuda.is_available() else "cpu"
    commit = head_commit()   # the code that runs (a later commit during a long run is not it)

    try:
        notebooks = discover(args.notebooks, args.course, args.assignment)
    except KeyError as e:       # --assignment not in the manifest
        print(f"dl4cv_tools.runner: {e.args[0]}", file=sys.stderr)
        return 2
    if not notebooks:
        print("dl4cv_tools.runner: no notebooks found", file=sys.stderr)
        return 1
    out_dir = Path(args.out) if args.out else build_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    # The notebooks save their images under dl4cv.paths.build_dir(): point it at out_dir, so a
    # run with --out (e.g. `make test`'s) never overwrites the images of another run.
    env["DL4CV_BUILD"] = str(out_dir.resolve())
    nb_timeout = args.nb_timeout or (900 if mode_name == "smoke" else 4 * 3600)
    cell_timeout = args.timeout or (600 if mode_name == "smoke" else nb_timeout)
    jobs = max(1, min(args.jobs, len(notebooks)))
    # BLAS/torch threads per notebook: an OMP_NUM_THREADS the user set wins, else share the cores
    user_threads = os.environ.get("OMP_NUM_THREADS", "")
    threads = int(user_threads) if user_threads.isdigit() and int(user_threads) > 0 else \
        max(1, (os.cpu_count() or 1) // jobs)
    from tqdm import tqdm
    results = []
    bar = tqdm(total=len(notebooks), desc=f"notebooks ({mode_name})", unit="nb", file=sys.stderr,
               disable=None)

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    interrupted = False
    progress = multiprocessing.SimpleQueue()
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(progress,))
    try:
        futures = {pool.submit(execute_one, str(nb), str(out_dir), cell_timeout, threads, env,
                               nb_timeout): nb
                   for nb in notebooks}
        pending, cells, last_line = set(futures), {}, {}
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            _show_cells(progress, bar, cells, last_line)
            for fut in done:
                nb = futures[fut]
                try:
                    r = fut.result()
                except Exception:  # the worker itself died: still report, keep going
                    rel = nb.relative_to(REPO_ROOT).as_posix()
                    r = {"notebook": rel, "status": "failed", "runtime_s": 0.0, "headline": {},
                         "checks": [], "data": [], "num_course_checks": 0, "course_checks": [],
                         "executed_copy": None,
                         "failure": f"FAILED {rel} (runner)\n    {traceback.format_exc().splitlines()[-1]}"}
                results.append(r)
                cells.pop(r["notebook"], None)
                write_report(results, out_dir, mode_name, device, commit)  # nothing finished is lost
                bar.update(1)
                bar.write(f"{'ok    ' if r['status'] == 'ok' else 'FAILED'} {r['runtime_s']:6.1f} s  {r['notebook']}")
                if r["failure"]:
                    bar.write(r["failure"])
    except KeyboardInterrupt:
        interrupted = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the clean-up
        workers = list((pool._processes or {}).values())
        for process in workers:
            process.terminate()  # nbclient's own SIGTERM handler shuts the kernel down
        for process in workers:
            process.join(timeout=15)
            if process.is_alive():  # still waiting on a dead kernel: the kernel exits with it
                process.kill()
                process.join()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    bar.close()
    write_report(results, out_dir, mode_name, device, commit)
    if interrupted:
        print(f"interrupted: {len(results)} of {len(notebooks)} notebooks finished; "
              f"report: {out_dir / 'report.md'}")
        return 130
    failed = [r for r in results if r["status"] != "ok"]
    print(f"report: {out_dir / 'report.md'}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
