"""The notebook runner on small notebooks: executed copies, one-block failures that do not
stop the run, the report's figures, a missing data folder shown as the one-line fix, course
checks (`dl4cv.check`) that fail a notebook; and the notebook builder's format."""
import json
import subprocess
import sys

import nbformat

from dl4cv_tools.nbbuild import build, parse_percent

GOOD = '''# %% [markdown]
# # Good
# %%
from dl4cv import record, is_smoke
from dl4cv.report import note_data
note_data("toy data: 3 points")
print("max relative error: 3.1e-10")
record("toy accuracy", 0.75)
assert is_smoke()
from dl4cv.paths import build_dir
(build_dir() / "toy_picture.txt").write_text("saved by the notebook")
'''
MISSING_DATA = '''# %%
from dl4cv.data import load_cifar10
load_cifar10("/definitely/not/here")
'''
SLOW = '''# %%
import time
time.sleep(60)
'''
CRASH = '''# %%
x = 1
# %%
y = 1 / 0
# %%
print("never reached")
'''


def test_parse_percent_cells_and_tags():
    cells = parse_percent('# %% [markdown] tags=["answer"]\n# **Your Answer:** yes\n'
                          '# %% tags=["solution"]\nx = 1\n# %%\nprint(x)\n')
    assert cells == [("markdown", ["answer"], "**Your Answer:** yes"),
                     ("code", ["solution"], "x = 1"), ("code", [], "print(x)")]


def test_build_is_deterministic_and_starts_with_colab_cell(tmp_path):
    (tmp_path / "a.py").write_text(GOOD)
    build(tmp_path / "a.py", tmp_path / "a.ipynb")
    first = (tmp_path / "a.ipynb").read_bytes()
    build(tmp_path / "a.py", tmp_path / "a.ipynb")
    assert (tmp_path / "a.ipynb").read_bytes() == first
    nb = nbformat.reads(first.decode(), as_version=4)
    assert nb.cells[0].metadata["tags"] == ["colab-setup"] and "google.colab" in nb.cells[0].source


def test_runner_reports_and_keeps_going(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    for name, src in [("a_good", GOOD), ("b_missing", MISSING_DATA), ("c_crash", CRASH),
                      ("d_slow", SLOW)]:
        (tmp_path / f"{name}.py").write_text(src)
        build(tmp_path / f"{name}.py", folder / f"{name}.ipynb")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "dl4cv_tools.runner", str(folder), "--smoke", "--jobs", "2",
                        "--out", str(out), "--timeout", "120", "--nb-timeout", "15"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert r.stdout.strip().splitlines()[-1] == "1 passed, 3 failed"
    report = {e["notebook"]: e for e in json.loads((out / "report.json").read_text())["notebooks"]}
    good = report["a_good.ipynb"]
    assert good["status"] == "ok" and good["headline"] == {"toy accuracy": "0.75"}
    assert any("3.1e-10" in c for c in good["checks"]) and good["data"] == ["toy data: 3 points"]
    crash = report["c_crash.ipynb"]["failure"]
    assert "cell 3" in crash and "ZeroDivisionError" in crash and len(crash.splitlines()) <= 5
    # The missing-data error is one line in the notebook itself, naming the command to run.
    missing = nbformat.read(out / "notebooks/b_missing.ipynb", as_version=4)
    outputs = missing.cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream"]
    assert outputs[0].text.strip().count("\n") == 0 and "get_datasets.sh cifar10" in outputs[0].text
    assert "ran past" in report["d_slow.ipynb"]["failure"]
    md = (out / "report.md").read_text()
    assert "| `a_good.ipynb` | ok |" in md and "toy accuracy = 0.75" in md
    # What a notebook saves under build_dir() lands in --out, beside the report.
    assert (out / "toy_picture.txt").read_text() == "saved by the notebook"


HANGS = '''# %%
import os, time
open(os.environ["PID_FILE"], "w").write(str(os.getpid()))
time.sleep(600)
'''


def _alive(pid):
    try:
        state = open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state  # a zombie left for init to reap is dead


def test_a_stopped_run_kills_its_kernels_and_keeps_what_finished(tmp_path):
    import os
    import signal
    import time
    folder = tmp_path / "nbs"
    folder.mkdir()
    for name, src in [("a_good", GOOD), ("b_hangs", HANGS)]:
        (tmp_path / f"{name}.py").write_text(src)
        build(tmp_path / f"{name}.py", folder / f"{name}.ipynb")
    out, pid_file = tmp_path / "out", tmp_path / "kernel.pid"
    proc = subprocess.Popen([sys.executable, "-m", "dl4cv_tools.runner", str(folder), "--smoke", "--jobs", "1",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=dict(os.environ, PID_FILE=str(pid_file)))
    deadline = time.time() + 180
    while not pid_file.exists() or not pid_file.read_text():
        assert time.time() < deadline and proc.poll() is None, "the hanging notebook never started"
        time.sleep(0.5)
    kernel = int(pid_file.read_text())
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted: 1 of 2 notebooks finished" in stdout
    report = {e["notebook"]: e for e in json.loads((out / "report.json").read_text())["notebooks"]}
    assert list(report) == ["a_good.ipynb"] and report["a_good.ipynb"]["status"] == "ok"
    for _ in range(20):
        if not _alive(kernel):
            break
        time.sleep(0.5)
    assert not _alive(kernel), "the hanging notebook's kernel outlived the runner"


def test_cell_progress_is_shown_for_long_notebooks(capsys):
    import multiprocessing
    import types

    from dl4cv_tools.runner import _show_cells
    queue = multiprocessing.SimpleQueue()
    queue.put(("cs231n/assignment2/PyTorch.ipynb", 12, 40))
    in_a_log = types.SimpleNamespace(disable=True)
    cells, last = {}, {}
    _show_cells(queue, in_a_log, cells, last, every_s=0.0)
    assert "PyTorch.ipynb: cell 12/40" in capsys.readouterr().out
    _show_cells(queue, in_a_log, cells, last, every_s=3600.0)  # not again within the interval
    assert capsys.readouterr().out == ""
    on_terminal = types.SimpleNamespace(disable=False, set_postfix_str=lambda s: shown.append(s))
    shown = []
    queue.put(("cs231n/assignment2/PyTorch.ipynb", 13, 40))
    _show_cells(queue, on_terminal, cells, last)
    assert shown == ["PyTorch.ipynb cell 13/40"]


CHECKS_PASS = '''# %%
from dl4cv import check
check("dx error", 3e-10, below=1e-8)
print("a plain course print, max relative error: 2e-9")
# %%
check("val accuracy", 0.05, above=0.5, full_only=True)   # not enforced in smoke mode
check("loss", 2.31, near=2.3, tol=0.1)
'''
CHECKS_FAIL = '''# %%
from dl4cv import check
check("dx error", 3e-10, below=1e-8)
# %%
check("next_h error", 4.2e-3, below=1e-8)
print("the cell goes on after a failed check")
'''


def test_a_failed_course_check_fails_the_notebook(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    for name, src in [("a_checks_pass", CHECKS_PASS), ("b_checks_fail", CHECKS_FAIL)]:
        (tmp_path / f"{name}.py").write_text(src)
        build(tmp_path / f"{name}.py", folder / f"{name}.ipynb")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "dl4cv_tools.runner", str(folder), "--smoke", "--jobs", "1",
                        "--out", str(out), "--timeout", "120"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "1 passed, 1 failed"
    report = {e["notebook"]: e for e in json.loads((out / "report.json").read_text())["notebooks"]}
    good, bad = report["a_checks_pass.ipynb"], report["b_checks_fail.ipynb"]
    assert good["status"] == "ok" and good["failure"] is None and good["num_course_checks"] == 3
    assert [(c["name"], c["status"]) for c in good["course_checks"]] == [
        ("dx error", "ok"), ("val accuracy", "not enforced in smoke mode"), ("loss", "ok")]
    assert good["course_checks"][0] == {"name": "dx error", "value": "3e-10", "by": "course",
                                        "rule": "< 1e-08", "status": "ok", "cell": 2}
    # check lines are listed once, as course checks; other course-style prints stay in `checks`
    assert good["checks"] == ["a plain course print, max relative error: 2e-9"]
    assert bad["status"] == "failed" and bad["num_course_checks"] == 2
    failure = bad["failure"].splitlines()
    assert failure[0] == "FAILED b_checks_fail.ipynb: 1 of 2 course check(s) failed"
    assert failure[1].strip() == "cell 3: next_h error = 0.0042, needs [course: < 1e-08]"
    assert "FAILED b_checks_fail.ipynb: 1 of 2 course check(s) failed" in r.stdout
    md = (out / "report.md").read_text()
    assert "| `a_checks_pass.ipynb` | ok |" in md and "| 3 (1 not enforced) |" in md
    assert "| `b_checks_fail.ipynb` | failed |" in md and "| 2 (1 FAILED) |" in md
    assert "| 3 | next_h error | 0.0042 | course: < 1e-08 | FAILED |" in md


def test_failed_checks_are_named_beside_a_crash():
    """A notebook that prints a FAILED check and then raises: both are in its failure block."""
    import nbformat.v4 as v4

    from dl4cv_tools.runner import _describe_failed_checks, extract_figures
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("check(...)", outputs=[v4.new_output(
            "stream", name="stdout", text="\x1b[0mW1 error: 0.5  [course: < 1e-07] FAILED\n"
                                          "[dl4cv] loss = 2.3\nloss: 2.3\n")]),
        v4.new_code_cell("1/0", outputs=[v4.new_output("error", ename="ZeroDivisionError",
                                                       evalue="", traceback=[])])])
    headline, checks, data, course = extract_figures(nb)
    assert headline == {"loss": "2.3"} and checks == ["loss: 2.3"] and data == []
    assert course == [{"name": "W1 error", "value": "0.5", "by": "course", "rule": "< 1e-07",
                       "status": "FAILED", "cell": 1}]
    lines = _describe_failed_checks("x.ipynb", course, crashed=True)
    assert lines == ["    and 1 of 1 course check(s) failed before:",
                     "    cell 1: W1 error = 0.5, needs [course: < 1e-07]"]
    assert _describe_failed_checks("x.ipynb", [dict(course[0], status="ok")], crashed=False) == []


def test_discover_runs_the_manifests_notebooks_in_its_order(tmp_path):
    from dl4cv.paths import REPO_ROOT
    from dl4cv_tools import manifest
    from dl4cv_tools.runner import discover
    every = [REPO_ROOT / nb for nb in manifest.notebooks()]
    assert discover() == every
    assert discover(course="eecs498") == [REPO_ROOT / nb for nb in manifest.notebooks("eecs498")]
    a2 = [REPO_ROOT / nb for nb in manifest.get("cs231n/assignment2").notebook_paths]
    assert discover(assignment="cs231n/assignment2") == a2
    assert discover([REPO_ROOT / "cs231n" / "assignment2"]) == a2
    # a folder the manifest does not list (a test's): its notebooks, sorted
    for name in ("b.ipynb", "a.ipynb"):
        (tmp_path / name).write_text("{}")
    assert discover([tmp_path]) == [tmp_path / "a.ipynb", tmp_path / "b.ipynb"]
