"""Submission zips: the files the courses asked students to hand in, written and read back.

- CS231n (2020): `collectSubmission.sh` in each assignment folder zips the assignment's `.py`
  and `.ipynb` files, paths relative to the assignment folder, leaving out the datasets and
  `makepdf.py`, into `a<N>.zip` (`cs231n_files` lists the same files; `write_cs231n_zip`).
- EECS 498-007 (Fall 2020): `eecs598.submit.make_a<N>_submission` zips the course's list of
  files flat into `<uniquename>_<umid>_A<N>.zip`.

The grader takes such a zip as a submission: `extract` unpacks it safely into a folder (no
absolute paths, no `..`, no links, bounded size) and `recognise` tells which assignment it is
from its name (`a2.zip`, `jdoe_12345678_A5.zip`) or, failing that, from the files it holds.

    python -m dl4cv.submission cs231n/assignment1 [--out a1.zip]    # what collectSubmission.sh does
"""
import argparse
import fnmatch
import os
import re
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
CS231N_ZIP_RE = re.compile(r"^a(?:ssignment)?(?P<n>\d)\b.*\.zip$", re.IGNORECASE)
EECS_ZIP_RE = re.compile(r"^(?P<uniquename>[^_]+)_(?P<umid>[^_]+)_A(?P<n>\d)\b.*\.zip$")
# Left out of a CS231n zip: the data sets, the PDF maker, caches and build output.
CS231N_EXCLUDE = ("cs231n/datasets/*", "makepdf.py", "*/__pycache__/*", "__pycache__/*",
                  "*.ipynb_checkpoints/*", "build/*", "*/build/*", ".*")
MAX_FILES = 2000
MAX_BYTES = 512 * 2 ** 20     # unpacked; the assignments' code and notebooks are a few MB


class SubmissionError(ValueError):
    """A zip that cannot be graded (unsafe, too large, or not one of the assignments)."""


def cs231n_files(folder):
    """-> sorted paths (relative to the assignment folder, posix) that a CS231n zip holds."""
    folder = Path(folder)
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not path.is_symlink() and path.suffix in (".py", ".ipynb") \
                and not any(fnmatch.fnmatch(rel, pat) for pat in CS231N_EXCLUDE):
            found.append(rel)
    return sorted(found)


def write_zip(zip_path, folder, names, flat=False):
    """Zip `names` (relative to `folder`) deterministically: sorted, fixed dates and modes;
    `flat=True` stores base names only (the EECS layout). -> the zip's path."""
    folder, zip_path = Path(folder), Path(zip_path)
    arcnames = {}
    for name in names:
        arc = PurePosixPath(name).name if flat else PurePosixPath(name).as_posix()
        if arc in arcnames:
            raise SubmissionError(f"two files would be stored as {arc}: {arcnames[arc]}, {name}")
        arcnames[arc] = name
    tmp = zip_path.with_name(zip_path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for arc in sorted(arcnames):
            info = zipfile.ZipInfo(arc, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            z.writestr(info, (folder / arcnames[arc]).read_bytes())
    os.replace(tmp, zip_path)
    return zip_path


def write_cs231n_zip(folder, out=None):
    """`a<N>.zip` of a CS231n assignment folder (default: inside the folder)."""
    folder = Path(folder)
    m = re.search(r"(\d+)$", folder.resolve().name)
    name = f"a{m.group(1)}.zip" if m else f"{folder.resolve().name}.zip"
    out = Path(out) if out else folder / name
    names = [n for n in cs231n_files(folder) if (folder / n).resolve() != out.resolve()]
    if not any(n.endswith(".ipynb") for n in names):
        raise SubmissionError(f"{folder}: no notebooks here; run this in the assignment folder")
    return write_zip(out, folder, names)


def make_course_zip(folder, assignment, dest, uniquename="student", umid="12345678",
                    fill_missing=False):
    """The zip the course asks for, made from a copy of the assignment `folder` in `dest`
    -> its path. CS231n: `a<N>.zip` (write_cs231n_zip, what collectSubmission.sh writes);
    EECS: `eecs598.submit.make_a<N>_submission` (flat, the course's file list).
    `fill_missing`: empty stand-ins for listed files the folder lacks (the results the EECS
    notebooks save), to zip a folder whose notebooks were not run."""
    import shutil
    work = Path(dest) / Path(assignment).name
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns("__pycache__", "*.zip"))
    if assignment.startswith("cs231n/"):
        return write_cs231n_zip(work)
    from eecs598 import submit
    n = re.search(r"A(\d)$", assignment).group(1)
    if fill_missing:
        for name in submit.FILES[f"A{n}"]:
            if not (work / name).exists():
                (work / name).write_bytes(b"")
    return Path(getattr(submit, f"make_a{n}_submission")(str(work), uniquename, umid))


def _member_path(info):
    """The member's path if it is safe to unpack (a plain file or folder inside the target)."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise SubmissionError(f"unsafe path in the zip: {info.filename!r}")
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise SubmissionError(f"the zip holds a link: {info.filename!r}")
    if parts and parts[0] == "__MACOSX":
        return None
    return PurePosixPath(*parts) if parts else None


def _root(names):
    """The folder wrapping every file of a zip when it holds the assignment's notebooks (a
    student who zipped the assignment folder itself), else ''."""
    parts = [PurePosixPath(n).parts for n in names]
    tops = {p[0] for p in parts}
    if len(tops) == 1 and all(len(p) > 1 for p in parts) and \
            any(len(p) == 2 and p[1].endswith(".ipynb") for p in parts):
        return tops.pop()
    return ""


def members(zip_path):
    """-> the zip's file paths (posix, without a wrapping folder). Raises SubmissionError."""
    try:
        with zipfile.ZipFile(zip_path) as z:
            infos = z.infolist()
    except (OSError, zipfile.BadZipFile) as e:
        raise SubmissionError(f"{zip_path}: not a zip file ({e})") from None
    names = [str(p) for i in infos if not i.is_dir() and (p := _member_path(i)) is not None]
    root = _root(names)
    return [n[len(root) + 1:] if root else n for n in names]


def extract(zip_path, dest):
    """Unpack a submission zip into `dest` (created) -> the folder holding the assignment's
    files (dest, or the one folder the zip wraps them in)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        z = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise SubmissionError(f"{zip_path}: not a zip file ({e})") from None
    with z:
        infos = [i for i in z.infolist() if not i.is_dir()]
        if len(infos) > MAX_FILES or sum(i.file_size for i in infos) > MAX_BYTES:
            raise SubmissionError(f"{zip_path}: more than {MAX_FILES} files or "
                                  f"{MAX_BYTES >> 20} MB unpacked")
        names = []
        for info in infos:
            path = _member_path(info)
            if path is None:
                continue
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                left = MAX_BYTES
                while chunk := src.read(1 << 20):    # declared sizes can lie
                    left -= len(chunk)
                    if left < 0:
                        raise SubmissionError(f"{zip_path}: more than {MAX_BYTES >> 20} MB")
                    dst.write(chunk)
            names.append(str(path))
    root = _root(names)
    return dest / root if root else dest


def assignment_from_name(zip_name):
    """`a2.zip` -> 'cs231n/assignment2', `jdoe_12345678_A5.zip` -> 'eecs498/A5', else None."""
    name = Path(zip_name).name
    m = EECS_ZIP_RE.match(name)
    if m:
        return f"eecs498/A{m.group('n')}"
    m = CS231N_ZIP_RE.match(name)
    if m:
        return f"cs231n/assignment{m.group('n')}"
    return None


def recognise(zip_path, expected):
    """Which assignment a zip is. `expected`: {assignment: set of the files its graded regions
    live in (relative to the assignment folder)}. The zip's name decides when it names a known
    assignment whose files the zip holds (by path, or by base name for the flat EECS zips);
    else the assignment with the most of its files in the zip. -> assignment or None."""
    names = set(members(zip_path))
    bases = {PurePosixPath(n).name for n in names}

    def score(files):
        return sum(1 for f in files if f in names or
                   ("/" not in f and f in bases))
    by_name = assignment_from_name(zip_path)
    if by_name in expected and score(expected[by_name]):
        return by_name
    scores = sorted(((score(f), a) for a, f in expected.items()), reverse=True)
    if scores and scores[0][0] > 0 and (len(scores) == 1 or scores[0][0] > scores[1][0]):
        return scores[0][1]
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv.submission", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a CS231n assignment folder")
    parser.add_argument("--out", help="the zip to write (default: a<N>.zip in the folder)")
    args = parser.parse_args(argv)
    try:
        out = write_cs231n_zip(args.folder, args.out)
    except SubmissionError as e:
        print(f"dl4cv.submission: {e}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
