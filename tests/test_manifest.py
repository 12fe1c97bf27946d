"""dl4cv_tools/manifest.py, the one list of assignments and notebooks, matches the folders on
disk: every notebook of an assignment folder is listed, nothing listed is missing, and each
assignment's rubric exists and grades that assignment."""
import tomllib

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest


def _on_disk(folder):
    return sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def test_the_assignments_in_course_order():
    assert manifest.PATHS == ("cs231n/assignment1", "cs231n/assignment2", "cs231n/assignment3",
                              "eecs498/A1", "eecs498/A2", "eecs498/A3", "eecs498/A4", "eecs498/A5", "eecs498/A6")


def test_every_notebook_on_disk_is_listed_and_every_listed_one_exists():
    for a in manifest.ASSIGNMENTS:
        listed = list(a.notebook_paths)
        assert len(set(listed)) == len(listed), a.path
        assert sorted(listed) == _on_disk(a.path), a.path
    # no notebook in a course folder outside the listed assignments
    on_disk = [nb for course in manifest.COURSES for nb in _on_disk(course)]
    assert sorted(on_disk) == sorted(manifest.notebooks())


def test_every_assignment_folder_is_listed():
    folders = sorted(d.relative_to(REPO_ROOT).as_posix() for course in manifest.COURSES
                     for d in (REPO_ROOT / course).iterdir()
                     if d.is_dir() and any(d.glob("*.ipynb")))
    assert folders == sorted(manifest.PATHS)


def test_rubrics_and_zip_names():
    for a in manifest.ASSIGNMENTS:
        assert a.rubric.parent == REPO_ROOT / "tests" / "grading"
        assert tomllib.loads(a.rubric.read_text())["assignment"].strip("/") == a.path
        assert a.zip_name == a.path.replace("/", "-") + ".zip"
    assert sorted(p.name for p in manifest.RUBRIC_DIR.glob("*.toml")) == \
        sorted(a.rubric.name for a in manifest.ASSIGNMENTS)


def test_selection():
    assert manifest.get("eecs498/A5/").path == "eecs498/A5"
    assert [a.path for a in manifest.assignments(course="eecs498")] == [
        "eecs498/A1", "eecs498/A2", "eecs498/A3", "eecs498/A4", "eecs498/A5", "eecs498/A6"]
    a6 = manifest.get("eecs498/A6")
    assert manifest.notebooks(assignment="eecs498/A6") == list(a6.notebook_paths)
