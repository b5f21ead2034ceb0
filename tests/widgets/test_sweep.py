"""CurveComparison: several runs on one chart, each with core's diagnosis."""

from __future__ import annotations

import pytest

from cnnwidgets.core import diagnose_curves
from cnnwidgets.widgets import CurveComparison

RUNS = {
    "0.001": {
        "loss": [2.3, 2.29, 2.28],
        "val_loss": [2.3, 2.29, 2.285],
        "val_accuracy": [0.1, 0.12, 0.13],
        "accuracy": [0.1, 0.11, 0.12],
    },
    "0.05": {
        "loss": [1.5, 0.6, 0.3],
        "val_loss": [1.2, 0.6, 0.4],
        "val_accuracy": [0.6, 0.8, 0.9],
        "accuracy": [0.5, 0.8, 0.92],
    },
    "2.0": {
        "loss": [2.0, 9.0, float("nan")],
        "val_loss": [5.0, 40.0, float("nan")],
        "val_accuracy": [0.1, 0.1, 0.1],
        "accuracy": [0.1, 0.1, 0.1],
    },
}


def test_each_run_gets_cores_diagnosis_and_its_last_value():
    w = CurveComparison(RUNS)
    assert w.verdicts == {name: diagnose_curves(h).verdict for name, h in RUNS.items()}
    assert w.verdicts["2.0"] == "diverging"
    assert w.finals == {"0.001": 0.13, "0.05": 0.9, "2.0": 0.1}
    assert "polyline" in w._chart.value and "diverging" in w._table.value


def test_the_metric_control_switches_the_curves():
    w = CurveComparison(RUNS, metric="loss")
    assert w.finals["0.05"] == 0.3
    w._metric.value = "val_accuracy"
    assert w.metric == "val_accuracy" and w.finals["0.05"] == 0.9


def test_runs_without_a_shared_metric_are_refused():
    with pytest.raises(ValueError, match="at least one run"):
        CurveComparison({})
    only_loss = CurveComparison({"a": {"loss": [1.0, 0.5]}}, metric="val_accuracy")
    assert only_loss.metric == "loss"
