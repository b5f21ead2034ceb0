"""nbgrader's exchange for a class: release, due dates, collect with lateness, feedback back.

The exchange is a folder every student account can write to (``Exchange.root``,
by default ``/usr/local/share/nbgrader/exchange``). For a course it holds
``<course_id>/outbound/<assignment>/`` (what students fetch),
``<course_id>/inbound/<student>+<assignment>+<timestamp>+<random>/`` (what they
submit; the folder cannot be listed by students, mode 0733) and
``<course_id>/feedback/<hash>.html`` (feedback, fetched by a hash only the
submitting student knows). Every transfer here is nbgrader's own, through
``NbGraderAPI``; this module adds the checks and records a class needs around it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..course import Course, NbgraderError, check
from ..release import folder_differences

__all__ = [
    "Collected",
    "collect",
    "exchange_config",
    "exchange_root",
    "parse_due",
    "record_assignment",
    "release_feedback",
    "release_to_exchange",
    "set_due",
]


@dataclass
class Collected:
    """One student's hand-in of an assignment after ``collect``."""

    student: str
    submissions: int | None  # the student's hand-ins in the exchange (None: cannot look)
    timestamp: datetime | None  # nbgrader's timestamp (UTC) of the copy in submitted/
    seconds_late: float  # past the gradebook's due date (0 when on time or no due date)
    status: str  # "new", "updated" (a newer hand-in replaced the old one) or "unchanged"
    new_student: bool = False  # not in the gradebook before; collect added them
    owner: str | None = None  # Unix owner of the hand-in when it is not the student id

    @property
    def late(self) -> bool:
        return self.seconds_late > 0


# --- configuration -----------------------------------------------------------------
def _site_exchange_settings() -> Config:
    """``Exchange`` settings from the nbgrader_config.py files nbgrader itself reads.

    On a shared server or JupyterHub the exchange root is usually set once for
    everybody in ``/etc/jupyter/nbgrader_config.py`` (or the user's
    ``~/.jupyter/``); the course's own file may override it.
    """
    from jupyter_core.paths import jupyter_config_path

    settings = Config()
    for folder in reversed(jupyter_config_path()):  # lowest priority first, like nbgrader
        path = Path(folder) / "nbgrader_config.py"
        if path.is_file():
            loaded = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
            settings.merge(_exchange_sections(loaded))
    return settings


def _exchange_sections(cfg: Config) -> Config:
    # Exchange, ExchangeFactory (another exchange, e.g. ngshare), ExchangeCollect, ...
    return Config({k: v for k, v in cfg.items() if k.startswith("Exchange")})


def exchange_config(course: Course, root: str | os.PathLike | None = None) -> Config:
    """Configuration for nbgrader's exchange steps on ``course``.

    The exchange root is, in order: ``root``; ``Exchange.root`` in the course's
    ``nbgrader_config.py``; in a Jupyter config folder (``/etc/jupyter``,
    ``~/.jupyter``, …); nbgrader's default.
    """
    cfg = _site_exchange_settings()
    cfg.merge(_exchange_sections(course.config()))
    if root is not None:
        cfg.Exchange.root = str(Path(root).resolve())
    return cfg


def exchange_root(course: Course, root: str | os.PathLike | None = None) -> Path:
    """The exchange folder ``course`` uses (see :func:`exchange_config`)."""
    from nbgrader.exchange.default import Exchange

    cfg = exchange_config(course, root)
    if "root" in cfg.Exchange:
        return Path(cfg.Exchange.root)
    return Path(Exchange.class_traits()["root"].default_value)


# --- due dates ---------------------------------------------------------------------
def parse_due(when: str | datetime) -> datetime:
    """A due date as nbgrader stores it: naive UTC.

    Reads what nbgrader reads (``2025-12-01 17:00:00 Europe/Berlin``,
    ``2025-12-01T17:00+01:00``); a time without a zone is UTC, as in nbgrader.

    Examples
    --------
    >>> parse_due("2025-12-01 17:00 Europe/Berlin")
    datetime.datetime(2025, 12, 1, 16, 0)
    """
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(when)
    except (ValueError, OverflowError) as exc:
        raise NbgraderError(
            f"Cannot read the due date {when!r}: write it like '2025-12-01 17:00 UTC', "
            "'2025-12-01 17:00 Europe/Berlin' or '2025-12-01T17:00+01:00'."
        ) from exc


def set_due(course: Course, assignment: str, when: str | datetime | None) -> datetime | None:
    """Record ``assignment``'s due date in the gradebook (``None`` removes it).

    nbgrader measures lateness against it when collecting and grading, and
    applies the configured late-submission penalty (none by default).
    """
    due = None if when is None else parse_due(when)
    with course.gradebook() as gb:
        gb.update_or_create_assignment(assignment, duedate=due)
    return due


def _due(course: Course, assignment: str) -> datetime | None:
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            return gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None


# --- release -----------------------------------------------------------------------
def record_assignment(course: Course, assignment: str) -> list[str]:
    """Record ``assignment``'s source in the gradebook; return how exercises/ differs from it.

    Runs nbgrader's ``generate_assignment`` into a scratch folder (the committed
    exercises/ is never rewritten) against the real gradebook, which then knows
    the notebooks, grade cells and points. The due date, if any, is kept.
    """
    with tempfile.TemporaryDirectory(prefix="cnnkit-exchange-") as tmp:
        extra = Config()
        extra.CourseDirectory.release_directory = tmp
        check(
            course.api(extra).generate_assignment(assignment, force=True, create=True),
            f"recording {assignment} in the gradebook",
        )
        return folder_differences(Path(tmp) / assignment, course.release_dir / assignment)


def release_to_exchange(
    course: Course,
    assignment: str,
    *,
    root: str | os.PathLike | None = None,
    due: str | datetime | None = None,
    force: bool = False,
) -> Path:
    """Put ``exercises/<assignment>`` in the exchange for students to fetch.

    Refuses when exercises/ is not what solutions/ generates today (students
    would get a version the grader does not use): run ``cnnkit release`` first.
    Records the assignment and ``due`` in the gradebook. ``force`` replaces a
    release already in the exchange (students who fetched keep their copy).
    Returns the released folder in the exchange.
    """
    drift = record_assignment(course, assignment)
    if drift:
        raise NbgraderError(
            f"exercises/{assignment} is not a fresh generation of solutions/{assignment} "
            f"({drift[0]}): run `cnnkit release {assignment}` first, so students get the "
            "version you will grade."
        )
    if due is not None:
        set_due(course, assignment, due)
    cfg = exchange_config(course, root)
    if force:
        cfg.ExchangeReleaseAssignment.force = True
    check(
        course.api(cfg).release_assignment(assignment),
        f"nbgrader release_assignment {assignment}",
    )
    return exchange_root(course, root) / course.course_id / "outbound" / assignment


# --- collect -----------------------------------------------------------------------
def _hand_ins(inbound: Path, assignment: str) -> dict[str, list[Path]]:
    """Hand-ins of ``assignment`` in the inbound folder by student, newest first.

    Names are ``<student>+<assignment>+<timestamp>[+<random>]``, as nbgrader's
    collect reads them (a student id may itself contain ``+``).
    """
    from nbgrader.utils import parse_utc

    found: dict[str, list[tuple[datetime, Path]]] = {}
    for path in inbound.glob(f"*+{assignment}+*"):
        parts = path.name.rsplit("+", 3)
        if len(parts) == 4 and parts[1] != assignment:  # no random suffix, '+' in the id
            parts = path.name.rsplit("+", 2)
        if len(parts) < 3 or parts[1] != assignment:
            continue
        try:
            stamp = parse_utc(parts[2])
        except ValueError:
            continue
        found.setdefault(parts[0], []).append((stamp, path))
    return {s: [p for _, p in sorted(v, reverse=True)] for s, v in sorted(found.items())}


def _owner(path: Path) -> str:
    import pwd

    uid = path.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def collect(
    course: Course,
    assignment: str,
    *,
    root: str | os.PathLike | None = None,
    before_due: bool = False,
) -> list[Collected]:
    """Copy the students' hand-ins from the exchange to ``submitted/`` and record them.

    nbgrader's collect keeps each student's newest hand-in (``update=True``:
    a re-submission replaces an earlier collected one; ``before_due`` keeps the
    newest one made before the due date instead, when there is one). Then, in
    the gradebook, a student who is not there yet is added, and each hand-in's
    timestamp is recorded, so its lateness (nbgrader's ``total_seconds_late``)
    shows in the formgrader and ``cnnkit export`` before any grading.
    """
    from nbgrader.api import MissingEntry
    from nbgrader.exchange import ExchangeFactory, default

    cfg = exchange_config(course, root)
    # The folder exchange can be looked at; another one (ngshare, ...) only through nbgrader.
    hand_ins: dict[str, list[Path]] | None = None
    if ExchangeFactory(config=cfg).collect is default.ExchangeCollect:
        inbound = exchange_root(course, root) / course.course_id / "inbound"
        if not inbound.is_dir():
            raise NbgraderError(
                f"No {inbound}: release an assignment first (`cnnkit exchange release`)."
            )
        hand_ins = _hand_ins(inbound, assignment)
    coursedir = course.coursedir()

    def stamp(student: str) -> datetime | None:
        folder = course.folder("submitted_directory", student, assignment)
        return coursedir.get_existing_timestamp(str(folder)) if folder.is_dir() else None

    before = {s: stamp(s) for s in course.students(assignment)}  # collected earlier
    if before_due:
        cfg.ExchangeCollect.before_duedate = True
    check(course.api(cfg).collect(assignment, update=True), f"nbgrader collect {assignment}")

    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
            registered = True
        except MissingEntry:
            registered = False
    if not registered:  # released with nbgrader itself: the gradebook needs the notebooks
        record_assignment(course, assignment)

    students = sorted(hand_ins) if hand_ins is not None else course.students(assignment)
    results = []
    with course.gradebook() as gb:
        for student in students:
            new_student = False
            try:
                gb.find_student(student)
            except MissingEntry:
                gb.add_student(student)
                new_student = True
            when = stamp(student)
            status = (
                "new"
                if student not in before
                else "unchanged"
                if when == before[student]
                else "updated"
            )
            submission = gb.update_or_create_submission(assignment, student, timestamp=when)
            paths = hand_ins[student] if hand_ins is not None else []
            owner = _owner(paths[0]) if paths else student
            results.append(
                Collected(
                    student,
                    len(paths) if hand_ins is not None else None,
                    when,
                    float(submission.total_seconds_late),
                    status,
                    new_student,
                    owner if owner != student else None,
                )
            )
    return results


# --- feedback ----------------------------------------------------------------------
def release_feedback(
    course: Course,
    assignment: str,
    *,
    root: str | os.PathLike | None = None,
    student: str | None = None,
) -> list[Path]:
    """Write feedback pages for the graded hand-ins and put them in the exchange.

    The pages are nbgrader's ``generate_feedback`` with the kit's
    :class:`~cnnwidgets.instructor.classroom.feedback.HideHiddenTests` (failure
    messages shown, hidden test code left out). Each student fetches their own
    with ``nbgrader fetch_feedback``; the exchange names a page by a hash of a
    secret only the submitting student holds. Returns the pages released.
    """
    from .feedback import feedback

    pages = feedback(course, assignment, student=student)
    if not pages:
        raise NbgraderError(
            f"No graded hand-ins of {assignment}"
            + (f" by {student}" if student else "")
            + ": run `cnnkit grade` first."
        )
    check(
        course.api(exchange_config(course, root)).release_feedback(assignment, student_id=student),
        f"nbgrader release_feedback {assignment}",
    )
    return pages
