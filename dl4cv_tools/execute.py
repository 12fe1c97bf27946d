"""Execute a notebook headless, and read what it printed: the one notebook executor and the
one output parser of the tooling (the runner, the grader and course_compat all use them).

    run = NotebookRun(nb, cwd, cell_timeout=600, budget=900)
    result = run.execute()          # -> Execution (status, error, failing cell, seconds)
    headline, checks, data, course_checks = extract_figures(result.nb)

Cells run one by one in a kernel started in `cwd` (so `from cs231n.layers import ...`
resolves). `budget` is a time limit for the whole notebook (the kernel start not counted):
each cell gets the smaller of `cell_timeout` and what is left of it. The first failing cell
stops the notebook, unless `allow_errors` (course_compat runs the courses' notebooks to the
end and classifies every failing cell). The grader runs notebooks in a subprocess with a hard
time limit of its own: `python -m dl4cv_tools.execute NB OUT --timeout S` writes the (partly)
executed notebook to OUT and a status to OUT.status.json.

The printed lines are parsed here only: `[dl4cv] name = value` records (dl4cv.report), course
checks (dl4cv.checks.parse_check_line, which lives beside the printer so the two cannot
drift apart), `[dl4cv:data]` notes and other course-style prints.
"""
import argparse
import json
import math
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dl4cv.checks import parse_check_line
from dl4cv.report import DATA_PREFIX, RECORD_RE

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Course-style prints that are not dl4cv checks ("relative error: 1e-9", "accuracy = 0.38").
FIGURE_RE = re.compile(
    r"(?i)\b(rel(?:ative)?[ _-]?error|error|difference|accuracy|acc|loss|mAP)\b[^:=\n]{0,60}[:=]\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?)")
MAX_FIGURES = 40


# ---------------------------------------------------------------------------------------------
# Executing
# ---------------------------------------------------------------------------------------------
class BudgetExceeded(TimeoutError):
    """The notebook's time budget ran out before a cell could start."""


@dataclass
class Execution:
    nb: object                  # the notebook, executed as far as it went
    status: str = "ok"          # "ok" | "failed"
    error: BaseException = None  # what stopped it (None when ok)
    cell: int = None            # index of the cell that raised, if one did
    seconds: float = 0.0
    over_budget: bool = False   # stopped by `budget` (not by a cell's own timeout)
    probe: str = None           # what the `probe` code printed after the last cell (if it ran)


class NotebookRun:
    """One execution of one notebook (an nbformat node, executed in place)."""

    def __init__(self, nb, cwd, cell_timeout=None, budget=None, allow_errors=False,
                 interrupt_on_timeout=False, on_cell_start=None, probe=None):
        from nbclient import NotebookClient
        self.nb, self.cell_timeout, self.budget, self.probe = nb, cell_timeout, budget, probe
        self.client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                                     allow_errors=allow_errors,
                                     interrupt_on_timeout=interrupt_on_timeout,
                                     resources={"metadata": {"path": str(cwd)}},
                                     on_cell_start=on_cell_start)

    def kill(self):
        """Kill the kernel process (from a signal handler: nbclient then fails the running
        cell with DeadKernelError and cleans up normally)."""
        process = getattr(getattr(self.client.km, "provisioner", None), "process", None)
        if process is not None:
            process.kill()

    def execute(self) -> Execution:
        """Run every cell in order; never raises (the failure is in the Execution)."""
        result = Execution(self.nb)
        client, start = self.client, time.perf_counter()
        running, budget_bound = None, False     # the cell now running; its limit the budget's?
        try:
            with client.setup_kernel():
                deadline = time.monotonic() + self.budget if self.budget else None
                self._language_info()
                for index, cell in enumerate(self.nb.cells):
                    if deadline is not None and cell.cell_type == "code":
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise BudgetExceeded(f"time limit of {self.budget} s reached "
                                                 f"before cell {index}")
                        limit = self.cell_timeout or math.inf
                        budget_bound = left < limit
                        client.timeout = max(1, int(min(limit, left)))
                    running = index
                    client.execute_cell(cell, index,
                                        execution_count=client.code_cells_executed + 1)
                    running = None
                if self.probe:
                    result.probe = self._run_probe()
                client.set_widgets_metadata()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none escapes
            result.status, result.error = "failed", e
            result.cell = running
            result.over_budget = isinstance(e, BudgetExceeded) or (
                budget_bound and running is not None and _is_cell_timeout(e))
        except BaseException as e:  # noqa: BLE001 - SystemExit from a SIGTERM handler
            result.status, result.error = "failed", e
        result.seconds = time.perf_counter() - start
        return result

    def _run_probe(self):
        """Run `probe` in the kernel after the last cell, as a cell that is then taken out
        again (the notebook keeps only its own cells); -> its stdout."""
        import nbformat
        cell = nbformat.v4.new_code_cell(self.probe)
        self.nb.cells.append(cell)
        try:
            self.client.timeout = 60
            self.client.execute_cell(cell, len(self.nb.cells) - 1, store_history=False)
        finally:
            self.nb.cells.pop()
        return "".join(o.get("text", "") for o in cell.outputs
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")

    def _language_info(self):
        """As nbclient's own execute(): the kernel's language_info into the notebook."""
        client = self.client
        reply = client.wait_for_reply(client.kc.kernel_info())
        if reply is not None and "language_info" in reply["content"]:
            self.nb.metadata["language_info"] = reply["content"]["language_info"]


def _is_cell_timeout(e):
    from nbclient.exceptions import CellTimeoutError
    return isinstance(e, CellTimeoutError)


def read_notebook(path):
    import nbformat
    return nbformat.read(str(path), as_version=4)


def write_notebook(nb, path):
    import nbformat
    Path(path).write_text(nbformat.writes(nb) + "\n")


# ---------------------------------------------------------------------------------------------
# Reading what a notebook printed
# ---------------------------------------------------------------------------------------------
def text_outputs(nb, streams=("stdout", "stderr")):
    """-> (cell index, text) of every text output, in order: the streams named and the text of
    results. A result (e.g. "<Figure size 640x480 with 1 Axes>") ends its own line: glued to the
    next print it would hide that print's check line."""
    for index, cell in enumerate(nb.cells if nb is not None else []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                if out.get("name", "stdout") in streams:
                    yield index, out.get("text", "")
            elif out.get("output_type") in ("execute_result", "display_data"):
                yield index, out.get("data", {}).get("text/plain", "") + "\n"


def notebook_text(nb):
    """Everything the notebook printed to stdout (and its text results), in order, without
    terminal colours: what the grader's checks read."""
    return ANSI_RE.sub("", "".join(text for _, text in text_outputs(nb, streams=("stdout",))))


def extract_figures(nb):
    """-> (headline: {name: value}, figures: [line, ...], data: [description, ...],
    course_checks: [{name, value, by, rule, status, cell}, ...]).

    `course_checks` are the `dl4cv.check` lines (cell = 1-based cell number); `figures` are
    the other course-style prints (a check line is never listed twice)."""
    headline, figures, data, course_checks = {}, [], [], []
    for index, text in text_outputs(nb):
        for line in ANSI_RE.sub("", text).splitlines():
            line = line.strip()
            m = RECORD_RE.match(line)
            parsed = None if m else parse_check_line(line)
            if m:
                headline[m.group("name")] = m.group("value")
            elif parsed:
                course_checks.append(dict(parsed, cell=index + 1))
            elif line.startswith(DATA_PREFIX):
                desc = line[len(DATA_PREFIX):].strip()
                if desc not in data:
                    data.append(desc)
            elif FIGURE_RE.search(line) and len(line) < 160 and len(figures) < MAX_FIGURES:
                figures.append(line)
    return headline, figures, data, course_checks


def records(text):
    """-> [(name, value)] of the `[dl4cv] name = value` lines of `text`, in order."""
    return [(m.group("name"), m.group("value")) for ln in text.splitlines()
            if (m := RECORD_RE.match(ln.strip()))]


def course_checks(text):
    """-> the parsed `dl4cv.check` lines of `text`, in order."""
    return [c for ln in text.splitlines() if (c := parse_check_line(ln))]


# ---------------------------------------------------------------------------------------------
# Subprocess entry point (the grader's): python -m dl4cv_tools.execute NB OUT --timeout S
# ---------------------------------------------------------------------------------------------
def one_line(text, limit=200):
    """`text` on one line, without terminal colours, at most `limit` characters."""
    text = " ".join(ANSI_RE.sub("", str(text)).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _terminate(signum, frame):
    raise SystemExit(f"terminated by signal {signum}")


def status_of(result: Execution) -> dict:
    """The status file's content: {"status", "error"[, "cell"]}."""
    if result.status == "ok":
        return {"status": "ok", "error": None}
    e = result.error
    if result.cell is not None:
        ename = getattr(e, "ename", type(e).__name__)
        evalue = getattr(e, "evalue", str(e).splitlines()[0] if str(e) else "")
        return {"status": "failed", "cell": result.cell,
                "error": one_line(f"cell {result.cell}: {ename}: {evalue}", 300)}
    return {"status": "failed", "error": one_line(f"{type(e).__name__}: {e}", 300)}


def main(argv=None):
    """Run NB within --timeout seconds in total (kernel start not counted); always write the
    (partly) executed notebook to OUT and OUT.status.json."""
    parser = argparse.ArgumentParser(prog="dl4cv_tools.execute", description=main.__doc__)
    parser.add_argument("notebook")
    parser.add_argument("out")
    parser.add_argument("--timeout", type=int, required=True, help="seconds for the notebook")
    args = parser.parse_args(argv)
    nb_path, out_path = Path(args.notebook), Path(args.out)
    signal.signal(signal.SIGTERM, _terminate)
    nb = None
    try:
        nb = read_notebook(nb_path)
        status = status_of(NotebookRun(nb, nb_path.parent, budget=args.timeout).execute())
    except BaseException as e:  # noqa: BLE001 - a notebook that does not read, SIGTERM
        status = {"status": "failed", "error": one_line(f"{type(e).__name__}: {e}", 300)}
    finally:
        if nb is not None:
            write_notebook(nb, out_path)
        Path(str(out_path) + ".status.json").write_text(json.dumps(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
