"""Rubrics: the grading declaration of an assignment (tests/grading/<course>-<assignment>.toml,
the format is in dl4cv_tools/grader/__init__.py), which regions each question grades, and
which declaration a submission is graded with."""
import fnmatch
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from dl4cv import submission as sub_zip
from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest
from dl4cv_tools.release.regions import assignment_regions

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib


GRADING_DIR = manifest.RUBRIC_DIR
DEFAULT_TIMEOUT = 240


@dataclass
class Question:
    name: str
    points: float
    regions: list
    tests: list = field(default_factory=list)
    k: str = None
    notebook: str = None
    checks: list = field(default_factory=list)
    timeout: int = DEFAULT_TIMEOUT
    partial: bool = False
    complete: bool = True       # notebook questions: the notebook must run to the end


@dataclass
class Declaration:
    assignment: str             # the reference folder, relative to the repository
    title: str
    questions: list
    path: Path = None

    @property
    def slug(self):
        return manifest.slug(self.assignment)

    @property
    def max_points(self):
        return sum(q.points for q in self.questions)


def load_declaration(path):
    path = Path(path)
    data = tomllib.loads(path.read_text())
    try:
        questions = []
        for q in data["question"]:
            unknown = set(q) - set(Question.__dataclass_fields__)
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)} in question {q.get('name')!r}")
            questions.append(Question(**q))
        return Declaration(data["assignment"].strip("/"), data.get("title", data["assignment"]),
                           questions, path)
    except (KeyError, TypeError) as e:
        raise ValueError(f"{path}: bad declaration ({e})") from None


def load_declarations(where=None):
    """The declarations of the manifest's assignments (`where` None), of every .toml in a
    folder, or of one .toml file."""
    if where is None:
        return [load_declaration(a.rubric) for a in manifest.ASSIGNMENTS]
    where = Path(where)
    files = [where] if where.is_file() else sorted(where.glob("*.toml"))
    return [load_declaration(f) for f in files]


def owned(question, regions):
    """Ids of the regions a question grades (its `regions` are fnmatch patterns on ids)."""
    return {r.id for r in regions for pat in question.regions if fnmatch.fnmatchcase(r.id, pat)}


def check_declaration(decl, root=REPO_ROOT):
    """-> problems: regions no question grades, patterns/tests/notebooks that match nothing."""
    folder = Path(root) / decl.assignment
    if not folder.is_dir():
        return [f"{decl.assignment}: no such folder"]
    regions = assignment_regions(folder)
    graded = [r for r in regions if r.kind != "answer"]
    problems, covered = [], set()
    names = [q.name for q in decl.questions]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append(f"{decl.assignment}: question name {dup!r} used twice")
    for q in decl.questions:
        for pat in q.regions:
            if not any(fnmatch.fnmatchcase(r.id, pat) for r in regions):
                problems.append(f"{decl.assignment}: question {q.name!r}: region {pat!r} matches nothing")
        covered |= owned(q, regions)
        if not q.tests and not q.notebook:
            problems.append(f"{decl.assignment}: question {q.name!r} has neither tests nor a notebook")
        for t in q.tests:
            if not (Path(root) / t.split("::")[0]).exists():
                problems.append(f"{decl.assignment}: question {q.name!r}: no test file {t}")
        if q.notebook and not (folder / q.notebook).exists():
            problems.append(f"{decl.assignment}: question {q.name!r}: no notebook {q.notebook}")
        if not q.regions:
            problems.append(f"{decl.assignment}: question {q.name!r} grades no region")
    for r in graded:
        if r.id not in covered:
            problems.append(f"{decl.assignment}: region {r.id} is graded by no question")
    return problems


def _pattern_file(pattern):
    """"cs231n/layers.py::affine_*" -> "cs231n/layers.py" (the part before `::`)."""
    return pattern.split("::", 1)[0]


def for_edition(decl, edition=None):
    """The declaration with only the questions of `edition`'s notebooks and files (None: the
    course's default edition). A question belongs to an edition when its notebook (if any) and
    one of the files its regions name ship in it (dl4cv_tools.manifest)."""
    try:
        a = manifest.get(decl.assignment)
    except KeyError:                      # a fixture's declaration: no editions
        return decl
    keep = [q for q in decl.questions
            if (q.notebook is None or a.ships(q.notebook, edition))
            and any(a.ships(_pattern_file(p), edition) for p in q.regions)]
    return Declaration(decl.assignment, decl.title, keep, decl.path)


def submission_edition(submission, decl):
    """The edition a submission (folder or zip) was made for: the non-default edition whose
    notebooks it holds, when it holds notebooks of no other edition; else None (default)."""
    try:
        a = manifest.get(decl.assignment)
    except KeyError:
        return None
    if _is_zip(submission):
        with zipfile.ZipFile(submission) as z:
            names = {Path(n).name for n in z.namelist() if n.endswith(".ipynb")}
    else:
        names = {p.name for p in Path(submission).rglob("*.ipynb")}
    held = [nb for nb in a.notebooks if nb in names]
    for edition in manifest.EDITIONS[a.course][1:]:
        if held and all(edition in a.notebook_editions(nb) for nb in held):
            return edition
    return None


def region_files(decl, root=REPO_ROOT):
    """Files of the assignment (relative to its folder) that hold graded regions."""
    return {r.file for r in assignment_regions(Path(root) / decl.assignment)
            if r.kind != "answer"}


def _is_zip(path):
    path = Path(path)
    return path.is_file() and zipfile.is_zipfile(path)


def find_declaration(submission, decls, assignment=None, root=REPO_ROOT):
    """The declaration a submission (folder or zip) is graded with: `assignment` if given,
    else from the folder's path or name, or from the zip's name or files."""
    if assignment:
        match = [d for d in decls if d.assignment == assignment.strip("/")]
    elif _is_zip(submission):
        try:
            found = sub_zip.recognise(submission, {d.assignment: region_files(d, root)
                                                   for d in decls})
        except sub_zip.SubmissionError as e:
            raise SystemExit(f"dl4cv_tools.grader: {e}") from None
        match = [d for d in decls if d.assignment == found]
    else:
        sub = Path(submission).resolve()
        match = [d for d in decls if sub.as_posix().endswith("/" + d.assignment)] or \
                [d for d in decls if Path(d.assignment).name == sub.name]
    if len(match) != 1:
        known = ", ".join(d.assignment for d in decls) or "none"
        raise SystemExit(f"dl4cv_tools.grader: cannot tell which assignment {submission} is "
                         f"(declared: {known}); pass --assignment")
    return match[0]

