"""A class graded with submissions that take too much together, and one whose conv2d is slow once.

Red team S5/S8: a submission's limits held for all its processes and folders together, by
the watchdog, with a message in the student's cell, the feedback and the grading log;
S6: a test past its time (its rule's room killed with it) costs that test only, since the
room that takes the dead one's place is sent the notebook's cells again. One sandboxed
`cnnkit grade --jobs 2` of a1; the honest submission is graded next to the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ._samples import A1, A1_MAX, _fill, solution_answers
from ._samples_a3 import cell_outputs
from .conftest import cnnkit, copy_course, sandbox_missing

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 20  # seconds per cell: the slow test overruns it
MEMORY_MB = 3072
DISK_MB = 256

# Only in the kernel (the rule's room runs the same cells, and never has ipykernel): what
# the red team's cells did, scaled to pass this run's limits.
MEMORY_HOG = """
import sys
if "ipykernel" in sys.modules:
    import os, time
    for _ in range(4):  # each child within the per-process limit: 1 GB of the 3 GB
        if os.fork() == 0:
            block = bytearray(2**30)
            time.sleep(10)
            os._exit(0)
    time.sleep(10)  # within the cell's time: unwatched, this cell would pass
"""
DISK_FILL = """
import sys
if "ipykernel" in sys.modules:
    for i in range(48):  # 16 MB files in the notebook's own folder: 768 MB
        with open(f".cache{i}.bin", "wb") as fh:
            fh.write(bytes(16 * 2**20))
    import time
    time.sleep(10)
"""
# An honest conv2d, very slow on one test's call (strides=2, as an int) only.
SLOW_ON_STRIDES = """

def conv2d(image, kernel, strides=1, padding="valid"):
    if strides == 2:  # a needlessly slow path, which the test's time runs out on
        steps = 0
        while steps < 10**12:
            steps += 1
    return _conv2d(image, kernel, strides=strides, padding=padding)
"""


def _submissions() -> dict[str, tuple[object, float]]:
    right = solution_answers()
    slow = right["conv2d"].replace("def conv2d(", "def _conv2d(", 1)
    assert slow != right["conv2d"], "the a1 solution changed: update this sample"
    return {
        "honest": (_fill(right), A1_MAX),
        # killed in the pool2d cell: the tests before it keep their points (pool2d: 2 + 1)
        "memory_hog": (_fill({**right, "pool2d": right["pool2d"] + "\n" + MEMORY_HOG}), 10.0),
        # killed in the sizes cell: hand_value and colour_value only
        "disk_fill": (_fill({**right, "sizes": right["sizes"] + "\n" + DISK_FILL}), 2.0),
        # test_conv2d_strides_padding (2 points) runs out of time; the later ones count
        "slow_once": (_fill({**right, "conv2d": slow + SLOW_ON_STRIDES}), A1_MAX - 2),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if sandbox_missing() is not None:
        pytest.skip(f"no grading sandbox here: {sandbox_missing()}")
    import nbformat

    base = tmp_path_factory.mktemp("limits")
    root = copy_course(base / "course", [A1])
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    expected = {}
    for student, (nb, score) in _submissions().items():
        folder = root / "submitted" / student / A1
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{A1}.ipynb")
        expected[student] = score
    run = cnnkit("--course", str(root), "grade", A1, "--jobs", "2", "--no-progress",
                 "--memory", str(MEMORY_MB), "--disk", str(DISK_MB), tmpdir=base)  # fmt: skip
    print(run.stdout, run.stderr[-3000:])
    return root, expected, run


def _scores(root: Path) -> dict[str, float]:
    sidecar = json.loads((root / "autograded" / ".cnnkit" / f"{A1}.json").read_text())
    return {student: record["score"] for student, record in sidecar.items()}


def _autograded(root: Path, student: str) -> Path:
    return root / "autograded" / student / A1 / f"{A1}.ipynb"


def _log(root: Path, student: str) -> str:
    return (root / "autograded" / ".cnnkit" / "logs" / A1 / f"{student}.log").read_text()


def test_every_submission_gets_its_score(graded):
    root, expected, run = graded
    assert _scores(root) == expected, run.stdout


def test_memory_of_all_the_processes_together_stops_the_kernel_and_says_so(graded):
    root, _, _ = graded
    shown = cell_outputs(_autograded(root, "memory_hog"), "pool2d")
    assert "the grader stopped the kernel: the submission's processes used " in shown, shown
    assert "of memory together; the limit is 3 GB" in shown, shown
    assert "the submission's processes used " in _log(root, "memory_hog")
    run = cnnkit("--course", str(root), "feedback", A1, "--student", "memory_hog")
    assert run.returncode == 0, run.stdout + run.stderr
    page = (root / "feedback" / "memory_hog" / A1 / f"{A1}.html").read_text()
    assert "of memory together; the limit is 3 GB" in page


def test_disk_of_its_folder_stops_the_kernel_and_says_so(graded):
    root, _, _ = graded
    shown = cell_outputs(_autograded(root, "disk_fill"), "sizes")
    assert "the grader stopped the kernel: the submission's processes wrote " in shown, shown
    assert "to disk together" in shown and "the limit is 256 MB" in shown, shown
    assert "to disk together" in _log(root, "disk_fill")
    # nothing of what it wrote reaches the course
    assert not list((root / "autograded" / "disk_fill").rglob(".cache*"))


def test_a_test_past_its_time_costs_that_test_only(graded):
    root, _, _ = graded
    nb = _autograded(root, "slow_once")
    assert cell_outputs(nb, "test_conv2d_strides_padding")  # failed, saying why
    for later in ("test_conv2d_keras", "test_pool2d", "test_pool2d_keras"):
        assert "Error" not in cell_outputs(nb, later), cell_outputs(nb, later)
    assert "a new rule's Python" in _log(root, "slow_once")
