"""Scores from the gradebook as CSV, in the columns of `nbgrader export`."""

from __future__ import annotations

import csv
from typing import TextIO

from ..course import Course

__all__ = ["COLUMNS", "export_csv"]

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


def export_csv(course: Course, out: TextIO, assignments: list[str] | None = None) -> int:
    """Write one row per (assignment, student) of the gradebook to ``out``; return the row count.

    A student with no submission of an assignment gets a score of 0 and an
    empty timestamp, as in ``nbgrader export``.
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
