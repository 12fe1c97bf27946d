"""Run the courses' own notebooks, unchanged, against our modules, and classify every failing cell.

    python tools/course_compat.py COURSE_NOTEBOOKS_DIR [--only NAME ...] [--timeout S]
                                  [--cuda-to-cpu] [--out DIR]

COURSE_NOTEBOOKS_DIR holds the official notebooks laid out as the courses ship them:
`assignment1/knn.ipynb` ... (CS231n 2020) and/or `A4/style_transfer.ipynb` ... (EECS 498-007
FA2020), e.g. a public copy fetched for the purpose (never committed here). Each notebook runs
in a temporary copy of our assignment folder (plus `eecs598` for EECS), with the data linked where
the course's own download script puts it. Only Colab / shell / download lines are neutralised
(commented out); `--cuda-to-cpu` also turns the EECS notebooks' hard-coded 'cuda' devices into
'cpu', to reach the cells behind them on a machine without a GPU.

Each failing cell is classified: `api` (our modules' names, signatures or behaviour: must be
fixed), `data` (a full data set or pretrained weights that can't be had here), `gpu` (CUDA-only
code), `env` (a package the course used that the project does not install, e.g. TensorFlow),
`time` (a cell that ran past --timeout on this CPU), `colab` (a cell that reads the Colab Drive
folder, e.g. the PDF/submission helpers) or `cascade` (a name that an earlier failing
cell should have defined). Writes <out>/compat.json and prints a summary table.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = {  # course folder name -> our folder
    **{f"assignment{i}": f"cs231n/assignment{i}" for i in (1, 2, 3)},
    **{f"A{i}": f"eecs498/A{i}" for i in (4, 5, 6)},
}
# Lines that only make sense on Colab or with internet: commented out, nothing else changes.
NEUTRALISE_RE = re.compile(
    r"^\s*(!|%cd\b|%%bash|%pip\b)|google\.colab|drive\.mount|os\.chdir\(|"
    r"os\.listdir\(GOOGLE_DRIVE_PATH\)|urllib\.request\.urlretrieve|files\.upload\(")
CUDA_RE = re.compile(r"CUDA|cuda|NVIDIA driver|GPU")
DATA_ENAMES = {"FileNotFoundError", "DataMissingError", "URLError", "HTTPError", "gaierror"}
DATA_WORDS = re.compile(r"get_datasets\.sh|No such file|not found on disk|download|"
                        r"imagenet|coco|VOC|squeezenet|pretrained|weights", re.I)
CLASSES = ("api", "data", "gpu", "env", "time", "colab", "cascade")
THIRD_PARTY_MODULES = {"tensorflow", "google", "imageio", "skimage", "scipy.misc"}


def neutralise(source: str, cuda_to_cpu: bool) -> str:
    lines = []
    for line in source.splitlines():
        if NEUTRALISE_RE.search(line):
            indent = re.match(r"\s*", line).group(0)
            line = f"{indent}pass  # [compat] {line.strip()}"
        if cuda_to_cpu:
            line = (line.replace("'cuda'", "'cpu'").replace('"cuda"', '"cpu"')
                    .replace(".cuda()", ".cpu()").replace("cuda=True", "cuda=False"))
        lines.append(line)
    return "\n".join(lines)


def prepare_folder(course_folder: str, tmp: Path) -> Path:
    """A scratch copy of our assignment folder, with the course-located data links."""
    ours = REPO_ROOT / ASSIGNMENTS[course_folder]
    work = tmp / course_folder
    shutil.copytree(ours, work, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__",
                                                              ".ipynb_checkpoints"),
                    symlinks=True)
    if course_folder.startswith("A"):
        shutil.copytree(REPO_ROOT / "eecs498" / "eecs598", work / "eecs598",
                        ignore=shutil.ignore_patterns("__pycache__"))
    data = Path(os.environ.get("DL4CV_DATA", REPO_ROOT / "data"))
    datasets = work / "cs231n" / "datasets"
    if (work / "cs231n").is_dir():
        datasets.mkdir(exist_ok=True)
        for name in ("cifar-10-batches-py", "coco_captioning", "imagenet_val_25.npz"):
            if (data / name).exists() and not (datasets / name).exists():
                (datasets / name).symlink_to(data / name)
    # What the course's starter folder ships beside the code (check values, pictures).
    shipped = data / "course_files" / ASSIGNMENTS[course_folder]
    for src in sorted(shipped.rglob("*")) if shipped.is_dir() else []:
        dst = work / src.relative_to(shipped)
        if src.is_file() and not src.name.endswith(".ok") and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
    if (data / "styles").is_dir() and not (work / "styles").exists():
        (work / "styles").symlink_to(data / "styles")
    return work


def classify(failure, earlier_failed_sources):
    ename, evalue, tb = failure["ename"], failure["evalue"], failure["traceback"]
    if ename in ("CellTimeoutError", "DeadKernelError", "KeyboardInterrupt"):
        return "time"
    if "My Drive" in evalue or "GOOGLE_DRIVE_PATH" in tb or "google.colab" in tb:
        return "colab"
    if CUDA_RE.search(evalue) or "torch.cuda" in tb or "_cuda_init" in tb:
        return "gpu"
    if ename in ("ModuleNotFoundError", "ImportError"):
        missing = re.search(r"No module named '([^']+)'", evalue)
        if missing and missing.group(1).split(".")[0] in {m.split(".")[0] for m in THIRD_PARTY_MODULES}:
            return "env"
        return "api"
    if ename in DATA_ENAMES or (ename in ("OSError", "ValueError", "RuntimeError") and DATA_WORDS.search(evalue)):
        return "data"
    if ename == "NameError":
        name = re.search(r"name '([^']+)' is not defined", evalue)
        if name and any(re.search(rf"\b{re.escape(name.group(1))}\b", s) for s in earlier_failed_sources):
            return "cascade"
    return "api"


def run_notebook(nb_path: Path, course_folder: str, timeout: int, cuda_to_cpu: bool):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.source = neutralise(cell.source, cuda_to_cpu)
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        work = prepare_folder(course_folder, Path(tmp))
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                interrupt_on_timeout=True,
                                resources={"metadata": {"path": str(work)}})
        start = time.perf_counter()
        crashed = None
        try:
            client.execute()
        except Exception as e:  # noqa: BLE001 - a dead kernel ends the notebook, not the run
            crashed = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        runtime = time.perf_counter() - start
    failures, failed_sources, code_cells = [], [], 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code_cells += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            f = {"cell": index, "ename": out["ename"], "evalue": out["evalue"][:300],
                 "traceback": re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(out.get("traceback", [])))[-3000:],
                 "head": cell.source.strip().splitlines()[0][:100] if cell.source.strip() else ""}
            f["class"] = classify(f, failed_sources)
            failures.append(f)
            failed_sources.append(cell.source)
    return {"notebook": f"{course_folder}/{nb_path.name}", "code_cells": code_cells,
            "runtime_s": round(runtime, 1), "crashed": crashed, "failures": failures}


def find_notebooks(root: Path, only):
    found = []
    for course_folder in ASSIGNMENTS:
        for nb in sorted((root / course_folder).glob("*.ipynb")):
            if only and nb.stem not in only and f"{course_folder}/{nb.name}" not in only:
                continue
            found.append((course_folder, nb))
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("course_notebooks", type=Path)
    ap.add_argument("--only", nargs="*", default=None, help="notebook names (knn, A5/...)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    ap.add_argument("--cuda-to-cpu", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "compat")
    args = ap.parse_args(argv)
    if not args.course_notebooks.is_dir():
        raise SystemExit(f"course_compat: no such folder: {args.course_notebooks} "
                         "(the course's notebooks, laid out as assignment1/ ... A6/)")
    todo = find_notebooks(args.course_notebooks, args.only)
    if not todo:
        raise SystemExit(f"course_compat: no course notebooks under {args.course_notebooks}")
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for i, (course_folder, nb) in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {course_folder}/{nb.name} ...", flush=True)
        r = run_notebook(nb, course_folder, args.timeout, args.cuda_to_cpu)
        results.append(r)
        for f in r["failures"]:
            print(f"    cell {f['cell']:3d} {f['class']:8s} {f['ename']}: {f['evalue'][:140]}")
        (args.out / "compat.json").write_text(json.dumps(results, indent=1) + "\n")
    print("\n| notebook | code cells | failing | " + " | ".join(CLASSES) + " |")
    print("|---|---|---|" + "---|" * len(CLASSES))
    for r in results:
        n = {c: sum(f["class"] == c for f in r["failures"])
             for c in CLASSES}
        print(f"| {r['notebook']} | {r['code_cells']} | {len(r['failures'])} | "
              + " | ".join(str(n[c]) for c in n) + " |")
    api = sum(f["class"] == "api" for r in results for f in r["failures"])
    print(f"\n{api} cell(s) fail on our API; details in {args.out / 'compat.json'}")
    return 1 if api else 0


if __name__ == "__main__":
    sys.exit(main())
