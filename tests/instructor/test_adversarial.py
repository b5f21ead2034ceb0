"""Hostile and broken submissions graded in one sandboxed `cnnkit grade` run (issue: nothing lost).

Each case of ``_adversarial.py`` starts from the honest solution and adds one attack
or one kind of damage. The run must finish, give each case its expected score (so
honest work next to an attack keeps its points), say what happened, and leave every
submission byte for byte as it was.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from ._adversarial import COURSE_CELL_TIMEOUT, COURSE_IOPUB_TIMEOUT, cases, write_cases
from .conftest import SUMMARY_LINES, cnnkit, copy_course, sandbox_missing, tree_hashes

pytestmark = pytest.mark.slow

A1 = "a1_convolution"
SUBMISSION_TIMEOUT = 90  # seconds: the fork bomb and the infinite loop must not hold the run


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    if sandbox_missing() is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must grade in the sandbox: {sandbox_missing()}")
        pytest.skip(f"no grading sandbox here: {sandbox_missing()}")
    base = tmp_path_factory.mktemp("hostile")
    root = copy_course(base / "course", [A1])
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(f"\nc.Execute.timeout = {COURSE_CELL_TIMEOUT}\n")
        fh.write(f"c.Execute.iopub_timeout = {COURSE_IOPUB_TIMEOUT}\n")
    cases = write_cases(root)
    before = tree_hashes(root / "submitted")
    run = cnnkit(
        "--course", str(root), "grade", A1, "--jobs", "2", "--no-progress",
        "--timeout", str(SUBMISSION_TIMEOUT), tmpdir=base,
    )  # fmt: skip
    print(run.stdout)
    sidecar = json.loads((root / "autograded" / ".cnnkit" / f"{A1}.json").read_text())
    return root, cases, before, run, sidecar


def test_the_run_finishes_and_reports_every_submission(hostile):
    root, cases, _, run, sidecar = hostile
    assert set(sidecar) == set(cases), run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr


@pytest.mark.parametrize("student", sorted(cases(Path("/course"))))
def test_each_case_gets_its_outcome(hostile, student):
    root, cases, _, run, sidecar = hostile
    case, record = cases[student], sidecar[student]
    if case.score is None:
        assert record["status"] in ("error", "timeout"), record
    else:
        assert record["status"] == "graded", record
        assert record["score"] == case.score, record
    if case.says:
        shown = record["message"] + Path(record["log"]).read_text(errors="replace")
        notebook = root / "autograded" / student / A1 / f"{A1}.ipynb"
        if notebook.is_file():
            shown += notebook.read_text(errors="replace")
        assert case.says in shown, f"{student}: {case.says!r} not shown"


def test_grading_never_modifies_a_submission(hostile):
    root, _, before, _, _ = hostile
    assert tree_hashes(root / "submitted") == before


def test_the_gradebook_was_not_written_by_a_submission(hostile):
    root, *_ = hostile
    with sqlite3.connect(root / "gradebook.db") as db:
        manual = db.execute("select count(*) from grade where manual_score is not null").fetchone()
    assert manual == (0,)


def test_huge_output_is_cut_and_the_notebook_stays_small(hostile):
    root, *_ = hostile
    notebook = root / "autograded" / "huge_output" / A1 / f"{A1}.ipynb"
    assert notebook.stat().st_size < 40 * 1024 * 1024


def test_corpus_summary(hostile, request):
    """The corpus in figures: cases, grader crashes, points wrongly awarded, honest points lost."""
    root, cases, _, run, sidecar = hostile
    crashes, wrongly, lost = run.stderr.count("Traceback"), 0.0, 0.0
    for student, case in cases.items():
        record = sidecar.get(student)
        if record is None or (case.score is not None and record["status"] != "graded"):
            crashes += 1
        elif case.score is not None:
            wrongly += max(record["score"] - case.score, 0)
            lost += max(case.score - record["score"], 0)
    line = (
        f"adversarial corpus: {len(cases)} cases tried, {crashes} grader crashes, "
        f"{wrongly:g} points wrongly awarded, {lost:g} honest points lost"
    )
    request.config.stash.setdefault(SUMMARY_LINES, []).append(line)  # shown at the end
    assert (crashes, wrongly, lost) == (0, 0, 0), line


def test_feedback_says_why_an_answer_was_refused(hostile, tmp_path):
    """The rule's message reaches the student's feedback page; the hidden tests do not."""
    import html
    import re

    root, *_ = hostile
    run = cnnkit("--course", str(root), "feedback", A1, "--student", "rule_scipy_wrapper",
                 tmpdir=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    page = (root / "feedback" / "rule_scipy_wrapper" / A1 / f"{A1}.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "RuleViolation: conv2d" in text and "uses scipy, which this task does not allow" in text
    assert "The rule of this task: NumPy and Python only" in text
    assert "HIDDEN TESTS" not in text and "hidden_rng(101)" not in text
