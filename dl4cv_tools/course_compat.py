"""Run the courses' own notebooks, unchanged, against our modules, and classify every failing cell.

    python -m dl4cv_tools.course_compat COURSE_NOTEBOOKS_DIR [--only NAME ...] [--timeout S]
                                  [--cuda-to-cpu] [--out DIR] [--summary FILE.md]

COURSE_NOTEBOOKS_DIR holds the official notebooks laid out as the courses ship them:
`assignment1/knn.ipynb` ... (CS231n 2020) and/or `A4/style_transfer.ipynb` ... (EECS 498-007
FA2020), e.g. a public copy fetched for the purpose (never committed here). Each notebook runs
in a temporary copy of our assignment folder (plus `eecs598` for EECS), with the data where the
course's notebooks and download scripts put it (`prepare_folder`):

- CS231n: `cs231n/datasets/{cifar-10-batches-py, coco_captioning, imagenet_val_25.npz,
  MNIST_data}`, the style images under `styles/`, `style-transfer-checks.npz` and
  `gan-checks-tf.npz` beside the notebooks, kitten/puppy under `cs231n/notebook_images/`;
- EECS: `datasets/{cifar-10-batches-py, coco.pt, imagenet_val_25.npz}`, `MNIST_data/`, `styles/`,
  `style-transfer-checks.npz` (A4; CS231n A3's file, the same SqueezeNet checks);
- both: the Colab Drive folder the notebook names (EECS `GOOGLE_DRIVE_PATH_AFTER_MYDRIVE`, CS231n
  `FOLDERNAME`) at `drive/My Drive/<folder>`, a link back to the copy, so the notebooks' Drive
  paths (`GOOGLE_DRIVE_PATH`, `'/content/drive/My Drive/' + FOLDERNAME`) resolve as on Colab.

Only Colab / shell / download lines are neutralised (commented out), and the Drive mount point
`/content/drive/My Drive` is replaced by the copy's `drive/My Drive`; `--cuda-to-cpu` also turns
the EECS notebooks' hard-coded 'cuda' devices into 'cpu', to reach the cells behind them on a
machine without a GPU. Nothing is written into the repository: the kernels run in the temporary
folder, with DL4CV_BUILD, a DL4CV_DATA overlay (links to the data, a private cache folder) and
PYTHONDONTWRITEBYTECODE pointing away from it; the report goes to --out (default build/compat,
git-ignored).

Each failing cell is classified: `api` (our modules' names, signatures or behaviour: must be
fixed), `data` (a full data set or pretrained weights that can't be had here), `gpu` (CUDA-only
code), `env` (a package the course used that the project does not install, e.g. TensorFlow),
`time` (a cell that ran past --timeout on this CPU), `colab` (a cell that reads the Colab Drive
folder, e.g. the PDF/submission helpers) or `cascade` (a name that an earlier failing
cell should have defined). Writes <out>/compat.json, prints a summary table and, with
`--summary FILE`, writes it as markdown (the table plus one line per failure that is not `api`).
"""
import argparse
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from dl4cv import optional
from dl4cv_tools import manifest
from dl4cv_tools.execute import NotebookRun

REPO_ROOT = Path(__file__).resolve().parents[1]
# The course's folder name (assignment1 ... A6) -> our folder, from the manifest.
ASSIGNMENTS = {Path(a.path).name: a.path for a in manifest.ASSIGNMENTS}
# Lines that only make sense on Colab or with internet: commented out, nothing else changes.
NEUTRALISE_RE = re.compile(
    r"^\s*(!|%cd\b|%%bash|%pip\b)|google\.colab|drive\.mount|os\.chdir\(|"
    r"os\.listdir\(GOOGLE_DRIVE_PATH\)|urllib\.request\.urlretrieve|files\.upload\(")
CUDA_RE = re.compile(r"CUDA|cuda|NVIDIA driver|GPU")
DATA_ENAMES = {"FileNotFoundError", "DataMissingError", "URLError", "HTTPError", "gaierror"}
DATA_WORDS = re.compile(r"get_datasets\.sh|No such file|not found on disk|download|"
                        r"imagenet|coco|VOC|squeezenet|pretrained|weights", re.I)
CLASSES = ("api", "data", "gpu", "env", "time", "colab", "cascade")
CUDA_TENSOR_RE = re.compile(r"torch\.cuda\.(\w*Tensor)\b")
DRIVE_MOUNT_RE = re.compile(r"/content/drive/My ?Drive")
FOLDERNAME_RE = re.compile(r"^\s*FOLDERNAME\s*=\s*['\"]([^'\"]+)['\"]", re.M)
DRIVE_RE = re.compile(r"^\s*GOOGLE_DRIVE_PATH_AFTER_MYDRIVE\s*=\s*['\"]([^'\"]+)['\"]", re.M)
# Packages a course notebook imports that the project does not install, and the optional ones
# our modules import on demand (dl4cv.optional.INSTALL names their install commands).
THIRD_PARTY_MODULES = {"tensorflow", "google", "imageio", "skimage", "scipy.misc", "pandas",
                       "thop", "einops", "decord", "sklearn"} | set(optional.INSTALL)
# A whole cell that is a shell script (the course's weight downloads): commented out entirely.
SHELL_CELL_RE = re.compile(r"^\s*%%(bash|shell|sh|script)\b")
# The real data set -> the project's stand-in written in exactly its format, used where the real
# one is missing (the summary names each one used).
STANDINS = {"coco_captioning": "synthetic_coco_captioning", "coco.pt": "synthetic_coco.pt"}
ONE_LINE_ERROR_RE = re.compile(r"^(?P<ename>DataMissingError|DL4CVError): (?P<evalue>.*)$", re.M)


def neutralise(source: str, cuda_to_cpu: bool, drive_root: str = None) -> str:
    """Colab / shell / download lines commented out (as `pass`, indentation kept); with
    `drive_root`, the Colab Drive mount point `/content/drive/My Drive` becomes that folder
    (which prepare_folder links to the assignment), so the course's Drive paths resolve.
    A `%%bash` cell (a download script) is commented out whole."""
    if SHELL_CELL_RE.match(source):
        return "\n".join(f"pass  # [compat] {line.strip()}" if not i else f"# [compat] {line}"
                         for i, line in enumerate(source.splitlines()))
    lines = []
    for line in source.splitlines():
        if NEUTRALISE_RE.search(line) or (line.lstrip().startswith("%") and "/content" in line):
            indent = re.match(r"\s*", line).group(0)
            line = f"{indent}pass  # [compat] {line.strip()}"
        elif drive_root:
            line = DRIVE_MOUNT_RE.sub(drive_root.replace("\\", "/"), line)
        if cuda_to_cpu:
            line = (line.replace("'cuda'", "'cpu'").replace('"cuda"', '"cpu"')
                    .replace(".cuda()", ".cpu()").replace("cuda=True", "cuda=False"))
            line = CUDA_TENSOR_RE.sub(r"torch.\1", line)   # torch.cuda.FloatTensor -> torch.FloatTensor
        lines.append(line)
    return "\n".join(lines)


def _link(src: Path, dst: Path):
    """dst -> src (a symlink), if src exists and dst does not; returns whether it linked."""
    if not src.exists() or dst.exists() or dst.is_symlink():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.symlink_to(src.resolve(), target_is_directory=src.is_dir())
    return True


def real_or_standin(data: Path, name: str) -> Path:
    """data/<name>, or the project's stand-in in the same format when the real one is missing."""
    real = Path(data) / name
    standin = Path(data) / STANDINS.get(name, name)
    return standin if not real.exists() and standin.exists() else real


def standins_used(data: Path) -> list:
    """The stand-ins `real_or_standin` puts in place of missing real data sets, as summary lines."""
    return [f"- `{name}`: the project's stand-in `{STANDINS[name]}` (same format; the real data "
            "set is missing)" for name in STANDINS
            if real_or_standin(data, name) != Path(data) / name]


def _mnist_folder(data: Path, root: Path):
    """torchvision's MNIST layout (root/MNIST/raw, the files unpacked), from data/mnist/*.gz:
    `dset.MNIST(root, download=True)` then finds it and downloads nothing."""
    raw = root / "MNIST" / "raw"
    for gz in sorted((data / "mnist").glob("*-ubyte.gz")):
        raw.mkdir(parents=True, exist_ok=True)
        with gzip.open(gz) as f_in, open(raw / gz.name[:-3], "wb") as f_out:
            shutil.copyfileobj(f_in, f_out)
        _link(gz, raw / gz.name)


def drive_folder(notebook_source: str):
    """The assignment's folder on the Colab Drive, as the notebook names it: EECS
    `GOOGLE_DRIVE_PATH_AFTER_MYDRIVE = '...'`, CS231n `FOLDERNAME = '...'` (None if neither)."""
    m = DRIVE_RE.search(notebook_source or "") or FOLDERNAME_RE.search(notebook_source or "")
    return m.group(1).strip("/") if m else None


def drive_root(work: Path) -> Path:
    """Where the Colab Drive (`drive/My Drive`, `/content/drive/My Drive`) is, in the copy."""
    return work / "drive" / "My Drive"


def prepare_folder(course_folder: str, tmp: Path, notebook_source: str = "",
                   repo_root: Path = REPO_ROOT, data: Path = None) -> Path:
    """A scratch copy of our assignment folder, with the data where the course expects it.

    `notebook_source`: the course notebook's code (the EECS Drive folder is read from it);
    `repo_root`, `data`: our repository and its data folder (tests pass small fakes)."""
    ours = Path(repo_root) / ASSIGNMENTS[course_folder]
    work = Path(tmp) / course_folder
    shutil.copytree(ours, work, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__",
                                                              ".ipynb_checkpoints"),
                    symlinks=True)
    data = Path(data) if data is not None else Path(os.environ.get("DL4CV_DATA",
                                                                   Path(repo_root) / "data"))
    eecs = course_folder.startswith("A")
    if eecs:
        shutil.copytree(Path(repo_root) / "eecs498" / "eecs598", work / "eecs598",
                        ignore=shutil.ignore_patterns("__pycache__"))
        datasets = work / "datasets"            # a4_helper: load_CIFAR(path='./datasets/'), ...
        for name in ("cifar-10-batches-py", "coco.pt", "imagenet_val_25.npz"):
            _link(real_or_standin(data, name), datasets / name)
        _link(data / "imagenet_val_25.npz", work / "imagenet_val_25.npz")
        if course_folder == "A5":
            for name in ("VOCdevkit", "downloads/VOCtrainval_06-Nov-2007.tar"):
                _link(data / name, work / Path(name).name)
    else:
        datasets = work / "cs231n" / "datasets"
        for name in ("cifar-10-batches-py", "coco_captioning", "imagenet_val_25.npz"):
            _link(real_or_standin(data, name), datasets / name)
        # torchvision's root in the 2021+ self-supervised notebook: CIFAR10(root='data')
        _link(data / "cifar-10-batches-py", work / "data" / "cifar-10-batches-py")
    if course_folder in ("assignment3", "A6") and (data / "mnist").is_dir():
        _mnist_folder(data, (datasets if course_folder == "assignment3" else work) / "MNIST_data")
    # What the course's starter folder ships beside the code (check values, pictures).
    shipped = data / "course_files" / ASSIGNMENTS[course_folder]
    for src in sorted(shipped.rglob("*")) if shipped.is_dir() else []:
        dst = work / src.relative_to(shipped)
        if src.is_file() and not src.name.endswith(".ok") and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
    if course_folder == "A4":
        # EECS A4 ships style-transfer-checks.npz as CS231n A3 does (same SqueezeNet checks)
        _link(data / "course_files" / "cs231n" / "assignment3" / "style-transfer-checks.npz",
              work / "style-transfer-checks.npz")
    if course_folder in ("assignment3", "A4"):
        _link(data / "styles", work / "styles")
    drive = drive_folder(notebook_source)
    if drive:                   # the Drive folder the notebook names: this copy itself
        link = drive_root(work) / drive
        target = work / "cs231n" if drive.rsplit("/", 1)[-1] == "cs231n" else work
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target.resolve(), target_is_directory=True)
    return work


def kernel_environment(tmp: Path, data: Path) -> dict:
    """Environment of the notebooks' kernels: everything they write stays under `tmp`.

    DL4CV_DATA becomes an overlay: links to every entry of the data folder except `cache`,
    a private copy (models our helpers train once, e.g. the CIFAR-10 fallback CNN)."""
    overlay = Path(tmp) / "data"
    overlay.mkdir(parents=True, exist_ok=True)
    for entry in sorted(Path(data).iterdir()) if Path(data).is_dir() else []:
        if entry.name == "cache":
            shutil.copytree(entry, overlay / "cache", symlinks=True)
        else:
            _link(entry, overlay / entry.name)
    for name in STANDINS:
        _link(real_or_standin(data, name), overlay / name)
    (overlay / "cache").mkdir(exist_ok=True)
    return {"DL4CV_DATA": str(overlay), "DL4CV_BUILD": str(Path(tmp) / "build"),
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def cell_errors(cell):
    """(ename, evalue, traceback) of each error a code cell raised: error outputs, and the one
    line that dl4cv's IPython handler prints instead of a traceback for a DL4CVError (a missing
    data set), which nbclient does not see as an error."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            yield (out["ename"], out["evalue"],
                   re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(out.get("traceback", [])))[-3000:])
        elif out.get("output_type") == "stream":
            for m in ONE_LINE_ERROR_RE.finditer(out.get("text", "")):
                yield m.group("ename"), m.group("evalue"), ""


def classify(failure, earlier_failed_sources, earlier_classes=()):
    ename, evalue, tb = failure["ename"], failure["evalue"], failure["traceback"]
    if ename in ("CellTimeoutError", "DeadKernelError", "KeyboardInterrupt"):
        return "time"
    if ename == "AssertionError" and "__version__" in tb:
        return "env"    # the course pinned its torch version (`assert torch.__version__ == '1.5'`)
    if ename == "AttributeError" and "has no attribute 'next'" in evalue:
        return "env"    # `iter(loader).next()`: the Python 2 spelling newer torch removed
    if ename == "IndexError" and "out of bounds" in evalue and "size" in evalue:
        return "data"   # the course's fixed split (range(49000), 50,000 MNIST) on a data subset
    if earlier_classes and (ename in ("KeyError", "ZeroDivisionError")
                            or "'NoneType' object has no attribute" in evalue):
        return "cascade"  # a result an earlier failing cell (search, training) should have filled
    if ename == "NameError":   # before the GPU rule: a cell that merely mentions torch.cuda
        name = re.search(r"name '([^']+)' is not defined", evalue)
        if name and any(re.search(rf"\b{re.escape(name.group(1))}\b", s) for s in earlier_failed_sources):
            return "cascade"
        if any(re.search(r"^\s*from \S+ import \*", s, re.M) for s in earlier_failed_sources):
            return "cascade"  # a star import the failed cell never reached (import cv2 above it)
    if "My Drive" in evalue or "GOOGLE_DRIVE_PATH" in tb or "google.colab" in tb:
        return "colab"
    if CUDA_RE.search(evalue) or "torch.cuda" in tb or "_cuda_init" in tb:
        return "gpu"
    if ename in ("ModuleNotFoundError", "ImportError"):
        # in the traceback too: our modules re-raise a missing optional package as one line
        # naming its install command (`raise ImportError(...) from err`)
        missing = re.search(r"No module named '([^']+)'", evalue) or re.search(
            r"ModuleNotFoundError: No module named '([^']+)'", tb)
        if missing and missing.group(1).split(".")[0] in {m.split(".")[0] for m in THIRD_PARTY_MODULES}:
            return "env"
        return "api"
    if ename in DATA_ENAMES or (ename in ("OSError", "ValueError", "RuntimeError") and DATA_WORDS.search(evalue)):
        return "data"
    if ename == "TypeError":
        # f() called as the notebook defines it in a cell that failed first: the f found
        # instead (ours, through a star import) is not the one the notebook meant
        name = re.match(r"(\w+)\(\) (?:missing|takes|got)", evalue)
        if name and any(re.search(rf"^\s*def {re.escape(name.group(1))}\(", s, re.M)
                        for s in earlier_failed_sources):
            return "cascade"
    return "api"


def run_notebook(nb_path: Path, course_folder: str, timeout: int, cuda_to_cpu: bool,
                 repo_root: Path = REPO_ROOT, data: Path = None):
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    data = Path(data) if data is not None else Path(os.environ.get("DL4CV_DATA",
                                                                   Path(repo_root) / "data"))
    saved_env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        work = prepare_folder(course_folder, Path(tmp), code, repo_root, data)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.source = neutralise(cell.source, cuda_to_cpu, str(drive_root(work)))
        os.environ.update(kernel_environment(Path(tmp), data))   # the kernel inherits it
        # the one executor, run to the end: every failing cell is classified below
        run = NotebookRun(nb, work, cell_timeout=timeout, allow_errors=True,
                          interrupt_on_timeout=True)
        try:
            result = run.execute()
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
        e = result.error
        crashed = None if e is None else \
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        runtime = result.seconds
    failures, failed_sources, code_cells = [], [], 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code_cells += 1
        for ename, evalue, traceback in cell_errors(cell):
            f = {"cell": index, "ename": ename, "evalue": evalue[:300], "traceback": traceback,
                 "head": cell.source.strip().splitlines()[0][:100] if cell.source.strip() else ""}
            f["class"] = classify(f, failed_sources, [g["class"] for g in failures])
            failures.append(f)
            failed_sources.append(cell.source)
    return {"notebook": f"{course_folder}/{nb_path.name}", "code_cells": code_cells,
            "runtime_s": round(runtime, 1), "crashed": crashed, "failures": failures}


def summary_table(results) -> str:
    """The markdown summary: one row per notebook, then one line per failure that is not `api`
    (class, cell, error), and the `api` failures last (each one is a bug of ours)."""
    lines = ["| notebook | code cells | failing | " + " | ".join(CLASSES) + " |",
             "|---|---|---|" + "---|" * len(CLASSES)]
    for r in results:
        n = {c: sum(f["class"] == c for f in r["failures"]) for c in CLASSES}
        lines.append(f"| {r['notebook']} | {r['code_cells']} | {len(r['failures'])} | "
                     + " | ".join(str(n[c]) for c in CLASSES) + " |")
    api = [(r, f) for r in results for f in r["failures"] if f["class"] == "api"]
    other = [(r, f) for r in results for f in r["failures"] if f["class"] != "api"]
    if other:
        lines += ["", "Failures that are not our API:", ""]
        lines += [f"- {r['notebook']} cell {f['cell']}: {f['class']}: {f['ename']}: "
                  f"{' '.join(f['evalue'].split())[:160]}" for r, f in other]
    if api:
        lines += ["", "API failures (to fix):", ""]
        lines += [f"- {r['notebook']} cell {f['cell']}: {f['ename']}: "
                  f"{' '.join(f['evalue'].split())[:160]}" for r, f in api]
    crashed = [r for r in results if r.get("crashed")]
    lines += [""] + [f"- {r['notebook']}: kernel stopped: {r['crashed']}" for r in crashed] \
        if crashed else []
    return "\n".join(lines) + "\n"


def find_notebooks(root: Path, only):
    found = []
    for course_folder in ASSIGNMENTS:
        for nb in sorted((root / course_folder).glob("*.ipynb")):
            if only and nb.stem not in only and f"{course_folder}/{nb.name}" not in only:
                continue
            found.append((course_folder, nb))
    return found


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("course_notebooks", type=Path)
    ap.add_argument("--only", nargs="*", default=None, help="notebook names (knn, A5/...)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    ap.add_argument("--cuda-to-cpu", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "compat",
                    help="where compat.json goes (default build/compat, git-ignored)")
    ap.add_argument("--summary", type=Path, default=None, metavar="FILE",
                    help="also write the summary table (markdown) to FILE")
    ap.add_argument("--repo", type=Path, default=REPO_ROOT,
                    help="our repository (default: this one)")
    ap.add_argument("--data", type=Path, default=None,
                    help="the data folder (default $DL4CV_DATA or <repo>/data)")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
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
        r = run_notebook(nb, course_folder, args.timeout, args.cuda_to_cpu, args.repo, args.data)
        results.append(r)
        for f in r["failures"]:
            print(f"    cell {f['cell']:3d} {f['class']:8s} {f['ename']}: {f['evalue'][:140]}")
        (args.out / "compat.json").write_text(json.dumps(results, indent=1) + "\n")
    table = summary_table(results)
    data = args.data or Path(os.environ.get("DL4CV_DATA", Path(args.repo) / "data"))
    standins = standins_used(data)
    if standins:
        table += ("\nData stand-ins in place of missing data sets (for the notebooks that read "
                  "them):\n\n" + "\n".join(standins) + "\n")
    print("\n" + table)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(table)
    api = sum(f["class"] == "api" for r in results for f in r["failures"])
    print(f"{api} cell(s) fail on our API; details in {args.out / 'compat.json'}")
    return 1 if api else 0


if __name__ == "__main__":
    sys.exit(main())
