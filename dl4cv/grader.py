"""Autograder: grade a submitted assignment folder with the project's own tests and notebooks.

    python -m dl4cv.grader path/to/assignment2                 # -> build/grade/<assignment>/
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

Each question is graded in isolation, in a fresh subprocess with a time limit, on its own copy of
the submission in which every solution region the question does NOT grade is replaced by the
reference solution. So a broken function costs exactly the questions that grade it, and a
submission that crashes, hangs, prints garbage or deletes files only loses those questions. The
submission folder itself is never written to. A question scores all its points when every test
passes and every check holds (`partial = true`: points in proportion to the tests passed).
Writes grade.json and grade.md (per question: points, the first failure in one line; total).
"""
import argparse
import fnmatch
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
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from dl4cv import release as rel
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


def find_declaration(submission, decls, assignment=None):
    if assignment:
        match = [d for d in decls if d.assignment == assignment.strip("/")]
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


def _add_built_extensions(sub, ref):
    """Compiled extensions (im2col_cython) never ship; a submission whose .pyx is the given one
    gets the repository's build, as `pip install -e .` would have made it."""
    for built in list(ref.rglob("*.so")) + list(ref.rglob("*.pyd")):
        pyx = built.parent / (built.name.split(".")[0] + ".pyx")
        mine = sub / pyx.relative_to(ref)
        target = sub / built.relative_to(ref)
        if pyx.is_file() and mine.is_file() and not target.exists() \
                and mine.read_bytes() == pyx.read_bytes():
            shutil.copy2(built, target)


def splice(sub, ref, regions, keep):
    """Rewrite the copy `sub` in place: regions whose id is not in `keep` get the reference code.
    -> notes (files that could not be spliced and were used as submitted)."""
    notes = []
    by_file = {}
    for r in regions:
        by_file.setdefault(r.file, []).append(r)
    for fname, regs in sorted(by_file.items()):
        target, source = sub / fname, ref / fname
        mine = [r for r in regs if r.id in keep]
        if not mine:            # nothing of this file is graded here: the reference file
            if not target.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            continue
        if not target.is_file():
            continue
        try:
            if fname.endswith(".ipynb"):
                _splice_notebook(target, source, fname, keep)
            else:
                _splice_module(target, regs, keep)
        except Exception as e:  # noqa: BLE001 - a mangled file is graded as submitted
            notes.append(f"{fname}: graded as submitted ({type(e).__name__}: {str(e)[:80]})")
    return notes


def _splice_module(target, regs, keep):
    text = target.read_text()
    lines = text.splitlines()
    pairs = rel.find_marker_pairs(lines, target.name)
    if len(pairs) != len(regs):
        raise ValueError(f"{len(pairs)} marked regions, the assignment has {len(regs)}")
    out, pos = [], 0
    for (s, e, _), r in zip(pairs, regs):
        out += lines[pos:s + 1]
        out += lines[s + 1:e] if r.id in keep else r.lines
        pos = e
    out += lines[pos:]
    target.write_text("\n".join(out) + "\n")


def _splice_notebook(target, source, fname, keep):
    import nbformat
    nb = rel.read_notebook(target)
    ref = rel.read_notebook(source)
    ref_cells = [(c.get("id"), c) for c in ref.cells if rel._is_solution_cell(c)]
    ref_by_id = dict(ref_cells)
    mine = [c for c in nb.cells if rel._is_solution_cell(c)]
    for i, cell in enumerate(mine):
        rc = ref_by_id.get(cell.get("id"))
        if rc is None and len(mine) == len(ref_cells):
            rc = ref_cells[i][1]
        if rc is None:
            continue
        if f"{fname}::{rc.get('id')}" not in keep:
            cell.source = rc.source
    target.write_text(nbformat.writes(nb) + "\n")


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


def run_tests(question, assignment, sub, qdir, log, timeout):
    """-> (passed, total, message). The tests run from a copy of the repo's tests/."""
    _copy_tree(REPO_ROOT / "tests", qdir / "tests")
    (qdir / "pytest.ini").write_text(PYTEST_INI)
    xml = log.with_suffix(".xml")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
           str(qdir / "pytest.ini"), "--rootdir", str(qdir), f"--junitxml={xml}", *question.tests]
    if question.k:
        cmd += ["-k", question.k]
    env = _base_env(qdir)
    env["DL4CV_OVERRIDE"] = f"{assignment}={sub}"
    rc, _ = _run(cmd, qdir, env, timeout, log)
    if rc is None:
        return 0, 0, f"timed out after {timeout} s"
    cases = []
    try:
        root = ET.parse(xml).getroot()
        for case in root.iter("testcase"):
            bad = next((c for c in case if c.tag in ("failure", "error")), None)
            skipped = any(c.tag == "skipped" for c in case)
            cases.append((case.get("name"), bad, skipped))
    except (ET.ParseError, OSError):
        pass
    ran = [c for c in cases if not c[2]]
    passed = sum(1 for _, bad, _ in ran if bad is None)
    if not ran:
        lines = [ln for ln in _tail(log).splitlines() if ln.strip()]
        err = next((ln for ln in reversed(lines) if "Error" in ln or "error" in ln),
                   lines[-1] if lines else f"pytest exited with {rc}")
        return 0, 0, f"no test ran: {_one_line(err)}"
    failed = [(name, bad) for name, bad, _ in ran if bad is not None]
    if failed:
        name, bad = failed[0]
        why = bad.get("message") or (bad.text or "").strip().splitlines()[-1:] or ["failed"]
        why = why if isinstance(why, str) else why[0]
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        return passed, len(ran), _one_line(f"{name}: {why}") + more
    return passed, len(ran), ""


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
                chunks.append(out.get("data", {}).get("text/plain", ""))
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
    if not submission.is_dir():
        raise SystemExit(f"dl4cv.grader: no such folder: {submission}")
    ref = (Path(root) / decl.assignment).resolve()
    regions = [r for r in rel.assignment_regions(ref) if r.kind != "answer"]
    questions = [q for q in decl.questions if only is None or q.name in only]
    work = Path(tempfile.mkdtemp(prefix="dl4cv-grade-"))
    results, nb_cache = [], {}
    started = time.monotonic()
    try:
        pristine = work / "submission"
        _copy_tree(submission, pristine)
        _add_built_extensions(pristine, ref)
        answers = _answers(pristine, ref)
        for i, q in enumerate(questions, 1):
            t0 = time.monotonic()
            keep_ids = owned(q, regions)
            qdir = work / f"q{i:02d}"
            sub = qdir / "sub"
            res = {"name": q.name, "max_points": q.points, "points": 0.0, "message": "",
                   "regions": sorted(keep_ids)}
            try:
                _copy_tree(pristine, sub)
                notes = splice(sub, ref, regions, keep_ids)
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv.grader", description=__doc__.split("\n\n")[0])
    parser.add_argument("submission", nargs="?", help="the submitted assignment folder")
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
    parser.add_argument("--exec-notebook", nargs=2, metavar=("NB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.exec_notebook:
        return _exec_notebook_main(*args.exec_notebook, args.timeout or DEFAULT_TIMEOUT)
    signal.signal(signal.SIGTERM, _terminate)   # `kill` cleans up like Ctrl-C
    decls = load_declarations(args.declarations)
    if args.check or args.mutants:
        chosen = decls if args.check or args.mutants == "ALL" else \
            [d for d in decls if d.assignment == args.mutants.strip("/")]
        if not chosen:
            raise SystemExit(f"dl4cv.grader: no declaration for {args.mutants}")
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
        parser.error("give a SUBMISSION folder (or --check / --mutants)")
    decl = find_declaration(args.submission, decls, args.assignment)
    _progress(f"grading {args.submission} as {decl.assignment} ({len(decl.questions)} questions)")
    result = grade(args.submission, decl, out=args.out, only=set(args.question or []) or None,
                   timeout=args.timeout, notebooks=not args.no_notebooks, keep=args.keep)
    print(f"total {result['total']:g} / {result['max_points']:g}  -> {result['out']}/grade.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
