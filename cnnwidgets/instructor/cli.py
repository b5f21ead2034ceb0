"""The `cnnkit` command: validate, release, grade, feedback, export, report, exchange, roster."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .classroom.privacy import private_course
from .classroom.roster import RosterError
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


def _sandbox(args: argparse.Namespace):
    """The sandbox limits for grading, ``None`` with --unsafe; refuses when none can be made."""
    from .isolation.sandbox import Limits, availability

    if args.unsafe:
        return None
    reason = availability()
    if reason is not None:
        raise NbgraderError(
            f"Refusing to run students' code without a sandbox: {reason}.\n"
            "Install bubblewrap, or pass --unsafe to grade on this machine unconfined "
            "(only for code you trust: a submission could then read solutions/, the "
            "gradebook and your files, use the network and exhaust memory)."
        )
    return Limits(memory_mb=args.memory, disk_mb=args.disk)


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import format_rows, validate

    course = _course(args)
    sandbox = _sandbox(args)
    rows = validate(
        course,
        _assignments(course, args.assignments),
        jobs=args.jobs,
        timeout=args.timeout,
        sandbox=sandbox,
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
    from .autograde.grade import grade
    from .table import table

    course = _course(args)
    (name,) = _assignments(course, [args.assignment])
    students = args.student or course.students(name)
    if not students:
        print(f"No submissions of {name} under {course.submitted_dir}.", file=sys.stderr)
        return 1
    if args.cluster:
        # The workers make the sandbox (each checks it can): this machine needs none.
        from .isolation.sandbox import Limits

        sandbox = None if args.unsafe else Limits(memory_mb=args.memory, disk_mb=args.disk)
    else:
        sandbox = _sandbox(args)
    with private_course(course):  # a class's course: refused while students can read it
        run = grade(
            course,
            name,
            students,
            jobs=args.jobs,
            timeout=args.timeout,
            progress=not args.no_progress,
            sandbox=sandbox,
            cluster=args.cluster,
            # A run on a cluster may be cut short (the client killed, the cluster gone): the
            # next one picks up where it stopped.
            resume=bool(args.cluster) and not args.regrade,
        )
    if run.release_drift:
        print(
            f"Warning: exercises/{name} differs from a fresh generation of solutions/{name} "
            f"({run.release_drift[0]}); students may hold another version. The tests and "
            "points used are those of solutions/.",
            file=sys.stderr,
        )
    outcomes = run.outcomes
    if run.skipped:
        print(
            f"{len(run.skipped)} submission(s) skipped: graded by an earlier run from the same "
            "files (--regrade grades them again)",
            file=sys.stderr,
        )
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
    skipped = f", {len(run.skipped)} skipped (graded before)" if run.skipped else ""
    print(
        f"\n{graded} graded, {len(failed)} not graded{skipped}; scores are in "
        f"{course.gradebook_url}"
    )
    if failed:
        print(
            "Logs of the submissions that could not be graded: "
            + ", ".join(o.log for o in failed if o.log)
        )
    return 1 if failed else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from .classroom.feedback import feedback

    course = _course(args)
    (name,) = _assignments(course, [args.assignment])
    pages = feedback(course, name, student=args.student)
    for page in pages:
        print(page.relative_to(course.root))
    print(f"{len(pages)} feedback page(s) for {name}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .classroom.export import export_grades

    course = _course(args)
    options = dict(format=args.format, assignments=args.assignment, missing_zero=args.missing_zero)
    if args.to in (None, "-"):
        done = export_grades(course, sys.stdout, **options)
    else:
        with open(args.to, "w", newline="", encoding="utf-8") as out:
            done = export_grades(course, out, **options)
        print(f"wrote {done.rows} row(s) to {args.to} ({args.format})")
    for warning in done.warnings:
        print(f"cnnkit export: {warning}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .classroom.report import write_report

    course = _course(args)
    (name,) = _assignments(course, [args.assignment])
    out = write_report(
        course, name, Path(args.out) if args.out else course.root / "reports" / f"{name}.html"
    )
    print(f"wrote {out}")
    return 0


# --- a class through nbgrader's exchange ------------------------------------------
_EXCHANGE_EPILOG = """\
A class, in order (students run nbgrader's own fetch_assignment, submit and
fetch_feedback, or the Assignments tab in JupyterLab):

  cnnkit roster import students.csv
  cnnkit exchange release a1_convolution --due "2025-12-01 17:00 Europe/Berlin"
  cnnkit exchange collect a1_convolution      # again at any time: newer hand-ins replace older
  cnnkit grade a1_convolution
  cnnkit exchange feedback a1_convolution

The exchange is nbgrader's Exchange.root (from the course's nbgrader_config.py,
/etc/jupyter or ~/.jupyter; nbgrader's default /usr/local/share/nbgrader/exchange)
unless --exchange DIR is given.
"""


def _format_time(when) -> str:
    return "-" if when is None else when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _format_late(seconds: float) -> str:
    if seconds <= 0:
        return "on time"
    if seconds < 1:
        return "late by <1 s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "min")) if v]
    return "late by " + (" ".join(parts) if parts else f"{secs} s")


def cmd_exchange_release(args: argparse.Namespace) -> int:
    from .classroom.exchange import exchange_root, release_to_exchange

    course = _course(args)
    with private_course(course, exchange=True, root=getattr(args, "exchange", None)):
        for name in _assignments(course, args.assignments):
            folder = release_to_exchange(
                course, name, root=args.exchange, due=args.due, force=args.force
            )
            print(f"{name}: released to {folder}")
        if args.due:
            from .classroom.exchange import parse_due

            print(f"due {_format_time(parse_due(args.due))}")
        print(
            f"students fetch with: nbgrader fetch_assignment {' '.join(args.assignments)} "
            f"(course {course.course_id}, exchange {exchange_root(course, args.exchange)})"
        )
        return 0


def cmd_exchange_due(args: argparse.Namespace) -> int:
    from .classroom.exchange import set_due

    course = _course(args)
    with private_course(course, exchange=True, root=getattr(args, "exchange", None)):
        (name,) = _assignments(course, [args.assignment])
        due = set_due(course, name, None if args.when.lower() == "none" else args.when)
        print(f"{name}: " + (f"due {_format_time(due)}" if due else "no due date"))
        return 0


def cmd_exchange_collect(args: argparse.Namespace) -> int:
    from .classroom.exchange import collect
    from .table import table

    course = _course(args)
    (name,) = _assignments(course, [args.assignment])
    with private_course(course, exchange=True, root=getattr(args, "exchange", None)):
        done = collect(
            course,
            name,
            root=args.exchange,
            before_due=args.before_due,
            shared_account=args.shared_account,
        )
    results, refused = done.collected, done.refused
    if not results and not refused:
        print(f"No hand-ins of {name} in the exchange yet.")
        return 0
    rows = []
    for r in results:
        notes = list(r.notes)
        if r.new_student:
            notes.insert(0, "added to the gradebook")
        rows.append(
            [
                r.student,
                r.status,
                "-" if r.submissions is None else str(r.submissions),
                _format_time(r.timestamp),
                _format_late(r.seconds_late),
                "; ".join(notes),
            ]
        )
    for x in refused:
        why = x.reason if x.owner is None or x.owner in x.reason else f"{x.reason} ({x.owner})"
        rows.append(
            [
                x.student or "-",
                "skipped" if x.student is None else "refused",
                "-",
                "-",
                "-",
                f"{x.name}: {why}",
            ]
        )
    print(table(["student", "collected", "hand-ins", "kept (newest)", "lateness", "note"], rows))
    late = sum(r.late for r in results)
    print(
        f"\n{len(results)} student(s) in submitted/, {late} late; "
        f"timestamps recorded in {course.gradebook_url}"
    )
    if refused:
        print(
            f"{len(refused)} hand-in(s) not collected (see the note): nothing of them was "
            "copied; tell the students concerned to hand in again with nbgrader submit"
        )
    return 0


def cmd_exchange_feedback(args: argparse.Namespace) -> int:
    from .classroom.exchange import exchange_root, release_feedback

    course = _course(args)
    with private_course(course, exchange=True, root=getattr(args, "exchange", None)):
        (name,) = _assignments(course, [args.assignment])
        pages = release_feedback(course, name, root=args.exchange, student=args.student)
        for page in pages:
            print(page.relative_to(course.root))
        students = {p.parent.parent.name for p in pages}
        print(
            f"{len(pages)} feedback page(s) for {len(students)} student(s) released to "
            f"{exchange_root(course, args.exchange) / course.course_id / 'feedback'}; "
            f"students fetch them with: nbgrader fetch_feedback {name}"
        )
        return 0


def cmd_roster_import(args: argparse.Namespace) -> int:
    from .classroom.roster import import_roster, read_roster

    course = _course(args)
    roster = read_roster(args.file)
    added, updated = import_roster(course, roster)
    if roster.ignored:
        print(f"ignored column(s): {', '.join(roster.ignored)}")
    print(
        f"{args.file}: {len(added)} student(s) added, {len(updated)} updated "
        f"({', '.join(roster.columns)}) in {course.gradebook_url}"
    )
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
        p.add_argument(
            "--memory",
            type=int,
            default=4096,
            metavar="MB",
            help="memory each submission's kernel may use: address space per process, and "
            "resident memory of all its processes together (default: 4096)",
        )
        p.add_argument(
            "--disk",
            type=int,
            default=1024,
            metavar="MB",
            help="disk each submission's kernel may write, in its folder and its bridge "
            "together (default: 1024)",
        )
        p.add_argument(
            "--unsafe",
            action="store_true",
            help="run submissions without the bubblewrap sandbox (no network, no view of "
            "solutions/ or the gradebook, resource limits); only for code you trust",
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
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="grade on a Dask cluster instead of --jobs local workers: a scheduler's address "
        "(tcp://host:8786), or local:N for N single-threaded local worker processes; "
        "submissions an earlier run graded from the same files are skipped (see --regrade)",
    )
    p.add_argument(
        "--regrade",
        action="store_true",
        help="with --cluster: grade again the submissions an earlier run already graded",
    )
    db_option(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="write feedback pages for the graded submissions")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--student", metavar="ID", help="only this student")
    db_option(p)
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser(
        "export",
        help="scores from the gradebook as CSV: nbgrader's columns, or Canvas's or Moodle's import",
        description="Write the gradebook's scores as CSV. nbgrader: nbgrader export's columns, "
        "one row per assignment and student. canvas: Canvas's gradebook import (Student, ID, SIS "
        "User ID, SIS Login ID, Section, one column per assignment, a Points Possible row). "
        "moodle: Moodle's CSV grade import (Email address, one column per assignment). Scores "
        "are nbgrader's, less the late penalty nbgrader set when grading.",
    )
    p.add_argument("--to", metavar="FILE.csv", help="output file (default: standard output)")
    p.add_argument(
        "--format",
        choices=("nbgrader", "canvas", "moodle"),
        default="nbgrader",
        help="the columns to write (default: nbgrader)",
    )
    p.add_argument(
        "--missing-zero",
        action="store_true",
        help="canvas, moodle: 0 for a student without a graded hand-in (default: an empty "
        "cell, which the LMS leaves alone)",
    )
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

    p = sub.add_parser(
        "exchange",
        help="run a class through nbgrader's exchange: release, due, collect, feedback",
        description="Release assignments to nbgrader's exchange, set due dates, collect\n"
        "hand-ins (newest kept, lateness recorded) and return feedback to students.",
        epilog=_EXCHANGE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    steps = p.add_subparsers(dest="step", required=True, metavar="STEP")

    def exchange_option(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--exchange",
            metavar="DIR",
            help="the exchange folder (default: nbgrader's configured Exchange.root)",
        )

    q = steps.add_parser(
        "release",
        help="put exercises/ASSIGNMENT in the exchange for students to fetch",
        description="Check that exercises/ASSIGNMENT is a fresh generation of solutions/, "
        "record it (and --due) in the gradebook, and release it to the exchange.",
    )
    q.add_argument(
        "assignments", nargs="+", metavar="ASSIGNMENT", help="assignment(s) in solutions/"
    )
    q.add_argument(
        "--due",
        metavar="WHEN",
        help="due date, e.g. '2025-12-01 17:00 Europe/Berlin' (no zone: UTC, as in nbgrader)",
    )
    q.add_argument("--force", action="store_true", help="replace a release already in the exchange")
    exchange_option(q)
    db_option(q)
    q.set_defaults(func=cmd_exchange_release)

    q = steps.add_parser(
        "due",
        help="set or change an assignment's due date in the gradebook",
        description="Set ASSIGNMENT's due date; lateness is measured against it when "
        "collecting and grading. WHEN 'none' removes it.",
    )
    q.add_argument("assignment", metavar="ASSIGNMENT")
    q.add_argument("when", metavar="WHEN", help="e.g. '2025-12-01 17:00 UTC', or 'none'")
    db_option(q)
    q.set_defaults(func=cmd_exchange_due)

    q = steps.add_parser(
        "collect",
        help="copy hand-ins to submitted/ (newest kept), add unknown students, record lateness",
        description="Collect ASSIGNMENT's hand-ins: each student's newest one replaces an "
        "older collected one. A hand-in counts only when it and every file in it belong to the "
        "Unix user it names; links, devices, FIFOs, sockets and files over nbgrader's "
        "max_file_size are refused unread. Its time is the kernel's (the newest ctime of its "
        "files), not timestamp.txt. Students not in the gradebook yet are added; each "
        "hand-in's time is recorded, so lateness shows before grading.",
    )
    q.add_argument("assignment", metavar="ASSIGNMENT")
    q.add_argument(
        "--before-due",
        action="store_true",
        help="keep each student's newest hand-in made before the due date, if any",
    )
    q.add_argument(
        "--shared-account",
        action="store_true",
        help="the students share one Unix account and hand in with --student ID: take each "
        "hand-in's name on its word (anyone with the account can hand in as anyone)",
    )
    exchange_option(q)
    db_option(q)
    q.set_defaults(func=cmd_exchange_collect)

    q = steps.add_parser(
        "feedback",
        help="write feedback pages for graded hand-ins and release them to the students",
        description="Generate feedback (failure messages shown, hidden test code left out) "
        "and put it in the exchange, where each student fetches only their own.",
    )
    q.add_argument("assignment", metavar="ASSIGNMENT")
    q.add_argument("--student", metavar="ID", help="only this student")
    exchange_option(q)
    db_option(q)
    q.set_defaults(func=cmd_exchange_feedback)

    p = sub.add_parser("roster", help="the class list in the gradebook")
    steps = p.add_subparsers(dest="step", required=True, metavar="STEP")
    q = steps.add_parser(
        "import",
        help="add or update students from a CSV file",
        description="Read FILE.csv (header row; columns id, first_name, last_name, email, "
        "lms_user_id; 'student_id' or 'username' also name the id; other columns are "
        "ignored) and add or update each student in the gradebook. Any bad row stops the "
        "import, with its line number.",
    )
    q.add_argument("file", metavar="FILE.csv")
    db_option(q)
    q.set_defaults(func=cmd_roster_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cnnkit`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (NbgraderError, RosterError, FileNotFoundError) as exc:
        print(f"cnnkit {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"cnnkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
