"""The student release: every solution region replaced by its course-style stub.

    python -m dl4cv_tools.release                     # every assignment -> build/release/ + zips
    python -m dl4cv_tools.release cs231n/assignment2  # one assignment (or several)
    python -m dl4cv_tools.release --check-cells NB.ipynb ...  # only the check-cell scan
    python -m dl4cv_tools.release --edition 2025      # CS231n 2025 (assignments 2 and 3)
    options: --out DIR (default build/release, or build/release-<edition>), --no-check

See dl4cv_tools/release/__init__.py for the contract the assignments follow.
"""
import argparse
import json
import sys
from pathlib import Path

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest
from dl4cv_tools.release.checkcells import check_cells, student_functions
from dl4cv_tools.release.make import build
from dl4cv_tools.release.regions import ReleaseError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv_tools.release",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="e.g. cs231n/assignment2 (default: all)")
    parser.add_argument("--out", default=None, help="output folder (default build/release)")
    parser.add_argument("--edition", default=None,
                        help="a course edition (dl4cv_tools.manifest.EDITIONS, e.g. 2025): only "
                             "its notebooks and the files they use (default: today's set)")
    parser.add_argument("--no-check", action="store_true", help="skip the leak check")
    parser.add_argument("--check-cells", nargs="+", metavar="NOTEBOOK", default=None,
                        help="only scan these notebooks' check cells for expected values "
                             "computed from a formula (exit 1 if any)")
    parser.add_argument("--modules", default=None, metavar="DIR",
                        help="with --check-cells: the assignment folder whose modules name the "
                             "student functions (default: each notebook's own folder)")
    args = parser.parse_args(argv)
    if args.check_cells:
        found = 0
        for path in args.check_cells:
            student = student_functions(Path(args.modules or Path(path).resolve().parent))
            for f in check_cells(json.loads(Path(path).read_text()), student=student):
                print(f"{path}: {f}")
                found += 1
        print(f"{found} check-cell finding(s) in {len(args.check_cells)} notebook(s)")
        return 1 if found else 0
    try:
        known = {e for eds in manifest.EDITIONS.values() for e in eds}
        if args.edition is not None and args.edition not in known:
            print(f"dl4cv_tools.release: no edition {args.edition!r} (known: {', '.join(sorted(known))})",
                  file=sys.stderr)
            return 2
        if args.edition is not None and not manifest.edition_assignments(args.edition):
            print(f"dl4cv_tools.release: the manifest has no notebooks of edition {args.edition}",
                  file=sys.stderr)
            return 2
        release = build(args.out, REPO_ROOT, args.assignments or None, check=not args.no_check,
                        edition=args.edition)
    except ReleaseError as e:
        print(f"dl4cv_tools.release: {e}", file=sys.stderr)
        return 1
    for a, regs in release.regions.items():
        n_mod = sum(r.kind == "module" for r in regs)
        n_nb = len(regs) - n_mod
        print(f"{a}: {n_mod} module regions, {n_nb} notebook cells stubbed")
    for z in release.zips:
        print(f"wrote {z}")
    print(f"release: {release.out} ({len(release.files)} files)" +
          ("" if args.no_check else "; leak check passed"))
    return 0

