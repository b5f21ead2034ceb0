"""Validate's report regrouped: an unanswered task once, in words; other failures as nbgrader
gives them. On the kit's own exercises, with nbgrader's own validator."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from cnnwidgets.lab.validate import STUB, is_unanswered, regroup, waiting_tests

REPO = Path(__file__).resolve().parents[2]


def _exercise(name: str):
    return nbformat.read(REPO / "exercises" / name / f"{name}.ipynb", as_version=4)


def _index(nb, grade_id: str) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def _failed(nb, *grade_ids: str) -> list[dict]:
    """nbgrader's entries for failed test cells (source as it strips it, a traceback)."""
    return [
        {
            "source": nb.cells[_index(nb, g)].source.strip(),
            "error": "<span>NameError</span> Traceback ...",
            "raw_error": f"NameError Traceback ... ({g})",
        }
        for g in grade_ids
    ]


A1_TESTS = (
    "test_hand_value",
    "test_colour_value",
    "test_conv_sizes",
    "test_pool_sizes",
    "test_conv2d_valid",
    "test_conv2d_strides_padding",
    "test_conv2d_keras",
    "test_pool2d",
    "test_pool2d_keras",
    "test_edge_kernel",
    "test_edge_kernel_images",
)


def test_a_blank_exercise_is_one_sentence_per_task():
    nb = _exercise("a1_convolution")
    out = regroup(nb, _failed(nb, *A1_TESTS))
    assert [e["not_answered"] for e in out] == [
        "hand_value",
        "colour_value",
        "sizes",
        "conv2d",
        "pool2d",
        "edge_kernel",
    ]
    for entry in out:
        assert STUB in entry["source"]
        assert entry["raw_error"].startswith("Not answered yet: ")
        assert "Traceback" not in entry["raw_error"] and "NameError" not in entry["raw_error"]
        assert max(len(line) for line in entry["raw_error"].splitlines()) <= 76  # fits the dialog
    by_task = {e["not_answered"]: " ".join(e["raw_error"].split()) for e in out}  # unwrapped
    assert "“1. One output value by hand” (hand_value)" in by_task["hand_value"]
    assert "“4. conv2d in NumPy” (conv2d)" in by_task["conv2d"]  # markdown code marks dropped
    assert by_task["sizes"].endswith("2 tests wait on it.")
    assert by_task["hand_value"].endswith("1 test waits on it.")


def test_failures_of_answered_tasks_stay_as_nbgrader_reports_them():
    nb = _exercise("a1_convolution")
    nb.cells[_index(nb, "hand_value")].source = "hand_value = 3"  # answered, wrongly
    failed = _failed(nb, "test_hand_value", "test_colour_value")
    out = regroup(nb, failed)
    assert out[0] == failed[0]  # the real failure, untouched, in notebook order
    assert out[1]["not_answered"] == "colour_value"
    assert len(out) == 2


def test_only_failed_tests_are_counted_and_a_task_without_failures_is_not_listed():
    nb = _exercise("a1_convolution")
    out = regroup(nb, _failed(nb, "test_conv2d_keras"))
    assert [e["not_answered"] for e in out] == ["conv2d"]
    assert " ".join(out[0]["raw_error"].split()).endswith("1 test waits on it.")


def test_an_answer_above_its_stub_line_is_still_unanswered():
    nb = _exercise("a1_convolution")
    cell = nb.cells[_index(nb, "conv2d")]
    assert is_unanswered(cell)
    cell.source = cell.source.replace("raise NotImplementedError()", "return image")
    assert not is_unanswered(cell)
    cell.source += "\n    raise NotImplementedError()"
    assert is_unanswered(cell)


def test_tests_wait_on_every_answer_cell_above_them():
    # a7 asks for feature_extractor and activations, then tests both
    nb = _exercise("a7_inside_the_network")
    waiting = waiting_tests(nb)
    extractor, activations = _index(nb, "feature_extractor"), _index(nb, "activations")
    assert waiting[extractor] == waiting[activations]
    assert _index(nb, "test_extractor_shapes") in waiting[extractor]
    assert _index(nb, "test_transfer_model") not in waiting[extractor]


def test_unmatched_entries_are_kept_at_the_end():
    nb = _exercise("a1_convolution")
    stray = {"source": "something else", "error": "x", "raw_error": "x"}
    out = regroup(nb, [stray, *_failed(nb, "test_hand_value")])
    assert out[-1] == stray and out[0]["not_answered"] == "hand_value"


@pytest.mark.slow
def test_with_nbgraders_validator_on_the_blank_exercise(tmp_path):
    """nbgrader's own Validator runs the released a1 with the kit's config; regrouped, it is
    one entry per task and no traceback."""
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    course = tmp_path / "course"
    shutil.copytree(REPO / "exercises" / "a1_convolution", course / "a1")
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    # the course's settings, as the server loads them
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    path = course / "a1" / "a1_convolution.ipynb"
    result = Validator(config=config).validate(str(path))
    nb = nbformat.read(path, as_version=4)
    assert len(result["failed"]) == len(A1_TESTS)
    assert any("NameError" in e["raw_error"] for e in result["failed"])  # what nbgrader says
    out = regroup(nb, result["failed"])
    assert [e["not_answered"] for e in out] == [
        "hand_value",
        "colour_value",
        "sizes",
        "conv2d",
        "pool2d",
        "edge_kernel",
    ]
    assert not any("Traceback" in e["raw_error"] for e in out)
