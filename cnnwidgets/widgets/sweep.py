"""Several training runs on one chart: a sweep of a hyperparameter, read as curves."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.curves import diagnose_curves, history_dict
from ._svg import line_chart

__all__ = ["CurveComparison"]

_COLOURS = ("#2563eb", "#f59e0b", "#16a34a", "#b42318", "#7c3aed", "#0891b2")
_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")


class CurveComparison(W.VBox):
    """The learning curves of several runs side by side, each with its diagnosis.

    Give ``{name: history}`` (what ``model.fit`` returned, or its ``.history``), for
    example one run per learning rate. Pick the curve to compare; the table gives
    each run's last values and what :func:`cnnwidgets.diagnose_curves` reads in its
    curves ("diverging", "overfitting", "train longer", ...).

    Examples
    --------
    >>> runs = {"small": {"loss": [1.0, 0.9], "val_loss": [1.0, 0.95]},
    ...         "large": {"loss": [1.0, 3.0], "val_loss": [1.0, 3.5]}}
    >>> w = CurveComparison(runs, metric="loss")
    >>> w.verdicts
    {'small': 'train longer', 'large': 'diverging'}
    """

    metric = T.Unicode("val_accuracy", help="The curve compared: val_accuracy, val_loss, ...")

    def __init__(self, runs: dict[str, Any], *, metric: str = "val_accuracy", title: str = ""):
        super().__init__()
        self._ready = False
        self.runs = {str(name): history_dict(h) for name, h in runs.items()}
        if not self.runs:
            raise ValueError("Give at least one run: {'name': history}.")
        available = [m for m in _METRICS if all(m in h for h in self.runs.values())]
        if not available:
            raise ValueError("The runs share none of loss, val_loss, accuracy, val_accuracy.")
        self._metric = W.ToggleButtons(options=available, style={"button_width": "110px"})
        self.metric = metric if metric in available else available[0]
        W.link((self, "metric"), (self._metric, "value"))
        self._title = W.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self._chart, self._table = W.HTML(), W.HTML()
        self.children = [self._title, self._metric, self._chart, self._table]
        self.verdicts = {name: diagnose_curves(h).verdict for name, h in self.runs.items()}
        self.messages = {name: diagnose_curves(h).message for name, h in self.runs.items()}
        self._ready = True
        self._update()

    @T.validate("metric")
    def _valid_metric(self, proposal):
        if proposal["value"] not in _METRICS:
            raise T.TraitError(f"metric must be one of {', '.join(_METRICS)}.")
        return proposal["value"]

    @T.observe("metric")
    def _changed(self, change) -> None:
        self._update()

    def _update(self) -> None:
        if not self._ready:
            return
        self.finals = {
            name: float(np.asarray(h[self.metric], dtype=float)[-1])
            for name, h in self.runs.items()
        }
        series = [
            (list(map(float, h[self.metric])), _COLOURS[i % len(_COLOURS)], name)
            for i, (name, h) in enumerate(self.runs.items())
        ]
        n = max(len(h[self.metric]) for h in self.runs.values())
        loss = "loss" in self.metric
        finite = [v for s, _, _ in series for v in s if np.isfinite(v)]
        y_range = None
        if loss and finite:  # a diverging run would flatten the others to a line
            top = min(max(finite), 5 * float(np.median([s[0] for s, _, _ in series])))
            y_range = (0.0, top)
        elif not loss:
            y_range = (0.0, 1.0)
        self._chart.value = line_chart(
            series,
            x_values=list(range(1, n + 1)),
            x_label="epoch",
            y_label=self.metric,
            y_range=y_range,
            width=520,
            height=240,
        )
        rows = "".join(
            f"<tr><td style='padding:2px 8px;color:{_COLOURS[i % len(_COLOURS)]}'>"
            f"<b>{html.escape(name)}</b></td>"
            f"<td style='padding:2px 8px;font-family:monospace'>{self.finals[name]:.3f}</td>"
            f"<td style='padding:2px 8px'>{html.escape(self.verdicts[name])}</td></tr>"
            for i, name in enumerate(self.runs)
        )
        self._table.value = (
            "<table style='border-collapse:collapse;font-size:13px'><tr>"
            f"<th style='padding:2px 8px'>run</th><th style='padding:2px 8px'>last "
            f"{html.escape(self.metric)}</th><th style='padding:2px 8px'>the curves say</th>"
            f"</tr>{rows}</table>"
        )
