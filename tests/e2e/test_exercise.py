"""A student in JupyterLab: answers a question of an exercise and runs its visible tests."""

from __future__ import annotations

import nbformat
import pytest

from tests.instructor._samples import A1, solution_answers

from ._lab import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PATH = f"exercises/{A1}/{A1}.ipynb"


def _errors(outputs: list[dict]) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]


def test_student_answers_and_the_tests_pass(lab_page, course_root):
    nb = nbformat.read(course_root / PATH, as_version=4)
    ids = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
    answer, tests = ids["conv2d"], [ids["test_conv2d_valid"], ids["test_conv2d_strides_padding"]]
    page = lab_page.open_notebook(PATH).wait_ready()
    page.activate()
    try:
        assert _errors(page.run_cell(1)) == []  # import numpy as np

        # unanswered: the visible test says so in the page
        page.run_cell(answer)
        assert _errors(page.run_cell(tests[0])) == ["NotImplementedError: "]
        expect(page.output(tests[0])).to_contain_text("NotImplementedError")

        page.type_into(answer, solution_answers()["conv2d"])
        assert _errors(page.run_cell(answer)) == []
        for index in tests:
            outputs = page.run_cell(index)
            assert _errors(outputs) == [], f"visible test in cell {index} failed"
            expect(page.output(index)).not_to_contain_text("Error")
            assert page.execution_count(index) is not None
        page.screenshot("exercise-a1-conv2d-passing", page.cell(tests[0]))

        # the other answers, then the toolbar's Validate (which saves first): nbgrader runs
        # every visible test
        for grade_id, code in solution_answers().items():
            if grade_id != "conv2d":
                page.type_into(ids[grade_id], code)
        page.root.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
        dialog = page.page.locator(".jp-Dialog")
        expect(dialog).to_contain_text(
            "Success! Your notebook passes all the tests.", timeout=90_000
        )
        page.screenshot("exercise-a1-validate", dialog)
    finally:
        lab_page.dismiss_dialogs()
