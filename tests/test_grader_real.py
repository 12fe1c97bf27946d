"""The grading declarations of the real assignments (grading/*.toml): every solution region is
graded by some question, and on a real assignment (two functions of EECS A6's VAE, to fit the CI
budget) the solution gets full marks while each one-function mutant loses exactly the questions
that grade that function. The full sweep over every function of every assignment is
`python -m dl4cv.grader --mutants ALL` (about an hour on 2 cores)."""
import pytest

from dl4cv import grader
from dl4cv.paths import REPO_ROOT

DECLS = grader.load_declarations(REPO_ROOT / "grading")
VAE_REGIONS = {"vae.py::reparametrize", "vae.py::loss_function"}


@pytest.mark.parametrize("decl", DECLS, ids=[d.assignment for d in DECLS])
def test_declaration_is_consistent(decl):
    assert grader.check_declaration(decl) == []
    assert all(q.points > 0 for q in decl.questions)


@pytest.mark.slow
def test_vae_mutants_lose_exactly_their_questions():
    decl = next((d for d in DECLS if d.assignment == "eecs498/A6"), None)
    if decl is None:
        pytest.skip("no declaration for eecs498/A6")
    lines = []
    problems = grader.mutant_sweep(decl, notebooks=False, progress=lines.append,
                                   region_filter=lambda r: r.id in VAE_REGIONS)
    assert problems == [], "\n".join(lines)
    assert lines[0].startswith("solution: ") and len(lines) == 1 + len(VAE_REGIONS)
