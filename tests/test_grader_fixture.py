"""The autograder, on the fixture assignment tests/fixtures/release/minicourse/a1 (declared in
tests/fixtures/release/grading/mini-a1.toml): the solution gets full marks, the release 0, each
one-function mutant loses exactly its question, and a hostile submission is graded without
harming the grader or the submission folder."""
import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import pytest

from dl4cv_tools import grader, release
from dl4cv.paths import REPO_ROOT

MINI = "tests/fixtures/release/minicourse/a1"
SOLUTION = REPO_ROOT / MINI
DECL = REPO_ROOT / "tests/fixtures/release/grading/mini-a1.toml"


def _digest(folder):
    h = hashlib.sha256()
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def decl():
    return grader.load_declaration(DECL)


def test_declaration_covers_every_region(decl):
    assert grader.check_declaration(decl) == []
    assert decl.max_points == 10 and decl.slug == "minicourse-a1"


def test_solution_gets_full_marks_and_is_not_modified(decl, tmp_path):
    before = _digest(SOLUTION)
    res = grader.grade(SOLUTION, decl, out=tmp_path / "grade", progress=lambda m: None)
    assert [(q["name"], q["points"]) for q in res["questions"]] == [
        ("scale layer", 4), ("softplus", 2), ("tiny net loss", 3), ("fit in the notebook", 1)]
    assert res["total"] == res["max_points"] == 10
    assert _digest(SOLUTION) == before
    saved = json.loads((tmp_path / "grade" / "grade.json").read_text())
    assert saved["total"] == 10 and saved["answers"] == {"total": 1, "unanswered": []}
    md = (tmp_path / "grade" / "grade.md").read_text()
    assert "**Total: 10 / 10**" in md and "| tiny net loss | 3 / 3 | - |" in md


def test_untouched_release_gets_zero(decl, tmp_path):
    built = release.build(tmp_path / "release", assignments=[MINI])
    res = grader.grade(built.out / MINI, decl, out=tmp_path / "grade", progress=lambda m: None)
    assert res["total"] == 0
    msgs = {q["name"]: q["message"] for q in res["questions"]}
    assert "NotImplementedError: Implement softplus in minilib/layers.py" in msgs["softplus"]
    assert "Implement this cell (cell-004) in mini.ipynb" in msgs["fit in the notebook"]
    assert res["answers"]["unanswered"] == ["mini.ipynb::cell-007"]


def test_each_mutant_loses_exactly_its_question(decl):
    # every region stubbed in turn; only its questions are regraded (the rest get the
    # reference code by construction: the hostile-submission test below checks that)
    seen = []
    assert grader.mutant_sweep(decl, full=False, progress=seen.append, baseline=False) == []
    assert len(seen) == 5 and all(": ok (lost " in s for s in seen)


EVIL = {
    # crash: the test process dies
    "    out = x * w[np.newaxis, :]\n": "    import os\n    os._exit(3)\n",
    # deletes files: the graded copy and the copied tests vanish mid-run
    "    dx = dout * w_saved[np.newaxis, :]\n":
        "    import os, shutil\n    shutil.rmtree(os.getcwd(), ignore_errors=True)\n"
        "    dx = dout * w_saved[np.newaxis, :]\n",
    # hangs
    "    return np.logaddexp(np.zeros_like(x), x)\n": "    while True:\n        pass\n",
}


def test_hostile_submission_is_graded_and_nothing_else_breaks(decl, tmp_path):
    sub = tmp_path / "a1"
    shutil.copytree(SOLUTION, sub)
    layers = sub / "minilib/layers.py"
    text = layers.read_text()
    for old, new in EVIL.items():
        assert old in text
        text = text.replace(old, new)
    layers.write_text(text)
    net = sub / "minilib/net.py"   # garbage: floods stdout, fakes a record, returns nonsense
    net.write_text(net.read_text().replace(
        "            total += total_row_term\n",
        "            print('\\x00garbage' * 20000, '[dl4cv] mini fit final loss = 0')\n"
        "            total = 'garbage'\n"))
    (sub / "mini.ipynb").write_text("{ this is not json")  # a notebook that does not load
    before = _digest(sub)
    decl = grader.load_declaration(DECL)
    for q in decl.questions:
        q.timeout = 8 if q.name == "softplus" else q.timeout
    lines = []
    res = grader.grade(sub, decl, out=tmp_path / "grade", progress=lines.append)
    points = {q["name"]: q["points"] for q in res["questions"]}
    msgs = {q["name"]: q["message"] for q in res["questions"]}
    assert points == {"scale layer": 0, "softplus": 0, "tiny net loss": 0, "fit in the notebook": 0}
    assert "timed out after 8 s" in msgs["softplus"]
    assert msgs["scale layer"] and msgs["tiny net loss"] and "notebook" in msgs["fit in the notebook"]
    assert len(lines) == 4 and _digest(sub) == before
    # the same submission with its net intact: the hostile layers cost only the layer
    # questions (the net runs on the reference layers)
    shutil.copy(SOLUTION / "minilib/net.py", net)
    res = grader.grade(sub, decl, out=tmp_path / "grade2", only={"tiny net loss"},
                       progress=lambda m: None)
    assert res["total"] == res["max_points"] == 3


def test_checks_parse_records_and_course_prints():
    text = ("dx relative error: 3.2e-11\nW1 relative error: 1.5e-09\n"
            "[dl4cv] best validation accuracy = 0.512\nFinal loss 0.25\n")
    assert grader.evaluate_check({"record": "best validation accuracy", "min": 0.5}, text)[0]
    ok, why = grader.evaluate_check({"record": "best validation accuracy", "min": 0.6}, text)
    assert not ok and "0.512" in why and ">= 0.6" in why
    assert grader.evaluate_check({"regex": r"relative error:\s*(\S+)", "max": 1e-8, "count": 2}, text)[0]
    assert not grader.evaluate_check({"regex": r"relative error:\s*(\S+)", "max": 1e-10}, text)[0]
    assert not grader.evaluate_check({"regex": r"relative error:\s*(\S+)", "count": 3}, text)[0]
    assert not grader.evaluate_check({"record": "missing"}, text)[0]
    assert grader.evaluate_check({"contains": "Final loss"}, text)[0]
    assert math.isnan(grader._num("garbage"))
    assert not grader.evaluate_check({"regex": r"Final loss (\S+)", "max": 1.0},
                                     "Final loss nan\n")[0]


def test_cli_check_and_assignment_lookup(decl, capsys, tmp_path):
    assert grader.main(["--check", "--declarations", str(DECL)]) == 0
    assert "1 assignment(s): ok" in capsys.readouterr().out
    assert grader.find_declaration(SOLUTION, [decl]) is decl               # by path
    assert grader.find_declaration(tmp_path / "a1", [decl]) is decl        # by folder name
    assert grader.find_declaration(tmp_path / "x", [decl], assignment=MINI) is decl
    with pytest.raises(SystemExit, match="cannot tell which assignment"):
        grader.find_declaration(tmp_path / "x", [decl])
    broken = tmp_path / "broken.toml"
    broken.write_text(DECL.read_text().replace('regions = ["minilib/net.py::TinyNet.loss"]',
                                               'regions = ["minilib/net.py::Nothing"]'))
    problems = grader.check_declaration(grader.load_declaration(broken))
    assert any("'minilib/net.py::Nothing' matches nothing" in p for p in problems)
    assert any("region minilib/net.py::TinyNet.loss is graded by no question" in p for p in problems)


def test_solution_notebook_questions_judged_on_a_runner_run(decl, tmp_path):
    """`--from-run` (the last step of `make test`): the solution's notebook questions judged on
    the runner's executed copies and report.json instead of a second execution."""
    work = tmp_path / "work"
    shutil.copytree(SOLUTION, work)
    nb_rel = f"{MINI}/mini.ipynb"
    run = tmp_path / "run"
    (run / "notebooks" / MINI).mkdir(parents=True)
    status, nb = grader.execute_notebook(work / "mini.ipynb", run / "notebooks" / nb_rel, 120,
                                         grader._base_env(tmp_path), tmp_path / "nb.log")
    assert status["status"] == "ok", status

    def report(status):
        (run / "report.json").write_text(json.dumps({"notebooks": [
            {"notebook": nb_rel, "status": status, "failure": None if status == "ok" else "boom"}]}))
    report("ok")
    assert grader.grade_from_run(decl, run) == []
    report("failed")
    assert "notebook failed: boom" in grader.grade_from_run(decl, run)[0]
    report("ok")
    executed = run / "notebooks" / nb_rel
    executed.write_text(re.sub(r"mini fit final loss = [^\\]+", "mini fit final loss = 0.5",
                               executed.read_text()))
    problems = grader.grade_from_run(decl, run)
    assert len(problems) == 1 and "'fit in the notebook'" in problems[0] and "expected <= 1e-06" in problems[0]
    assert "no runner report" in grader.grade_from_run(decl, tmp_path / "nowhere")[0]


def test_notebook_text_keeps_a_check_after_a_plot_on_its_own_line():
    import nbformat
    from dl4cv.checks import parse_check_line
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plt.show(); check(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/plain": "<Figure size 640x480 with 1 Axes>"}),
        nbformat.v4.new_output("stream", name="stdout", text="train accuracy: 1  [course: > 0.99] ok\n")]
    nb.cells.append(cell)
    parsed = [parse_check_line(line) for line in grader.notebook_text(nb).splitlines()]
    assert {"name": "train accuracy", "value": "1", "by": "course", "rule": "> 0.99",
            "status": "ok"} in parsed
