"""Grading a submission against its declaration (grade.json, grade.md), and judging the
reference solutions' notebook questions on a runner's run (grade_from_run)."""
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dl4cv import submission as sub_zip
from dl4cv.paths import REPO_ROOT, build_dir
from dl4cv_tools.execute import notebook_text, one_line as _one_line, read_notebook
from dl4cv_tools.grader.checks import evaluate_check
from dl4cv_tools.grader.rubric import _is_zip, owned
from dl4cv_tools.grader.sandbox import _base_env, execute_notebook, run_tests
from dl4cv_tools.grader.splice import _copy_tree, assemble
from dl4cv_tools.release.regions import assignment_regions, notebook_regions


def _progress(msg):
    print(msg, file=sys.stderr, flush=True)


def grade(submission, decl, out=None, only=None, timeout=None, notebooks=True,
          progress=_progress, keep=False, root=REPO_ROOT):
    """Grade the folder `submission` against `decl`; writes grade.json/grade.md to `out`
    (default build/grade/<assignment>) and returns the grade dict."""
    submission = Path(submission).resolve()
    is_zip = _is_zip(submission)
    if not submission.is_dir() and not is_zip:
        raise SystemExit(f"dl4cv_tools.grader: no such folder or zip file: {submission}")
    ref = (Path(root) / decl.assignment).resolve()
    regions = [r for r in assignment_regions(ref) if r.kind != "answer"]
    questions = [q for q in decl.questions if only is None or q.name in only]
    work = Path(tempfile.mkdtemp(prefix="dl4cv-grade-"))
    results, nb_cache = [], {}
    started = time.monotonic()
    try:
        if is_zip:      # the zip the course asks for: unpacked, then graded as a folder
            try:
                pristine = sub_zip.extract(submission, work / "submission")
            except sub_zip.SubmissionError as e:
                raise SystemExit(f"dl4cv_tools.grader: {e}") from None
        else:
            pristine = work / "submission"
            _copy_tree(submission, pristine)
        answers = _answers(pristine, ref)
        for i, q in enumerate(questions, 1):
            t0 = time.monotonic()
            keep_ids = owned(q, regions)
            qdir = work / f"q{i:02d}"
            sub = qdir / "sub"
            res = {"name": q.name, "max_points": q.points, "points": 0.0, "message": "",
                   "regions": sorted(keep_ids)}
            try:
                notes = assemble(pristine, ref, regions, keep_ids, sub)
                res["notes"] = notes
                ok, fraction, msgs = True, 1.0, []
                if q.tests:
                    passed, total, msg = run_tests(q, decl.assignment, sub, qdir,
                                                   work / f"q{i:02d}.log", timeout or q.timeout)
                    res["tests"] = {"passed": passed, "total": total}
                    if msg:
                        msgs.append(msg)
                    if passed < total or total == 0:
                        ok = False
                        fraction = passed / total if total else 0.0
                if q.notebook:
                    if not notebooks:
                        ok, fraction = False, 0.0
                        msgs.append("notebook not run (--no-notebooks)")
                    else:
                        key = (q.notebook, frozenset(keep_ids))
                        if key not in nb_cache:
                            env = _base_env(qdir)
                            nb_cache[key] = execute_notebook(
                                sub / q.notebook, work / f"q{i:02d}.ipynb", timeout or q.timeout,
                                env, work / f"q{i:02d}.nb.log")
                        status, nb = nb_cache[key]
                        text = notebook_text(nb)
                        checks = [evaluate_check(c, text) for c in q.checks]
                        res["checks"] = [{"ok": c_ok, "what": w} for c_ok, w in checks]
                        res["notebook"] = {k: v for k, v in status.items()}
                        failed = [w for c_ok, w in checks if not c_ok]
                        if q.complete and status["status"] != "ok":
                            failed.insert(0, f"notebook stopped: {status.get('error')}")
                        if failed:
                            ok, fraction = False, 0.0
                            msgs.append("; ".join(failed[:2]) + (f" (+{len(failed) - 2} more)"
                                                                 if len(failed) > 2 else ""))
                if ok:
                    res["points"] = float(q.points)
                elif q.partial:
                    res["points"] = round(q.points * fraction, 2)
                res["message"] = _one_line(" | ".join(msgs), 300)
            except Exception as e:  # noqa: BLE001 - the grader survives anything
                res["message"] = _one_line(f"grader error: {type(e).__name__}: {e}")
            res["seconds"] = round(time.monotonic() - t0, 1)
            results.append(res)
            progress(f"[{i}/{len(questions)}] {q.name}: {res['points']:g}/{q.points:g} "
                     f"({res['seconds']:.0f} s){'  ' + res['message'] if res['message'] else ''}")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "assignment": decl.assignment, "title": decl.title, "submission": str(submission),
        "total": round(sum(r["points"] for r in results), 2),
        "max_points": sum(q.points for q in questions),
        "questions": results, "answers": answers, "mode": "smoke",
        "seconds": round(time.monotonic() - started, 1),
    }
    out = Path(out) if out else build_dir() / "grade" / decl.slug
    if out.resolve() == submission or submission in out.resolve().parents:
        raise SystemExit("dl4cv_tools.grader: --out must not be inside the submission folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / "grade.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "grade.md").write_text(render_markdown(result))
    result["out"] = str(out)
    return result


def _answers(sub, ref):
    """Inline answers still holding the placeholder (reported, graded by hand)."""
    total, missing = 0, []
    for nb_path in sorted(ref.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb_path.parts:
            continue
        rel_nb = nb_path.relative_to(ref).as_posix()
        ids = [r.id.split("::")[1] for r in notebook_regions(read_notebook(nb_path), rel_nb)
               if r.kind == "answer"]
        if not ids:
            continue
        total += len(ids)
        try:
            nb = read_notebook(sub / rel_nb)
            cells = {c.get("id"): c for c in nb.cells}
        except Exception:  # noqa: BLE001
            cells = {}
        for cid in ids:
            c = cells.get(cid)
            if c is None or "YOUR ANSWER" in c.source or not c.source.strip():
                missing.append(f"{rel_nb}::{cid}")
    return {"total": total, "unanswered": missing}


def render_markdown(result):
    lines = [f"# Grade: {result['title']}", "",
             f"Submission `{result['submission']}`, graded in {result['mode']} mode "
             f"in {result['seconds']:.0f} s.", "",
             f"**Total: {result['total']:g} / {result['max_points']:g}**", "",
             "| question | points | what failed |", "|---|---|---|"]
    for q in result["questions"]:
        msg = q["message"].replace("|", "\\|") or "-"
        lines.append(f"| {q['name']} | {q['points']:g} / {q['max_points']:g} | {msg} |")
    a = result["answers"]
    if a["total"]:
        lines += ["", f"Inline answers (graded by hand): {a['total'] - len(a['unanswered'])} of "
                  f"{a['total']} written" + (": missing " + ", ".join(f"`{x}`" for x in a["unanswered"])
                                              if a["unanswered"] else ".")]
    return "\n".join(lines) + "\n"


def grade_from_run(decl, run_dir):
    """The reference solution's notebook questions, judged on a smoke run of the runner
    (`python -m dl4cv_tools.runner --smoke --out RUN_DIR`, as `make test` does): the notebook the
    grader would execute for the solution is the reference notebook itself, so its checks are
    evaluated on the runner's executed copy instead of a second execution.
    -> problems (questions that would not get full points)."""
    run_dir = Path(run_dir)
    try:
        entries = {e["notebook"]: e for e in
                   json.loads((run_dir / "report.json").read_text())["notebooks"]}
    except (OSError, ValueError, KeyError) as e:
        return [f"{decl.assignment}: no runner report in {run_dir} ({type(e).__name__})"]
    problems = []
    for q in decl.questions:
        if not q.notebook:
            continue
        nb_rel = f"{decl.assignment}/{q.notebook}"
        entry = entries.get(nb_rel)
        if entry is None:
            problems.append(f"{nb_rel}: not in {run_dir}/report.json")
            continue
        try:
            nb = read_notebook(run_dir / "notebooks" / nb_rel)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{nb_rel}: no executed copy ({type(e).__name__})")
            continue
        text = notebook_text(nb)
        failed = [w for ok, w in (evaluate_check(c, text) for c in q.checks) if not ok]
        if q.complete and entry.get("status") != "ok":
            failed.insert(0, f"notebook {entry.get('status')}: "
                             f"{_one_line(entry.get('failure') or '', 160)}")
        if failed:
            problems.append(f"solution loses {decl.assignment} {q.name!r}: " + "; ".join(failed))
    return problems

