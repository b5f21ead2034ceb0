"""The `cnnkit` command: validate, release, grade, feedback, export and report on nbgrader."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import Course, NbgraderError, find_course_root

__all__ = ["main"]

_EPILOG = """\
The course is the folder holding nbgrader_config.py (this repository's root):
solutions/ are the source notebooks, exercises/ the student versions,
submitted/<student>/<assignment>/ the hand-ins. Exit status: 0 when everything
passed, 1 when something failed (the output says what), 2 on a usage error.
"""


def _course(args: argparse.Namespace) -> Course:
    root = Path(args.course) if args.course else find_course_root()
    return Course(root, db_url=getattr(args, "db", None))


def _assignments(course: Course, names: list[str]) -> list[str]:
    known = course.assignments()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NbgraderError(
            f"No assignment {', '.join(map(repr, unknown))} in {course.source_dir} "
            f"(there: {', '.join(known) or 'none'})."
        )
    return names or known


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import format_rows, validate

    course = _course(args)
    rows = validate(
        course, _assignments(course, args.assignments), jobs=args.jobs, timeout=args.timeout
    )
    print(format_rows(rows))
    return 0 if rows and all(r.ok for r in rows) else 1


def cmd_release(args: argparse.Namespace) -> int:
    from .release import release

    course = _course(args)
    for name in _assignments(course, args.assignments):
        folder = release(course, name)
        print(f"{name}: wrote {folder.relative_to(course.root)}/")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from .grade import grade
    from .table import table

    course = _course(args)
    (name,) = _assignments(course, [args.assignment])
    students = args.student or course.students(name)
    if not students:
        print(f"No submissions of {name} under {course.submitted_dir}.", file=sys.stderr)
        return 1
    run = grade(
        course, name, students, jobs=args.jobs, timeout=args.timeout, progress=not args.no_progress
    )
    if run.release_drift:
        print(
            f"Warning: exercises/{name} differs from a fresh generation of solutions/{name} "
            f"({run.release_drift[0]}); students may hold another version. The tests and "
            "points used are those of solutions/.",
            file=sys.stderr,
        )
    outcomes = run.outcomes
    rows = [
        [
            o.student,
            f"{o.score:g}/{o.max_score:g}" if o.score is not None else "-",
            o.status,
            f"{o.seconds:.1f} s",
            o.message,
        ]
        for o in outcomes
    ]
    print(table(["student", "score", "status", "time", "message"], rows))
    failed = [o for o in outcomes if not o.ok]
    graded = len(outcomes) - len(failed)
    print(f"\n{graded} graded, {len(failed)} not graded; scores are in {course.gradebook_url}")
    if failed:
        print(
            "Logs of the submissions that could not be graded: "
            + ", ".join(o.log for o in failed if o.log)
        )
    return 1 if failed else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from .feedback import feedback

    course = _course(args)
    (name,) = _assignments(course, [args.assignment])
    pages = feedback(course, name, student=args.student)
    for page in pages:
        print(page.relative_to(course.root))
    print(f"{len(pages)} feedback page(s) for {name}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_csv

    course = _course(args)
    if args.to in (None, "-"):
        export_csv(course, sys.stdout, args.assignment)
        return 0
    with open(args.to, "w", newline="", encoding="utf-8") as out:
        count = export_csv(course, out, args.assignment)
    print(f"wrote {count} row(s) to {args.to}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    course = _course(args)
    (name,) = _assignments(course, [args.assignment])
    out = write_report(
        course, name, Path(args.out) if args.out else course.root / "reports" / f"{name}.html"
    )
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cnnkit`` (sub-commands and their options)."""
    parser = argparse.ArgumentParser(
        prog="cnnkit",
        description="Instructor tools for the CNN course, built on nbgrader.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--course",
        metavar="DIR",
        help="the course folder (default: the nearest folder with nbgrader_config.py)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db",
            metavar="URL",
            help="gradebook URL, e.g. postgresql://user@host/course "
            "(default: sqlite:///<course>/gradebook.db)",
        )

    def run_options(p: argparse.ArgumentParser, jobs: int, timeout: float) -> None:
        p.add_argument(
            "--jobs",
            "-j",
            type=int,
            default=jobs,
            metavar="N",
            help=f"submissions graded at the same time (default: {jobs})",
        )
        p.add_argument(
            "--timeout",
            type=float,
            default=timeout,
            metavar="SECONDS",
            help=f"time allowed per submission (default: {timeout:g})",
        )

    p = sub.add_parser(
        "validate",
        help="check that solutions score full marks, releases 0, "
        "exercises/ is in sync and leaks nothing",
    )
    p.add_argument(
        "assignments",
        nargs="*",
        metavar="ASSIGNMENT",
        help="default: every assignment in solutions/",
    )
    run_options(p, jobs=2, timeout=600)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("release", help="regenerate exercises/ from solutions/")
    p.add_argument(
        "assignments",
        nargs="*",
        metavar="ASSIGNMENT",
        help="default: every assignment in solutions/",
    )
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="autograde every submission of an assignment, in parallel")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    run_options(p, jobs=os.cpu_count() or 1, timeout=600)
    p.add_argument(
        "--student", action="append", metavar="ID", help="grade only this student (repeatable)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    db_option(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="write feedback pages for the graded submissions")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--student", metavar="ID", help="only this student")
    db_option(p)
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="scores from the gradebook as CSV")
    p.add_argument("--to", metavar="FILE.csv", help="output file (default: standard output)")
    p.add_argument(
        "--assignment", action="append", metavar="NAME", help="only this assignment (repeatable)"
    )
    db_option(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="an HTML page of charts about a graded assignment")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--out", metavar="FILE.html", help="default: reports/ASSIGNMENT.html")
    db_option(p)
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cnnkit`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (NbgraderError, FileNotFoundError) as exc:
        print(f"cnnkit {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"cnnkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
