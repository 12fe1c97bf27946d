"""Every figure an answer quotes must be one the notebook printed above it.

    unbacked_figures(nb) -> [(cell number, "0.43"), ...]   # quoted but printed nowhere above

A *figure* is a number written with a decimal point, an exponent or a percent sign ("0.437",
"43.7%", "2e-9"); whole numbers ("k = 10", "5-NN", "options 1 and 3") are counted things or
labels and are not checked. Formulas (`$...$`) and code spans are not prose and are skipped.
A quoted figure is backed when some number printed by a code cell above the answer (text
outputs: stdout, stderr, text results) rounds to it at the precision it is quoted with, as a
fraction or as a percentage (0.4376 backs "0.44", "0.438" and "43.8%").
"""
import math
import re

from dl4cv_tools.execute import ANSI_RE, text_outputs

NUMBER = r"(?:\d+\.\d+|\.\d+|\d+)(?:[eE][-+]?\d+)?"
# a figure in prose: not part of a word, a version ("2.14.1") or a name ("conv3x3", "v2")
QUOTED_RE = re.compile(rf"(?<![\w.\-/])(?P<num>-?{NUMBER})(?P<pct>\s?%)?(?![\w.]\d|\w)")
PRINTED_RE = re.compile(rf"(?<![\w.])-?{NUMBER}")
MATH_RE = re.compile(r"\$\$.*?\$\$|\$[^$]+\$|```.*?```|`[^`\n]*`", re.S)


def is_figure(token: str, percent: bool) -> bool:
    return percent or "." in token or "e" in token.lower()


def quoted_figures(markdown: str) -> list:
    """The figures an answer quotes, as written ("0.437", "43.7%")."""
    text = MATH_RE.sub(" ", markdown)
    found = []
    for m in QUOTED_RE.finditer(text):
        num, pct = m.group("num"), bool(m.group("pct"))
        if is_figure(num, pct):
            found.append(num + ("%" if pct else ""))
    return found


def _tolerance(num: str) -> float:
    """Half a unit in the last quoted digit."""
    mantissa, _, exponent = num.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10 ** (-decimals + (int(exponent) if exponent else 0))


def backs(printed: float, quoted: str) -> bool:
    """Does a printed number round to the quoted figure (as a fraction or a percentage)?"""
    percent = quoted.endswith("%")
    num = quoted.rstrip("%").strip()
    value, tol = float(num), _tolerance(num) * (1 + 1e-9)
    candidates = [printed, printed * 100] if percent else [printed]
    if not percent and abs(value) <= 100 and "." in num:
        candidates.append(printed * 100)   # "43.7" quoting an accuracy printed as 0.437
    return any(math.isfinite(c) and abs(abs(c) - abs(value)) <= tol for c in candidates)


def printed_numbers(nb, upto: int) -> list:
    """The numbers in the text outputs of the cells before cell index `upto`."""
    numbers = []
    for index, text in text_outputs(nb):
        if index >= upto:
            break
        numbers += [float(t) for t in PRINTED_RE.findall(ANSI_RE.sub("", text))]
    return numbers


def unbacked_figures(nb) -> list:
    """(1-based cell number, figure) of each answer figure no output above it backs."""
    missing = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or "answer" not in cell.get("metadata", {}).get("tags", []):
            continue
        figures = quoted_figures(cell.source)
        if not figures:
            continue
        numbers = printed_numbers(nb, index)
        missing += [(index + 1, f) for f in figures if not any(backs(p, f) for p in numbers)]
    return missing
