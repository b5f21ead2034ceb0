"""`cnnkit grade` on sample submissions of a1, then export, report and feedback on the result."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from contextlib import closing

import nbformat
import pytest

from cnnwidgets.instructor.autograde.grade import load_sidecar
from cnnwidgets.instructor.course import Course

from ._samples import A1, A1_MAX
from .conftest import cnnkit, tree_hashes

pytestmark = pytest.mark.slow


def _scores(root) -> dict[str, float]:
    course = Course(root)
    with course.gradebook() as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(A1)}


def _rows(root, table: str) -> list[tuple]:
    with closing(sqlite3.connect(root / "gradebook.db")) as db:
        return db.execute(f"SELECT * FROM {table}").fetchall()


def test_scores_match_the_expected_ones(graded_course):
    scores = _scores(graded_course.root)
    want = {s: v for s, v in graded_course.expected.items() if v is not None}
    assert scores == want


def test_one_unreadable_submission_is_reported_and_the_rest_graded(graded_course):
    run = graded_course.run
    # exit 1: one submission could not be graded, and the table says which and why
    assert run.returncode == 1, run.stderr
    line = next(x for x in run.stdout.splitlines() if x.startswith("garbled"))
    assert "error" in line and "JSON" in line, line
    for student, score in graded_course.expected.items():
        if score is not None:
            row = next(x for x in run.stdout.splitlines() if x.startswith(student + " "))
            assert f"{score:g}/{A1_MAX:g}" in row and "graded" in row, row
    assert "6 graded, 1 not graded" in run.stdout
    # the progress bar (stderr) counts as it goes
    assert "7/7" in run.stderr and "failed=1" in run.stderr


def test_grading_never_modifies_a_submission(graded_course):
    assert tree_hashes(graded_course.root / "submitted") == graded_course.before


def test_timings_and_statuses_are_kept_for_the_report(graded_course):
    records = load_sidecar(Course(graded_course.root), A1)
    assert set(records) == set(graded_course.expected)
    assert records["garbled"]["status"] == "error"
    assert all(r["seconds"] > 0 for r in records.values())
    # an autograded notebook per graded student, with the kit's files out of nbgrader's way
    autograded = graded_course.root / "autograded"
    graded = {p.name for p in autograded.iterdir() if not p.name.startswith(".")}
    assert graded == {s for s, v in graded_course.expected.items() if v is not None}


def test_regrading_is_idempotent(graded_course):
    root = graded_course.root
    before = _scores(root)
    tables = ("submitted_assignment", "submitted_notebook", "grade", "comment")
    counts = {t: len(_rows(root, t)) for t in tables}
    run = cnnkit(
        "--course",
        str(root),
        "grade",
        A1,
        "--student",
        "partial",
        "--student",
        "tamper",
        "--no-progress",
        tmpdir=graded_course.tmp,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert _scores(root) == before
    assert {t: len(_rows(root, t)) for t in counts} == counts
    assert tree_hashes(root / "submitted") == graded_course.before


def test_export_writes_the_scores_as_csv(graded_course, tmp_path):
    out = tmp_path / "grades.csv"
    run = cnnkit("--course", str(graded_course.root), "export", "--to", str(out))
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    by_student = {r["student_id"]: r for r in rows if r["assignment"] == A1}
    for student, score in graded_course.expected.items():
        if score is not None:
            assert float(by_student[student]["score"]) == score
            assert float(by_student[student]["max_score"]) == A1_MAX
    assert by_student["correct"]["timestamp"].startswith("2026-11-01 09:30:00")
    # standard output works too, for pipes
    run = cnnkit("--course", str(graded_course.root), "export")
    assert run.stdout.splitlines()[0].startswith("assignment,duedate,timestamp,student_id")


def test_report_is_one_html_page_with_the_charts(graded_course, tmp_path):
    out = tmp_path / "report.html"
    run = cnnkit("--course", str(graded_course.root), "report", A1, "--out", str(out))
    assert run.returncode == 0, run.stderr
    page = out.read_text()
    for title in (
        "Score distribution",
        "Pass rate per test",
        "Most common failure messages",
        "Slowest submissions",
    ):
        assert title in page
    # plotly.js inlined once (the page works offline), then four charts that use it
    assert page.count("plotly.js v") == 1 and "<script src=" not in page
    assert page.count("Plotly.newPlot(") == 4
    # failure messages come from the autograded notebooks' error outputs
    assert "NotImplementedError" in page and "cnn_helpers" in page
    assert "garbled" in page


def test_feedback_hides_the_hidden_tests(graded_course):
    root = graded_course.root
    run = cnnkit("--course", str(root), "feedback", A1)
    assert run.returncode == 0, run.stdout + run.stderr
    pages = sorted((root / "feedback").glob(f"*/{A1}/{A1}.html"))
    assert {p.parts[-3] for p in pages} == {
        s for s, v in graded_course.expected.items() if v is not None
    }
    source = nbformat.read(root / "solutions" / A1 / f"{A1}.ipynb", as_version=4)
    hidden = [
        line.strip()
        for cell in source.cells
        for block in cell.source.split("### BEGIN HIDDEN TESTS")[1:]
        for line in block.split("### END HIDDEN TESTS")[0].split("\n")
        if len(line.strip()) > 12
    ]
    assert hidden, "a1 should have hidden tests"
    for page in pages:
        text = _visible_text(page.read_text())
        assert "HIDDEN TESTS" not in text
        leaked = [h for h in hidden if h in text]
        assert leaked == [], f"{page.parts[-3]}: {leaked[:3]}"
    # the messages the hidden tests wrote still reach the student
    partial = _visible_text((root / "feedback" / "partial" / A1 / f"{A1}.html").read_text())
    assert "AssertionError: Conv2D(kernel_size=" in partial
    assert "AssertionError: colour_value adds the bias once per channel" in partial


def _visible_text(page: str) -> str:
    """What a browser shows: tags removed (highlighting splits code lines into spans)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_outcomes_json_is_valid(graded_course):
    path = graded_course.root / "autograded" / ".cnnkit" / f"{A1}.json"
    assert json.loads(path.read_text())["correct"]["score"] == A1_MAX
