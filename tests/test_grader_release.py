"""CI grades the untouched student release of every assignment, handed in as the zip its
course asks for (CS231n a<N>.zip, EECS <uniquename>_<umid>_A<N>.zip): 0 points everywhere,
notebook questions included, and every question says why."""
import pytest

from dl4cv import submission
from dl4cv_tools import grader, manifest, release
from dl4cv.paths import REPO_ROOT

DECLS = [grader.load_declaration(a.rubric) for a in manifest.ASSIGNMENTS]


@pytest.mark.slow
@pytest.mark.parametrize("decl", DECLS, ids=[d.assignment for d in DECLS])
def test_untouched_release_grades_zero(decl, tmp_path):
    built = release.build(tmp_path / "release", assignments=[decl.assignment], check=False)
    zip_path = submission.make_course_zip(built.out / decl.assignment, decl.assignment,
                                          tmp_path / "zip", fill_missing=True)
    assert grader.find_declaration(zip_path, DECLS) is decl
    res = grader.grade(zip_path, decl, out=tmp_path / "grade", progress=lambda m: None)
    earned = {q["name"]: q["message"] for q in res["questions"] if q["points"]}
    assert res["total"] == 0, earned
    assert all(q["message"] for q in res["questions"])


def test_a_submission_is_graded_on_the_questions_of_its_edition(tmp_path):
    decl = grader.load_declaration(manifest.get("cs231n/assignment3").rubric)
    old, new = tmp_path / "a2020", tmp_path / "a2025"
    for folder, notebooks in ((old, ["RNN_Captioning.ipynb", "LSTM_Captioning.ipynb"]),
                              (new, ["Transformer_Captioning.ipynb", "Self_Supervised_Learning.ipynb"])):
        folder.mkdir()
        for nb in notebooks:
            (folder / nb).write_text("{}")
    assert grader.rubric.submission_edition(old, decl) is None
    assert grader.rubric.submission_edition(new, decl) == "2025"
    today = {q.name for q in grader.rubric.for_edition(decl).questions}
    later = {q.name for q in grader.rubric.for_edition(decl, "2025").questions}
    assert today and later and not today & later
    assert today | later == {q.name for q in decl.questions}
