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
from typing import Any

from ._notebooks import SEEDS, accuracy_over_seeds, call_keywords, solution_cells

A6 = "a6_faces"


def _cells() -> dict[str, str]:
    return solution_cells(A6)


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


def hidden_test_arguments() -> dict[str, Any]:
    """The keyword arguments of the hidden accuracy test's ``assert_accuracy(...)`` call."""
    return call_keywords(_cells()["test_accuracy"], "assert_accuracy")


def hidden_gap_test() -> dict[str, Any]:
    """What the hidden ``test_regularized`` uses: epochs, seed, split, bound and floor."""
    source = _cells()["test_regularized"]
    found = {**call_keywords(source, "train_and_evaluate")}
    found["test_size"] = call_keywords(source, "split")["test_size"]
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
    return accuracy_over_seeds(
        ns["build_model"],
        ns["X"],
        ns["y"],
        hidden_test_arguments(),
        label="1. build_model, hidden test",
    )


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
