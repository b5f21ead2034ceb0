"""Intake: what a student did to locked cells is found and said, before grading."""

from __future__ import annotations

import json

import nbformat

from cnnwidgets.instructor.autograde.intake import changed_locked_cells

from ._samples import A1, A1_RELEASE, _fill, solution_answers


def _write(folder, nb) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{A1}.ipynb").write_text(json.dumps(nb))


def test_untouched_locked_cells_give_no_note(tmp_path):
    _write(tmp_path / "s", _fill(solution_answers()))
    assert changed_locked_cells(tmp_path / "s", A1_RELEASE.parent, [A1]) == {}


def test_edited_deleted_and_retyped_cells_are_named(tmp_path):
    nb = _fill(solution_answers())
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    by_id["test_hand_value"].source = "assert True"
    by_id["test_pool2d"].source += "\n"  # trailing whitespace is not an edit
    nb.cells.remove(by_id["test_colour_value"])
    test = by_id["test_conv_sizes"]
    markdown = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
    nb.cells[nb.cells.index(test)] = markdown
    _write(tmp_path / "s", nb)
    found = changed_locked_cells(tmp_path / "s", A1_RELEASE.parent, [A1])
    assert found == {
        "test_hand_value": "the test cell 'test_hand_value' was edited; the grader ran the "
        "original instead",
        "test_colour_value": "the test cell 'test_colour_value' was deleted from the "
        "submission; the grader put the original back and ran it",
        "test_conv_sizes": "the test cell 'test_conv_sizes' was turned into markdown; the "
        "grader ran the original instead",
    }


def test_damaged_or_missing_notebooks_are_left_to_the_other_checks(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / f"{A1}.ipynb").write_text("{not json")
    assert changed_locked_cells(tmp_path / "s", A1_RELEASE.parent, [A1]) == {}
    assert changed_locked_cells(tmp_path / "none", A1_RELEASE.parent, [A1]) == {}
