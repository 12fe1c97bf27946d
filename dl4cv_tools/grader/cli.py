"""The grader's command line: python -m dl4cv_tools.grader SUBMISSION | --check | --mutants
ALL|ASSIGNMENT | --from-run RUN_DIR (the usage is in dl4cv_tools/grader/__init__.py)."""
import argparse
import signal

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import execute
from dl4cv_tools.grader.marking import _progress, grade, grade_from_run
from dl4cv_tools.grader.mutants import mutant_sweep, sweep_to_log
from dl4cv_tools.grader.rubric import (DEFAULT_TIMEOUT, GRADING_DIR, check_declaration,
                                       find_declaration, for_edition, load_declarations,
                                       submission_edition)

DESCRIPTION = ("Autograder: grade a submitted assignment folder with the project's own tests "
               "and notebooks.")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv_tools.grader", description=DESCRIPTION)
    parser.add_argument("submission", nargs="?", help="the submitted assignment folder or zip")
    parser.add_argument("--assignment", help="which assignment (default: from the folder name)")
    parser.add_argument("--edition", help="the course edition the submission is for, e.g. 2025 "
                        "(default: told from its notebooks; today's set when unsure)")
    parser.add_argument("--out", help="where grade.json/grade.md go (default build/grade/<a>)")
    parser.add_argument("--declarations", default=None,
                        help="folder or .toml file (default: the manifest's rubrics, "
                             f"{GRADING_DIR.relative_to(REPO_ROOT)}/)")
    parser.add_argument("--question", action="append", help="grade only this question")
    parser.add_argument("--timeout", type=int, help="seconds per question (default: declared)")
    parser.add_argument("--no-notebooks", action="store_true", help="skip notebook questions")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--check", action="store_true", help="check the declarations and exit")
    parser.add_argument("--mutants", metavar="ALL|ASSIGNMENT",
                        help="mutant sweep over every region of every (or one) assignment")
    parser.add_argument("--full", action="store_true", help="mutants: grade every question")
    parser.add_argument("--from-run", metavar="RUN_DIR",
                        help="judge the solutions' notebook questions on a runner smoke run")
    parser.add_argument("--log", help="mutants: write the sweep into this log (its section per "
                        "assignment), e.g. tests/grading/mutants.log")
    parser.add_argument("--exec-notebook", nargs=2, metavar=("NB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.exec_notebook:
        # kept for old callers: the grader's notebooks run in `python -m dl4cv_tools.execute`
        return execute.main([*args.exec_notebook, "--timeout", str(args.timeout or DEFAULT_TIMEOUT)])
    signal.signal(signal.SIGTERM, execute._terminate)   # `kill` cleans up like Ctrl-C
    decls = load_declarations(args.declarations)
    if args.from_run:
        problems = [p for d in decls for p in grade_from_run(d, args.from_run)]
        for p in problems:
            print(f"PROBLEM {p}")
        n = sum(1 for d in decls for q in d.questions if q.notebook)
        print(f"solutions' notebook questions ({n}) on {args.from_run}: "
              f"{'full points' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    if args.check or args.mutants:
        chosen = decls if args.check or args.mutants == "ALL" else \
            [d for d in decls if d.assignment == args.mutants.strip("/")]
        if not chosen:
            raise SystemExit(f"dl4cv_tools.grader: no declaration for {args.mutants}")
        if args.mutants and args.log:
            problems = sweep_to_log(chosen, args.log, timeout=args.timeout)
            print(f"{len(chosen)} assignment(s): {'ok' if not problems else f'{len(problems)} problem(s)'}"
                  f" -> {args.log}")
            return 1 if problems else 0
        problems = [p for d in chosen for p in check_declaration(d)]
        if args.mutants and not problems:
            for d in chosen:
                _progress(f"== mutants of {d.assignment}")
                problems += mutant_sweep(d, full=args.full, notebooks=not args.no_notebooks,
                                         timeout=args.timeout)
        for p in problems:
            print(f"PROBLEM {p}")
        print(f"{len(chosen)} assignment(s): {'ok' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    if not args.submission:
        parser.error("give a SUBMISSION folder or zip (or --check / --mutants)")
    decl = find_declaration(args.submission, decls, args.assignment)
    edition = args.edition or submission_edition(args.submission, decl)
    decl = for_edition(decl, edition)
    if not decl.questions:
        raise SystemExit(f"dl4cv_tools.grader: {decl.assignment} has no questions in edition {edition}")
    _progress(f"grading {args.submission} as {decl.assignment}"
              f"{f' ({edition} edition)' if edition else ''} ({len(decl.questions)} questions)")
    result = grade(args.submission, decl, out=args.out, only=set(args.question or []) or None,
                   timeout=args.timeout, notebooks=not args.no_notebooks, keep=args.keep)
    print(f"total {result['total']:g} / {result['max_points']:g}  -> {result['out']}/grade.md")
    return 0

