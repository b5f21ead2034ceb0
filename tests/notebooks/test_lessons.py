"""Every lesson executes top to bottom without an error or a line on stderr."""

from __future__ import annotations

import nbformat
import pytest

from ._run import REPO, execute, problems

LESSONS = sorted((REPO / "course").glob("[0-9][0-9]_*.ipynb"))


def test_the_course_has_lessons():
    assert len(LESSONS) >= 3, "course/ should hold the lessons in teaching order"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_ends_with_questions(path):
    # Lessons end with predict-then-check questions that the notebook checks on the spot.
    nb = nbformat.read(path, as_version=4)
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "check(" in sources or "Question" in sources


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_executes(path, record_property):
    nb, seconds = execute(path)
    record_property("seconds", round(seconds, 1))
    print(f"{path.name}: {seconds:.1f} s")
    assert problems(nb) == []
