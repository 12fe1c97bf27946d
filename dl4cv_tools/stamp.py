"""The stamp of a published notebook and the checks that it is still fresh.

    stamp_notebook(nb, mode=..., device=..., data=[...], commit=..., runtime_s=..., modules={...})
    freshness_problems(nb)   -> ["its code cells are not the ones that ran", ...]  ([] = fresh)
    module_drift(nb, root)   -> repository files changed since the notebook was published
    slim_outputs(nb, ...)    -> outputs cut to what a reader needs (logs, progress bars, pictures)

`metadata["dl4cv"]` = {"mode", "device", "data": [...], "commit", "code_hash", "runtime_s",
"modules": {path: sha256, or for a table file {entry: sha256}}}. `code_hash` covers every code
cell's source in order, so editing, adding, removing or moving a code cell makes the outputs
stale; markdown cells (the answers) may change without a rerun.
"""
import base64
import hashlib
import io
import re
import runpy
from pathlib import Path

from dl4cv.checks import parse_check_line
from dl4cv_tools.execute import ANSI_RE

STAMP_KEY = "dl4cv"
MAX_LOG_LINES = 60           # a longer stream output keeps its first and last LOG_KEEP lines
LOG_KEEP = 25
MAX_PNG_BYTES = 100_000      # a larger picture is palette-coded (and scaled to MAX_PNG_WIDTH)
MAX_PNG_WIDTH = 1000
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# a tqdm bar as text: "desc:  40%|####      | 4/10 [00:01<00:02,  2.9it/s]"
PROGRESS_RE = re.compile(r"^(?P<desc>[^\n|]*?):?\s*\d+%\|[^|\n]*\|\s*\d+/\d+")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path) -> str:
    return sha256(Path(path).read_bytes())


# Files that are tables of independent entries -> the table's name in the file. The stamp keeps
# one digest per entry, so adding a data set to the registry does not make every notebook that
# reads the registry stale; changing or removing an entry that was there when it ran does.
TABLE_FILES = {"dl4cv/data/registry.py": "DATASETS"}


def table_digests(path, table: str) -> dict:
    """{entry name: sha256 of the entry's repr} of the dict `table` that the file at `path`
    defines (the registry: frozen dataclasses, whose repr holds every field)."""
    entries = runpy.run_path(str(path))[table]
    return {name: sha256(repr(entry).encode()) for name, entry in sorted(entries.items())}


def module_digest(root, rel: str):
    """What the stamp records for repository file `rel`: its sha256, or per-entry digests for a
    table file."""
    path = Path(root) / rel
    if rel in TABLE_FILES:
        return table_digests(path, TABLE_FILES[rel])
    return file_hash(path)


def _drifted(root, rel: str, recorded) -> bool:
    path = Path(root) / rel
    if not path.is_file():
        return True
    if isinstance(recorded, dict):          # a table: only the entries it had count
        now = module_digest(root, rel) if rel in TABLE_FILES else {}
        return any(now.get(name) != digest for name, digest in recorded.items())
    return file_hash(path) != recorded


def code_hash(nb) -> str:
    """Hash of the code cells' sources, in order."""
    return sha256("\0".join(c.source for c in nb.cells if c.cell_type == "code").encode())


def stamp_notebook(nb, *, mode, device, data, commit, runtime_s, modules):
    nb.metadata[STAMP_KEY] = {"mode": mode, "device": device, "data": list(data), "commit": commit,
                              "code_hash": code_hash(nb), "runtime_s": round(float(runtime_s), 1),
                              "modules": dict(sorted(modules.items()))}
    nb.metadata.pop("widgets", None)


def stamp_of(nb) -> dict:
    return nb.metadata.get(STAMP_KEY) or {}


def error_outputs(nb) -> list:
    """(cell number, "Ename: evalue") of every error output."""
    return [(i + 1, f"{o.get('ename')}: {o.get('evalue')}") for i, c in enumerate(nb.cells)
            if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]


def freshness_problems(nb) -> list:
    """Why the notebook's outputs are not a full run of its current code ([] when they are)."""
    stamp = stamp_of(nb)
    if not stamp:
        return ["it has no publishing stamp (metadata['dl4cv'])"]
    problems = []
    if stamp.get("mode") != "full":
        problems.append(f"it was published in {stamp.get('mode')!r} mode, not 'full'")
    if stamp.get("code_hash") != code_hash(nb):
        problems.append("its code cells are not the ones that ran (edited after publishing)")
    problems += [f"cell {i} shows an error ({e})" for i, e in error_outputs(nb)]
    counts = [c.get("execution_count") for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if None in counts:
        problems.append(f"{counts.count(None)} code cell(s) never ran")
    elif counts != sorted(counts) or len(set(counts)) != len(counts):
        problems.append("its cells ran out of order")
    return problems


def module_drift(nb, root) -> list:
    """The files the notebook imported whose content changed (or that are gone) since it was
    published, relative to `root`."""
    return [path for path, digest in stamp_of(nb).get("modules", {}).items()
            if _drifted(root, path, digest)]


# ---------------------------------------------------------------------------------------------
# Making outputs light
# ---------------------------------------------------------------------------------------------
def _last_state(text: str) -> str:
    """A progress bar redrawn with carriage returns: keep what the reader saw last."""
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))


def _is_record(line: str) -> bool:
    """A line the report and the results table read: `[dl4cv]` records and course checks."""
    line = ANSI_RE.sub("", line).strip()
    return line.startswith("[dl4cv") or parse_check_line(line) is not None


def cut_log(text: str, full_log: str) -> str:
    """A log over MAX_LOG_LINES: its first and last LOG_KEEP lines, and in between only the
    records and course checks, with a line saying how much was cut and where the rest is."""
    lines = text.split("\n")
    trailing = lines[-1] == ""
    body = lines[:-1] if trailing else lines
    if len(body) <= MAX_LOG_LINES:
        return text
    middle = body[LOG_KEEP:-LOG_KEEP]
    kept = [line for line in middle if _is_record(line)]
    marker = f"... [{len(middle) - len(kept)} lines cut here; the whole log: {full_log}]"
    return "\n".join(body[:LOG_KEEP] + [marker] + kept + body[-LOG_KEEP:]) + ("\n" if trailing else "")


def _merged_streams(outputs):
    """Consecutive stream outputs of the same stream joined into one."""
    merged = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == out.get("name")):
            merged[-1]["text"] += out.get("text", "")
        else:
            merged.append(out)
    return merged


def smaller_png(b64: str) -> str:
    """A PNG (base64) over MAX_PNG_BYTES scaled to at most MAX_PNG_WIDTH wide and stored with a
    256-colour palette (plots and image grids look the same; a third of the bytes)."""
    raw = base64.b64decode(b64)
    if len(raw) <= MAX_PNG_BYTES:
        return b64
    from PIL import Image
    image = Image.open(io.BytesIO(raw))
    if image.mode in ("RGBA", "LA", "P"):     # matplotlib's transparent parts are shown on white
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    image = image.convert("RGB")
    if image.width > MAX_PNG_WIDTH:
        height = round(image.height * MAX_PNG_WIDTH / image.width)
        image = image.resize((MAX_PNG_WIDTH, height), Image.LANCZOS)
    buffer = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode() if buffer.tell() < len(raw) else b64


def _progress_desc(out):
    """The bar's description when a stderr output is nothing but a progress bar, else None."""
    if out.get("output_type") != "stream" or out.get("name") != "stderr":
        return None
    lines = [line for line in out["text"].split("\n") if line.strip()]
    matches = [PROGRESS_RE.match(line.strip()) for line in lines]
    if not lines or not all(matches):
        return None
    return matches[-1].group("desc").strip()


def _last_progress_only(outputs):
    """A bar redrawn between prints appears as many stderr outputs: keep each bar's last."""
    last = {}
    for index, out in enumerate(outputs):
        desc = _progress_desc(out)
        if desc is not None:
            last[desc] = index
    return [out for index, out in enumerate(outputs)
            if _progress_desc(out) is None or last[_progress_desc(out)] == index]


def slim_outputs(nb, full_log: str):
    """Outputs a reader needs, at a size a repository can hold: progress bars at their last
    state, logs over MAX_LOG_LINES cut to head and tail (naming `full_log`), widgets dropped,
    large PNGs palette-coded, run-time metadata removed."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in _merged_streams(cell.get("outputs", [])):
            if out.get("output_type") == "stream":
                out["text"] = cut_log(_last_state(out["text"]), full_log)
            elif out.get("output_type") in ("display_data", "execute_result"):
                data = out.get("data", {})
                if WIDGET_MIME in data:   # a live widget (tqdm's bar): its text is only its
                    continue              # first state, and no page can show the widget
                if "image/png" in data:
                    data["image/png"] = smaller_png(data["image/png"])
                if not data:
                    continue
            outputs.append(out)
        cell.outputs = _last_progress_only(outputs)
    return nb
