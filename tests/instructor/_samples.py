"""Sample submissions of a1 built from the released notebook, with the scores they must get."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
A1 = "a1_convolution"
A1_SOURCE = REPO / "solutions" / A1 / f"{A1}.ipynb"
A1_RELEASE = REPO / "exercises" / A1 / f"{A1}.ipynb"
A1_MAX = 16.0

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def solution_answers() -> dict[str, str]:
    """The solution cells' code as a student would type it (the markers removed)."""
    nb = nbformat.read(A1_SOURCE, as_version=4)
    return {
        c.metadata.nbgrader["grade_id"]: "\n".join(
            line for line in c.source.split("\n") if not _MARKER.match(line)
        )
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def _fill(answers: dict[str, str], setup: str | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(A1_RELEASE, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    if setup is not None:
        nb.cells[1].source = setup  # the unlocked import cell
    return nb


_VALID_ONLY_CONV = """
def conv2d(image, kernel, strides=1, padding="valid"):
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = np.sum(image[r : r + kh, c : c + kw] * kernel)
    return out
"""

_MAX_ONLY_POOL = """
def pool2d(x, pool_size=2, strides=None, mode="max"):
    x = np.asarray(x, dtype=float)
    s = pool_size if strides is None else strides
    rows = (x.shape[0] - pool_size) // s + 1
    cols = (x.shape[1] - pool_size) // s + 1
    return np.array([[x[r * s : r * s + pool_size, c * s : c * s + pool_size].max()
                      for c in range(cols)] for r in range(rows)])
"""


def samples() -> dict[str, tuple[str | nbformat.NotebookNode, float | None]]:
    """Student id -> (notebook or raw text, expected score; ``None``: cannot be graded)."""
    right = solution_answers()
    partial = dict(right)
    partial["colour_value"] = "colour_value = (2 + 3) + (1 + 3) + (1 + 3)  # a bias per channel"
    partial["conv2d"] = _VALID_ONLY_CONV.strip()
    partial["pool2d"] = _MAX_ONLY_POOL.strip()

    broken = dict(right)
    broken["conv2d"] = (
        'def conv2d(image, kernel, strides=1, padding="valid"):\n'
        "    return cnn_helpers.conv2d(image, kernel, strides, padding)"
    )
    broken["pool2d"] = (
        'def pool2d(x, pool_size=2, strides=None, mode="max"):\n'
        "    return cnn_helpers.pool2d(x, pool_size, strides, mode)"
    )

    syntax = dict(right)
    syntax["conv2d"] = 'def conv2d(image, kernel, strides=1, padding="valid")\n    return image'

    tamper_nb = _fill({**right, "hand_value": "hand_value = 0"})
    for cell in tamper_nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_hand_value":
            cell.source = "pass  # the test is in my way"
    tamper_nb.cells = [
        c
        for c in tamper_nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") != "test_pool2d_keras"
    ]

    return {
        "correct": (_fill(right), A1_MAX),
        # hand value, sizes and valid conv2d right; bias per channel, no strides/padding,
        # max pooling only, the edge kernel right: 1 + 0 + 1 + 1 + 2 + 0 + 0 + 0 + 0 + 3
        "partial": (_fill(partial), 8.0),
        # the import cell fails and both functions depend on it; the by-hand answers and the
        # edge kernel still count
        "broken": (_fill(broken, setup="import numpy as np\nimport cnn_helpers"), 7.0),
        "empty": (copy.deepcopy(nbformat.read(A1_RELEASE, as_version=4)), 0.0),
        # a syntax error costs the conv2d tests (6 points) only
        "syntax": (_fill(syntax), A1_MAX - 6),
        # an edited test is restored and a deleted one put back: hand_value = 0 costs 1 point
        "tamper": (tamper_nb, A1_MAX - 1),
        "garbled": ('{"cells": [{"cell_type": "code", "source": "import numpy as np"', None),
    }


def write_samples(course_root: Path) -> dict[str, float | None]:
    """Write every sample under ``course_root/submitted``; return student -> expected score."""
    expected = {}
    for student, (content, score) in samples().items():
        folder = course_root / "submitted" / student / A1
        folder.mkdir(parents=True)
        path = folder / f"{A1}.ipynb"
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)
        expected[student] = score
    (course_root / "submitted" / "correct" / A1 / "timestamp.txt").write_text(
        "2026-11-01 09:30:00.000000 UTC"
    )
    return expected
