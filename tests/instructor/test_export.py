"""`cnnkit export --format nbgrader|canvas|moodle` against each format's column rules.

The rules are read off the importers themselves: Canvas's ``GradebookImporter``
(app/models/gradebook_importer.rb) and Moodle's ``gradeimport_csv_load_data``
(grade/import/csv/classes/load_data.php). Late penalties are nbgrader's own: its
``AssignLatePenalties`` step (with the course's ``LateSubmissionPlugin``) sets them
in the gradebook, as grading does.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import nbformat
import pytest
from traitlets.config import Config

from cnnwidgets.instructor.classroom.export import (
    CANVAS_NOT_ASSIGNMENTS,
    CANVAS_RESERVED,
    COLUMNS,
    export_grades,
)
from cnnwidgets.instructor.course import Course, NbgraderError

from .conftest import cnnkit

DUE = datetime(2025, 12, 1, 16, 0)
# (id, first, last, email, lms id); scores of a1 (13 points) and a2 (10 points):
# a number is a graded hand-in, "ungraded" one collected but not graded, None none.
STUDENTS = [
    ("ada", "Ada", "Lovelace", "ada@example.org", "101", 13.0, 7.5),
    ("grace", "Grace", "Hopper, Jr.", "grace@example.org", "", 13.0, 10.0),  # a1 late
    ("bob", "Bøb", "Ünal", "bob@example.org", "103", "ungraded", None),
    ("cy", "", "", "cy@example.org", "", None, 4.333333),
    ("dee", "Dee", "Nomail", "", "", 2.0, None),
]
LATE = {"grace"}


def _penalties(url: str, assignment: str, student: str, method: str) -> None:
    """nbgrader's own step for late penalties, as autograde runs it."""
    from nbgrader.preprocessors import AssignLatePenalties

    cfg = Config()
    cfg.LateSubmissionPlugin.penalty_method = method
    resources = {
        "nbgrader": {
            "notebook": assignment,
            "assignment": assignment,
            "student": student,
            "db_url": url,
        }
    }
    AssignLatePenalties(config=cfg).preprocess(nbformat.v4.new_notebook(), resources)


def _course(tmp_path, penalty: str = "zero") -> Course:
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = 'cnn-course'\n"
    )
    course = Course(root)
    handed_in = []
    with course.gradebook() as gb:
        for name, points in (("a1_convolution", 13.0), ("a2_shapes", 10.0)):
            gb.add_assignment(name, duedate=DUE)
            gb.add_notebook(name, name)
            gb.add_grade_cell("t", name, name, max_score=points, cell_type="code")
        for sid, first, last, email, lms, *scores in STUDENTS:
            gb.add_student(
                sid,
                first_name=first or None,
                last_name=last or None,
                email=email or None,
                lms_user_id=lms or None,
            )
            for name, score in zip(("a1_convolution", "a2_shapes"), scores, strict=True):
                if score is None:
                    continue
                late = sid in LATE and name == "a1_convolution"
                when = DUE.replace(hour=17 if late else 15)
                gb.add_submission(name, sid, timestamp=when)
                handed_in.append((name, sid))
                if score != "ungraded":
                    gb.find_grade("t", name, name, sid).auto_score = score
                    gb.db.commit()
    for name, sid in handed_in:
        _penalties(course.gradebook_url, name, sid, penalty)
    return course


def _write(course: Course, **options) -> tuple[str, list[str]]:
    out = io.StringIO()
    done = export_grades(course, out, **options)
    return out.getvalue(), done.warnings


# --- Canvas's gradebook importer, its rules ------------------------------------------
def _canvas_delimiter(lines: list[str]) -> str:
    """Canvas's identify_delimiter: the separator giving the same field count on the first
    three lines, ';' only if it gives more fields than ','."""
    counts = {}
    for sep in (";", ","):
        sizes = {len(next(csv.reader([line], delimiter=sep))) for line in lines[:3]}
        counts[sep] = sizes.pop() if len(sizes) == 1 else 0
    return ";" if counts[";"] > counts[","] else ","


def _canvas_read(text: str) -> dict:
    """The file as Canvas's GradebookImporter reads it (the parts the kit writes)."""
    lines = text.splitlines()
    assert _canvas_delimiter(lines) == ","
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    # header?: row.length > 3, row[0] includes Student, row[1] includes ID
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    # update_column_count: SIS User ID then SIS Login ID after the name columns ...
    assert re.fullmatch(r"SIS\s+User\s+ID", header[2])
    assert re.fullmatch(r"SIS\s+Login\s+ID", header[3])
    student_columns = 5
    # ... and the last student column includes Section
    assert "Section" in header[student_columns - 1]
    assignments = header[student_columns:]
    not_assignment = re.compile("|".join(CANVAS_NOT_ASSIGNMENTS))
    for name in assignments:
        assert not not_assignment.search(name), name  # would be dropped
        assert name not in CANVAS_RESERVED, name
    assert len(set(assignments)) == len(assignments)
    points, students = None, {}
    for row in rows[1:]:
        assert len(row) == len(header), row
        if "Points Possible" in row[0]:
            points = dict(zip(assignments, row[student_columns:], strict=True))
            continue
        assert not all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.I) for c in row)
        # a student: found by ID (a number), SIS User ID, SIS Login ID, or the name
        assert any(row[i] for i in range(4)), row
        grades = dict(zip(assignments, row[student_columns:], strict=True))
        for grade in grades.values():
            assert grade == "" or re.fullmatch(r"\d+(\.\d{1,2})?", grade), grade
        students[row[3] or row[0]] = {"name": row[0], "id": row[1], "grades": grades}
    assert points is not None, "no Points Possible row"
    return {"assignments": assignments, "points": points, "students": students}


def test_canvas_columns_and_points_possible_row(tmp_path):
    course = _course(tmp_path)
    text, warnings = _write(course, format="canvas")
    assert warnings == []
    assert text.splitlines()[0] == (
        "Student,ID,SIS User ID,SIS Login ID,Section,a1_convolution,a2_shapes"
    )
    read = _canvas_read(text)
    assert read["points"] == {"a1_convolution": "13", "a2_shapes": "10"}
    s = read["students"]
    assert s["ada"] == {
        "name": "Lovelace, Ada",
        "id": "101",
        "grades": {"a1_convolution": "13", "a2_shapes": "7.5"},
    }
    assert s["grace"]["name"] == "Hopper, Jr., Grace"  # quoted: one cell
    # late with nbgrader's "zero" penalty: 0, as nbgrader's own export computes it
    assert s["grace"]["grades"] == {"a1_convolution": "0", "a2_shapes": "10"}
    # collected but not graded, or never handed in: left alone in Canvas
    assert s["bob"]["grades"] == {"a1_convolution": "", "a2_shapes": ""}
    assert s["bob"]["name"] == "Ünal, Bøb"
    assert s["cy"] == {
        "name": "cy",
        "id": "",
        "grades": {"a1_convolution": "", "a2_shapes": "4.33"},
    }
    assert set(s) == {"ada", "grace", "bob", "cy", "dee"}

    zero, _ = _write(course, format="canvas", missing_zero=True)
    assert _canvas_read(zero)["students"]["bob"]["grades"] == {
        "a1_convolution": "0",
        "a2_shapes": "0",
    }
    only, _ = _write(course, format="canvas", assignments=["a2_shapes"])
    assert _canvas_read(only)["assignments"] == ["a2_shapes"]


def test_late_penalty_none_keeps_the_score(tmp_path):
    course = _course(tmp_path, penalty="none")
    read = _canvas_read(_write(course, format="canvas")[0])
    assert read["students"]["grace"]["grades"]["a1_convolution"] == "13"
    with course.gradebook() as gb:
        assert gb.find_submission("a1_convolution", "grace").total_seconds_late == 3600


def test_canvas_refuses_titles_it_would_not_read_as_assignments(tmp_path):
    course = _course(tmp_path)
    with course.gradebook() as gb:
        gb.add_assignment("Final Score bonus")
    with pytest.raises(NbgraderError, match="Final Score bonus"):
        _write(course, format="canvas")


# --- Moodle's CSV grade import, its rules ---------------------------------------------
def _moodle_read(text: str) -> dict[str, dict[str, str]]:
    """The file as Moodle's CSV grade import reads it, the user mapped by email."""
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]  # trim_headers
    assert all(header) and len(set(header)) == len(header)  # csv_import_reader's columns
    emails = [row[0] for row in rows[1:]]
    assert all(emails), "a blank user field: Moodle skips the row"
    assert len(set(emails)) == len(emails)
    found = {}
    for row in rows[1:]:
        assert len(row) == len(header)
        for value in row[1:]:
            # update_grade_item: '' or '-' is no grade, else a number (unformat_float)
            if value not in ("", "-"):
                assert re.fullmatch(r"\d+(\.\d+)?", value), value
                assert float(value) <= 100  # gradepointmax
        found[row[0]] = dict(zip(header[1:], row[1:], strict=True))
    return found


def test_moodle_email_and_one_column_per_assignment(tmp_path):
    course = _course(tmp_path)
    text, warnings = _write(course, format="moodle")
    assert text.splitlines()[0] == "Email address,a1_convolution,a2_shapes"
    read = _moodle_read(text)
    assert read == {
        "ada@example.org": {"a1_convolution": "13", "a2_shapes": "7.5"},
        "grace@example.org": {"a1_convolution": "0", "a2_shapes": "10"},
        "bob@example.org": {"a1_convolution": "", "a2_shapes": ""},
        "cy@example.org": {"a1_convolution": "", "a2_shapes": "4.33"},
    }
    assert len(warnings) == 1 and "without an email" in warnings[0] and "dee" in warnings[0]


def test_moodle_refuses_shared_emails(tmp_path):
    course = _course(tmp_path)
    with course.gradebook() as gb:
        gb.update_or_create_student("cy", email="ADA@example.org")
    with pytest.raises(NbgraderError, match="ada@example.org .*ada, cy"):
        _write(course, format="moodle")


def test_nbgrader_format_and_the_command(tmp_path):
    course = _course(tmp_path)
    text, _ = _write(course)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    grace = next(
        r for r in rows if r["student_id"] == "grace" and r["assignment"] == "a1_convolution"
    )
    assert (grace["raw_score"], grace["late_submission_penalty"], grace["score"]) == (
        "13.0",
        "13.0",
        "0.0",
    )

    out = tmp_path / "canvas.csv"
    run = cnnkit("--course", str(course.root), "export", "--format", "canvas", "--to", str(out))
    assert run.returncode == 0, run.stderr
    assert "wrote 5 row(s)" in run.stdout
    assert _canvas_read(out.read_text(encoding="utf-8"))["students"]["ada"]["id"] == "101"
    run = cnnkit("--course", str(course.root), "export", "--format", "moodle")
    assert run.returncode == 0 and "without an email" in run.stderr
    assert _moodle_read(run.stdout)["ada@example.org"]["a2_shapes"] == "7.5"
    run = cnnkit("--course", str(course.root), "export", "--format", "canvas", "--assignment", "a9")
    assert run.returncode == 1 and "No assignment 'a9'" in run.stderr
