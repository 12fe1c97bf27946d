"""dl4cv.check: the printed line (which the runner and the grader parse back), its thresholds,
NaN, `full_only` in smoke vs full mode, and the arguments it refuses."""
import math

import numpy as np
import pytest
import torch

from dl4cv.checks import check, parse_check_line


def _printed(capsys):
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv("DL4CV_SMOKE", "1")
    monkeypatch.delenv("FULL", raising=False)


@pytest.fixture
def full(monkeypatch):
    monkeypatch.setenv("DL4CV_SMOKE", "0")
    monkeypatch.setenv("FULL", "1")


def test_the_printed_line_and_its_parse(capsys, full):
    assert check("next_h error", 6.29242e-09, below=1e-8) is True
    line = _printed(capsys)
    assert line == "next_h error: 6.29242e-09  [course: < 1e-08] ok"
    assert parse_check_line(line) == {"name": "next_h error", "value": "6.29242e-09",
                                      "by": "course", "rule": "< 1e-08", "status": "ok"}
    assert parse_check_line("  " + line + "  ")["name"] == "next_h error"  # indented output


@pytest.mark.parametrize("kwargs, value, ok, rule", [
    (dict(below=1e-8), 9.9e-9, True, "< 1e-08"),
    (dict(below=1e-8), 1e-8, False, "< 1e-08"),          # strictly below
    (dict(above=0.25), 0.26, True, "> 0.25"),
    (dict(above=0.25), 0.25, False, "> 0.25"),           # strictly above
    (dict(near=2.3, tol=0.1), 2.39, True, "~ 2.3 +/- 0.1"),
    (dict(near=2.3, tol=0.1), 2.2, True, "~ 2.3 +/- 0.1"),
    (dict(near=2.3, tol=0.1), 2.41, False, "~ 2.3 +/- 0.1"),
    (dict(near=-1.0, tol=0.0), -1.0, True, "~ -1 +/- 0"),
    (dict(above=0.1, below=0.2), 0.15, True, "0.1 < value < 0.2"),
    (dict(above=0.1, below=0.2), 0.2, False, "0.1 < value < 0.2"),
    (dict(above=0.1, below=0.2), 0.05, False, "0.1 < value < 0.2"),
])
def test_thresholds(capsys, full, kwargs, value, ok, rule):
    assert check("a figure", value, **kwargs) is ok
    parsed = parse_check_line(_printed(capsys))
    assert parsed["rule"] == rule and parsed["status"] == ("ok" if ok else "FAILED")


@pytest.mark.parametrize("value", [float("nan"), np.float32("nan"), torch.tensor(float("nan"))])
@pytest.mark.parametrize("kwargs", [dict(below=1.0), dict(above=-1.0), dict(near=0.0, tol=1e9)])
def test_nan_never_passes(capsys, full, value, kwargs):
    assert check("loss", value, **kwargs) is False
    parsed = parse_check_line(_printed(capsys))
    assert parsed["status"] == "FAILED" and parsed["value"] == "nan"


def test_infinity_fails_a_bound_and_prints_parseably(capsys, full):
    assert check("rel error", math.inf, below=1e-7) is False
    assert parse_check_line(_printed(capsys))["value"] == "inf"


@pytest.mark.parametrize("value", [np.float64(0.5), np.float32(0.5), np.array([0.5]),
                                   torch.tensor(0.5), torch.tensor([0.5], dtype=torch.float64), 1])
def test_numpy_and_torch_scalars(capsys, full, value):
    assert check("accuracy", value, above=0.4) is True
    assert parse_check_line(_printed(capsys))["status"] == "ok"


def test_full_only_is_printed_but_not_enforced_in_smoke_mode(capsys, smoke):
    assert check("val accuracy", 0.1, above=0.5, full_only=True) is False
    parsed = parse_check_line(_printed(capsys))
    assert parsed["status"] == "not enforced in smoke mode" and parsed["value"] == "0.1"
    # a check without full_only is enforced in smoke mode too
    check("val accuracy", 0.1, above=0.5)
    assert parse_check_line(_printed(capsys))["status"] == "FAILED"


def test_full_only_is_enforced_in_full_mode(capsys, full):
    assert check("val accuracy", 0.1, above=0.5, full_only=True) is False
    assert parse_check_line(_printed(capsys))["status"] == "FAILED"
    check("val accuracy", 0.6, above=0.5, full_only=True)
    assert parse_check_line(_printed(capsys))["status"] == "ok"


def test_target_label(capsys, full):
    check("val accuracy", 0.3, above=0.2, by="target")
    line = _printed(capsys)
    assert line == "val accuracy: 0.3  [target: > 0.2] ok" and parse_check_line(line)["by"] == "target"


@pytest.mark.parametrize("args, kwargs, error", [
    (("x", 1.0), {}, ValueError),                                    # no threshold
    (("x", 1.0), dict(near=1.0), ValueError),                        # near without tol
    (("x", 1.0), dict(tol=0.1), ValueError),                         # tol without near
    (("x", 1.0), dict(near=1.0, tol=0.1, below=2.0), ValueError),    # near and a bound
    (("x", 1.0), dict(near=1.0, tol=-0.1), ValueError),              # negative margin
    (("x", 1.0), dict(above=2.0, below=1.0), ValueError),            # nothing can pass
    (("x", 1.0), dict(below="1e-8"), TypeError),                     # a string threshold
    (("x", 1.0), dict(below=float("nan")), ValueError),
    (("x", 1.0), dict(below=math.inf), ValueError),
    (("x", 1.0), dict(below=True), TypeError),
    (("x", 1.0), dict(below=1.0, by="ours"), ValueError),
    (("x", "0.5"), dict(below=1.0), TypeError),                      # a string value
    (("x", None), dict(below=1.0), TypeError),
    (("x", np.array([0.1, 0.2])), dict(below=1.0), ValueError),      # not one number
    (("a: b", 1.0), dict(below=2.0), ValueError),                    # names the parser splits on
    (("a [b]", 1.0), dict(below=2.0), ValueError),
    (("two\nlines", 1.0), dict(below=2.0), ValueError),
    ((" padded", 1.0), dict(below=2.0), ValueError),
    (("", 1.0), dict(below=2.0), ValueError),
])
def test_bad_arguments_raise_before_printing(capsys, full, args, kwargs, error):
    with pytest.raises(error):
        check(*args, **kwargs)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("line", [
    "max relative error: 3.1e-10",                           # a plain course print
    "[dl4cv] svm best validation accuracy = 0.382",         # a record() line
    "loss: 2.3  [course: < 3] maybe",                       # unknown status
    "loss: 2.3 [course: < 3] ok",                           # one space, not two
    "loss: 2.3  [ours: < 3] ok",
])
def test_other_lines_are_not_checks(line):
    assert parse_check_line(line) is None


def test_every_printed_line_parses_back(capsys, full):
    """Names with spaces, digits and punctuation other than ':' and '[' round-trip."""
    names = ["W1 relative error", "dx error (train mode)", "loss, no regularization", "mAP@0.5"]
    for name in names:
        check(name, 0.5, near=0.5, tol=0.0)
    lines = capsys.readouterr().out.splitlines()
    assert [parse_check_line(l)["name"] for l in lines] == names


def test_whole_numbers_print_in_full(capsys):
    # Parameter counts read as counts, not as 1.85832e+06.
    assert check("D parameters", 1858320, near=1858320, tol=0)
    line = capsys.readouterr().out.strip()
    assert line == "D parameters: 1858320  [course: ~ 1858320 +/- 0] ok"
    assert parse_check_line(line)["value"] == "1858320"
