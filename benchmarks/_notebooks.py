"""What the accuracy benchmarks read from a solution notebook, and the seed sweep they share."""

from __future__ import annotations

import ast
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEEDS = range(10)
TARGET_MARGIN = 0.02


def solution_cells(assignment: str) -> dict[str, str]:
    """The solution notebook's import cell (``"imports"``) and its cells by grade id."""
    import nbformat

    source = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(source, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    imports = next(c for c in nb.cells if c.cell_type == "code" and "quiet_keras()" in c.source)
    return {"imports": imports.source, **{k: c.source for k, c in by_id.items() if k}}


def call_keywords(source: str, function: str) -> dict[str, Any]:
    """The literal keyword arguments of the first call to ``function`` in ``source``."""
    call = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == function
    )
    found = {}
    for kw in call.keywords:
        try:
            found[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:  # a name, such as validation=(X_val, y_val): not a setting
            continue
    return found


def accuracy_over_seeds(
    build_model: Callable[[], Any], X: Any, y: Any, kwargs: dict[str, Any], label: str
) -> list[str]:
    """Train ``build_model`` as the hidden test does, once per seed; rows with the margin."""
    from cnnwidgets.grading import train_and_evaluate

    threshold = kwargs["threshold"]
    rows = [
        f"{label}: "
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
