"""Check assignments end to end: solutions score full marks, releases score 0 and leak nothing."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field

from .autograde.grade import grade
from .course import Course
from .isolation.sandbox import DEFAULT_LIMITS, Limits
from .release import folder_differences, generate, leaks, scratch_course, source_problems

__all__ = ["Row", "validate"]

SOLUTION, RELEASE = "solution", "release"


@dataclass
class Row:
    """The verdict on one notebook of one assignment."""

    assignment: str
    notebook: str
    solution_score: float | None = None
    release_score: float | None = None
    max_score: float | None = None
    in_sync: bool = False
    leak_free: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and self.in_sync
            and self.leak_free
            and self.max_score is not None
            and self.solution_score == self.max_score
            and self.release_score == 0
        )


def _scores(course: Course, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import MissingEntry

    found = {}
    with course.gradebook() as gb:
        for name in course.notebooks(assignment):
            try:
                nb = gb.find_submission_notebook(name, assignment, student)
            except MissingEntry:
                continue
            found[name] = (float(nb.score), float(nb.max_score))
    return found


def validate_one(
    course: Course,
    assignment: str,
    jobs: int = 2,
    timeout: float = 600,
    sandbox: Limits | None = DEFAULT_LIMITS,
) -> list[Row]:
    """Validate one assignment in a scratch copy of the course (the real one is only read)."""
    start = time.perf_counter()
    released = course.release_dir / assignment
    rows = {name: Row(assignment, name) for name in course.notebooks(assignment)}
    with scratch_course(course, [assignment]) as scratch:
        fresh = generate(scratch, assignment)
        drift = folder_differences(fresh, released)
        for name, row in rows.items():
            source_nb = course.source_dir / assignment / f"{name}.ipynb"
            mine = [d for d in drift if d.startswith(f"{name}.ipynb")]
            row.in_sync = not mine and released.is_dir()
            row.problems += mine + source_problems(source_nb)
            release_nb = released / f"{name}.ipynb"
            found = leaks(source_nb, release_nb) if release_nb.is_file() else ["not released"]
            row.leak_free = not found
            row.problems += found
        other = [d for d in drift if not any(d.startswith(f"{n}.ipynb") for n in rows)]
        # Grade what students actually hold: the committed release when there is one.
        for student, folder in (
            (SOLUTION, course.source_dir / assignment),
            (RELEASE, released if released.is_dir() else fresh),
        ):
            shutil.copytree(
                folder,
                scratch.folder("submitted_directory", student, assignment),
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
        outcomes = grade(
            scratch,
            assignment,
            [SOLUTION, RELEASE],
            jobs=jobs,
            timeout=timeout,
            progress=False,
            registered=True,
            sandbox=sandbox,
        ).outcomes
        for outcome in outcomes:
            if not outcome.ok:
                for row in rows.values():
                    row.problems.append(
                        f"grading the {outcome.student} failed: {outcome.status}: {outcome.message}"
                    )
        solution, release = (
            _scores(scratch, assignment, SOLUTION),
            _scores(scratch, assignment, RELEASE),
        )
    seconds = time.perf_counter() - start
    for name, row in rows.items():
        row.seconds = seconds
        if name in solution:
            row.solution_score, row.max_score = solution[name]
        if name in release:
            row.release_score = release[name][0]
        if row.solution_score is not None and row.solution_score != row.max_score:
            row.problems.append(
                f"{name}: the solution scores {row.solution_score:g}/{row.max_score:g}"
            )
        if row.release_score:
            row.problems.append(f"{name}: the student version scores {row.release_score:g}, not 0")
    if other:
        first = next(iter(rows.values()))
        first.problems += other
        first.in_sync = False
    return list(rows.values())


def validate(
    course: Course,
    assignments: list[str] | None = None,
    jobs: int = 2,
    timeout: float = 600,
    sandbox: Limits | None = DEFAULT_LIMITS,
) -> list[Row]:
    """Validate ``assignments`` (all in the source folder by default); one row per notebook."""
    names = assignments or course.assignments()
    rows: list[Row] = []
    if not assignments and course.release_dir.is_dir():
        # A student version whose source is gone can never be regenerated.
        for orphan in sorted(p.name for p in course.release_dir.iterdir() if p.is_dir()):
            if orphan not in names and not orphan.startswith("."):
                rows.append(Row(orphan, "-", problems=[f"exercises/{orphan} has no solutions/"]))
    for name in names:
        if name not in course.assignments():
            rows.append(Row(name, "-", problems=[f"no assignment {name!r} in {course.source_dir}"]))
            continue
        rows += validate_one(course, name, jobs=jobs, timeout=timeout, sandbox=sandbox)
    return rows


def _mark(flag: bool) -> str:
    return "yes" if flag else "NO"


def _score(score: float | None, max_score: float | None) -> str:
    if score is None or max_score is None:
        return "-"
    return f"{score:g}/{max_score:g}"


def format_rows(rows: list[Row]) -> str:
    """The table ``cnnkit validate`` prints, then any problems found."""
    from .table import table

    body = [
        [
            r.assignment,
            r.notebook,
            _score(r.solution_score, r.max_score),
            _score(r.release_score, r.max_score),
            _mark(r.in_sync),
            _mark(r.leak_free),
            f"{r.seconds:.1f} s",
            "ok" if r.ok else "FAIL",
        ]
        for r in rows
    ]
    head = ["assignment", "notebook", "solution", "release", "in sync", "leak-free", "time", ""]
    text = table(head, body)
    problems = [f"  {r.assignment}/{r.notebook}: {p}" for r in rows for p in r.problems]
    if problems:
        text += "\n\nProblems:\n" + "\n".join(problems)
    return text
