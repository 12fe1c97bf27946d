"""The mutant sweep: every solution region stubbed in turn must lose exactly the points of the
questions that grade it; and its log (tests/grading/mutants.log), whose per-assignment digest
a test compares with the current declarations and regions."""
import hashlib
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from dl4cv.paths import REPO_ROOT
from dl4cv_tools.grader.marking import _progress, grade
from dl4cv_tools.grader.rubric import GRADING_DIR, check_declaration, owned
from dl4cv_tools.release.regions import assignment_regions
from dl4cv_tools.release.stubs import make_mutant


def mutant_sweep(decl, full=False, notebooks=True, progress=_progress, timeout=None,
                 root=REPO_ROOT, region_filter=None, baseline=True):
    """Stub each solution region in turn; -> list of problems (empty = every mutant loses exactly
    the points of the questions that grade it). `full=False` grades only those questions (the
    others get the reference code by construction); `full=True` grades every question."""
    ref = Path(root) / decl.assignment
    regions = [r for r in assignment_regions(ref) if r.kind != "answer"]
    if region_filter:
        regions = [r for r in regions if region_filter(r)]
    problems = []
    with tempfile.TemporaryDirectory(prefix="dl4cv-mutants-") as tmp:
        if baseline:    # the solution itself must get full marks on the questions involved
            names = {q.name for q in decl.questions if owned(q, regions)
                     and (notebooks or not q.notebook)}
            res = grade(ref, decl, out=Path(tmp) / "baseline", only=names, timeout=timeout,
                        notebooks=notebooks, progress=lambda m: None, root=root)
            for q in res["questions"]:
                if q["points"] < q["max_points"]:
                    problems.append(f"solution loses {q['name']!r}: {q['message']}")
            progress(f"solution: {res['total']:g}/{res['max_points']:g}")
        for n, r in enumerate(regions, 1):
            losers = {q.name for q in decl.questions if r.id in owned(q, [r])}
            if not losers:
                problems.append(f"{r.id}: graded by no question")
                continue
            if not notebooks and r.kind == "cell":
                continue
            names = None if full else losers
            if not notebooks:
                names = {q.name for q in decl.questions
                         if (names is None or q.name in names) and not q.notebook}
            mutant = make_mutant(ref, Path(tmp) / f"m{n}" / ref.name, r.id)
            res = grade(mutant, decl, out=Path(tmp) / f"m{n}-grade", only=names,
                        timeout=timeout, notebooks=notebooks, progress=lambda m: None, root=root)
            lost = {q["name"] for q in res["questions"] if q["points"] < q["max_points"]}
            ok = lost == (losers & {q["name"] for q in res["questions"]})
            if not ok:
                problems.append(f"{r.id}: expected to lose {sorted(losers)}, lost {sorted(lost)}")
            progress(f"mutant {n}/{len(regions)} {r.id}: {'ok' if ok else 'WRONG'} "
                     f"(lost {', '.join(sorted(lost)) or 'nothing'})")
            shutil.rmtree(Path(tmp) / f"m{n}", ignore_errors=True)
    return problems


MUTANTS_LOG = GRADING_DIR / "mutants.log"
LOG_HEAD = ("# The mutant sweep (`make mutants`, or `make mutants A=<assignment>` for one): every\n"
            "# solution region stubbed in turn must lose exactly the points of the questions that\n"
            "# grade it. `digest` covers the assignment's declaration and regions; a test checks\n"
            "# that it is current (tests/test_grader_real.py).\n")
SECTION_RE = re.compile(r"^== (?P<assignment>\S+) digest=(?P<digest>\w+) regions=(?P<regions>\d+) "
                        r"problems=(?P<problems>\d+)")


def declaration_digest(decl, root=REPO_ROOT):
    """sha256 (16 hex digits) of the declaration file and every graded region's id and code."""
    h = hashlib.sha256(Path(decl.path).read_bytes() if decl.path else b"")
    for r in assignment_regions(Path(root) / decl.assignment):
        if r.kind != "answer":
            h.update(("\0" + r.id + "\0" + "\n".join(r.lines)).encode())
    return h.hexdigest()[:16]


def read_mutants_log(path=MUTANTS_LOG):
    """-> {assignment: {"digest", "regions", "problems", "lines"}} from a mutants log."""
    sections, current = {}, None
    try:
        text = Path(path).read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        m = SECTION_RE.match(line)
        if m:
            current = sections[m.group("assignment")] = {
                "digest": m.group("digest"), "regions": int(m.group("regions")),
                "problems": int(m.group("problems")), "lines": [line]}
        elif current is not None and line.strip():
            current["lines"].append(line)
    return sections


def write_mutants_log(sections, path=MUTANTS_LOG):
    """Write the sections ({assignment: {"lines": [...]}}) in assignment order."""
    body = "\n\n".join("\n".join(sections[a]["lines"]) for a in sorted(sections))
    Path(path).write_text(LOG_HEAD + "\n" + body + "\n")


def sweep_to_log(decls, path=MUTANTS_LOG, timeout=None, progress=_progress):
    """Run the full mutant sweep of each declaration and replace its section of the log.
    -> problems."""
    sections = read_mutants_log(path)
    problems = []
    for d in decls:
        t0 = time.monotonic()
        digest = declaration_digest(d)
        lines = []

        def note(msg, lines=lines):
            lines.append(msg)
            progress(msg)
        found = check_declaration(d) or mutant_sweep(d, progress=note, timeout=timeout)
        regions = [r for r in assignment_regions(REPO_ROOT / d.assignment) if r.kind != "answer"]
        head = (f"== {d.assignment} digest={digest} regions={len(regions)} problems={len(found)} "
                f"seconds={time.monotonic() - t0:.0f}")
        sections[d.assignment] = {"lines": [head] + lines + [f"PROBLEM {p}" for p in found]}
        write_mutants_log(sections, path)       # after each assignment: a long run keeps its work
        problems += found
    return problems


def sample_regions(decls, n, seed, kinds=("module",)):
    """A seeded random sample of `n` graded regions over all declarations -> [(decl, region)]."""

    pool = [(d, r) for d in decls for r in assignment_regions(REPO_ROOT / d.assignment)
            if r.kind in kinds]
    return random.Random(seed).sample(pool, min(n, len(pool)))

