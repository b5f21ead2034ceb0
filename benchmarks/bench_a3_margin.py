"""a3's reference solution over 10 seeds, trained exactly as the hidden accuracy test trains it.

The model comes from the solution notebook's `build_model` cell and the harness
arguments from its hidden `assert_accuracy(...)` call, so nothing here can drift
from what students are graded against; only the seed changes (0-9).
"""

from __future__ import annotations

from typing import Any

from ._notebooks import accuracy_over_seeds, call_keywords, solution_cells

A3 = "a3_digit_classifier"


def reference_build_model():
    """``build_model`` as the solution notebook defines it (its import cell run first)."""
    cells = solution_cells(A3)
    namespace: dict[str, Any] = {}
    exec(cells["imports"], namespace)  # the ### BEGIN/END SOLUTION markers are comments
    exec(cells["build_model"], namespace)
    return namespace["build_model"]


def hidden_test_arguments() -> dict[str, Any]:
    """The keyword arguments of the hidden test's ``assert_accuracy(...)`` call."""
    return call_keywords(solution_cells(A3)["test_accuracy"], "assert_accuracy")


def run() -> list[str]:
    from cnnwidgets.data import load_dataset

    X, y, _ = load_dataset("digits")
    return accuracy_over_seeds(
        reference_build_model(), X, y, hidden_test_arguments(), label="hidden test"
    )
