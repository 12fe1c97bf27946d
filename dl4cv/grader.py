"""Autograder: grade a submitted assignment folder with the project's own tests and notebooks.

    python -m dl4cv.grader path/to/assignment2                 # -> build/grade/<assignment>/
    python -m dl4cv.grader a2.zip                              # the zip the course asks for
    python -m dl4cv.grader SUBMISSION --assignment cs231n/assignment2 --out DIR
    python -m dl4cv.grader --check                             # declarations cover every region
    python -m dl4cv.grader --mutants ALL                       # mutant sweep (or one assignment)

Questions are declared once per assignment in `grading/<course>-<assignment>.toml`:

    assignment = "cs231n/assignment2"
    [[question]]
    name = "affine layer"
    points = 4
    regions = ["cs231n/layers.py::affine_*"]           # the solution regions it grades
    tests = ["tests/test_a2_layers.py::test_affine"]   # node ids (or files) in the repo's tests/
    k = "affine"                                       # optional -k selector
    timeout = 120                                      # optional, seconds
    [[question]]
    name = "tuned fully-connected net"
    points = 3
    regions = ["FullyConnectedNets.ipynb::*"]
    notebook = "FullyConnectedNets.ipynb"              # executed headless in smoke mode
    checks = [{ record = "best validation accuracy", min = 0.2 },
              { regex = "relative error: (\\S+)", max = 1e-6 }]

Each question is graded in isolation, in a fresh subprocess with a time limit, on a copy of the
reference assignment in which only the solution regions the question grades hold the
submission's code (module regions between their markers, notebook solution cells). Every other
region, every line outside the regions and every file without regions is the reference's, so a
submission changes only its regions and answer cells: edited given code, tests, a conftest.py or
an added module have no effect. A broken function costs exactly the questions that grade it, and
a submission that crashes, hangs, prints garbage or deletes files only loses those questions. The
submission itself is never written to; a zip (`a<N>.zip` of CS231n's collectSubmission.sh,
`<uniquename>_<umid>_A<N>.zip` of eecs598.submit) is unpacked first (dl4cv.submission). A
question scores all its points when every selected test passes and every check holds
(`partial = true`: points in proportion to the tests passed); a skipped test (pytest.skip() in a
region), an expected failure or a test that never finished counts as failed (only a skip mark
such as "needs CUDA", decided before any test code runs, leaves a test out).
Writes grade.json and grade.md (per question: points, the first failure in one line; total).
"""
import argparse
import fnmatch
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from dl4cv import release as rel
from dl4cv import submission as sub_zip
from dl4cv.checks import parse_check_line
from dl4cv.paths import REPO_ROOT, build_dir

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

GRADING_DIR = REPO_ROOT / "grading"
DEFAULT_TIMEOUT = 240
NOTEBOOK_STARTUP_S = 90      # kernel start, beyond the notebook's own time limit
RECORD_RE = re.compile(r"^\[dl4cv\] (?P<name>.+?) = (?P<value>\S+)\s*$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------
@dataclass
class Question:
    name: str
    points: float
    regions: list
    tests: list = field(default_factory=list)
    k: str = None
    notebook: str = None
    checks: list = field(default_factory=list)
    timeout: int = DEFAULT_TIMEOUT
    partial: bool = False
    complete: bool = True       # notebook questions: the notebook must run to the end


@dataclass
class Declaration:
    assignment: str             # the reference folder, relative to the repository
    title: str
    questions: list
    path: Path = None

    @property
    def slug(self):
        return rel.zip_name(self.assignment)[:-4]

    @property
    def max_points(self):
        return sum(q.points for q in self.questions)


def load_declaration(path):
    path = Path(path)
    data = tomllib.loads(path.read_text())
    try:
        questions = []
        for q in data["question"]:
            unknown = set(q) - set(Question.__dataclass_fields__)
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)} in question {q.get('name')!r}")
            questions.append(Question(**q))
        return Declaration(data["assignment"].strip("/"), data.get("title", data["assignment"]),
                           questions, path)
    except (KeyError, TypeError) as e:
        raise ValueError(f"{path}: bad declaration ({e})") from None


def load_declarations(where=GRADING_DIR):
    where = Path(where)
    files = [where] if where.is_file() else sorted(where.glob("*.toml"))
    return [load_declaration(f) for f in files]


def owned(question, regions):
    """Ids of the regions a question grades (its `regions` are fnmatch patterns on ids)."""
    return {r.id for r in regions for pat in question.regions if fnmatch.fnmatchcase(r.id, pat)}


def check_declaration(decl, root=REPO_ROOT):
    """-> problems: regions no question grades, patterns/tests/notebooks that match nothing."""
    folder = Path(root) / decl.assignment
    if not folder.is_dir():
        return [f"{decl.assignment}: no such folder"]
    regions = rel.assignment_regions(folder)
    graded = [r for r in regions if r.kind != "answer"]
    problems, covered = [], set()
    names = [q.name for q in decl.questions]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append(f"{decl.assignment}: question name {dup!r} used twice")
    for q in decl.questions:
        for pat in q.regions:
            if not any(fnmatch.fnmatchcase(r.id, pat) for r in regions):
                problems.append(f"{decl.assignment}: question {q.name!r}: region {pat!r} matches nothing")
        covered |= owned(q, regions)
        if not q.tests and not q.notebook:
            problems.append(f"{decl.assignment}: question {q.name!r} has neither tests nor a notebook")
        for t in q.tests:
            if not (Path(root) / t.split("::")[0]).exists():
                problems.append(f"{decl.assignment}: question {q.name!r}: no test file {t}")
        if q.notebook and not (folder / q.notebook).exists():
            problems.append(f"{decl.assignment}: question {q.name!r}: no notebook {q.notebook}")
        if not q.regions:
            problems.append(f"{decl.assignment}: question {q.name!r} grades no region")
    for r in graded:
        if r.id not in covered:
            problems.append(f"{decl.assignment}: region {r.id} is graded by no question")
    return problems


def region_files(decl, root=REPO_ROOT):
    """Files of the assignment (relative to its folder) that hold graded regions."""
    return {r.file for r in rel.assignment_regions(Path(root) / decl.assignment)
            if r.kind != "answer"}


def _is_zip(path):
    path = Path(path)
    return path.is_file() and zipfile.is_zipfile(path)


def find_declaration(submission, decls, assignment=None, root=REPO_ROOT):
    """The declaration a submission (folder or zip) is graded with: `assignment` if given,
    else from the folder's path or name, or from the zip's name or files."""
    if assignment:
        match = [d for d in decls if d.assignment == assignment.strip("/")]
    elif _is_zip(submission):
        try:
            found = sub_zip.recognise(submission, {d.assignment: region_files(d, root)
                                                   for d in decls})
        except sub_zip.SubmissionError as e:
            raise SystemExit(f"dl4cv.grader: {e}") from None
        match = [d for d in decls if d.assignment == found]
    else:
        sub = Path(submission).resolve()
        match = [d for d in decls if sub.as_posix().endswith("/" + d.assignment)] or \
                [d for d in decls if Path(d.assignment).name == sub.name]
    if len(match) != 1:
        known = ", ".join(d.assignment for d in decls) or "none"
        raise SystemExit(f"dl4cv.grader: cannot tell which assignment {submission} is "
                         f"(declared: {known}); pass --assignment")
    return match[0]


# ---------------------------------------------------------------------------------------------
# Splicing: the question's regions from the submission, every other region from the reference
# ---------------------------------------------------------------------------------------------
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
        pairs = rel.find_marker_pairs(lines, fname)
    except rel.ReleaseError:
        pairs = None
    if pairs is not None and len(pairs) == len(regs):
        return {r.id: body for r, body in zip(regs, _bodies(lines, pairs))}
    try:
        return {r.id: r.lines for r in rel.module_regions(text, fname)}
    except Exception:  # noqa: BLE001 - does not parse and the markers do not match
        return {}


def _splice_module(target, source, subfile, fname, regs, keep):
    """The reference module with the kept regions' bodies from the submission. -> missing ids."""
    theirs = _submission_module_bodies(subfile, fname, regs)
    missing = [r.id for r in regs if r.id in keep and r.id not in theirs]
    text = source.read_text()
    if missing:                 # what the student was given: the release's stub
        text = rel.stub_module(text, fname, only=set(missing))
    lines = text.splitlines()
    pairs = rel.find_marker_pairs(lines, fname)
    bodies = [theirs[r.id] if r.id in keep and r.id in theirs else None for r in regs]
    target.write_text("\n".join(_replace_bodies(lines, pairs, bodies)) + "\n")
    return missing


def _submitted_cell_source(ref_cell, cell):
    """The code of a solution cell as the grader runs it: for a reference cell with markers,
    the reference cell with the bodies of the submitted cell's markers; else the whole
    submitted cell."""
    ref_lines = ref_cell.source.splitlines()
    ref_pairs = rel.find_marker_pairs(ref_lines)
    if not ref_pairs:
        return cell.source
    lines = cell.source.splitlines()
    pairs = rel.find_marker_pairs(lines)
    if len(pairs) != len(ref_pairs):
        raise ValueError("the cell's START/END markers do not match the given cell's")
    return "\n".join(_replace_bodies(ref_lines, ref_pairs, _bodies(lines, pairs)))


def _tagged_solution(cell):
    return cell.cell_type == "code" and "solution" in cell.get("metadata", {}).get("tags", [])


def _splice_notebook(target, source, subfile, fname, keep):
    """The reference notebook with the kept solution cells from the submission (matched by
    cell id, else by position among the solution cells). -> missing ids."""
    import nbformat
    ref = rel.read_notebook(source)
    ref_cells = [(i, c) for i, c in enumerate(ref.cells) if _tagged_solution(c)]
    try:
        nb = rel.read_notebook(subfile)
        cells = list(nb.cells)
    except Exception:  # noqa: BLE001 - missing or not a notebook
        cells = []
    by_id = {c.get("id"): c for c in cells if c.get("id")}
    theirs = [c for c in cells if _tagged_solution(c)]
    missing = []
    for n, (index, rc) in enumerate(ref_cells):
        rid = f"{fname}::{rc.get('id') or f'index-{index}'}"
        if rid not in keep or not rel._is_solution_cell(rc):
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
            rc.source = rel.stub_cell_source(rc.source, rel._cell_label(rc, index), fname)
    target.write_text(nbformat.writes(ref) + "\n")
    return missing


# ---------------------------------------------------------------------------------------------
# Running things in a subprocess with a time limit
# ---------------------------------------------------------------------------------------------
def _run(cmd, cwd, env, timeout, log):
    """-> (returncode or None on timeout, seconds). Kills the whole process group on timeout."""
    start = time.monotonic()
    with open(log, "wb") as fh:
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            fh.write(str(e).encode())
            return -1, 0.0
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:    # leftovers, the hung run, or the grader itself interrupted
            try:
                os.killpg(proc.pid, signal.SIGTERM if rc is None else signal.SIGKILL)
                if rc is None:
                    proc.wait(timeout=10)   # lets the notebook runner shut its kernel down
            except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
    return rc, time.monotonic() - start


def _tail(log, n=4000):
    try:
        with open(log, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - n))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _one_line(text, limit=200):
    text = " ".join(ANSI_RE.sub("", str(text)).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _base_env(work):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DL4CV_OVERRIDE", "FULL") and not k.startswith("PYTEST_")}
    (work / "build").mkdir(parents=True, exist_ok=True)   # notebooks save figures there
    env.update(DL4CV_SMOKE="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               PYTHONUNBUFFERED="1", DL4CV_BUILD=str(work / "build"))
    return env


PYTEST_INI = "[pytest]\nmarkers =\n    slow: trains a model or executes notebooks\n"
OUTCOMES_ENV = "DL4CV_GRADER_OUTCOMES"


# The grader's pytest plugin (`-p dl4cv.grader` in the test subprocess): writes what pytest
# collected and every test report to a JSON-lines file as it goes, so that a test that never
# reported (the process stopped: os._exit, KeyboardInterrupt, pytest.exit) counts as failed.
_outcomes = {"fh": None}


def pytest_configure(config):
    path = os.environ.pop(OUTCOMES_ENV, None)     # out of reach of the code under test
    if path:
        _outcomes["fh"] = open(path, "a", buffering=1)


def _record(**entry):
    if _outcomes["fh"] is not None:
        _outcomes["fh"].write(json.dumps(entry) + "\n")


def pytest_collection_finish(session):
    try:    # skipped by a mark (no CUDA, optional data): decided before any test code runs
        from _pytest.skipping import evaluate_skip_marks
    except ImportError:
        evaluate_skip_marks = None
    for item in session.items:
        try:
            by_mark = bool(evaluate_skip_marks and evaluate_skip_marks(item))
        except Exception:  # noqa: BLE001 - a condition that does not evaluate: not skipped
            by_mark = False
        _record(collected=item.nodeid, by_mark=by_mark)


def pytest_collectreport(report):
    if report.failed:
        _record(collect_error=report.nodeid, message=_report_message(report))


def pytest_runtest_logreport(report):
    _record(nodeid=report.nodeid, when=report.when, outcome=report.outcome,
            xfail=hasattr(report, "wasxfail"), message=_report_message(report))


def _report_message(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:      # a skip: (file, line, reason)
        reason = str(longrepr[2])
        return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    text = str(longrepr or "").strip().splitlines()
    return text[-1] if text else ""


def read_outcomes(path):
    """-> (passed, counted, failures [(test name, why)]) from the plugin's file. Every collected
    test counts, except those a skip mark removed before they ran; a test passes only when its
    setup, call and teardown all reported and passed: a skipped test (pytest.skip() in a region),
    an expected failure or a test that never finished fails."""
    collected, by_mark, reports, errors = [], set(), {}, []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if "collected" in e:
            collected.append(e["collected"])
            if e.get("by_mark"):
                by_mark.add(e["collected"])
        elif "collect_error" in e:
            errors.append((e["collect_error"] or "collection", f"collection error: {e['message']}"))
        elif "nodeid" in e:
            reports.setdefault(e["nodeid"], {})[e["when"]] = e
    passed, counted, failures = 0, 0, list(errors)
    for nodeid in dict.fromkeys(collected):
        phases = reports.get(nodeid, {})
        setup = phases.get("setup", {})
        if nodeid in by_mark and setup.get("outcome") == "skipped" and not setup.get("xfail"):
            continue
        counted += 1
        name = nodeid.split("::", 1)[-1]
        bad = next((p for p in phases.values() if p["outcome"] == "failed"), None) or \
            next((p for p in phases.values() if p["outcome"] == "skipped"), None)
        if bad is not None:
            what = "skipped" if bad["outcome"] == "skipped" else None
            what = "expected failure" if bad.get("xfail") and what else what
            why = bad["message"] or bad["outcome"]
            failures.append((name, f"{what} (counts as failed): {why}" if what else why))
        elif phases.get("call", {}).get("outcome") != "passed" or "teardown" not in phases:
            failures.append((name, "did not finish (the test process stopped)"))
        else:
            passed += 1
    return passed, counted, failures


def run_tests(question, assignment, sub, qdir, log, timeout):
    """-> (passed, total, message). The tests run from a copy of the repo's tests/."""
    _copy_tree(REPO_ROOT / "tests", qdir / "tests")
    (qdir / "pytest.ini").write_text(PYTEST_INI)
    outcomes = log.with_suffix(".outcomes.jsonl")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "dl4cv.grader",
           "-c", str(qdir / "pytest.ini"), "--rootdir", str(qdir), *question.tests]
    if question.k:
        cmd += ["-k", question.k]
    env = _base_env(qdir)
    env["DL4CV_OVERRIDE"] = f"{assignment}={sub}"
    env[OUTCOMES_ENV] = str(outcomes)
    rc, _ = _run(cmd, qdir, env, timeout, log)
    if rc is None:
        return 0, 0, f"timed out after {timeout} s"
    passed, total, failures = read_outcomes(outcomes)
    if total == 0 and not failures:
        lines = [ln for ln in _tail(log).splitlines() if ln.strip()]
        err = next((ln for ln in reversed(lines) if "Error" in ln or "error" in ln),
                   lines[-1] if lines else f"pytest exited with {rc}")
        return 0, 0, f"no test ran: {_one_line(err)}"
    if failures:
        name, why = failures[0]
        more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
        return passed, max(total, passed + len(failures)), _one_line(f"{name}: {why}") + more
    return passed, total, ""


def execute_notebook(nb_path, out_path, timeout, env, log):
    """Execute a notebook headless in a subprocess (the kernel runs in the notebook's folder).
    -> (status dict, executed notebook or None). Swappable for dl4cv.runner."""
    status_path = Path(str(out_path) + ".status.json")
    cmd = [sys.executable, "-m", "dl4cv.grader", "--exec-notebook", str(nb_path), str(out_path),
           "--timeout", str(timeout)]
    rc, seconds = _run(cmd, nb_path.parent, env, timeout + NOTEBOOK_STARTUP_S, log)
    try:
        status = json.loads(status_path.read_text())
    except (OSError, ValueError):
        status = {"status": "failed", "error": "timed out" if rc is None else
                  f"notebook runner died ({_one_line(_tail(log, 600))})"}
    try:
        nb = rel.read_notebook(out_path)
    except Exception:  # noqa: BLE001
        nb = None
    status["seconds"] = round(seconds, 1)
    return status, nb


def _terminate(signum, frame):
    raise SystemExit(f"terminated by signal {signum}")


def _exec_notebook_main(nb_path, out_path, timeout):
    """Child process: run the cells one by one within `timeout` seconds in total; always write
    the (partly) executed notebook and a status file."""
    import nbformat
    from nbclient import NotebookClient
    nb_path, out_path = Path(nb_path), Path(out_path)
    signal.signal(signal.SIGTERM, _terminate)
    status = {"status": "ok", "error": None}
    nb = None
    try:
        nb = rel.read_notebook(nb_path)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(nb_path.parent)}})
        with client.setup_kernel():
            deadline = time.monotonic() + timeout      # the kernel start is not counted
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"time limit of {timeout} s reached before cell {index}")
                client.timeout = max(1, int(left))
                try:
                    client.execute_cell(cell, index)
                except Exception as e:  # noqa: BLE001
                    ename = getattr(e, "ename", type(e).__name__)
                    evalue = getattr(e, "evalue", str(e).splitlines()[0] if str(e) else "")
                    status = {"status": "failed", "cell": index,
                              "error": _one_line(f"cell {index}: {ename}: {evalue}", 300)}
                    break
    except BaseException as e:  # noqa: BLE001 - SystemExit from SIGTERM included
        status = {"status": "failed", "error": _one_line(f"{type(e).__name__}: {e}", 300)}
    finally:
        if nb is not None:
            out_path.write_text(nbformat.writes(nb) + "\n")
        Path(str(out_path) + ".status.json").write_text(json.dumps(status))
    return 0


def notebook_text(nb):
    """Everything the notebook printed (stdout streams and text results), in order."""
    chunks = []
    for cell in nb.cells if nb is not None else []:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                chunks.append(out.get("text", ""))
            elif out.get("output_type") in ("execute_result", "display_data"):
                # a result (e.g. "<Figure size 640x480 with 1 Axes>") is a line of its own: glued
                # to the next print it would hide that print's check line
                chunks.append(out.get("data", {}).get("text/plain", "") + "\n")
    return ANSI_RE.sub("", "".join(chunks))


def _num(text):
    text = text.strip().rstrip("%,;")
    try:
        return float(text)
    except ValueError:
        return math.nan


def evaluate_check(check, text):
    """-> (ok, description). A check: {record|regex|contains, min, max, count}."""
    lo, hi = check.get("min", -math.inf), check.get("max", math.inf)
    if "contains" in check:
        ok = check["contains"] in text
        return ok, f"prints {check['contains']!r}" + ("" if ok else ": not printed")
    if "check" in check:  # a `dl4cv.check(...)` line: the notebook's own threshold decides
        name = check["check"]
        lines = [c for ln in text.splitlines()
                 if (c := parse_check_line(ln)) and c["name"] == name]
        if not lines:
            return False, f"{name}: not printed"
        failed = [c for c in lines if c["status"] == "FAILED"]
        c = (failed or lines)[-1]
        return not failed, f"{name} = {c['value']} ({c['by']}: {c['rule']}) {c['status']}"
    if "record" in check:
        name = check["record"]
        values = [m.group("value") for ln in text.splitlines()
                  if (m := RECORD_RE.match(ln.strip())) and m.group("name") == name]
        if not values:
            return False, f"{name}: not printed"
        found = [_num(values[-1])]
        what = name
    elif "regex" in check:
        found = [_num(m.group(1)) for m in re.finditer(check["regex"], text, re.MULTILINE)]
        what = check.get("name", check["regex"])
        if len(found) < check.get("count", 1):
            return False, f"{what}: printed {len(found)} times, expected {check.get('count', 1)}"
    else:
        return False, f"bad check {check}"
    bad = [v for v in found if not (lo <= v <= hi)]
    bounds = " and ".join(x for x in (f">= {lo:g}" if lo > -math.inf else "",
                                      f"<= {hi:g}" if hi < math.inf else "") if x)
    if bad:
        return False, f"{what} = {bad[0]:g}, expected {bounds}"
    return True, f"{what} = {found[-1]:g} ({bounds})"


# ---------------------------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------------------------
def _progress(msg):
    print(msg, file=sys.stderr, flush=True)


def grade(submission, decl, out=None, only=None, timeout=None, notebooks=True,
          progress=_progress, keep=False, root=REPO_ROOT):
    """Grade the folder `submission` against `decl`; writes grade.json/grade.md to `out`
    (default build/grade/<assignment>) and returns the grade dict."""
    submission = Path(submission).resolve()
    is_zip = _is_zip(submission)
    if not submission.is_dir() and not is_zip:
        raise SystemExit(f"dl4cv.grader: no such folder or zip file: {submission}")
    ref = (Path(root) / decl.assignment).resolve()
    regions = [r for r in rel.assignment_regions(ref) if r.kind != "answer"]
    questions = [q for q in decl.questions if only is None or q.name in only]
    work = Path(tempfile.mkdtemp(prefix="dl4cv-grade-"))
    results, nb_cache = [], {}
    started = time.monotonic()
    try:
        if is_zip:      # the zip the course asks for: unpacked, then graded as a folder
            try:
                pristine = sub_zip.extract(submission, work / "submission")
            except sub_zip.SubmissionError as e:
                raise SystemExit(f"dl4cv.grader: {e}") from None
        else:
            pristine = work / "submission"
            _copy_tree(submission, pristine)
        answers = _answers(pristine, ref)
        for i, q in enumerate(questions, 1):
            t0 = time.monotonic()
            keep_ids = owned(q, regions)
            qdir = work / f"q{i:02d}"
            sub = qdir / "sub"
            res = {"name": q.name, "max_points": q.points, "points": 0.0, "message": "",
                   "regions": sorted(keep_ids)}
            try:
                notes = assemble(pristine, ref, regions, keep_ids, sub)
                res["notes"] = notes
                ok, fraction, msgs = True, 1.0, []
                if q.tests:
                    passed, total, msg = run_tests(q, decl.assignment, sub, qdir,
                                                   work / f"q{i:02d}.log", timeout or q.timeout)
                    res["tests"] = {"passed": passed, "total": total}
                    if msg:
                        msgs.append(msg)
                    if passed < total or total == 0:
                        ok = False
                        fraction = passed / total if total else 0.0
                if q.notebook:
                    if not notebooks:
                        ok, fraction = False, 0.0
                        msgs.append("notebook not run (--no-notebooks)")
                    else:
                        key = (q.notebook, frozenset(keep_ids))
                        if key not in nb_cache:
                            env = _base_env(qdir)
                            nb_cache[key] = execute_notebook(
                                sub / q.notebook, work / f"q{i:02d}.ipynb", timeout or q.timeout,
                                env, work / f"q{i:02d}.nb.log")
                        status, nb = nb_cache[key]
                        text = notebook_text(nb)
                        checks = [evaluate_check(c, text) for c in q.checks]
                        res["checks"] = [{"ok": c_ok, "what": w} for c_ok, w in checks]
                        res["notebook"] = {k: v for k, v in status.items()}
                        failed = [w for c_ok, w in checks if not c_ok]
                        if q.complete and status["status"] != "ok":
                            failed.insert(0, f"notebook stopped: {status.get('error')}")
                        if failed:
                            ok, fraction = False, 0.0
                            msgs.append("; ".join(failed[:2]) + (f" (+{len(failed) - 2} more)"
                                                                 if len(failed) > 2 else ""))
                if ok:
                    res["points"] = float(q.points)
                elif q.partial:
                    res["points"] = round(q.points * fraction, 2)
                res["message"] = _one_line(" | ".join(msgs), 300)
            except Exception as e:  # noqa: BLE001 - the grader survives anything
                res["message"] = _one_line(f"grader error: {type(e).__name__}: {e}")
            res["seconds"] = round(time.monotonic() - t0, 1)
            results.append(res)
            progress(f"[{i}/{len(questions)}] {q.name}: {res['points']:g}/{q.points:g} "
                     f"({res['seconds']:.0f} s){'  ' + res['message'] if res['message'] else ''}")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "assignment": decl.assignment, "title": decl.title, "submission": str(submission),
        "total": round(sum(r["points"] for r in results), 2),
        "max_points": sum(q.points for q in questions),
        "questions": results, "answers": answers, "mode": "smoke",
        "seconds": round(time.monotonic() - started, 1),
    }
    out = Path(out) if out else build_dir() / "grade" / decl.slug
    if out.resolve() == submission or submission in out.resolve().parents:
        raise SystemExit("dl4cv.grader: --out must not be inside the submission folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / "grade.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "grade.md").write_text(render_markdown(result))
    result["out"] = str(out)
    return result


def _answers(sub, ref):
    """Inline answers still holding the placeholder (reported, graded by hand)."""
    total, missing = 0, []
    for nb_path in sorted(ref.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb_path.parts:
            continue
        rel_nb = nb_path.relative_to(ref).as_posix()
        ids = [r.id.split("::")[1] for r in rel.notebook_regions(rel.read_notebook(nb_path), rel_nb)
               if r.kind == "answer"]
        if not ids:
            continue
        total += len(ids)
        try:
            nb = rel.read_notebook(sub / rel_nb)
            cells = {c.get("id"): c for c in nb.cells}
        except Exception:  # noqa: BLE001
            cells = {}
        for cid in ids:
            c = cells.get(cid)
            if c is None or "YOUR ANSWER" in c.source or not c.source.strip():
                missing.append(f"{rel_nb}::{cid}")
    return {"total": total, "unanswered": missing}


def render_markdown(result):
    lines = [f"# Grade: {result['title']}", "",
             f"Submission `{result['submission']}`, graded in {result['mode']} mode "
             f"in {result['seconds']:.0f} s.", "",
             f"**Total: {result['total']:g} / {result['max_points']:g}**", "",
             "| question | points | what failed |", "|---|---|---|"]
    for q in result["questions"]:
        msg = q["message"].replace("|", "\\|") or "-"
        lines.append(f"| {q['name']} | {q['points']:g} / {q['max_points']:g} | {msg} |")
    a = result["answers"]
    if a["total"]:
        lines += ["", f"Inline answers (graded by hand): {a['total'] - len(a['unanswered'])} of "
                  f"{a['total']} written" + (": missing " + ", ".join(f"`{x}`" for x in a["unanswered"])
                                              if a["unanswered"] else ".")]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Mutant sweep
# ---------------------------------------------------------------------------------------------
def mutant_sweep(decl, full=False, notebooks=True, progress=_progress, timeout=None,
                 root=REPO_ROOT, region_filter=None, baseline=True):
    """Stub each solution region in turn; -> list of problems (empty = every mutant loses exactly
    the points of the questions that grade it). `full=False` grades only those questions (the
    others get the reference code by construction); `full=True` grades every question."""
    ref = Path(root) / decl.assignment
    regions = [r for r in rel.assignment_regions(ref) if r.kind != "answer"]
    if region_filter:
        regions = [r for r in regions if region_filter(r)]
    problems = []
    with tempfile.TemporaryDirectory(prefix="dl4cv-mutants-") as tmp:
        if baseline:    # the solution itself must get full marks on the questions involved
            names = {q.name for q in decl.questions if owned(q, regions)
                     and (notebooks or not q.notebook)}
            res = grade(ref, decl, out=Path(tmp) / "baseline", only=names, timeout=timeout,
                        notebooks=notebooks, progress=lambda m: None, root=root)
            for q in res["questions"]:
                if q["points"] < q["max_points"]:
                    problems.append(f"solution loses {q['name']!r}: {q['message']}")
            progress(f"solution: {res['total']:g}/{res['max_points']:g}")
        for n, r in enumerate(regions, 1):
            losers = {q.name for q in decl.questions if r.id in owned(q, [r])}
            if not losers:
                problems.append(f"{r.id}: graded by no question")
                continue
            if not notebooks and r.kind == "cell":
                continue
            names = None if full else losers
            if not notebooks:
                names = {q.name for q in decl.questions
                         if (names is None or q.name in names) and not q.notebook}
            mutant = rel.make_mutant(ref, Path(tmp) / f"m{n}" / ref.name, r.id)
            res = grade(mutant, decl, out=Path(tmp) / f"m{n}-grade", only=names,
                        timeout=timeout, notebooks=notebooks, progress=lambda m: None, root=root)
            lost = {q["name"] for q in res["questions"] if q["points"] < q["max_points"]}
            ok = lost == (losers & {q["name"] for q in res["questions"]})
            if not ok:
                problems.append(f"{r.id}: expected to lose {sorted(losers)}, lost {sorted(lost)}")
            progress(f"mutant {n}/{len(regions)} {r.id}: {'ok' if ok else 'WRONG'} "
                     f"(lost {', '.join(sorted(lost)) or 'nothing'})")
            shutil.rmtree(Path(tmp) / f"m{n}", ignore_errors=True)
    return problems


def grade_from_run(decl, run_dir):
    """The reference solution's notebook questions, judged on a smoke run of the runner
    (`python -m dl4cv.runner --smoke --out RUN_DIR`, as `make test` does): the notebook the
    grader would execute for the solution is the reference notebook itself, so its checks are
    evaluated on the runner's executed copy instead of a second execution.
    -> problems (questions that would not get full points)."""
    run_dir = Path(run_dir)
    try:
        entries = {e["notebook"]: e for e in
                   json.loads((run_dir / "report.json").read_text())["notebooks"]}
    except (OSError, ValueError, KeyError) as e:
        return [f"{decl.assignment}: no runner report in {run_dir} ({type(e).__name__})"]
    problems = []
    for q in decl.questions:
        if not q.notebook:
            continue
        nb_rel = f"{decl.assignment}/{q.notebook}"
        entry = entries.get(nb_rel)
        if entry is None:
            problems.append(f"{nb_rel}: not in {run_dir}/report.json")
            continue
        try:
            nb = rel.read_notebook(run_dir / "notebooks" / nb_rel)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{nb_rel}: no executed copy ({type(e).__name__})")
            continue
        text = notebook_text(nb)
        failed = [w for ok, w in (evaluate_check(c, text) for c in q.checks) if not ok]
        if q.complete and entry.get("status") != "ok":
            failed.insert(0, f"notebook {entry.get('status')}: "
                             f"{_one_line(entry.get('failure') or '', 160)}")
        if failed:
            problems.append(f"solution loses {decl.assignment} {q.name!r}: " + "; ".join(failed))
    return problems


MUTANTS_LOG = GRADING_DIR / "mutants.log"
LOG_HEAD = ("# The mutant sweep (`make mutants`, or `make mutants A=<assignment>` for one): every\n"
            "# solution region stubbed in turn must lose exactly the points of the questions that\n"
            "# grade it. `digest` covers the assignment's declaration and regions; a test checks\n"
            "# that it is current (tests/test_grader_real.py).\n")
SECTION_RE = re.compile(r"^== (?P<assignment>\S+) digest=(?P<digest>\w+) regions=(?P<regions>\d+) "
                        r"problems=(?P<problems>\d+)")


def declaration_digest(decl, root=REPO_ROOT):
    """sha256 (16 hex digits) of the declaration file and every graded region's id and code."""
    h = hashlib.sha256(Path(decl.path).read_bytes() if decl.path else b"")
    for r in rel.assignment_regions(Path(root) / decl.assignment):
        if r.kind != "answer":
            h.update(("\0" + r.id + "\0" + "\n".join(r.lines)).encode())
    return h.hexdigest()[:16]


def read_mutants_log(path=MUTANTS_LOG):
    """-> {assignment: {"digest", "regions", "problems", "lines"}} from a mutants log."""
    sections, current = {}, None
    try:
        text = Path(path).read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        m = SECTION_RE.match(line)
        if m:
            current = sections[m.group("assignment")] = {
                "digest": m.group("digest"), "regions": int(m.group("regions")),
                "problems": int(m.group("problems")), "lines": [line]}
        elif current is not None and line.strip():
            current["lines"].append(line)
    return sections


def write_mutants_log(sections, path=MUTANTS_LOG):
    """Write the sections ({assignment: {"lines": [...]}}) in assignment order."""
    body = "\n\n".join("\n".join(sections[a]["lines"]) for a in sorted(sections))
    Path(path).write_text(LOG_HEAD + "\n" + body + "\n")


def sweep_to_log(decls, path=MUTANTS_LOG, timeout=None, progress=_progress):
    """Run the full mutant sweep of each declaration and replace its section of the log.
    -> problems."""
    sections = read_mutants_log(path)
    problems = []
    for d in decls:
        t0 = time.monotonic()
        digest = declaration_digest(d)
        lines = []

        def note(msg, lines=lines):
            lines.append(msg)
            progress(msg)
        found = check_declaration(d) or mutant_sweep(d, progress=note, timeout=timeout)
        regions = [r for r in rel.assignment_regions(REPO_ROOT / d.assignment) if r.kind != "answer"]
        head = (f"== {d.assignment} digest={digest} regions={len(regions)} problems={len(found)} "
                f"seconds={time.monotonic() - t0:.0f}")
        sections[d.assignment] = {"lines": [head] + lines + [f"PROBLEM {p}" for p in found]}
        write_mutants_log(sections, path)       # after each assignment: a long run keeps its work
        problems += found
    return problems


def sample_regions(decls, n, seed, kinds=("module",)):
    """A seeded random sample of `n` graded regions over all declarations -> [(decl, region)]."""
    import random
    pool = [(d, r) for d in decls for r in rel.assignment_regions(REPO_ROOT / d.assignment)
            if r.kind in kinds]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv.grader", description=__doc__.split("\n\n")[0])
    parser.add_argument("submission", nargs="?", help="the submitted assignment folder or zip")
    parser.add_argument("--assignment", help="which assignment (default: from the folder name)")
    parser.add_argument("--out", help="where grade.json/grade.md go (default build/grade/<a>)")
    parser.add_argument("--declarations", default=str(GRADING_DIR), help="folder or .toml file")
    parser.add_argument("--question", action="append", help="grade only this question")
    parser.add_argument("--timeout", type=int, help="seconds per question (default: declared)")
    parser.add_argument("--no-notebooks", action="store_true", help="skip notebook questions")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--check", action="store_true", help="check the declarations and exit")
    parser.add_argument("--mutants", metavar="ALL|ASSIGNMENT",
                        help="mutant sweep over every region of every (or one) assignment")
    parser.add_argument("--full", action="store_true", help="mutants: grade every question")
    parser.add_argument("--from-run", metavar="RUN_DIR",
                        help="judge the solutions' notebook questions on a runner smoke run")
    parser.add_argument("--log", help="mutants: write the sweep into this log (its section per "
                        "assignment), e.g. grading/mutants.log")
    parser.add_argument("--exec-notebook", nargs=2, metavar=("NB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.exec_notebook:
        return _exec_notebook_main(*args.exec_notebook, args.timeout or DEFAULT_TIMEOUT)
    signal.signal(signal.SIGTERM, _terminate)   # `kill` cleans up like Ctrl-C
    decls = load_declarations(args.declarations)
    if args.from_run:
        problems = [p for d in decls for p in grade_from_run(d, args.from_run)]
        for p in problems:
            print(f"PROBLEM {p}")
        n = sum(1 for d in decls for q in d.questions if q.notebook)
        print(f"solutions' notebook questions ({n}) on {args.from_run}: "
              f"{'full points' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    if args.check or args.mutants:
        chosen = decls if args.check or args.mutants == "ALL" else \
            [d for d in decls if d.assignment == args.mutants.strip("/")]
        if not chosen:
            raise SystemExit(f"dl4cv.grader: no declaration for {args.mutants}")
        if args.mutants and args.log:
            problems = sweep_to_log(chosen, args.log, timeout=args.timeout)
            print(f"{len(chosen)} assignment(s): {'ok' if not problems else f'{len(problems)} problem(s)'}"
                  f" -> {args.log}")
            return 1 if problems else 0
        problems = [p for d in chosen for p in check_declaration(d)]
        if args.mutants and not problems:
            for d in chosen:
                _progress(f"== mutants of {d.assignment}")
                problems += mutant_sweep(d, full=args.full, notebooks=not args.no_notebooks,
                                         timeout=args.timeout)
        for p in problems:
            print(f"PROBLEM {p}")
        print(f"{len(chosen)} assignment(s): {'ok' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    if not args.submission:
        parser.error("give a SUBMISSION folder or zip (or --check / --mutants)")
    decl = find_declaration(args.submission, decls, args.assignment)
    _progress(f"grading {args.submission} as {decl.assignment} ({len(decl.questions)} questions)")
    result = grade(args.submission, decl, out=args.out, only=set(args.question or []) or None,
                   timeout=args.timeout, notebooks=not args.no_notebooks, keep=args.keep)
    print(f"total {result['total']:g} / {result['max_points']:g}  -> {result['out']}/grade.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
