"""The grader cannot be gamed (issue 17): on the fixture assignment (tests/fixtures/release),
a region that skips its tests, raises, interrupts or exits pytest earns nothing for its
question; a submission that edits given code, given notebook cells or files without regions, or
adds files (a conftest.py, a module), is graded as if it had not: only its regions count."""
import json
import shutil

import nbformat
import pytest

from dl4cv_tools import grader, release
from dl4cv.paths import REPO_ROOT

MINI = "tests/fixtures/release/minicourse/a1"
SOLUTION = REPO_ROOT / MINI
DECL = REPO_ROOT / "tests/fixtures/release/grading/mini-a1.toml"


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def _edit_cells(path, sources):
    """Replace the source of the cells whose id is a key of `sources`."""
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.get("id") in sources:
            cell.source = sources.pop(cell.get("id"))
    assert not sources, f"no cells {sorted(sources)}"
    nbformat.write(nb, str(path))


def _grade(sub, tmp_path, **kw):
    decl = grader.load_declaration(DECL)
    res = grader.grade(sub, decl, out=tmp_path / "grade", progress=lambda m: None, **kw)
    return ({q["name"]: q["points"] for q in res["questions"]},
            {q["name"]: q["message"] for q in res["questions"]})


def test_regions_that_skip_raise_or_stop_pytest_earn_nothing(tmp_path):
    sub = tmp_path / "a1"
    shutil.copytree(SOLUTION, sub)
    layers = sub / "minilib/layers.py"
    # pytest.skip() in a region: its tests are skipped (they used to drop out of the count)
    _edit(layers, "    out = x * w[np.newaxis, :]\n",
          "    import pytest\n    pytest.skip('not today')\n    out = x * w[np.newaxis, :]\n")
    # KeyboardInterrupt stops the session: the tests after it never report
    _edit(layers, "    return np.logaddexp(np.zeros_like(x), x)\n",
          "    raise KeyboardInterrupt\n")
    # pytest.exit with status 0: the session ends "successfully" before the test reports
    _edit(sub / "minilib/net.py", "            total += total_row_term\n",
          "            import pytest\n            pytest.exit('done', returncode=0)\n")
    # a notebook cell that fits nothing, and a given check cell edited to record a perfect
    # fit: the given cell is the reference's, so the real (large) loss is recorded
    _edit_cells(sub / "mini.ipynb", {
        "cell-004": "target = x * np.array([1.0, -2.0, 0.5, 3.0])\nw_fit = np.zeros(4)\n"
                    "final_loss = float(np.mean((scale_forward(x, w_fit)[0] - target) ** 2))\n",
        "cell-005": 'print("[dl4cv] mini fit final loss = 0")\n',
    })
    points, msgs = _grade(sub, tmp_path)
    assert points == {"scale layer": 0, "softplus": 0, "tiny net loss": 0,
                      "fit in the notebook": 0}, msgs
    assert "skipped (counts as failed): not today" in msgs["scale layer"]
    assert "did not finish" in msgs["softplus"] and "did not finish" in msgs["tiny net loss"]
    assert "mini fit final loss" in msgs["fit in the notebook"]


def test_tampering_with_given_files_has_no_effect(tmp_path):
    """The untouched release, plus edits outside the regions that would pass every test if
    they were graded: still 0 points."""
    built = release.build(tmp_path / "release", assignments=[MINI])
    sub = built.out / MINI
    layers = sub / "minilib/layers.py"
    # given module code after the stubs redefines the student functions
    layers.write_text(layers.read_text() + (
        "\n\ndef softplus(x):\n    return np.logaddexp(np.zeros_like(x), x)\n\n\n"
        "def scale_forward(x, w):\n    return x * w[np.newaxis, :], (x, w)\n\n\n"
        "def scale_backward(dout, cache):\n    x, w = cache\n"
        "    return dout * w[np.newaxis, :], np.einsum('nd,nd->d', dout, x)\n"))
    # a file without regions patches the net at import
    (sub / "minilib/__init__.py").write_text(
        "from minilib import net as _net\n"
        "_net.TinyNet.loss = lambda self, X: __import__('numpy').mean("
        "__import__('numpy').logaddexp(0, X * self.params['w'])) + "
        "self.reg * (self.params['w'] ** 2).sum()\n")
    # added files: a conftest that passes every test, a test helper, a module in the package
    (sub / "conftest.py").write_text(
        "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n    rep = yield\n"
        "    rep.get_result().outcome = 'passed'\n")
    (sub / "minilib/extra.py").write_text("X = 1\n")
    # a notebook that raises SystemExit where the student writes, and a given cell that fakes
    # the printed checks
    _edit_cells(sub / "mini.ipynb", {
        "cell-004": "raise SystemExit(0)\n",
        "cell-003": 'print("dx relative error: 0.0")\nx = w = dout = None\n',
    })
    points, msgs = _grade(sub, tmp_path)
    assert points == {"scale layer": 0, "softplus": 0, "tiny net loss": 0,
                      "fit in the notebook": 0}, msgs
    assert "NotImplementedError" in msgs["softplus"] and "NotImplementedError" in msgs["scale layer"]
    assert "SystemExit" in msgs["fit in the notebook"]


def test_graded_tree_keeps_only_the_regions(tmp_path):
    """assemble(): reference files everywhere, the submission's code only between the markers
    of the regions graded; a region whose markers are gone is the release's stub."""
    sub = tmp_path / "sub"
    shutil.copytree(SOLUTION, sub)
    layers = sub / "minilib/layers.py"
    _edit(layers, "    return np.logaddexp(np.zeros_like(x), x)\n", "    return x * 0  # mine\n")
    _edit(layers, '    """Given code (no region): mean of the squared differences."""\n',
          '    """Given code (no region): mean of the squared differences."""\n    return 0.0\n')
    (sub / "minilib/extra.py").write_text("X = 1\n")
    (sub / "notes.txt").write_text("edited\n")
    regions = [r for r in release.assignment_regions(SOLUTION) if r.kind != "answer"]
    grader.assemble(sub, SOLUTION, regions, {"minilib/layers.py::softplus"}, tmp_path / "g1")
    text = (tmp_path / "g1/minilib/layers.py").read_text()
    assert "return x * 0  # mine" in text and "    return 0.0\n" not in text
    assert not (tmp_path / "g1/minilib/extra.py").exists()
    assert (tmp_path / "g1/notes.txt").read_text() == (SOLUTION / "notes.txt").read_text()
    # the region graded is not this one: the submitted body is not used
    grader.assemble(sub, SOLUTION, regions, {"minilib/layers.py::scale_forward"}, tmp_path / "g2")
    assert (tmp_path / "g2/minilib/layers.py").read_text() == \
        (SOLUTION / "minilib/layers.py").read_text()
    # another region's markers deleted: this one is found by its function's name
    text = layers.read_text()
    for marker in ("# *****START OF YOUR CODE*****", "# *****END OF YOUR CODE*****"):
        text = text.replace(marker, "", 1)
    layers.write_text(text)
    notes = grader.assemble(sub, SOLUTION, regions, {"minilib/layers.py::softplus"},
                            tmp_path / "g3")
    assert "return x * 0  # mine" in (tmp_path / "g3/minilib/layers.py").read_text() and not notes
    # markers that do not pair: the file's graded regions are the release's stub
    layers.write_text(layers.read_text().replace("# *****END OF YOUR CODE*****", "", 1))
    notes = grader.assemble(sub, SOLUTION, regions, {"minilib/layers.py::softplus"},
                            tmp_path / "g5")
    assert notes and 'raise NotImplementedError("Implement softplus' in \
        (tmp_path / "g5/minilib/layers.py").read_text()
    (sub / "minilib/layers.py").write_text("def broken(:\n")
    notes = grader.assemble(sub, SOLUTION, regions, {"minilib/layers.py::softplus"},
                            tmp_path / "g4")
    assert notes and "softplus" in notes[0]
    assert 'raise NotImplementedError("Implement softplus' in \
        (tmp_path / "g4/minilib/layers.py").read_text()


def _outcomes(tmp_path, entries):
    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return grader.read_outcomes(path)


def _ok(nodeid):
    return [{"nodeid": nodeid, "when": w, "outcome": "passed", "xfail": False, "message": ""}
            for w in ("setup", "call", "teardown")]


@pytest.mark.parametrize("case,expected", [
    ("skip in the call", (1, 2)),
    ("skip in a fixture", (1, 2)),
    ("skip mark", (1, 1)),
    ("xfail", (1, 2)),
    ("never reported", (1, 2)),
    ("no teardown", (1, 2)),
])
def test_outcomes_count_skips_and_unfinished_tests_as_failed(tmp_path, case, expected):
    a, b = "t.py::test_a", "t.py::test_b"
    entries = [{"collected": a, "by_mark": False},
               {"collected": b, "by_mark": case == "skip mark"}] + _ok(a)
    skip = {"nodeid": b, "outcome": "skipped", "xfail": case == "xfail", "message": "why"}
    setup_ok = {"nodeid": b, "when": "setup", "outcome": "passed", "xfail": False, "message": ""}
    if case in ("skip in the call", "xfail"):
        entries += [setup_ok, dict(skip, when="call")]
    elif case in ("skip in a fixture", "skip mark"):
        entries += [dict(skip, when="setup")]
    elif case == "no teardown":
        entries += _ok(b)[:2]
    passed, counted, failures = _outcomes(tmp_path, entries)
    assert (passed, counted) == expected
    assert len(failures) == counted - passed
