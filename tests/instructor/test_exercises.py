"""One source of truth: each exercises/ folder equals a fresh generation and leaks nothing."""

from __future__ import annotations

import pytest

from cnnwidgets.instructor.course import Course
from cnnwidgets.instructor.release import (
    MARKERS,
    folder_differences,
    generate,
    leaks,
    scratch_course,
    source_problems,
)

from ._samples import REPO

COURSE = Course(REPO)
ASSIGNMENTS = COURSE.assignments()


def test_there_are_assignments_and_every_release_has_a_source():
    assert "a1_convolution" in ASSIGNMENTS
    released = sorted(p.name for p in COURSE.release_dir.iterdir() if p.is_dir())
    assert [name for name in released if name not in ASSIGNMENTS] == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_equal_a_fresh_generation(assignment):
    with scratch_course(COURSE, [assignment]) as scratch:
        fresh = generate(scratch, assignment)
        differences = folder_differences(fresh, COURSE.release_dir / assignment)
    assert differences == [], (
        f"exercises/{assignment} is not what solutions/{assignment} generates "
        f"(run `cnnkit release {assignment}`): {differences}"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_hold_no_solution_or_hidden_test(assignment):
    released = COURSE.release_dir / assignment
    for source in sorted((COURSE.source_dir / assignment).glob("*.ipynb")):
        assert source_problems(source) == []
        student = released / source.name
        assert student.is_file(), f"{student} is missing: run `cnnkit release {assignment}`"
        assert leaks(source, student) == []
    for path in released.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".md", ".txt"):
            text = path.read_text(errors="replace")
            assert not [m for m in MARKERS if m in text], path
