"""The grading declarations of the real assignments (tests/grading/*.toml) and what CI checks of them
besides grading the release and the solutions (tests/test_grader_release.py,
tests/test_grader_solutions.py):

- every solution region is graded by some question;
- the zip each course asks for (CS231n's collectSubmission.sh, EECS's eecs598.submit) holds
  every file with graded regions, and the grader recognises its assignment;
- a seeded random sample of regions (DL4CV_MUTANT_SAMPLE, default 6; the seed is printed and
  DL4CV_MUTANT_SEED replays it): each one-function mutant loses exactly its questions;
- tests/grading/mutants.log, the full sweep (`make mutants`), is current: its digest per assignment
  matches today's declaration and regions, with no problem recorded.
"""
import os
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from dl4cv import submission
from dl4cv_tools import grader, manifest
from dl4cv.paths import REPO_ROOT

DECLS = [grader.load_declaration(a.rubric) for a in manifest.ASSIGNMENTS]
IDS = [d.assignment for d in DECLS]
SAMPLE = int(os.environ.get("DL4CV_MUTANT_SAMPLE", "6"))
SEED = int(os.environ.get("DL4CV_MUTANT_SEED") or time.time() // 60)


@pytest.mark.parametrize("decl", DECLS, ids=IDS)
def test_declaration_is_consistent(decl):
    assert grader.check_declaration(decl) == []
    assert all(q.points > 0 for q in decl.questions)


@pytest.mark.parametrize("decl", DECLS, ids=IDS)
def test_course_zip_holds_every_graded_file(decl, tmp_path):
    folder = REPO_ROOT / decl.assignment
    zip_path = submission.make_course_zip(folder, decl.assignment, tmp_path / "made",
                                          fill_missing=True)
    if decl.assignment.startswith("cs231n/"):
        # the shipped script writes the same zip as dl4cv.submission
        work = tmp_path / "script" / folder.name
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns("__pycache__", "*.zip"))
        # outside the repository the script cannot find .venv: PYTHON names the interpreter
        done = subprocess.run(["bash", str(work / "collectSubmission.sh")], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120,
                              env={**os.environ, "PYTHON": sys.executable})
        assert done.returncode == 0, done.stderr
        script_zip = work / zip_path.name
        assert sorted(zipfile.ZipFile(script_zip).namelist()) == \
            sorted(zipfile.ZipFile(zip_path).namelist()) == submission.cs231n_files(folder)
    assert grader.find_declaration(zip_path, DECLS) is decl
    unpacked = submission.extract(zip_path, tmp_path / "unpacked")
    for name in sorted(grader.region_files(decl)):
        assert (unpacked / name).is_file(), f"{zip_path.name} lacks {name}"
        assert (unpacked / name).read_bytes() == (folder / name).read_bytes(), name


@pytest.mark.slow
def test_sampled_mutants_lose_exactly_their_questions():
    picked = grader.sample_regions(DECLS, SAMPLE, SEED)
    lines, problems = [], []
    for decl in DECLS:
        ids = {r.id for d, r in picked if d is decl}
        if ids:
            problems += grader.mutant_sweep(decl, notebooks=False, progress=lines.append,
                                            region_filter=lambda r, ids=ids: r.id in ids,
                                            baseline=False)
    assert problems == [], (f"DL4CV_MUTANT_SEED={SEED} replays this sample:\n"
                            + "\n".join(lines + problems))
    assert len(lines) == len(picked) > 0     # one line per mutant


def test_mutants_log_is_current():
    log = grader.read_mutants_log()
    stale = []
    for d in DECLS:
        section = log.get(d.assignment)
        if section is None:
            stale.append(f"{d.assignment}: not in the log")
        elif section["digest"] != grader.declaration_digest(d):
            stale.append(f"{d.assignment}: its regions or declaration changed since the sweep")
        elif section["problems"]:
            stale.append(f"{d.assignment}: {section['problems']} problem(s) recorded")
    assert not stale, ("tests/grading/mutants.log is not current: run `make mutants A=<assignment>` "
                       "and commit the log\n" + "\n".join(stale))


def test_mutants_log_round_trip(tmp_path):
    decl = DECLS[0]
    log = tmp_path / "mutants.log"
    sections = {"x/y": {"lines": ["== x/y digest=00 regions=1 problems=1 seconds=3",
                                  "mutant 1/1 f.py::g: WRONG (lost nothing)", "PROBLEM f.py::g"]},
                decl.assignment: {"lines": [f"== {decl.assignment} digest="
                                            f"{grader.declaration_digest(decl)} regions=2 "
                                            "problems=0 seconds=5"]}}
    grader.write_mutants_log(sections, log)
    back = grader.read_mutants_log(log)
    assert back["x/y"]["problems"] == 1 and len(back["x/y"]["lines"]) == 3
    assert back[decl.assignment]["digest"] == grader.declaration_digest(decl)
    assert grader.declaration_digest(decl) == grader.declaration_digest(decl)
