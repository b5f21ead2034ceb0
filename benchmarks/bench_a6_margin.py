"""a6's reference solutions over 10 seeds, trained exactly as the hidden tests train them.

Part 1 (accuracy): the model comes from the solution notebook's `build_model` cell and the
harness arguments from its hidden `assert_accuracy(...)` call; only the seed changes (0-9).
Part 2 (overfitting): the given `build_overfitting_model` and `measure_gap` come from the
notebook's locked `overfitting` cell and the reference fix from its
`build_regularized_model` cell; the bound, the floor, the epochs and the split of the
hidden `test_regularized` are read from that test and must equal the notebook's.
"""

from __future__ import annotations

import ast
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
A6 = "a6_faces"
SOURCE = REPO / "solutions" / A6 / f"{A6}.ipynb"
SEEDS = range(10)
TARGET_MARGIN = 0.02


def _cells() -> dict[str, str]:
    import nbformat

    nb = nbformat.read(SOURCE, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    imports = next(c for c in nb.cells if c.cell_type == "code" and "quiet_keras()" in c.source)
    return {"imports": imports.source, **{k: c.source for k, c in by_id.items() if k}}


def notebook_namespace() -> dict[str, Any]:
    """The solution notebook's imports, faces, overfitting set-up and both reference models.

    The ``### BEGIN/END SOLUTION`` markers are comments, so the cells run as they are.
    """
    from cnnwidgets.data import load_dataset

    cells = _cells()
    namespace: dict[str, Any] = {}
    exec(cells["imports"], namespace)
    namespace["X"], namespace["y"], _ = load_dataset("faces")
    for grade_id in ("budgets", "build_model", "overfitting", "build_regularized_model"):
        exec(cells[grade_id], namespace)
    return namespace


def _call_keywords(source: str, function: str) -> dict[str, Any]:
    tree = ast.parse(source)
    call = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == function
    )
    found = {}
    for kw in call.keywords:
        try:
            found[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:  # a name, such as validation=(X_val, y_val): not a setting
            continue
    return found


def hidden_test_arguments() -> dict[str, Any]:
    """The keyword arguments of the hidden accuracy test's ``assert_accuracy(...)`` call."""
    return _call_keywords(_cells()["test_accuracy"], "assert_accuracy")


def hidden_gap_test() -> dict[str, Any]:
    """What the hidden ``test_regularized`` uses: epochs, seed, split, bound and floor."""
    source = _cells()["test_regularized"]
    found = {**_call_keywords(source, "train_and_evaluate")}
    found["test_size"] = _call_keywords(source, "split")["test_size"]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and isinstance(node.comparators[0], ast.Constant):
            left = ast.unparse(node.left)
            if left == "gap":
                found["bound"] = node.comparators[0].value
            elif left == "result.accuracy":
                found["floor"] = node.comparators[0].value
    return found


def _check_in_step(ns: dict[str, Any], hidden: dict[str, Any]) -> None:
    notebook = {
        "epochs": ns["FIX_EPOCHS"],
        "test_size": len(ns["y"]) - ns["FEW"],
        "bound": ns["GAP_BOUND"],
        "floor": ns["FLOOR"],
    }
    differ = {k: (v, hidden.get(k)) for k, v in notebook.items() if hidden.get(k) != v}
    if differ:
        raise RuntimeError(f"the hidden gap test and the notebook disagree: {differ}")


def _accuracy_rows(ns: dict[str, Any]) -> list[str]:
    from cnnwidgets.grading import train_and_evaluate

    kwargs = hidden_test_arguments()
    threshold = kwargs["threshold"]
    rows = [
        "1. build_model, hidden test: "
        + ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        + f"; here seeds {SEEDS.start}-{SEEDS.stop - 1}"
    ]
    accuracies, seconds = [], []
    for seed in SEEDS:
        start = time.perf_counter()
        result = train_and_evaluate(ns["build_model"], ns["X"], ns["y"], **{**kwargs, "seed": seed})
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


def _gap_rows(ns: dict[str, Any]) -> list[str]:
    hidden = hidden_gap_test()
    _check_in_step(ns, hidden)
    bound, floor = hidden["bound"], hidden["floor"]
    rows = [
        f"2. overfitting, hidden test: {ns['FEW']} training images, {len(ns['y']) - ns['FEW']} "
        f"validation, epochs={hidden['epochs']}, seed={hidden['seed']}; gap = val_loss - loss "
        f"< {bound}, validation accuracy >= {floor}; here seeds {SEEDS.start}-{SEEDS.stop - 1}"
    ]
    figures: dict[str, dict[str, list[float]]] = {}
    for label, build in (
        ("given", ns["build_overfitting_model"]),
        ("fix", ns["build_regularized_model"]),
    ):
        runs: dict[str, list[float]] = {"gap": [], "val_accuracy": [], "seconds": []}
        for seed in SEEDS:
            start = time.perf_counter()
            measured = ns["measure_gap"](build, seed=seed)
            runs["seconds"].append(time.perf_counter() - start)
            runs["gap"].append(measured["gap"])
            runs["val_accuracy"].append(measured["val_accuracy"])
            rows.append(
                f"{label:5s} seed {seed}: gap {measured['gap']:+.3f} "
                f"(loss {measured['train_loss']:.4f}, val_loss {measured['val_loss']:.3f}), "
                f"validation accuracy {measured['val_accuracy']:.3f}, {runs['seconds'][-1]:.1f} s"
            )
        figures[label] = runs
    given, fix = figures["given"], figures["fix"]
    above = min(given["gap"]) - bound
    below = bound - max(fix["gap"])
    floor_margin = min(fix["val_accuracy"]) - floor
    rows.append(
        f"given model: gap min {min(given['gap']):.3f} max {max(given['gap']):.3f}, "
        f"{above:+.3f} above the bound on its best seed "
        f"({'fails on every seed' if above > 0 else 'PASSES on some seed'})"
    )
    rows.append(
        f"reference fix: gap min {min(fix['gap']):.3f} max {max(fix['gap']):.3f}, "
        f"{below:+.3f} below the bound on its worst seed; validation accuracy min "
        f"{min(fix['val_accuracy']):.3f}, {floor_margin * 100:+.1f} points over the floor "
        f"({'passes on every seed' if below > 0 and floor_margin >= 0 else 'FAILS on some seed'})"
    )
    rows.append(
        f"training time per seed: given median {statistics.median(given['seconds']):.1f} s, "
        f"fix median {statistics.median(fix['seconds']):.1f} s, "
        f"max {max(given['seconds'] + fix['seconds']):.1f} s ({hidden['epochs']} epochs)"
    )
    return rows


def run() -> list[str]:
    ns = notebook_namespace()
    return _accuracy_rows(ns) + _gap_rows(ns)
