"""Nothing is lost: submissions stay untouched, re-grading keeps manual work, a killed run resumes.

The gradebook is also exercised on a real PostgreSQL server (Debian's postgresql,
started here in a temporary folder) with ``--jobs 2``: workers execute at the same
time while the main process records into PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa

from cnnwidgets.instructor.autograde.grade import sidecar_path
from cnnwidgets.instructor.course import Course

from . import _postgres
from ._samples import A1, A1_MAX, A1_RELEASE, REPO, write_samples
from .conftest import CNNKIT, Run, _unsafe_if_needed, cnnkit, copy_course, tree_hashes

pytestmark = pytest.mark.slow

# Subsets of the samples keep runs short: two rounds of --jobs 2 each.
PG_STUDENTS = ["correct", "partial", "tamper", "garbled"]
KILL_STUDENTS = ["correct", "partial", "garbled"]
SLEEPER = "sleeper"  # answers that take minutes: its worker is busy when the run is killed
TABLES = ("submitted_assignment", "submitted_notebook", "grade", "comment")


# --- a PostgreSQL server of our own ----------------------------------------------------
@pytest.fixture(scope="module")
def postgres_server():
    """A throw-away PostgreSQL server (Unix socket only, trust auth), stopped after the module."""
    reason = _postgres.missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL (apt-get install postgresql): {reason}")
        pytest.skip(reason)
    with _postgres.postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def postgres_url(postgres_server) -> str:
    """SQLAlchemy URL of an empty database on it: postgresql://postgres@/gradebook?host=..."""
    return postgres_server.create("gradebook")


# --- helpers ---------------------------------------------------------------------------
def _grade_args(root: Path, *extra: str, students: list[str] | None = None) -> list[str]:
    picks = [a for s in students or [] for a in ("--student", s)]
    return ["--course", str(root), "grade", A1, "--no-progress", *picks, *extra]


def _course(root: Path, url: str | None = None) -> Course:
    return Course(root, db_url=url)


def _scores(course: Course) -> dict[str, float]:
    with course.gradebook() as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(A1)}


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return {t: db.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    finally:
        engine.dispose()


def _integrity(url: str) -> str:
    """SQLite's own check of the whole database file: "ok" when sound."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return db.execute(sa.text("PRAGMA integrity_check")).scalar()
    finally:
        engine.dispose()


def _expected_counts(course: Course, students: int) -> dict[str, int]:
    """Rows a gradebook holds for ``students`` graded students of a1: one of each, no more."""
    with course.gradebook() as gb:
        notebooks = gb.find_assignment(A1).notebooks
        grades = sum(len(nb.grade_cells) for nb in notebooks)
        comments = sum(len(nb.solution_cells) + len(nb.task_cells) for nb in notebooks)
    return {
        "submitted_assignment": students,
        "submitted_notebook": students * len(notebooks),
        "grade": students * grades,
        "comment": students * comments,
    }


def _row(run: Run, student: str) -> str:
    return next(x for x in run.stdout.splitlines() if x.startswith(student + " "))


@dataclass
class PgCourse:
    root: Path
    url: str
    expected: dict[str, float | None]
    before: dict[str, tuple[str, int]]
    run: Run
    scores: dict[str, float]  # read right after grading
    scratch: Path


@pytest.fixture(scope="module")
def pg_graded(tmp_path_factory, postgres_url) -> PgCourse:
    """The a1 samples (a subset) graded once into PostgreSQL by ``cnnkit grade --jobs 2``."""
    base = tmp_path_factory.mktemp("pg")
    root = copy_course(base / "course", [A1])
    expected = {s: v for s, v in write_samples(root).items() if s in PG_STUDENTS}
    before = tree_hashes(root / "submitted")
    scratch = base / "scratch"
    scratch.mkdir()
    args = _grade_args(root, "--jobs", "2", "--db", postgres_url, students=PG_STUDENTS)
    run = cnnkit(*args, tmpdir=scratch)
    print(f"cnnkit grade --db postgresql, {len(PG_STUDENTS)} submissions: {run.seconds:.1f} s")
    return PgCourse(
        root, postgres_url, expected, before, run, _scores(_course(root, postgres_url)), scratch
    )


# --- PostgreSQL with parallel workers ------------------------------------------------------
def test_postgres_gradebook_gets_the_expected_scores(pg_graded):
    run = pg_graded.run
    assert run.returncode == 1, run.stdout + run.stderr  # garbled cannot be graded
    want = {s: v for s, v in pg_graded.expected.items() if v is not None}
    assert pg_graded.scores == want
    for student, score in want.items():
        assert f"{score:g}/{A1_MAX:g}" in _row(run, student)
    garbled = _row(run, "garbled")
    assert "error" in garbled and "JSON" in garbled, garbled
    assert f"{len(want)} graded, 1 not graded" in run.stdout
    assert "postgresql://" in run.stdout  # where the scores went
    # nothing else went to a SQLite gradebook by mistake
    assert not (pg_graded.root / "gradebook.db").exists()
    assert _counts(pg_graded.url) == _expected_counts(
        _course(pg_graded.root, pg_graded.url), len(want)
    )


def test_grading_never_modifies_a_submission(pg_graded):
    assert tree_hashes(pg_graded.root / "submitted") == pg_graded.before


def test_regrading_is_idempotent_and_keeps_manual_grades_and_comments(pg_graded):
    root, url = pg_graded.root, pg_graded.url
    course = _course(root, url)
    before = _scores(course)
    counts = _counts(url)
    # A grader overrides one of partial's autograded scores and comments one answer.
    with course.gradebook() as gb:
        notebook = gb.find_submission(A1, "partial").notebooks[0]
        grade = next(g for g in notebook.grades if g.auto_score is not None and g.auto_score == 0)
        grade.manual_score = grade.max_score
        comment = notebook.comments[0]
        comment.manual_comment = "Good idea, see the lecture on padding."
        gb.db.commit()
        graded = (grade.name, float(grade.max_score), comment.name)
    boosted = before["partial"] + graded[1]

    args = _grade_args(root, "--jobs", "2", "--db", url, students=["partial", "correct"])
    run = cnnkit(*args, tmpdir=pg_graded.scratch)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 graded, 0 not graded" in run.stdout

    after = _scores(course)
    assert after == {**before, "partial": boosted}
    with course.gradebook() as gb:
        notebook = gb.find_submission(A1, "partial").notebooks[0]
        grade = next(g for g in notebook.grades if g.name == graded[0])
        comment = next(c for c in notebook.comments if c.name == graded[2])
        assert grade.manual_score == graded[1] and grade.auto_score == 0
        assert grade.needs_manual_grade  # nbgrader flags an overridden score for review
        assert comment.manual_comment == "Good idea, see the lecture on padding."
    # no second submission, notebook, grade or comment for anyone
    assert _counts(url) == counts
    assert tree_hashes(root / "submitted") == pg_graded.before


# --- a run killed outright, then run again -------------------------------------------------
def _proc_stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of ``pid``, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], fields[19]


def _descendants(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below ``pid``, now."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            children.setdefault(stat[0], []).append((int(entry.name), stat[2]))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def _alive(procs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Those of ``procs`` still running (same pid and start time; zombies count as gone)."""
    alive = set()
    for pid, start in procs:
        stat = _proc_stat(pid)
        if stat is not None and stat[2] == start and stat[1] not in ("Z", "X"):
            alive.add((pid, start))
    return alive


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


def _write_sleeper(root: Path) -> None:
    """A submission whose every answer sleeps 100 s (under the per-cell timeout): many minutes."""
    nb = nbformat.read(A1_RELEASE, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "import time\ntime.sleep(100)"
    folder = root / "submitted" / SLEEPER / A1
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{A1}.ipynb")


def test_a_killed_run_resumes_without_duplicates_or_corruption(tmp_path):
    root = copy_course(tmp_path / "course", [A1])
    expected = {s: v for s, v in write_samples(root).items() if s in KILL_STUDENTS}
    _write_sleeper(root)
    before = tree_hashes(root / "submitted")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    course = _course(root)
    sidecar = sidecar_path(course, A1)

    cmd = [str(CNNKIT)] if CNNKIT.exists() else [sys.executable, "-m", "cnnwidgets.instructor.cli"]
    # The sleeper goes first: one worker stays on it while the other grades the rest.
    first = [SLEEPER, *KILL_STUDENTS]
    args = _unsafe_if_needed(_grade_args(root, "--jobs", "2", students=first))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", TMPDIR=str(scratch))
    proc = subprocess.Popen(
        [*cmd, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    tree: set[tuple[int, str]] = set()
    try:
        # Kill once a submission is recorded in the gradebook while the other worker runs.
        deadline = time.monotonic() + 300
        graded: list[str] = []
        while not graded and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            tree |= _descendants(proc.pid)
            try:
                records = json.loads(sidecar.read_text())
            except (OSError, ValueError):
                continue
            graded = [s for s, r in records.items() if r["status"] == "graded"]
        assert graded, "no submission was graded before the deadline (or the run ended)"
        assert proc.poll() is None, "the run finished before it could be killed"
        tree |= _descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

        # The workers (sessions of their own, out of reach of the kill) and their kernels
        # must stop with the run, not finish the sleeper's minutes of work for nobody.
        killed = time.monotonic()
        while _alive(tree) and time.monotonic() < killed + 60:
            time.sleep(0.5)
        orphans = _alive(tree)
        print(f"{len(tree)} processes below cnnkit; {len(orphans)} left after", end=" ")
        print(f"{time.monotonic() - killed:.1f} s")
        assert not orphans, "left running: " + "; ".join(_cmdline(p) for p, _ in orphans)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        for pid, _ in _alive(tree):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # What was recorded before the kill is there, in a sound gradebook.
    assert _integrity(course.gradebook_url) == "ok"
    assert _scores(course) == {s: expected[s] for s in graded}

    # Run it again to completion (the sleeper left out: it would only time out): everyone
    # graded once, with the expected score.
    run = cnnkit(*_grade_args(root, "--jobs", "2", students=KILL_STUDENTS), tmpdir=scratch)
    assert run.returncode == 1, run.stdout + run.stderr  # garbled cannot be graded
    want = {s: v for s, v in expected.items() if v is not None}
    assert f"{len(want)} graded, 1 not graded" in run.stdout
    url = course.gradebook_url
    assert _integrity(url) == "ok"
    assert _scores(course) == want
    assert _counts(url) == _expected_counts(course, len(want))
    records = json.loads(sidecar.read_text())
    assert {s: r["status"] for s, r in records.items()} == {
        s: "graded" if v is not None else "error" for s, v in expected.items()
    }
    autograded = {p.name for p in (root / "autograded").iterdir() if not p.name.startswith(".")}
    assert autograded == set(want)
    assert tree_hashes(root / "submitted") == before
