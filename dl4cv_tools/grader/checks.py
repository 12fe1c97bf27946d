"""A notebook question's checks, judged on what the notebook printed
(dl4cv_tools.execute.notebook_text): `record`, `regex`, `contains` and `check` (a
dl4cv.check line, judged by the notebook's own threshold)."""
import math
import re

from dl4cv_tools.execute import course_checks, records


def _num(text):
    text = text.strip().rstrip("%,;")
    try:
        return float(text)
    except ValueError:
        return math.nan


def evaluate_check(check, text):
    """-> (ok, description). A check: {record|regex|contains, min, max, count}."""
    lo, hi = check.get("min", -math.inf), check.get("max", math.inf)
    if "contains" in check:
        ok = check["contains"] in text
        return ok, f"prints {check['contains']!r}" + ("" if ok else ": not printed")
    if "check" in check:  # a `dl4cv.check(...)` line: the notebook's own threshold decides
        name = check["check"]
        lines = [c for c in course_checks(text) if c["name"] == name]
        if not lines:
            return False, f"{name}: not printed"
        failed = [c for c in lines if c["status"] == "FAILED"]
        c = (failed or lines)[-1]
        return not failed, f"{name} = {c['value']} ({c['by']}: {c['rule']}) {c['status']}"
    if "record" in check:
        name = check["record"]
        values = [value for key, value in records(text) if key == name]
        if not values:
            return False, f"{name}: not printed"
        found = [_num(values[-1])]
        what = name
    elif "regex" in check:
        found = [_num(m.group(1)) for m in re.finditer(check["regex"], text, re.MULTILINE)]
        what = check.get("name", check["regex"])
        if len(found) < check.get("count", 1):
            return False, f"{what}: printed {len(found)} times, expected {check.get('count', 1)}"
    else:
        return False, f"bad check {check}"
    bad = [v for v in found if not (lo <= v <= hi)]
    bounds = " and ".join(x for x in (f">= {lo:g}" if lo > -math.inf else "",
                                      f"<= {hi:g}" if hi < math.inf else "") if x)
    if bad:
        return False, f"{what} = {bad[0]:g}, expected {bounds}"
    return True, f"{what} = {found[-1]:g} ({bounds})"

