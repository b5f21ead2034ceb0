"""Sample submissions made by editing the solution, graded by `cnnkit grade --jobs 2` in a copy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from cnnwidgets.instructor.course import Course

from ._samples_a3 import fill, release_path, solution_answers, write_samples
from .conftest import Run, cnnkit, copy_course, tree_hashes

# student -> (changes per grade id, expected score, expected message per test)
Cases = dict[str, tuple[dict[str, str | tuple[str, str]] | None, float, dict[str, str]]]


def answers(assignment: str, changes: dict[str, str | tuple[str, str]]) -> dict[str, str]:
    right = solution_answers(assignment)
    answers = dict(right)
    for grade_id, change in changes.items():
        if isinstance(change, tuple):  # (old, new): one edit in the solution's code
            old, new = change
            assert old in right[grade_id], f"the {assignment} solution changed: update the samples"
            answers[grade_id] = right[grade_id].replace(old, new, 1)
        else:
            answers[grade_id] = change.strip()
    return answers


def samples(assignment: str, cases: Cases) -> dict[str, tuple[nbformat.NotebookNode, float]]:
    """Notebooks of ``cases``; ``None`` as changes: the released notebook, unanswered."""
    return {
        student: (
            released(assignment)
            if changes is None
            else fill(assignment, answers(assignment, changes)),
            score,
        )
        for student, (changes, score, _) in cases.items()
    }


def released(assignment: str) -> nbformat.NotebookNode:
    """The student version as released (every solution and release are graded in the sample
    runs: the solution must earn full marks, the release 0 without a crash)."""
    return nbformat.read(release_path(assignment), as_version=4)


@dataclass
class Graded:
    root: Path
    expected: dict[str, float]
    before: dict[str, tuple[str, int]]
    run: Run
    tmp: Path  # scratch folder for later `cnnkit` runs on the same course


def grade(base: Path, assignment: str, cases: Cases) -> Graded:
    return grade_samples(base, assignment, samples(assignment, cases))


def grade_samples(base: Path, assignment: str, notebooks: dict) -> Graded:
    """Write ``notebooks`` (student -> (notebook, score)) into a course copy; grade them."""
    root = copy_course(base / "course", [assignment])
    expected = write_samples(root, assignment, notebooks)
    before = tree_hashes(root / "submitted")
    scratch = base / "scratch"
    scratch.mkdir()
    run = cnnkit("--course", str(root), "grade", assignment, "--jobs", "2", tmpdir=scratch)
    print(run.stdout)
    print(f"cnnkit grade {assignment}, {len(expected)} submissions, --jobs 2: {run.seconds:.1f} s")
    return Graded(root, expected, before, run, scratch)


def scores(root: Path, assignment: str) -> dict[str, float]:
    with Course(root).gradebook() as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(assignment)}
