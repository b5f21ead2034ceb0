"""Framework noise never costs points; a submission that hangs is stopped and reported."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cnnwidgets.instructor.autograde.grade import grade
from cnnwidgets.instructor.course import Course
from cnnwidgets.instructor.release import generate

from ._samples import A1, A1_MAX, write_samples
from .conftest import cnnkit, copy_course

pytestmark = pytest.mark.slow

NOISY_TESTS = {
    # Keras warns (on stderr) when a Sequential model gets input_shape=, as the lectures teach.
    "keras_warning": """
import keras
model = keras.Sequential([keras.layers.Conv2D(2, 3, input_shape=(5, 5, 1))])
assert model.output_shape == (None, 3, 3, 2)
""",
    # What TensorFlow's C++ log and a framework's Python warning look like when they get through.
    "tf_log_lines": """
import sys, warnings
sys.stderr.write("I0000 00:00:1795295742.625444    5535 port.cc:153] oneDNN custom operations "
                 "are on. You may see slightly different numerical results.\\n")
warnings.warn_explicit("Do not pass an `input_shape`/`input_dim` argument to a layer.",
                       UserWarning, "/opt/env/lib/python3.11/site-packages/keras/src/x.py", 113)
assert 1 + 1 == 2
""",
    # nbgrader started the kernel with the kit's filters in place (IPKernelApp.exec_lines).
    "kernel_filters": """
import warnings
assert any(f[3] is not None and "keras" in f[3].pattern for f in warnings.filters)
""",
    # Anything else on stderr still fails the test, as nbgrader intends.
    "real_stderr": """
import sys
print("this test complains on stderr", file=sys.stderr)
""",
}


def _noisy_course(root: Path) -> Course:
    copy_course(root, [])
    cells = [new_code_cell("import numpy as np")]
    for grade_id, source in NOISY_TESTS.items():
        cell = new_code_cell(source.strip())
        cell.metadata["nbgrader"] = {
            "grade": True,
            "grade_id": grade_id,
            "locked": True,
            "points": 1,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    folder = root / "solutions" / "noise"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "noise.ipynb")
    return Course(root)


def test_framework_noise_costs_no_points(tmp_path):
    course = _noisy_course(tmp_path / "course")
    generate(course, "noise")
    submitted = course.folder("submitted_directory", "ada", "noise")
    submitted.mkdir(parents=True)
    (submitted / "noise.ipynb").write_bytes(
        (course.release_dir / "noise" / "noise.ipynb").read_bytes()
    )
    (outcome,) = grade(course, "noise", jobs=1, progress=False).outcomes
    assert outcome.ok, outcome
    with course.gradebook() as gb:
        nb = gb.find_submission_notebook("noise", "noise", "ada")
        scores = {g.name: g.score for g in nb.grades}
    assert scores == {
        "keras_warning": 1.0,
        "tf_log_lines": 1.0,
        "kernel_filters": 1.0,
        "real_stderr": 0.0,
    }


def _processes_under(folder: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(int(proc.name))
    return found


def test_a_hanging_submission_times_out_and_the_others_are_graded(tmp_path):
    root = copy_course(tmp_path / "course", [A1])
    write_samples(root)
    for student in ("partial", "broken", "syntax", "tamper", "garbled"):
        (root / "submitted" / student).rename(tmp_path / student)  # keep this test short
    path = root / "submitted" / "empty" / A1 / f"{A1}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = "import time\ntime.sleep(600)\nhand_value = -1"
    nbformat.write(nb, path)
    # students hold an older version than solutions/: grading says so and carries on
    released = root / "exercises" / A1 / f"{A1}.ipynb"
    old = nbformat.read(released, as_version=4)
    old.cells[0].source += "\n\nDue on Friday."
    nbformat.write(old, released)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    elsewhere = tmp_path / "elsewhere.db"  # --db: the gradebook lives where the URL says
    run = cnnkit(
        "--course",
        str(root),
        "grade",
        A1,
        "--timeout",
        "25",
        "--jobs",
        "2",
        "--db",
        f"sqlite:///{elsewhere}",
        tmpdir=scratch,
    )
    assert run.returncode == 1
    assert f"Warning: exercises/{A1} differs from a fresh generation" in run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines()[2:] if line.strip()}
    assert "timeout" in lines["empty"] and "stopped after 25 s" in lines["empty"]
    assert f"{A1_MAX:g}/{A1_MAX:g}" in lines["correct"] and "graded" in lines["correct"]
    assert run.seconds < 120
    assert elsewhere.is_file() and not (root / "gradebook.db").exists()
    assert str(elsewhere) in run.stdout
    # the killed worker's kernel goes too (ipykernel exits when its parent is gone)
    deadline = time.monotonic() + 15
    while _processes_under(scratch) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_under(scratch) == []
