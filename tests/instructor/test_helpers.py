"""The instructor tools' small parts: noise filter, feedback hiding, leak and drift checks, CLI."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from cnnwidgets.instructor.autograde.grade import short_error
from cnnwidgets.instructor.autograde.steps import FilterFrameworkNoise
from cnnwidgets.instructor.classroom.feedback import HideHiddenTests
from cnnwidgets.instructor.cli import main
from cnnwidgets.instructor.course import Course, find_course_root
from cnnwidgets.instructor.isolation.environment import strip_noise
from cnnwidgets.instructor.release import leaks, notebook_differences, source_problems
from cnnwidgets.instructor.table import table

from ._samples import A1_RELEASE, A1_SOURCE, REPO

TF_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795295742.625444    5535 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results.\n"
    "I0000 00:00:1795295742.666853    5535 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.\n"
)
KERAS_WARNING = (
    "/x/.venv/lib/python3.11/site-packages/keras/src/layers/convolutional/base_conv.py:113: "
    "UserWarning: Do not pass an `input_shape`/`input_dim` argument to a layer.\n"
    "  super().__init__(activity_regularizer=activity_regularizer, **kwargs)\n"
)


def test_strip_noise_removes_framework_lines_and_keeps_the_rest():
    assert strip_noise(TF_LINES + KERAS_WARNING) == ""
    assert strip_noise("WARNING:absl:Compiled the loaded model\n") == ""
    mine = "/home/me/work.py:3: UserWarning: my own warning\n  warn('x')\n"
    assert (
        strip_noise(TF_LINES + mine + KERAS_WARNING + "real trouble\n") == mine + "real trouble\n"
    )


def _stderr(text: str):
    return new_output("stream", name="stderr", text=text)


def test_filter_framework_noise_joins_split_stderr_before_filtering():
    cell = new_code_cell("x = 1")
    half = len(KERAS_WARNING) // 2
    # the kernel sent one warning in two messages, with a line of stdout in between
    cell.outputs = [
        _stderr(KERAS_WARNING[:half]),
        new_output("stream", name="stdout", text="hello\n"),
        _stderr(KERAS_WARNING[half:] + TF_LINES),
    ]
    cell, _ = FilterFrameworkNoise().preprocess_cell(cell, {}, 0)
    assert [o.name for o in cell.outputs] == ["stdout"]

    cell.outputs = [_stderr(TF_LINES), _stderr("a real message\n")]
    cell, _ = FilterFrameworkNoise().preprocess_cell(cell, {}, 0)
    assert [o.text for o in cell.outputs] == ["a real message\n"]


def _grade_cell(source: str):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False}
    return cell


def test_hide_hidden_tests_removes_the_code_and_the_traceback_keeps_the_message():
    cell = _grade_cell(
        "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(7) == 49, 'f is wrong for 7'\n"
        "### END HIDDEN TESTS"
    )
    cell.outputs = [
        new_output(
            "error",
            ename="AssertionError",
            evalue="f is wrong for 7",
            traceback=["---", "----> 3 assert f(7) == 49, 'f is wrong for 7'", "AssertionError"],
        )
    ]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == "assert f(1) == 2"
    assert "f(7)" not in "".join(cell.outputs[0].traceback)
    assert cell.outputs[0].traceback[0] == "AssertionError: f is wrong for 7"
    # a visible test's traceback is the student's to read in full
    visible = _grade_cell("assert f(1) == 2")
    visible.outputs = [new_output("error", ename="E", evalue="v", traceback=["a", "b", "c"])]
    visible, _ = HideHiddenTests().preprocess_cell(visible, {}, 0)
    assert visible.outputs[0].traceback == ["a", "b", "c"]


def test_the_released_a1_leaks_nothing():
    assert leaks(A1_SOURCE, A1_RELEASE) == []
    assert source_problems(A1_SOURCE) == []


def test_leaks_finds_solution_and_hidden_test_text(tmp_path):
    nb = nbformat.read(A1_RELEASE, as_version=4)
    solution = nbformat.read(A1_SOURCE, as_version=4)
    conv = next(
        c for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "conv2d"
    )
    line = next(x for x in conv.source.split("\n") if "np.pad(x, widths)" in x)
    nb.cells[1].source += "\n" + line  # a solution line pasted into the student version
    nb.cells[2].source += "\n### BEGIN HIDDEN TESTS"
    leaky = tmp_path / "leaky.ipynb"
    nbformat.write(nb, leaky)
    found = leaks(A1_SOURCE, leaky)
    assert any("np.pad(x, widths)" in f for f in found), found
    assert any("BEGIN HIDDEN TESTS" in f for f in found), found


def test_notebook_differences_ignores_whitespace_and_ids_not_content(tmp_path):
    nb = nbformat.read(A1_RELEASE, as_version=4)
    nb.cells[1].source += "   \n\n"
    nb.cells[1].id = "changed-id"
    nb.cells[0].metadata["collapsed"] = True
    same = tmp_path / "same.ipynb"
    nbformat.write(nb, same)
    assert notebook_differences(A1_RELEASE, same) == []
    nb.cells[4].source = nb.cells[4].source.replace("numbers.Real", "numbers.Integral")
    nb.cells.pop()
    changed = tmp_path / "changed.ipynb"
    nbformat.write(nb, changed)
    problems = notebook_differences(A1_RELEASE, changed)
    assert any("cell 4: source differs" in p for p in problems), problems
    assert any("cells, expected" in p for p in problems), problems


def test_short_error_picks_the_telling_line():
    log = (
        "[ERROR] Traceback (most recent call last):\n"
        "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{'\n"
        "    nbgrader.converters.base.NbGraderException: Please see the the above traceback\n"
    )
    assert short_error(log) == "NotJSONError: Notebook does not appear to be JSON: '{'"
    assert short_error("") == "unknown error"


def test_table_pads_columns():
    assert table(["a", "bb"], [["xyz", "1"]]).splitlines() == ["a    bb", "---  --", "xyz  1"]


def test_the_repository_is_the_course():
    root = find_course_root(REPO / "cnnwidgets")
    assert root == REPO
    course = Course(root)
    assert course.source_dir == REPO / "solutions"
    assert course.release_dir == REPO / "exercises"
    assert course.gradebook_url == f"sqlite:///{REPO / 'gradebook.db'}"
    assert "a1_convolution" in course.assignments()
    cfg = course.config()
    assert cfg.Execute.timeout >= 60 and cfg.Execute.startup_timeout >= 60


def test_cli_reports_an_unknown_assignment(capsys):
    assert main(["release", "no_such_assignment"]) == 1
    assert "no_such_assignment" in capsys.readouterr().err


def test_cli_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for command in ("validate", "release", "grade", "feedback", "export", "report"):
        assert command in out


def test_cli_grade_without_submissions_says_so(tmp_path, capsys):
    from .conftest import copy_course

    root = copy_course(tmp_path / "course", ["a1_convolution"])
    assert main(["--course", str(root), "grade", "a1_convolution"]) == 1
    assert "No submissions" in capsys.readouterr().err
    shutil.rmtree(root)
