"""Course checks: a notebook prints each check with its threshold, and the runner enforces it.

    check("next_h error", rel_error(expected_next_h, next_h), below=1e-8)

prints one line a person reads and the runner parses:

    next_h error: 6.29242e-09  [course: < 1e-08] ok

A check that misses its threshold prints `FAILED` instead of `ok` (it does not raise, so a
student sees every check of the cell); `python -m dl4cv_tools.runner` marks the notebook failed, and
`make test` fails. Thresholds are the course's own (its "should be less than 1e-8", "should be
around 2.3"); `by="target"` labels one of ours (a floor for smoke mode, say). `full_only=True`
prints the value but enforces nothing in smoke mode, for figures that need the course's sizes.
"""
import math
import re

from dl4cv.mode import is_smoke

CHECK_LINE_RE = re.compile(
    r"^(?P<name>.+?): (?P<value>\S+)  \[(?P<by>course|target): (?P<rule>[^\]]+)\] "
    r"(?P<status>ok|FAILED|not enforced in smoke mode)$")


def _as_float(value):
    if hasattr(value, "item"):          # numpy and torch scalars, 1-element tensors
        value = value.item()
    return float(value)


def _threshold(name, x):
    """A threshold as a finite float (a typo such as below="1e-8" fails here, not silently)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) and not hasattr(x, "item"):
        raise TypeError(f"check({name}=...) must be a number, not {type(x).__name__}")
    x = _as_float(x)
    if not math.isfinite(x):
        raise ValueError(f"check({name}=...) must be finite, not {x}")
    return x


def _rule(below, above, near, tol):
    if near is not None:
        if tol is None:
            raise ValueError("check(near=...) needs tol=... (the course's 'around' margin)")
        if below is not None or above is not None:
            raise ValueError("check(near=...) takes no below= or above=")
        near, tol = _threshold("near", near), _threshold("tol", tol)
        if tol < 0:
            raise ValueError(f"check(tol=...) must be >= 0, not {tol:g}")
        rule = f"~ {_format_value(near)} +/- {_format_value(tol)}"
        return rule, lambda v: abs(v - near) <= tol
    if tol is not None:
        raise ValueError("check(tol=...) goes with near=...")
    if below is not None and above is not None:
        below, above = _threshold("below", below), _threshold("above", above)
        if not above < below:
            raise ValueError(f"check(above={above:g}, below={below:g}): no value can pass")
        rule = f"{_format_value(above)} < value < {_format_value(below)}"
        return rule, lambda v: above < v < below
    if below is not None:
        below = _threshold("below", below)
        return f"< {_format_value(below)}", lambda v: v < below
    if above is not None:
        above = _threshold("above", above)
        return f"> {_format_value(above)}", lambda v: v > above
    raise ValueError("check() needs a threshold: below=, above= or near= with tol=")


def _format_value(v: float) -> str:
    """Whole numbers (parameter counts, exact matches) in full; others to 6 significant digits."""
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def check(name: str, value, *, below=None, above=None, near=None, tol=None,
          full_only=False, by="course") -> bool:
    """Print `name: value  [by: rule] ok|FAILED`; returns whether the value passes.

    value: a number (float, int, numpy or torch scalar, 1-element array). NaN never passes.
    Bad arguments (no threshold, a threshold that is not a finite number, `near` without `tol`,
    a name the runner could not parse back) raise, so a typo cannot make a check vacuous."""
    if not isinstance(name, str) or not name.strip() or name != name.strip() \
            or any(ch in name for ch in ":[\n\r"):
        # the runner and the grader find a check by its name in the printed line
        raise ValueError(f"check name must be one line of text without ':' or '[' and without "
                         f"leading/trailing spaces: {name!r}")
    if by not in ("course", "target"):
        raise ValueError(f"by must be 'course' or 'target', not {by!r}")
    rule, passes = _rule(below, above, near, tol)
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"check({name!r}, value): value must be a number, not {value!r}")
    v = _as_float(value)
    ok = not math.isnan(v) and passes(v)
    if full_only and is_smoke():
        status = "not enforced in smoke mode"
    else:
        status = "ok" if ok else "FAILED"
    print(f"{name}: {_format_value(v)}  [{by}: {rule}] {status}", flush=True)
    return ok


def parse_check_line(line: str):
    """A printed check line -> {name, value, by, rule, status}, or None for any other line."""
    m = CHECK_LINE_RE.match(line.strip())
    return m.groupdict() if m else None
