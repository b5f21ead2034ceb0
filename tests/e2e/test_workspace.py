"""Tracked files stay as committed: after every lesson and an exercise ran in `make lab` and
were saved, `git status` of the kit's clone is clean, and the work is in my-work/."""

from __future__ import annotations

import json

import pytest

from ._lab import LESSONS, git_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, *(pytest.mark.lesson(n) for n in LESSONS)]

EXERCISE = "exercises/a4_metrics/a4_metrics.ipynb"


def _outputs(path) -> int:
    nb = json.loads(path.read_text())
    return sum(len(c.get("outputs", [])) for c in nb["cells"] if c["cell_type"] == "code")


def test_git_status_is_clean_after_the_lessons_and_an_exercise(
    course, lab_page, course_root, work_root
):
    for name in LESSONS:  # run top to bottom in their tabs (the lesson tests check how)
        course.ready(name).save()
    tab = lab_page.open_notebook(EXERCISE).wait_ready()
    try:
        tab.activate()
        nb = json.loads((course_root / EXERCISE).read_text())
        first_test = next(
            i for i, c in enumerate(nb["cells"]) if c["metadata"].get("nbgrader", {}).get("grade")
        )
        for index in range(first_test + 1):  # up to its first test, which fails: unanswered
            if nb["cells"][index]["cell_type"] == "code":
                tab.run_cell(index)
        tab.save()
    finally:
        tab.close()

    assert git_status(course_root) == []
    # the runs were saved, in the learner's copies
    for rel in [*(f"course/{n}" for n in LESSONS), EXERCISE]:
        assert _outputs(work_root / rel) > 0, f"{rel}: nothing saved in my-work/"
        assert _outputs(course_root / rel) == 0, rel
