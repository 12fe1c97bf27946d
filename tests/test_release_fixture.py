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

from dl4cv import grader, release
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
