"""Running a question's tests and notebooks in a fresh subprocess with a time limit, away from
the grader: the process group is killed on timeout, and what ran is read back from files."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import pytest_fork
from dl4cv_tools.execute import one_line as _one_line
from dl4cv_tools.execute import read_notebook
from dl4cv_tools.grader.plugin import OUTCOMES_ENV, read_outcomes
from dl4cv_tools.grader.splice import _copy_tree

NOTEBOOK_STARTUP_S = 90      # kernel start, beyond the notebook's own time limit


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
            if rc is None:
                pytest_fork.kill_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)   # lets the notebook runner shut its kernel down
                except subprocess.TimeoutExpired:
                    pass
            pytest_fork.kill_group(proc.pid, signal.SIGKILL)
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


def _base_env(work):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DL4CV_OVERRIDE", "FULL") and not k.startswith("PYTEST_")}
    (work / "build").mkdir(parents=True, exist_ok=True)   # notebooks save figures there
    env.update(DL4CV_SMOKE="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               PYTHONUNBUFFERED="1", DL4CV_BUILD=str(work / "build"))
    return env


PYTEST_INI = "[pytest]\nmarkers =\n    slow: trains a model or executes notebooks\n"


def run_tests(question, assignment, sub, qdir, log, timeout):
    """-> (passed, total, message). The tests run from a copy of the repo's tests/, in a
    process forked from a server that has imported torch (dl4cv_tools.pytest_fork)."""
    _copy_tree(REPO_ROOT / "tests", qdir / "tests")
    (qdir / "pytest.ini").write_text(PYTEST_INI)
    outcomes = log.with_suffix(".outcomes.jsonl")
    args = ["-q", "-p", "no:cacheprovider", "-p", "dl4cv_tools.grader.plugin",
            "-c", str(qdir / "pytest.ini"), "--rootdir", str(qdir), *question.tests]
    if question.k:
        args += ["-k", question.k]
    env = _base_env(qdir)
    env["DL4CV_OVERRIDE"] = f"{assignment}={sub}"
    env[OUTCOMES_ENV] = str(outcomes)
    if pytest_fork.available():  # torch already imported: about 5 s less per question
        rc, _ = pytest_fork.run(args, qdir, env, log, timeout)
    else:
        rc, _ = _run([sys.executable, "-m", "pytest", *args], qdir, env, timeout, log)
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
    -> (status dict, executed notebook or None). The subprocess is the tooling's one executor
    (`python -m dl4cv_tools.execute`), the runner's too."""
    status_path = Path(str(out_path) + ".status.json")
    cmd = [sys.executable, "-m", "dl4cv_tools.execute", str(nb_path), str(out_path),
           "--timeout", str(timeout)]
    rc, seconds = _run(cmd, nb_path.parent, env, timeout + NOTEBOOK_STARTUP_S, log)
    try:
        status = json.loads(status_path.read_text())
    except (OSError, ValueError):
        status = {"status": "failed", "error": "timed out" if rc is None else
                  f"notebook runner died ({_one_line(_tail(log, 600))})"}
    try:
        nb = read_notebook(out_path)
    except Exception:  # noqa: BLE001
        nb = None
    status["seconds"] = round(seconds, 1)
    return status, nb

