"""The grader's pytest plugin (`-p dl4cv_tools.grader.plugin` in the test subprocess) and the
reader of what it writes: every collected test and every report, one JSON line each, as they
happen, so that a test that never reported (the process stopped: os._exit,
KeyboardInterrupt, pytest.exit) counts as failed."""
import json
import os
from pathlib import Path

OUTCOMES_ENV = "DL4CV_GRADER_OUTCOMES"
_outcomes = {"fh": None}


def pytest_configure(config):
    path = os.environ.pop(OUTCOMES_ENV, None)     # out of reach of the code under test
    if path:
        _outcomes["fh"] = open(path, "a", buffering=1)


def _record(**entry):
    if _outcomes["fh"] is not None:
        _outcomes["fh"].write(json.dumps(entry) + "\n")


def pytest_collection_finish(session):
    try:    # skipped by a mark (no CUDA, optional data): decided before any test code runs
        from _pytest.skipping import evaluate_skip_marks
    except ImportError:
        evaluate_skip_marks = None
    for item in session.items:
        try:
            by_mark = bool(evaluate_skip_marks and evaluate_skip_marks(item))
        except Exception:  # noqa: BLE001 - a condition that does not evaluate: not skipped
            by_mark = False
        _record(collected=item.nodeid, by_mark=by_mark)


def pytest_collectreport(report):
    if report.failed:
        _record(collect_error=report.nodeid, message=_report_message(report))


def pytest_runtest_logreport(report):
    _record(nodeid=report.nodeid, when=report.when, outcome=report.outcome,
            xfail=hasattr(report, "wasxfail"), message=_report_message(report))


def _report_message(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:      # a skip: (file, line, reason)
        reason = str(longrepr[2])
        return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    text = str(longrepr or "").strip().splitlines()
    return text[-1] if text else ""


def read_outcomes(path):
    """-> (passed, counted, failures [(test name, why)]) from the plugin's file. Every collected
    test counts, except those a skip mark removed before they ran; a test passes only when its
    setup, call and teardown all reported and passed: a skipped test (pytest.skip() in a region),
    an expected failure or a test that never finished fails."""
    collected, by_mark, reports, errors = [], set(), {}, []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if "collected" in e:
            collected.append(e["collected"])
            if e.get("by_mark"):
                by_mark.add(e["collected"])
        elif "collect_error" in e:
            errors.append((e["collect_error"] or "collection", f"collection error: {e['message']}"))
        elif "nodeid" in e:
            reports.setdefault(e["nodeid"], {})[e["when"]] = e
    passed, counted, failures = 0, 0, list(errors)
    for nodeid in dict.fromkeys(collected):
        phases = reports.get(nodeid, {})
        setup = phases.get("setup", {})
        if nodeid in by_mark and setup.get("outcome") == "skipped" and not setup.get("xfail"):
            continue
        counted += 1
        name = nodeid.split("::", 1)[-1]
        bad = next((p for p in phases.values() if p["outcome"] == "failed"), None) or \
            next((p for p in phases.values() if p["outcome"] == "skipped"), None)
        if bad is not None:
            what = "skipped" if bad["outcome"] == "skipped" else None
            what = "expected failure" if bad.get("xfail") and what else what
            why = bad["message"] or bad["outcome"]
            failures.append((name, f"{what} (counts as failed): {why}" if what else why))
        elif phases.get("call", {}).get("outcome") != "passed" or "teardown" not in phases:
            failures.append((name, "did not finish (the test process stopped)"))
        else:
            passed += 1
    return passed, counted, failures

