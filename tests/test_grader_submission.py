"""dl4cv.submission: the courses' submission zips written, read back safely, recognised, and
graded by the grader like a folder (on the fixture assignment: the solution's zip gets full
marks, the release's 0)."""
import stat
import zipfile

import pytest

from dl4cv import submission
from dl4cv_tools import grader, release
from dl4cv.paths import REPO_ROOT

MINI = "tests/fixtures/release/minicourse/a1"
DECL = REPO_ROOT / "tests/fixtures/release/grading/mini-a1.toml"


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            if isinstance(data, zipfile.ZipInfo):
                z.writestr(data, b"x")
            else:
                z.writestr(name, data)
    return path


@pytest.mark.parametrize("name,assignment", [
    ("a1.zip", "cs231n/assignment1"), ("a3 (1).zip", "cs231n/assignment3"),
    ("assignment2.zip", "cs231n/assignment2"), ("jdoe_12345678_A5.zip", "eecs498/A5"),
    ("justincj_0000_A6.zip", "eecs498/A6"), ("homework.zip", None), ("a1.tar", None),
])
def test_assignment_from_the_zip_name(name, assignment):
    assert submission.assignment_from_name(name) == assignment


def test_extract_refuses_unsafe_zips(tmp_path):
    for i, bad in enumerate(["../evil.py", "/etc/evil.py", "a/../../evil.py"]):
        z = _zip(tmp_path / f"bad{i}.zip", {bad: "x"})
        with pytest.raises(submission.SubmissionError, match="unsafe path"):
            submission.extract(z, tmp_path / f"out{i}")
    link = zipfile.ZipInfo("link.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(submission.SubmissionError, match="link"):
        submission.extract(_zip(tmp_path / "link.zip", {"link.py": link}), tmp_path / "out")
    (tmp_path / "not.zip").write_text("plain text")
    with pytest.raises(submission.SubmissionError, match="not a zip"):
        submission.extract(tmp_path / "not.zip", tmp_path / "out2")
    assert not (tmp_path / "evil.py").exists()


def test_extract_unwraps_a_zipped_assignment_folder(tmp_path):
    z = _zip(tmp_path / "a1.zip", {"assignment1/knn.ipynb": "{}", "assignment1/cs231n/x.py": "",
                                   "__MACOSX/assignment1/._knn.ipynb": ""})
    root = submission.extract(z, tmp_path / "out")
    assert root == tmp_path / "out" / "assignment1" and (root / "cs231n/x.py").is_file()
    assert submission.members(z) == ["knn.ipynb", "cs231n/x.py"]
    # a zip with the package only (no notebooks) is not unwrapped
    z = _zip(tmp_path / "b.zip", {"cs231n/layers.py": ""})
    assert submission.extract(z, tmp_path / "out2") == tmp_path / "out2"


def test_recognise_by_name_then_by_files(tmp_path):
    expected = {"cs231n/assignment2": {"cs231n/layers.py", "FullyConnectedNets.ipynb"},
                "eecs498/A6": {"vae.py", "gan.py"}}
    z = _zip(tmp_path / "a2.zip", {"cs231n/layers.py": "", "FullyConnectedNets.ipynb": "{}"})
    assert submission.recognise(z, expected) == "cs231n/assignment2"
    z = _zip(tmp_path / "mine.zip", {"vae.py": "", "gan.py": "", "notes.txt": ""})
    assert submission.recognise(z, expected) == "eecs498/A6"
    # the name says A2 but the files are A6's: the files decide
    z = _zip(tmp_path / "x_1_A2.zip", {"vae.py": "", "gan.py": ""})
    assert submission.recognise(z, expected) == "eecs498/A6"
    z = _zip(tmp_path / "other.zip", {"readme.txt": ""})
    assert submission.recognise(z, expected) is None


def test_write_zip_is_deterministic_and_flat_on_request(tmp_path):
    folder = REPO_ROOT / MINI
    names = ["minilib/layers.py", "mini.ipynb"]
    a = submission.write_zip(tmp_path / "a.zip", folder, names)
    b = submission.write_zip(tmp_path / "b.zip", folder, list(reversed(names)))
    assert a.read_bytes() == b.read_bytes()
    assert zipfile.ZipFile(a).namelist() == ["mini.ipynb", "minilib/layers.py"]
    flat = submission.write_zip(tmp_path / "f.zip", folder, names, flat=True)
    assert zipfile.ZipFile(flat).namelist() == ["layers.py", "mini.ipynb"]


@pytest.mark.slow
def test_fixture_zips_grade_like_folders(tmp_path):
    """The fixture's a1.zip (collectSubmission's layout): the solution gets full marks, the
    release 0; the grader recognises the assignment from the zip's files."""
    decl = grader.load_declaration(DECL)
    built = release.build(tmp_path / "release", assignments=[MINI])
    for what, folder, total in [("solution", REPO_ROOT / MINI, 10), ("release", built.out / MINI, 0)]:
        (tmp_path / f"zip-{what}").mkdir()
        z = submission.write_zip(tmp_path / f"zip-{what}" / "a1.zip", folder,
                                 submission.cs231n_files(folder))
        assert grader.find_declaration(z, [decl]) is decl
        res = grader.grade(z, decl, out=tmp_path / f"grade-{what}", progress=lambda m: None)
        assert res["total"] == total, (what, [q["message"] for q in res["questions"]])
        assert res["submission"] == str(z.resolve())
    assert grader.main(["--check", "--declarations", str(DECL)]) == 0
