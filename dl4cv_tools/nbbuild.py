"""Write a notebook from percent-format source, with the standard Colab set-up cell first.

    python -m dl4cv_tools.nbbuild knn.py cs231n/assignment1/knn.ipynb

Cells start with `# %%` (code) or `# %% [markdown]` (markdown, each line prefixed by "# ").
Tags follow as `tags=["solution"]`: `solution` marks code a student writes, `answer` marks an
inline-question answer (markdown); the student release and the grader are generated from them.
"""
import json
import re
import sys
from pathlib import Path

import nbformat

from dl4cv.paths import REPO_ROOT

HEADER_RE = re.compile(r"^# %%(?P<md> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")


def _course_location(folder: Path):
    """(path of the folder relative to the repository, get_datasets.sh group)."""
    try:
        rel = folder.resolve().relative_to(REPO_ROOT).as_posix()
        course, assignment = rel.split("/")[:2]
    except ValueError:  # a notebook outside the repository (tests, scratch): no course folder
        rel, course, assignment = ".", "all", ""
    group = f"{course}-{assignment.replace('assignment', 'a').lower()}" if assignment else ""
    return rel, group


def colab_cell_source(folder: Path) -> str:
    rel, group = _course_location(folder)
    return f'''# Colab set-up: clone this repository, install it and fetch the data. Does nothing elsewhere.
import os, subprocess, sys
if "google.colab" in sys.modules:
    repo = os.environ.get("DL4CV_REPO", "https://github.com/dl4cv/dl4cv.git")
    if not os.path.isdir("/content/dl4cv"):
        subprocess.run(["git", "clone", "-q", repo, "/content/dl4cv"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "/content/dl4cv"], check=True)
    subprocess.run(["/content/dl4cv/get_datasets.sh", "{group}"], cwd="/content/dl4cv")
    os.chdir("/content/dl4cv/{rel}")'''


COLAB_LOCATION_RE = re.compile(r'get_datasets\.sh", "(?P<group>[^"]*)"\].*?os\.chdir\("/content/dl4cv/(?P<rel>[^"]*)"\)', re.S)


def student_colab_cell_source(solution_cell_source: str):
    """The student release's Colab cell: the solutions repository must not be cloned, so it
    installs the release the student unzipped on Google Drive and works in that copy.
    Returns None if `solution_cell_source` is not a cell written by colab_cell_source."""
    m = COLAB_LOCATION_RE.search(solution_cell_source)
    if m is None:
        return None
    return f'''# Colab set-up: mount Google Drive, install the release you unzipped there (set DL4CV_RELEASE
# if it is not MyDrive/dl4cv), fetch the data and work in your copy. Does nothing elsewhere.
import os, subprocess, sys
if "google.colab" in sys.modules:
    from google.colab import drive
    drive.mount("/content/drive")
    root = os.environ.get("DL4CV_RELEASE", "/content/drive/MyDrive/dl4cv")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", root], check=True)
    subprocess.run([os.path.join(root, "get_datasets.sh"), "{m['group']}"], cwd=root)
    os.chdir(os.path.join(root, "{m['rel']}"))'''


def parse_percent(text: str):
    """-> list of (kind, tags, source) cells."""
    cells, current = [], None
    for line in text.splitlines():
        m = HEADER_RE.match(line)
        if m:
            if current:
                cells.append(current)
            kind = "markdown" if m.group("md") else "code"
            tags = json.loads(m.group("tags")) if m.group("tags") else []
            current = [kind, tags, []]
            continue
        if current is None:
            if not line.strip():
                continue
            current = ["code", [], []]
        if current[0] == "markdown":
            line = line[2:] if line.startswith("# ") else line.lstrip("#")
        current[2].append(line)
    if current:
        cells.append(current)
    return [(k, t, "\n".join(src).strip("\n")) for k, t, src in cells]


def build(source_path, out_path) -> nbformat.NotebookNode:
    out_path = Path(out_path)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    cells = [nbformat.v4.new_code_cell(colab_cell_source(out_path.parent),
                                       metadata={"tags": ["colab-setup"]})]
    for kind, tags, src in parse_percent(Path(source_path).read_text()):
        meta = {"tags": tags} if tags else {}
        maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cells.append(maker(src, metadata=meta))
    for i, cell in enumerate(cells):  # stable ids: rebuilding gives byte-identical files
        cell["id"] = f"cell-{i:03d}"
    nb.cells = cells
    nbformat.validate(nb)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(nbformat.writes(nb) + "\n")
    return nb


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print("usage: python -m dl4cv_tools.nbbuild SOURCE.py [OUT.ipynb]", file=sys.stderr)
        return 2
    src = Path(argv[0])
    out = Path(argv[1]) if len(argv) == 2 else src.with_suffix(".ipynb")
    build(src, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
