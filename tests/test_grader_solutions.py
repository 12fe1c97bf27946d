"""CI grades the reference solutions of every assignment, handed in as the zip its course asks
for: full points on every question graded by tests. The notebook questions are judged in
`make test` on the runner's smoke run of the same notebooks (`python -m dl4cv_tools.grader
--from-run build/test`), not executed a second time here."""
import pytest

from dl4cv import submission
from dl4cv_tools import grader, manifest
from dl4cv.paths import REPO_ROOT

DECLS = [grader.load_declaration(a.rubric) for a in manifest.ASSIGNMENTS]


@pytest.mark.slow
@pytest.mark.parametrize("decl", DECLS, ids=[d.assignment for d in DECLS])
def test_solution_grades_full(decl, tmp_path):
    zip_path = submission.make_course_zip(REPO_ROOT / decl.assignment, decl.assignment,
                                          tmp_path / "zip", fill_missing=True)
    only = {q.name for q in decl.questions if not q.notebook}
    res = grader.grade(zip_path, decl, out=tmp_path / "grade", only=only, progress=lambda m: None)
    lost = {q["name"]: q["message"] for q in res["questions"] if q["points"] < q["max_points"]}
    assert lost == {} and res["total"] == res["max_points"]
