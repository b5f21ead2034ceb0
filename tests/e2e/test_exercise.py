"""A student in JupyterLab (`make lab`, their copy in my-work/): Validate on the blank exercise
names the tasks not answered yet; they answer, run the visible tests, and Validate passes."""

from __future__ import annotations

import nbformat
import pytest

from tests.instructor._samples import A1, solution_answers

from ._lab import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PATH = f"exercises/{A1}/{A1}.ipynb"


def _is_task(cell) -> bool:
    md = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and md.get("solution") and not md.get("grade")


def _errors(outputs: list[dict]) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]


def test_student_answers_and_the_tests_pass(lab_page, course_root):
    nb = nbformat.read(course_root / PATH, as_version=4)
    ids = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
    answer, tests = ids["conv2d"], [ids["test_conv2d_valid"], ids["test_conv2d_strides_padding"]]
    page = lab_page.open_notebook(PATH).wait_ready()
    page.activate()
    toolbar = page.root.locator(".jp-NotebookPanel-toolbar")
    dialog = page.page.locator(".jp-Dialog")
    try:
        # Validate before any answer: one sentence per task, not the tests' tracebacks
        toolbar.get_by_text("Validate", exact=True).click()
        expect(dialog).to_contain_text("Not answered yet", timeout=90_000)
        tasks = [c.metadata.nbgrader.grade_id for c in nb.cells if _is_task(c)]
        text = dialog.inner_text()
        assert text.count("Not answered yet") == len(tasks) == 6, text
        for grade_id in tasks:
            assert f"({grade_id})" in text
        for noise in ("Traceback", "NameError", "NotImplementedError:", "define size_a"):
            assert noise not in text
        page.screenshot("exercise-a1-validate-unanswered", dialog)
        lab_page.dismiss_dialogs()

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
        toolbar.get_by_text("Validate", exact=True).click()
        expect(dialog).to_contain_text(
            "Success! Your notebook passes all the tests.", timeout=90_000
        )
        page.screenshot("exercise-a1-validate", dialog)
    finally:
        lab_page.dismiss_dialogs()
