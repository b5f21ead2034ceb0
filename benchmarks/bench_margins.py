"""Each reference solution's margin over every threshold, through the grader, over 10 seeds.

For each hidden test that trains (a3's accuracy; a6's accuracy and overfitting gap; a7's
new head and its fine-tuning), the solution notebook is executed as `cnnkit grade`
executes a submission: in the sandbox, with the test in the verifier and the student's
function called in the student's kernel. Only the test is changed, and only so that it
trains once per seed 0-9 with everything else as the grader has it (split, epochs,
budgets, the grader's own initialisation) and prints what it measured. The grade takes
the median of two seeds: the rows give each seed, the worst seed, and the worst median
of the pairs (0, 1), (2, 3), ... The target is a margin of at least 2 points on the
worst seed.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SEEDS = range(10)
TARGET = 0.02

# The seed sweep, in place of the grader's ``assert_accuracy(...)``: same arguments, other seeds.
_SWEEP = """
def _sweep(build, X, y, **kwargs):
    from cnnwidgets.grading import train_and_evaluate

    for seed in SEEDS:
        result = train_and_evaluate(build, X, y, **{**kwargs, "seed": seed})
        print(f"SWEEP {seed} {result.accuracy!r} {result.message!r}")
"""


# The same for a7's fine-tuning check, in place of the grader's ``assert_fine_tuning(...)``.
_SWEEP_FINE_TUNING = """
def _sweep(prepare, **kwargs):
    from cnnwidgets.grading.transfer import assert_fine_tuning

    for seed in SEEDS:
        result = assert_fine_tuning(prepare, **{**kwargs, "seed": seed, "threshold": 0.0})
        print(f"SWEEP {seed} {result.accuracy!r} {result.message!r}")
"""


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _notebook(assignment: str, test: str, source: str) -> nbformat.NotebookNode:
    """The solution with one graded test left, its source replaced by ``source``."""
    nb = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    kept = _cell(nb, test)
    kept.source = source
    nb.cells = [
        c for c in nb.cells
        if c is kept or not (c.metadata.get("nbgrader", {}).get("grade")
                             and not c.metadata.get("nbgrader", {}).get("solution"))
    ]  # fmt: skip
    return nb


def _accuracy_sweep(assignment: str, test: str) -> tuple[nbformat.NotebookNode, float]:
    nb = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    source = _cell(nb, test).source
    threshold = float(re.search(r"threshold=([0-9.]+)", source).group(1))
    call = next((c for c in ("assert_accuracy(", "assert_fine_tuning(") if c in source), None)
    if call is None:
        raise RuntimeError(f"{assignment} {test}: no assert_accuracy call to sweep")
    sweep = _SWEEP if call == "assert_accuracy(" else _SWEEP_FINE_TUNING
    swept = f"SEEDS = {list(SEEDS)!r}\n{sweep}\n" + source.replace(call, "_sweep(")
    return _notebook(assignment, test, swept), threshold


def _gap_sweep() -> tuple[nbformat.NotebookNode, float, float]:
    nb = nbformat.read(REPO / "solutions" / "a6_faces" / "a6_faces.ipynb", as_version=4)
    source = _cell(nb, "test_regularized").source
    bound = float(re.search(r"assert gap < ([0-9.]+)", source).group(1))
    floor = float(re.search(r"assert accuracy >= ([0-9.]+)", source).group(1))
    head = source.split("gap = statistics.median")[0]
    loop = re.search(r"for seed in \(([0-9, ]+)\):", head)
    if loop is None:
        raise RuntimeError("a6 test_regularized: no seed loop to sweep")
    swept = head.replace(loop.group(0), f"for seed in {list(SEEDS)!r}:")
    swept += (
        'for seed, run in zip(range(10), runs):\n    print(f"SWEEP {seed} {run[0]!r} {run[1]!r}")\n'
    )
    return _notebook("a6_faces", "test_regularized", swept), bound, floor


def _execute(nb: nbformat.NotebookNode) -> tuple[list[tuple[int, float | None, str]], float]:
    from cnnwidgets.instructor.autograde.execute import VerifiedExecute
    from cnnwidgets.instructor.isolation.sandbox import availability

    manager = "cnnwidgets.instructor.isolation." + (
        "sandbox.SandboxKernelManager" if availability() is None else "kernels.SocketKernelManager"
    )
    client = VerifiedExecute(timeout=1200, kernel_manager_class=manager)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        nb, _ = client.preprocess(nb, {"metadata": {"path": folder}})
        seconds = time.perf_counter() - start
    text = "".join(
        o.get("text", "") + o.get("evalue", "")
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )  # fmt: skip
    rows = []
    for line in text.splitlines():
        if line.startswith("SWEEP "):
            _, seed, value, *rest = line.split(" ", 3)
            rows.append((int(seed), None if value == "None" else float(value), " ".join(rest)))
    if len(rows) != len(SEEDS):
        raise RuntimeError(f"the sweep printed {len(rows)} of {len(SEEDS)} seeds:\n{text[-2000:]}")
    return rows, seconds


def _pairs(values: list[float], worst) -> float:
    medians = [statistics.median(values[i : i + 2]) for i in range(0, len(values) - 1, 2)]
    return worst(medians)


def _accuracy_rows(assignment: str, test: str) -> list[str]:
    nb, threshold = _accuracy_sweep(assignment, test)
    rows, seconds = _execute(nb)
    failed = [f"seed {s}: {m}" for s, a, m in rows if a is None]
    if failed:
        raise RuntimeError(f"{assignment} {test}: not trained: {failed[0]}")
    accuracies = [a for _, a, _ in rows]
    low, pair_low = min(accuracies), _pairs(accuracies, min)
    margin = low - threshold
    return [
        f"  {assignment} {test}: threshold {threshold:.2f}; accuracy per seed "
        + " ".join(f"{a:.3f}" for a in accuracies),
        f"    worst seed {low:.4f} ({margin * 100:+.2f} points), worst median of a pair "
        f"{pair_low:.4f} ({(pair_low - threshold) * 100:+.2f} points), mean "
        f"{statistics.mean(accuracies):.4f}; target >= {TARGET * 100:.0f} points on the worst "
        f"seed: {'met' if margin >= TARGET - 1e-9 else 'NOT met'} ({seconds:.0f} s)",
    ]


def _gap_rows() -> list[str]:
    nb, bound, floor = _gap_sweep()
    rows, seconds = _execute(nb)
    gaps = [g for _, g, _ in rows]
    accuracies = [float(m.split()[0]) for _, _, m in rows]
    worst_gap, worst_accuracy = max(gaps), min(accuracies)
    gap_margin, floor_margin = bound - worst_gap, worst_accuracy - floor
    met = gap_margin >= TARGET - 1e-9 and floor_margin >= TARGET - 1e-9
    return [
        f"  a6_faces test_regularized: gap < {bound}, validation accuracy >= {floor}; gap per "
        "seed " + " ".join(f"{g:.3f}" for g in gaps),
        "    validation accuracy per seed " + " ".join(f"{a:.3f}" for a in accuracies),
        f"    worst gap {worst_gap:.3f} ({gap_margin * 100:+.1f} points below the bound), worst "
        f"median gap of a pair {_pairs(gaps, max):.3f}; worst accuracy {worst_accuracy:.3f} "
        f"({floor_margin * 100:+.1f} points over the floor); target >= {TARGET * 100:.0f} "
        f"points: {'met' if met else 'NOT met'} ({seconds:.0f} s)",
    ]


def run():
    yield from _accuracy_rows("a3_digit_classifier", "test_accuracy")
    yield from _accuracy_rows("a6_faces", "test_accuracy")
    yield from _gap_rows()
    yield from _accuracy_rows("a7_inside_the_network", "test_head_accuracy")
    yield from _accuracy_rows("a7_inside_the_network", "test_fine_tuning")
