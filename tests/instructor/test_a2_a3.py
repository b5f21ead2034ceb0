"""Assignments a2 and a3: grade sample submissions, feedback, re-grade determinism.

Whether exercises/ equals a fresh generation and leaks nothing is checked for every
assignment by test_exercises.py; here one `cnnkit grade --jobs 2` run per assignment grades
the solution (full marks), the release (0, without a crash) and sample submissions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ._cases import Graded, grade_samples, scores
from ._samples import REPO
from ._samples_a3 import (
    A2,
    A3,
    A3_MAX,
    a2_messages,
    a2_samples,
    a3_messages,
    a3_samples,
    cell_outputs,
)
from .conftest import cnnkit, tree_hashes

pytestmark = pytest.mark.slow


def _autograded(root: Path, student: str, assignment: str) -> Path:
    return root / "autograded" / student / assignment / f"{assignment}.ipynb"


def _visible_text(page: str) -> str:
    """What a browser shows: tags removed, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", page))


# --- a2 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded_a2(tmp_path_factory) -> Graded:
    return grade_samples(tmp_path_factory.mktemp("a2"), A2, a2_samples())


def test_a2scores(graded_a2):
    assert graded_a2.run.returncode == 0, graded_a2.run.stdout + graded_a2.run.stderr
    assert scores(graded_a2.root, A2) == graded_a2.expected


def test_a2_messages_name_the_setting_to_deduce(graded_a2):
    for student, wanted in a2_messages().items():
        notebook = _autograded(graded_a2.root, student, A2)
        for grade_id, text in wanted.items():
            shown = cell_outputs(notebook, grade_id)
            assert text in shown, f"{student}, {grade_id}: {shown!r}"


def test_a2_wrong_padding_is_named_in_the_feedback(graded_a2):
    root = graded_a2.root
    run = cnnkit("--course", str(root), "feedback", A2, "--student", "padding")
    assert run.returncode == 0, run.stdout + run.stderr
    page = _visible_text((root / "feedback" / "padding" / A2 / f"{A2}.html").read_text())
    # the hidden test's message reaches the student; its code (the reference) does not
    assert (
        "layer 1 (Conv2D): output shape (None, 28, 28, 16), expected (None, 32, 32, 16) "
        "— did you mean padding='same'?" in page
    )
    assert "HIDDEN TESTS" not in page and "ref_layers" not in page
    # the visible total check says what to compare, without the hidden reference
    assert "the table's has 55,594" in page


def test_a2_part_b_is_no_model_the_kit_or_a_lesson_builds():
    """The red team's S7: part B's answer was lesson 03's model and the kit's
    architecture("mnist"). No public architecture of the kit has part B's input and total."""
    from cnnwidgets.core import ARCHITECTURES, param_totals, stack_table

    for name, entry in ARCHITECTURES.items():
        rows = stack_table(entry["input_shape"], entry["layers"])
        assert (entry["input_shape"], param_totals(rows)["total"]) != ((32, 32, 1), 55_594), name
    lessons = sorted((REPO / "course").glob("*.ipynb"))
    assert lessons
    for lesson in lessons:
        text = lesson.read_text()
        shown = [t for t in ("shape=(32, 32, 1)", "55,594", "55594", "55_594") if t in text]
        assert not shown, f"{lesson.name} shows part B's answer: {shown}"


# --- a3 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded_a3(tmp_path_factory) -> Graded:
    return grade_samples(tmp_path_factory.mktemp("a3"), A3, a3_samples())


def test_a3scores(graded_a3):
    assert graded_a3.run.returncode == 0, graded_a3.run.stdout + graded_a3.run.stderr
    assert scores(graded_a3.root, A3) == graded_a3.expected
    assert graded_a3.expected["correct"] == A3_MAX


def test_a3_messages_say_what_went_wrong(graded_a3):
    for student, wanted in a3_messages().items():
        notebook = _autograded(graded_a3.root, student, A3)
        for grade_id, text in wanted.items():
            shown = cell_outputs(notebook, grade_id)
            assert text in shown, f"{student}, {grade_id}: {shown!r}"
    # the self-check's practice training is skipped while grading (the hidden test trains);
    # its other checks still run and pass for the reference
    shown = cell_outputs(_autograded(graded_a3.root, "correct", A3), "self_check")
    assert "not trained while grading" in shown, shown
    assert "All 3 checks passed (1 skipped)." in shown, shown


def test_a3_grading_never_modifies_a_submission(graded_a3):
    assert tree_hashes(graded_a3.root / "submitted") == graded_a3.before


_ACCURACY = re.compile(r"(\d\.\d+) with seed (\d)")


def _accuracies(root: Path, student: str) -> list[tuple[str, str]]:
    notebook = _autograded(root, student, A3)
    text = cell_outputs(notebook, "self_check") + cell_outputs(notebook, "test_accuracy")
    return _ACCURACY.findall(text)


def test_a3_regrading_gives_the_same_scores_and_accuracies(graded_a3):
    root = graded_a3.root
    # weak (with Dropout) prints its accuracies in the hidden test's message (seeds 1 and 2;
    # the self-check does not train while grading); the reference passes silently
    students = ["weak"]
    before = scores(root, A3)
    accuracies = {s: _accuracies(root, s) for s in students}
    assert [seed for _, seed in accuracies["weak"]] == ["1", "2"]
    args = [arg for s in students for arg in ("--student", s)]
    run = cnnkit(
        "--course",
        str(root),
        "grade",
        A3,
        *args,
        "--jobs",
        "2",
        "--no-progress",
        tmpdir=graded_a3.tmp,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert scores(root, A3) == before
    assert {s: _accuracies(root, s) for s in students} == accuracies
