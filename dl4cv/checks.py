"""Course checks: a notebook prints each check with its threshold, and the runner enforces it.

    check("next_h error", rel_error(expected_next_h, next_h), below=1e-8)

prints one line a person reads and the runner parses:

    next_h error: 6.29242e-09  [course: < 1e-08] ok

A check that misses its threshold prints `FAILED` instead of `ok` (it does not raise, so a
student sees every check of the cell); `python -m dl4cv.runner` marks the notebook failed, and
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


def _rule(below, above, near, tol):
    if near is not None:
        if tol is None:
            raise ValueError("check(near=...) needs tol=... (the course's 'around' margin)")
        return f"~ {near:g} +/- {tol:g}", lambda v: abs(v - near) <= tol
    if below is not None and above is not None:
        return f"{above:g} < value < {below:g}", lambda v: above < v < below
    if below is not None:
        return f"< {below:g}", lambda v: v < below
    if above is not None:
        return f"> {above:g}", lambda v: v > above
    raise ValueError("check() needs a threshold: below=, above= or near= with tol=")


def check(name: str, value, *, below=None, above=None, near=None, tol=None,
          full_only=False, by="course") -> bool:
    """Print `name: value  [by: rule] ok|FAILED`; returns whether the value passes.

    value: a number (float, int, numpy or torch scalar). NaN never passes."""
    if ":" in name or "[" in name:
        raise ValueError(f"check name must not contain ':' or '[': {name!r}")
    if by not in ("course", "target"):
        raise ValueError(f"by must be 'course' or 'target', not {by!r}")
    rule, passes = _rule(below, above, near, tol)
    v = _as_float(value)
    ok = not math.isnan(v) and passes(v)
    if full_only and is_smoke():
        status = "not enforced in smoke mode"
    else:
        status = "ok" if ok else "FAILED"
    print(f"{name}: {v:.6g}  [{by}: {rule}] {status}", flush=True)
    return ok


def parse_check_line(line: str):
    """A printed check line -> {name, value, by, rule, status}, or None for any other line."""
    m = CHECK_LINE_RE.match(line.strip())
    return m.groupdict() if m else None
