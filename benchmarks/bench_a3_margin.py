"""a3's reference solution over 10 seeds, trained exactly as the hidden accuracy test trains it.

The model comes from the solution notebook's `build_model` cell and the harness
arguments from its hidden `assert_accuracy(...)` call, so nothing here can drift
from what students are graded against; only the seed changes (0-9).
"""

from __future__ import annotations

import ast
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
A3 = "a3_digit_classifier"
SOURCE = REPO / "solutions" / A3 / f"{A3}.ipynb"
SEEDS = range(10)
TARGET_MARGIN = 0.02


def _cells() -> dict[str, Any]:
    import nbformat

    nb = nbformat.read(SOURCE, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    imports = next(c for c in nb.cells if c.cell_type == "code" and "quiet_keras()" in c.source)
    return {"imports": imports.source, **{k: c.source for k, c in by_id.items() if k}}


def reference_build_model():
    """``build_model`` as the solution notebook defines it (its import cell run first)."""
    cells = _cells()
    namespace: dict[str, Any] = {}
    exec(cells["imports"], namespace)  # the ### BEGIN/END SOLUTION markers are comments
    exec(cells["build_model"], namespace)
    return namespace["build_model"]


def hidden_test_arguments() -> dict[str, Any]:
    """The keyword arguments of the hidden test's ``assert_accuracy(...)`` call."""
    tree = ast.parse(_cells()["test_accuracy"])
    call = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "assert_accuracy"
    )
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}


def run() -> list[str]:
    from cnnwidgets.data import load_dataset
    from cnnwidgets.grading import train_and_evaluate

    build_model = reference_build_model()
    kwargs = hidden_test_arguments()
    threshold = kwargs["threshold"]
    X, y, _ = load_dataset("digits")
    rows = [
        "hidden test: "
        + ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        + f"; here seeds {SEEDS.start}-{SEEDS.stop - 1}"
    ]
    accuracies, seconds = [], []
    for seed in SEEDS:
        start = time.perf_counter()
        result = train_and_evaluate(build_model, X, y, **{**kwargs, "seed": seed})
        seconds.append(time.perf_counter() - start)
        if result.accuracy is None:
            raise RuntimeError(f"seed {seed}: {result.message}")
        accuracies.append(result.accuracy)
        rows.append(
            f"seed {seed}: held-out accuracy {result.accuracy:.4f} "
            f"({'pass' if result.passed else 'FAIL'}, {seconds[-1]:.1f} s)"
        )
    low, mean = min(accuracies), statistics.mean(accuracies)
    margin = low - threshold
    rows.append(
        f"min {low:.4f}  mean {mean:.4f}  margin of the min over {threshold:.2f}: "
        f"{margin * 100:+.2f} points   target >= {TARGET_MARGIN * 100:.0f} points "
        f"({'met' if margin >= TARGET_MARGIN else 'NOT met'})"
    )
    rows.append(
        f"training time per seed: median {statistics.median(seconds):.1f} s, "
        f"max {max(seconds):.1f} s ({kwargs['epochs']} epochs)"
    )
    return rows
