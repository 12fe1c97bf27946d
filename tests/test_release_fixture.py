"""The student release, on the fixture assignment tests/fixtures/release/minicourse/a1:
stubs in place, nothing leaks, nothing forbidden ships, zips are byte-identical, released
modules import and the released notebook stops at the first function to write."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from dl4cv_tools import grader, release
from dl4cv.paths import REPO_ROOT

MINI = "tests/fixtures/release/minicourse/a1"
SOLUTION = REPO_ROOT / MINI


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    return release.build(out, assignments=[MINI])


def test_regions_are_found_with_qualnames():
    ids = {r.id: r.kind for r in release.assignment_regions(SOLUTION)}
    assert ids == {
        "minilib/layers.py::scale_forward": "module", "minilib/layers.py::scale_backward": "module",
        "minilib/layers.py::softplus": "module", "minilib/net.py::TinyNet.loss": "module",
        "mini.ipynb::cell-004": "cell", "mini.ipynb::cell-007": "answer"}


def test_module_regions_become_stubs_keeping_markers_and_todo(built):
    text = (built.out / MINI / "minilib/layers.py").read_text()
    source = (SOLUTION / "minilib/layers.py").read_text()
    assert 'raise NotImplementedError("Implement scale_backward in minilib/layers.py")' in text
    assert text.count("# *****START OF YOUR CODE*****") == source.count("# *****START OF YOUR CODE*****") == 3
    assert text.count("# *****END OF YOUR CODE*****") == 3
    assert "# TODO: dx scales dout by w; dw sums dout times x over the batch." in text
    assert "np.einsum" not in text and "np.logaddexp" not in text.replace("(np.logaddexp helps)", "")
    # given code, input validation included, is untouched
    assert 'raise ValueError(f"scale_forward: x {x.shape} and w {w.shape} do not fit")' in text
    assert "def mean_squared(pred, target):" in text
    net = (built.out / MINI / "minilib/net.py").read_text()
    # the stub keeps the indentation of its (loop-nested) region
    assert '            raise NotImplementedError("Implement TinyNet.loss in minilib/net.py")' in net


def test_notebook_cells_stubbed_answers_blanked_outputs_cleared(built):
    nb = json.loads((built.out / MINI / "mini.ipynb").read_text())
    src = {c["id"]: "".join(c["source"]) for c in nb["cells"]}
    ref = json.loads((SOLUTION / "mini.ipynb").read_text())
    ref_src = {c["id"]: "".join(c["source"]) for c in ref["cells"]}
    # the Colab cell installs the student's own copy, never the solutions repository
    assert '"clone"' in ref_src["cell-000"] and '"clone"' not in src["cell-000"]
    assert "drive.mount" in src["cell-000"] and "os.chdir(os.path.join(root," in src["cell-000"]
    assert src["cell-004"].startswith("# TODO: fit w so that")
    assert 'raise NotImplementedError("Implement this cell (cell-004) in mini.ipynb")' in src["cell-004"]
    assert "w_fit" not in src["cell-004"].split("\n", 2)[-1]
    assert src["cell-007"] == release.ANSWER_STUB
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    assert [c["metadata"].get("tags") for c in nb["cells"]] == \
        [c["metadata"].get("tags") for c in ref["cells"]]     # the grader finds cells by tag/id


def test_no_leak_no_tests_no_compiled_files(built):
    assert release.leaks(built) == []
    assert release.forbidden_files(built) == []
    names = set(built.files)
    assert f"{MINI}/notes.txt" in names and "README.md" in names
    assert not any("/tests/" in n or n.endswith(("conftest.py", ".pyc")) or "test_secret" in n
                   for n in names)
    assert (built.out / MINI / "notes.txt").read_bytes() == (SOLUTION / "notes.txt").read_bytes()


def test_leak_check_catches_a_planted_solution_line(built, tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(built.out, planted)
    with open(planted / "README.md", "a") as fh:
        fh.write("    dw = np.einsum(\"nd,nd->d\", dout, x_saved)\n")
    (planted / "x.cpython-311.pyc").write_bytes(b"\0\0compiled")
    planted_release = release.Release(planted, dict(built.files), [], built.regions)
    found = release.leaks(planted_release)
    assert any("np.einsum" in f and "scale_backward" in f for f in found), found
    assert release.forbidden_files(planted_release) == ["x.cpython-311.pyc"]
    # in a shared helper package one generic line is not a leak, a copied region is
    helper = planted / "dl4cv" / "helper_copy.py"
    helper.write_text("x_saved, w_saved = cache\n")
    assert not any("helper_copy" in f for f in release.leaks(planted_release))
    helper.write_text("x_saved, w_saved = cache\ndx = dout * w_saved[np.newaxis, :]\n")
    assert any("helper_copy" in f and "scale_backward" in f for f in release.leaks(planted_release))
    # an answer's text counts as a solution too
    nb = planted / MINI / "mini.ipynb"
    nb.write_text(nb.read_text().replace("YOUR ANSWER:", (
        "The loss is a convex quadratic in w_fit with a unique exact solution, so each step "
        "shrinks the error geometrically.")))
    assert any("cell-007" in f for f in release.leaks(planted_release))


def test_zips_are_byte_identical_and_sorted(built, tmp_path):
    again = release.build(tmp_path / "again", assignments=[MINI])
    assert [z.name for z in again.zips] == [z.name for z in built.zips] == ["minicourse-a1.zip"]
    assert again.zips[0].read_bytes() == built.zips[0].read_bytes()
    with zipfile.ZipFile(built.zips[0]) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {release.ZIP_DATE}
        assert f"{MINI}/minilib/layers.py" in names and "dl4cv/paths.py" in names
        assert zf.read(f"{MINI}/minilib/layers.py") == (built.out / MINI / "minilib/layers.py").read_bytes()
        assert (zf.getinfo("get_datasets.sh").external_attr >> 16) & 0o111  # still executable


def test_released_modules_import_and_name_the_function(built):
    code = (
        "import numpy as np\n"
        "from minilib import layers, net\n"
        "try:\n"
        "    layers.scale_forward(np.ones((2, 3)), np.ones(3))\n"
        "except NotImplementedError as e:\n"
        "    print('NIE', e)\n"
        "print(layers.mean_squared(np.ones(2), np.zeros(2)))\n")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=built.out / MINI, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "NIE Implement scale_forward in minilib/layers.py" in out.stdout
    assert out.stdout.strip().endswith("1.0")
    assert not list(built.out.rglob("__pycache__"))


def test_released_notebook_stops_at_the_first_function_to_write(built, tmp_path):
    work = tmp_path / "a1"
    shutil.copytree(built.out / MINI, work)
    env = dict(os.environ, DL4CV_SMOKE="1", PYTHONDONTWRITEBYTECODE="1")
    status, nb = grader.execute_notebook(work / "mini.ipynb", tmp_path / "run.ipynb", 120, env,
                                         tmp_path / "run.log")
    assert status["status"] == "failed"
    assert "NotImplementedError: Implement scale_forward in minilib/layers.py" in status["error"]


def test_marker_contract_violations_are_reported(tmp_path):
    with pytest.raises(release.ReleaseError, match="outside a function"):
        release.module_regions("x = 1\n# *****START OF YOUR CODE*****\ny = 2\n"
                               "# *****END OF YOUR CODE*****\n", "m.py")
    with pytest.raises(release.ReleaseError, match="m.py:2: START marker without an END"):
        release.module_regions("def f():\n    # *****START OF YOUR CODE*****\n    return 1\n", "m.py")
    with pytest.raises(release.ReleaseError, match="END marker without a START"):
        release.module_regions("def f():\n    return 1\n    # *****END OF YOUR CODE*****\n", "m.py")
    # two regions in one function get distinct ids; Cython files are handled by indentation
    two = ("class A:\n    def f(self):\n        # *****START OF YOUR CODE*****\n        a = 1\n"
           "        # *****END OF YOUR CODE*****\n        # *****START OF YOUR CODE*****\n"
           "        b = 2\n        # *****END OF YOUR CODE*****\n        return a + b\n")
    assert [r.id for r in release.module_regions(two, "m.py")] == ["m.py::A.f", "m.py::A.f#2"]
    pyx = ("cimport numpy as np\n\ndef im2col(np.ndarray x, int pad):\n    cdef int n = 0\n"
           "    # *****START OF YOUR CODE*****\n    n = x.shape[0] + pad\n"
           "    # *****END OF YOUR CODE*****\n    return n\n")
    assert [r.id for r in release.module_regions(pyx, "c.pyx")] == ["c.pyx::im2col"]
    assert 'raise NotImplementedError("Implement im2col in c.pyx")' in release.stub_module(pyx, "c.pyx")


def test_outside_git_compiled_and_test_files_never_ship(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(SOLUTION, root / "cs231n" / "assignment9")
    a = root / "cs231n" / "assignment9"
    (a / "minilib" / "__pycache__").mkdir()
    (a / "minilib" / "__pycache__" / "layers.cpython-311.pyc").write_bytes(b"\0")
    (a / "minilib" / "fast.c").write_text("/* generated */\n")
    (a / "test_layers.py").write_text("def test_x():\n    pass\n")
    assert release.discover_assignments(root) == ["cs231n/assignment9"]
    built = release.build(tmp_path / "out", root=root, assignments=None, support=())
    names = sorted(built.files)
    assert names == ["README.md", "cs231n/assignment9/mini.ipynb", "cs231n/assignment9/minilib/__init__.py",
                     "cs231n/assignment9/minilib/layers.py", "cs231n/assignment9/minilib/net.py",
                     "cs231n/assignment9/notes.txt"]
    assert [z.name for z in built.zips] == ["cs231n-assignment9.zip"]


# ---------------------------------------------------------------------------------------------
# Check cells never compute an expected value from a formula, a lambda or a local re-implementation
# ---------------------------------------------------------------------------------------------
SETUP = "import numpy as np\nimport torch\nimport torch.nn.functional as F\nfrom minilib.layers import *\n"
INPUTS = ("N, D = 3, 4\n"
          "x = np.linspace(-0.5, 0.5, num=N * D).reshape(N, D)\n"
          "w = np.linspace(-0.2, 0.3, num=D)\n")
CLEAN_CELLS = {
    "hard-coded expected value": INPUTS + (
        "out, _ = scale_forward(x, w)\n"
        "correct_out = np.array([[0.1, -0.0, 0.02, 0.03]] * 3)\n"
        "print('out error:', rel_error(out, correct_out))\n"),
    "numeric gradient": INPUTS + (
        "dout = np.random.randn(N, D)\n"
        "dx_num = eval_numerical_gradient_array(lambda x: scale_forward(x, w)[0], x, dout)\n"
        "dx, dw = scale_backward(dout, scale_forward(x, w)[1])\n"
        "check('dx error', rel_error(dx, dx_num), below=1e-8)\n"),
    "loaded file": (
        "data = np.load('checks.npz')\n"
        "out = softplus(data['x'])\n"
        "check('softplus error', rel_error(out, data['out']), below=1e-7)\n"),
    "torch op as a black box": (
        "x = np.random.randn(4, 5)\n"
        "expected = F.softplus(torch.from_numpy(x)).numpy()\n"
        "assert np.allclose(softplus(x), expected)\n"),
    "'around' value and a difference measure": INPUTS + (
        "loss = mean_squared(scale_forward(x, w)[0], x)\n"
        "check('loss', loss, near=0.2, tol=0.1)\n"
        "err = np.max(np.abs(scale_forward(x, w)[0] - x * 2)) / 3\n"
        "check('max difference', err, below=10.0)\n"),
    "two student implementations compared, a backward pass given its cache": INPUTS + (
        "out, cache = scale_forward(x, w)\n"
        "dx, dw = scale_backward(np.ones((N, D)), cache)\n"
        "dx2, dw2 = scale_backward_alt(np.ones((N, D)), cache)\n"
        "check('dx difference', np.abs(dx - dx2).max(), below=1e-12)\n"
        "check('softplus', rel_error(softplus(out), np.array([[0.7, 0.7, 0.7, 0.7]] * 3)), below=1.0)\n"),
    "inputs built with math are inputs": (
        "X = np.random.randn(5, 4)\n"
        "a = np.maximum(0, X.dot(np.ones((4, 4))))\n"   # the course builds such inputs
        "out, _ = scale_forward(a, np.ones(4))\n"
        "print('difference:', np.linalg.norm(out - F.relu(torch.from_numpy(a)).numpy()))\n"),
}
LEAKING_CELLS = {
    "numpy math": INPUTS + (
        "out = softplus(x.dot(np.ones((D, D))))\n"
        "expected = np.logaddexp(0, x.dot(np.ones((D, D))))\n"
        "print('softplus error:', rel_error(out, expected))\n"),
    "inline formula in check": INPUTS + (
        "out, _ = scale_forward(x, w)\n"
        "check('out error', rel_error(out, x * w[None, :] + 0 * x), below=1e-8)\n"),
    "loop building the array": INPUTS + (
        "out, _ = scale_forward(x, w)\n"
        "expected = np.zeros((N, D))\n"
        "for n in range(N):\n"
        "    expected[n] = np.multiply(x[n], w)\n"
        "assert np.allclose(out, expected)\n"),
    "lambda re-implementation": INPUTS + (
        "ref = lambda x: np.logaddexp(0, x)\n"
        "print('softplus error:', rel_error(softplus(x), ref(x)))\n"),
    "local function re-implementation": INPUTS + (
        "def reference(x, w):\n"
        "    return np.einsum('nd,d->nd', x, w)\n"
        "np.testing.assert_allclose(scale_forward(x, w)[0], reference(x, w))\n"),
    "gather by array indexing": (
        "W = np.linspace(0, 1, num=12).reshape(4, 3)\n"
        "idx = np.asarray([[0, 3], [2, 1]])\n"
        "check('embedding error', rel_error(softplus(W)[idx], W[idx].reshape(2, 2, 3)), below=1e-8)\n"),
    "torch formula": (
        "x = torch.randn(3, 4)\n"
        "W = torch.randn(4, 2)\n"
        "expected = F.relu(x @ W)\n"
        "check('out error', rel_error(softplus(x.numpy()), expected.numpy()), below=1e-8)\n"),
    "student functions composed": INPUTS + (
        "expected = softplus(scale_forward(x, w)[0])\n"
        "out = softplus_of_scale(x, w)\n"
        "check('composed error', rel_error(out, expected), below=1e-8)\n"),
    "manual relative error printed": INPUTS + (
        "ref = np.sum(np.logaddexp(0, x))\n"
        "err = abs(softplus(x).sum() - ref) / abs(ref)\n"
        "print(f'softplus relative error: {err:.2e}')\n"),
}
STUDENT = {"scale_forward", "scale_backward", "scale_backward_alt", "softplus", "softplus_of_scale"}


def _notebook(*sources, tags=None):
    import nbformat.v4 as v4
    cells = [v4.new_code_cell(SETUP)] + [v4.new_code_cell(s) for s in sources]
    for cell, t in zip(cells[1:], tags or []):
        cell.metadata["tags"] = t
    return v4.new_notebook(cells=cells)


@pytest.mark.parametrize("what", sorted(CLEAN_CELLS))
def test_a_clean_check_cell_passes(what):
    assert release.check_cells(_notebook(CLEAN_CELLS[what]), student=STUDENT) == []


@pytest.mark.parametrize("what", sorted(LEAKING_CELLS))
def test_a_check_cell_that_restates_the_solution_is_found(what):
    found = release.check_cells(_notebook(LEAKING_CELLS[what]), student=STUDENT)
    assert len(found) == 1, (what, found)
    assert found[0].cell == 1 and ("formula" in found[0].message
                                   or "made by other student functions" in found[0].message), found


def test_solution_cells_are_the_students_and_not_scanned():
    # the same formula is the student's own code in a cell tagged `solution`; a later check
    # comparing with its result compares with a student's output
    nb = _notebook(INPUTS + "my_out = np.logaddexp(0, x)\n",
                   "check('softplus error', rel_error(softplus(x), my_out), below=1e-8)\n",
                   tags=[["solution"], []])
    assert release.check_cells(nb, student=STUDENT) == []
    # untagged (as a check cell) the same code is a leak
    nb.cells[1].metadata["tags"] = []
    assert [f.cell for f in release.check_cells(nb, student=STUDENT)] == [2]


def test_the_fixture_release_has_clean_check_cells(built):
    assert release.check_cell_problems(built) == []


def test_a_release_with_a_leaking_check_cell_fails(tmp_path):
    import nbformat
    root = tmp_path / "repo"
    a = root / "cs231n" / "assignment9"
    shutil.copytree(SOLUTION, a, ignore=shutil.ignore_patterns("tests", "conftest.py"))
    nb = nbformat.read(a / "mini.ipynb", as_version=4)
    leak = nbformat.v4.new_code_cell(
        "expected = np.logaddexp(0, x)\nprint('softplus error:', rel_error(softplus(x), expected))")
    nb.cells.insert(4, leak)
    nbformat.write(nb, a / "mini.ipynb")
    with pytest.raises(release.ReleaseError, match="check cell restates a solution: "
                       r"cs231n/assignment9/mini.ipynb: cell 5 .*np.logaddexp\(0, x\)"):
        release.build(tmp_path / "out", root=root, assignments=["cs231n/assignment9"], support=())
