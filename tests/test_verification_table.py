"""The README's verification table (dl4cv_tools.verification): every student function of every
assignment has a declared independent-reference test, every declaration names a student
function and decorates a real test, and the README block is what the command generates."""
import importlib
import textwrap

import pytest

from dl4cv_tools import verification as V


@pytest.fixture(scope="module")
def cov():
    return V.coverage()


def test_every_student_function_has_a_reference_test(cov):
    result, _ = cov
    assert set(result) == set(V.ASSIGNMENTS)
    for a, c in result.items():
        assert c["functions"], f"{a}: no student functions found (release tooling moved?)"
    missing = [f"{a}/{f}" for a, c in result.items() for f in c["missing"]]
    assert not missing, ("student functions without a test marked "
                         "@pytest.mark.reference(assignment, function):\n  " + "\n  ".join(missing))


def test_declarations_name_existing_student_functions(cov):
    _, stale = cov
    assert not stale, "declarations naming no student function:\n  " + "\n  ".join(
        f"{d.test_file}:{d.lineno} {d.test_name}: {d.assignment} {d.function}" for d in stale)


def test_declared_tests_are_collected_tests_carrying_the_marker():
    """Each decorated function is a test that pytest collects from its file (test_*.py, a test_*
    function at module level or in a Test* class), and the marker pytest sees at run time
    carries the same assignment and function as the static scan read."""
    decls = V.all_declarations()
    assert len(decls) > 100
    for d in decls:
        path = d.test_file
        assert path.startswith("tests/test_") and path.endswith(".py"), path
        module = importlib.import_module(path[:-3].replace("/", "."))
        obj = module
        for part in d.test_name.split("."):
            obj = getattr(obj, part, None)
            assert obj is not None, f"{path}: no {d.test_name}"
        *cls, name = d.test_name.split(".")
        assert callable(obj) and name.startswith("test"), f"{path}::{d.test_name} is not a test"
        assert all(c.startswith("Test") for c in cls), f"{path}::{d.test_name} is not collected"
        marks = [m for m in getattr(obj, "pytestmark", []) if m.name == V.MARKER]
        assert any(m.args[0] == d.assignment and d.function in m.args[1:] for m in marks), \
            f"{path}::{d.test_name}: pytest does not see the reference mark for {d.function}"


def test_scanner_reads_stacked_markers_and_rejects_computed_names(tmp_path):
    f = tmp_path / "test_x.py"
    f.write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.reference("eecs498/A6", "gan.py::sample_noise")
        @pytest.mark.parametrize("k", [1, 2])
        @pytest.mark.reference("cs231n/assignment3", "a.py::f", "a.py::C.g")
        def test_one(k):
            pass

        def test_plain():
            pass

        class TestGroup:
            @pytest.mark.reference("eecs498/A5", "nms.py::nms")
            def test_two(self):
                pass
    '''))
    got = {(d.test_name, d.assignment, d.function) for d in V.declarations_in(f, root=tmp_path)}
    assert got == {("test_one", "eecs498/A6", "gan.py::sample_noise"),
                   ("test_one", "cs231n/assignment3", "a.py::f"),
                   ("test_one", "cs231n/assignment3", "a.py::C.g"),
                   ("TestGroup.test_two", "eecs498/A5", "nms.py::nms")}
    f.write_text('import pytest\nNAME = "a.py::f"\n\n@pytest.mark.reference("x", NAME)\n'
                 'def test_bad():\n    pass\n')
    with pytest.raises(ValueError, match="string literals"):
        V.declarations_in(f, root=tmp_path)


def test_readme_block_is_generated(cov):
    block = V.render(cov[0])
    assert "| **total** |" in block
    assert V.readme_block(V.README.read_text()) == block, \
        "README.md verification block is stale: python -m dl4cv_tools.verification --update"
