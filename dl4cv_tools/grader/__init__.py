"""Autograder: grade a submitted assignment folder with the project's own tests and notebooks.

    python -m dl4cv_tools.grader path/to/assignment2   # -> build/grade/<assignment>/
    python -m dl4cv_tools.grader a2.zip                # the zip the course asks for
    python -m dl4cv_tools.grader SUBMISSION --assignment cs231n/assignment2 --out DIR
    python -m dl4cv_tools.grader --check               # declarations cover every region
    python -m dl4cv_tools.grader --mutants ALL         # mutant sweep (or one assignment)

Questions are declared once per assignment in `tests/grading/<course>-<assignment>.toml`
(the rubric path of each assignment is in dl4cv_tools.manifest):

    assignment = "cs231n/assignment2"
    [[question]]
    name = "affine layer"
    points = 4
    regions = ["cs231n/layers.py::affine_*"]           # the solution regions it grades
    tests = ["tests/test_a2_layers.py::test_affine"]   # node ids (or files) in the repo's tests/
    k = "affine"                                       # optional -k selector
    timeout = 120                                      # optional, seconds
    [[question]]
    name = "tuned fully-connected net"
    points = 3
    regions = ["FullyConnectedNets.ipynb::*"]
    notebook = "FullyConnectedNets.ipynb"              # executed headless in smoke mode
    checks = [{ record = "best validation accuracy", min = 0.2 },
              { regex = "relative error: (\\S+)", max = 1e-6 }]

Each question is graded in isolation, in a process of its own with a time limit (its tests
forked from a server that imported torch once: dl4cv_tools.pytest_fork), on a copy of the
reference assignment in which only the solution regions the question grades hold the
submission's code (module regions between their markers, notebook solution cells). Every other
region, every line outside the regions and every file without regions is the reference's, so a
submission changes only its regions and answer cells: edited given code, tests, a conftest.py or
an added module have no effect. A broken function costs exactly the questions that grade it, and
a submission that crashes, hangs, prints garbage or deletes files only loses those questions. The
submission itself is never written to; a zip (`a<N>.zip` of CS231n's collectSubmission.sh,
`<uniquename>_<umid>_A<N>.zip` of eecs598.submit) is unpacked first (dl4cv.submission). A
question scores all its points when every selected test passes and every check holds
(`partial = true`: points in proportion to the tests passed); a skipped test (pytest.skip() in a
region), an expected failure or a test that never finished counts as failed (only a skip mark
such as "needs CUDA", decided before any test code runs, leaves a test out).
Writes grade.json and grade.md (per question: points, the first failure in one line; total).

One job a module: rubric.py (the declarations), splice.py (the tree graded for a question),
sandbox.py (tests and notebooks in a subprocess with a time limit), plugin.py (the pytest
plugin that records outcomes), checks.py (a notebook question's checks), marking.py (grading
a submission, judging a runner's run), mutants.py (the mutant sweep and its log), cli.py
(the CLI). This package re-exports their public names.
"""

# The public names of the submodules, re-exported (callers import only this package).
from dl4cv_tools.execute import notebook_text
from dl4cv_tools.grader.checks import _num, evaluate_check
from dl4cv_tools.grader.marking import _progress, grade, grade_from_run, render_markdown
from dl4cv_tools.grader.mutants import (LOG_HEAD, MUTANTS_LOG, SECTION_RE, declaration_digest,
                                        mutant_sweep, read_mutants_log, sample_regions,
                                        sweep_to_log, write_mutants_log)
from dl4cv_tools.grader.plugin import OUTCOMES_ENV, read_outcomes
from dl4cv_tools.grader.rubric import (DEFAULT_TIMEOUT, GRADING_DIR, Declaration, Question,
                                       check_declaration, find_declaration, load_declaration,
                                       load_declarations, owned, region_files)
from dl4cv_tools.grader.sandbox import PYTEST_INI, _base_env, execute_notebook, run_tests
from dl4cv_tools.grader.splice import assemble
from dl4cv_tools.grader.cli import main
