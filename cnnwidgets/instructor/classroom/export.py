"""Scores from the gradebook as CSV: nbgrader's columns, or an LMS's gradebook import.

- ``nbgrader``: one row per (assignment, student), the columns of ``nbgrader export``.
- ``canvas``: Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID,
  Section``, one column per assignment, and the ``Points Possible`` row.
- ``moodle``: Moodle's CSV grade import: ``Email address``, one column per assignment.

Every score is nbgrader's: the raw score less the late-submission penalty that
nbgrader's ``LateSubmissionPlugin`` set when grading, never below zero.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import TextIO

from ..course import Course, NbgraderError

__all__ = ["COLUMNS", "FORMATS", "Export", "export_csv", "export_grades"]

FORMATS = ("nbgrader", "canvas", "moodle")

# The columns of nbgrader's CsvExportPlugin, so existing spreadsheets keep working;
# written with the csv module, which quotes names that contain commas.
COLUMNS = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
)
# Canvas reads a header as a gradebook's when its first columns are these (its
# GradebookImporter: 'Student', 'ID', then 'SIS User ID' and 'SIS Login ID' before
# 'Section'); every later column is an assignment, matched by title.
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"
# Canvas drops columns whose title contains one of these (its NON_ASSIGNMENT_COLUMN_HEADERS,
# matched anywhere in the title) ...
CANVAS_NOT_ASSIGNMENTS = (
    "Current Score",
    "Current Points",
    "Current Grade",
    "Final Score",
    "Final Points",
    "Final Grade",
    "Override Score",
    "Override Grade",
    "Override Status",
)
# ... and reads these titles as a student's columns, never as an assignment.
CANVAS_RESERVED = (
    "Student",
    "LastName",
    "FirstName",
    "ID",
    "SIS User ID",
    "SIS Login ID",
    "Section",
    "Integration ID",
    "Root Account",
)
MOODLE_EMAIL_COLUMN = "Email address"


@dataclass
class Export:
    """What :func:`export_grades` wrote."""

    rows: int  # data rows (students, or assignment x student for nbgrader)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Score:
    raw: float
    penalty: float
    graded: bool

    @property
    def score(self) -> float:
        return max(0.0, self.raw - self.penalty)  # as nbgrader's own export


def _number(x: float) -> str:
    """A score as both LMSs read it: a plain decimal point, at most two decimals."""
    return f"{round(x, 2):g}"


def _scores(gb, assignments, students) -> dict[tuple[str, str], _Score]:
    from nbgrader.api import MissingEntry

    found = {}
    for a in assignments:
        for s in students:
            try:
                sub = gb.find_submission(a.name, s.id)
            except MissingEntry:
                continue
            graded = any(
                g.auto_score is not None or g.manual_score is not None
                for nb in sub.notebooks
                for g in nb.grades
            )
            found[a.name, s.id] = _Score(
                float(sub.score or 0.0), float(sub.late_submission_penalty or 0.0), graded
            )
    return found


def export_csv(course: Course, out: TextIO, assignments: list[str] | None = None) -> int:
    """Write one row per (assignment, student) of the gradebook to ``out``; return the row count.

    The columns of ``nbgrader export``. A student with no submission of an
    assignment gets a score of 0 and an empty timestamp, as in ``nbgrader export``.
    """
    from nbgrader.api import MissingEntry

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    with course.gradebook() as gb:
        for assignment in gb.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gb.students:
                row = {
                    "assignment": assignment.name,
                    "duedate": assignment.duedate or "",
                    "student_id": student.id,
                    "last_name": student.last_name or "",
                    "first_name": student.first_name or "",
                    "email": student.email or "",
                    "max_score": assignment.max_score,
                }
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                else:
                    penalty = sub.late_submission_penalty or 0.0
                    row.update(
                        timestamp=sub.timestamp or "",
                        raw_score=sub.score,
                        late_submission_penalty=penalty,
                        score=max(0.0, sub.score - penalty),
                    )
                writer.writerow([row[c] for c in COLUMNS])
                count += 1
    return count


def export_grades(
    course: Course,
    out: TextIO,
    *,
    format: str = "nbgrader",
    assignments: list[str] | None = None,
    missing_zero: bool = False,
) -> Export:
    """Write the gradebook's scores to ``out`` as ``format`` (one of :data:`FORMATS`).

    For ``canvas`` and ``moodle`` a student without a graded hand-in of an
    assignment gets an empty cell, which both leave alone on import
    (``missing_zero``: 0 instead); students are rows, assignments columns.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> export_grades(course, buf, format="canvas")  # doctest: +SKIP
    Export(rows=42, warnings=[])
    """
    if format not in FORMATS:
        raise NbgraderError(
            f"Unknown export format {format!r}: choose one of {', '.join(FORMATS)}."
        )
    if format == "nbgrader":
        return Export(export_csv(course, out, assignments))
    with course.gradebook() as gb:
        chosen = [a for a in gb.assignments if not assignments or a.name in assignments]
        unknown = sorted(set(assignments or []) - {a.name for a in chosen})
        if unknown:
            raise NbgraderError(
                f"No assignment {', '.join(map(repr, unknown))} in the gradebook "
                f"(there: {', '.join(a.name for a in gb.assignments) or 'none'})."
            )
        students = sorted(gb.students, key=lambda s: s.id)
        scores = _scores(gb, chosen, students)
        columns = [(a.name, float(a.max_score)) for a in chosen]
        people = [
            (s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
            for s in students
        ]
    warnings = []

    def cell(assignment: str, student: str) -> str:
        found = scores.get((assignment, student))
        if found is None or not found.graded:
            return "0" if missing_zero else ""
        return _number(found.score)

    writer = csv.writer(out, lineterminator="\n")
    if format == "canvas":
        clash = [
            name
            for name, _ in columns
            if name in CANVAS_RESERVED or any(r in name for r in CANVAS_NOT_ASSIGNMENTS)
        ]
        if clash:
            raise NbgraderError(
                f"Canvas would not read the column(s) {', '.join(clash)} as assignments "
                "(a student column's name, or one containing "
                f"{', '.join(CANVAS_NOT_ASSIGNMENTS)}): rename them."
            )
        writer.writerow([*CANVAS_STUDENT_COLUMNS, *(name for name, _ in columns)])
        blanks = [""] * (len(CANVAS_STUDENT_COLUMNS) - 1)
        writer.writerow([CANVAS_POINTS_ROW, *blanks, *(_number(m) for _, m in columns)])
        for sid, first, last, _, lms in people:
            # Canvas matches ID (its user id), then SIS User ID, SIS Login ID, then the
            # name as 'Last, First'; the kit's id is the login students use.
            name = f"{last}, {first}" if last and first else (last or first or sid)
            writer.writerow([name, lms, "", sid, "", *(cell(a, sid) for a, _ in columns)])
        return Export(len(people), warnings)

    # moodle: a user is found by the column mapped to their email address
    by_email: dict[str, list[str]] = {}
    for sid, _, _, email, _ in people:
        if email:
            by_email.setdefault(email.strip().lower(), []).append(sid)
    shared = {e: ids for e, ids in by_email.items() if len(ids) > 1}
    if shared:
        raise NbgraderError(
            "Moodle finds a student by email, and these are shared: "
            + "; ".join(f"{e} ({', '.join(ids)})" for e, ids in sorted(shared.items()))
            + ". Fix them in the roster (cnnkit roster import)."
        )
    missing = [sid for sid, _, _, email, _ in people if not email]
    if missing:
        warnings.append(
            f"{len(missing)} student(s) without an email left out (Moodle finds students by "
            f"email): {', '.join(missing)}; add them with `cnnkit roster import`"
        )
    over = [name for name, m in columns if m > 100]
    if over:
        warnings.append(
            f"{', '.join(over)}: more than 100 points; Moodle refuses grades over 100 unless "
            "the site's gradepointmax is raised"
        )
    writer.writerow([MOODLE_EMAIL_COLUMN, *(name for name, _ in columns)])
    rows = 0
    for sid, _, _, email, _ in people:
        if email:
            writer.writerow([email.strip(), *(cell(a, sid) for a, _ in columns)])
            rows += 1
    return Export(rows, warnings)
