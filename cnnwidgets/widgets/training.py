"""Live learning curves while model.fit runs: a Keras callback that is also a widget."""

from __future__ import annotations

import functools
import html
import math
import time
from typing import Any

import ipywidgets as W
import traitlets as T

from ..core.curves import (
    accuracy_key,
    best_epoch,
    diagnose_curves,
    gap_trend,
    generalization_gap,
    history_dict,
    simulate_early_stopping,
)
from ._base import _Widget

__all__ = ["TrainingMonitor"]

# The renderer. The curves are a plain plotly figure dict shown through plotly's
# mimetype ("application/vnd.plotly.v1+json") inside an ipywidgets.Output, whose one
# output is replaced after every epoch. JupyterLab's jupyterlab-plotly extension
# (installed with plotly) draws it, and VS Code draws it natively, so the notebook
# carries only the figure's JSON: a few kilobytes. A plotly FigureWidget is an
# anywidget whose saved state holds plotly's whole ~5 MB JavaScript bundle, once per
# instance, and a lesson shows several monitors. Measured on a saved 3-epoch run:
# see the report of issue 4. Building the dict by hand, not with plotly.graph_objects,
# also keeps an epoch's redraw well under a millisecond and plotly out of the import.
MIMETYPE = "application/vnd.plotly.v1+json"

TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"
GAP_FILL = "rgba(255, 127, 14, 0.15)"
BEST_COLOUR = "#2ca02c"
_VERDICT_COLOURS = {
    "overfitting": "#b42318",
    "diverging": "#b42318",
    "unstable": "#b42318",
    "underfitting": "#b54708",
    "starting to overfit": "#b54708",
    "train longer": "#175cd3",
    "levelled off": "#067647",
}
# Progress during an epoch is redrawn at most this often: the readout stays live
# without a comm message per batch.
_BATCH_REFRESH_S = 0.25
_MAX_PATIENCE = 20


@functools.cache
def _with_keras_callback(cls: type) -> type:
    """``cls`` mixed with ``keras.callbacks.Callback``, made on first use.

    Keras is imported only when a monitor is created, so ``import
    cnnwidgets.widgets`` stays quick; subclassing the real Callback (rather than
    imitating its methods) keeps the monitor working when Keras adds hooks.
    """
    from .._keras import quiet_keras

    callback = quiet_keras().callbacks.Callback
    if issubclass(cls, callback):
        return cls
    return type(
        cls.__name__,
        (cls, callback),
        {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__},
    )


def _finite(values: list[float]) -> list[float | None]:
    # JSON has no NaN: plotly and the widget protocol want null for a missing point.
    return [v if math.isfinite(v) else None for v in values]


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _curves_figure(
    history: dict[str, list[float]],
    *,
    best: int | None = None,
    monitor: str = "val_loss",
    epochs: int | None = None,
    height: int = 300,
    title: str = "",
) -> dict[str, Any]:
    """The plotly figure dict of the learning curves: loss, and accuracy when recorded.

    Training solid, validation dashed with the gap between them shaded; the
    ``best`` epoch (counted from 1) gets a dotted line and a star on the
    ``monitor`` curve. ``epochs`` (planned) fixes the x range so live curves grow
    from the left instead of rescaling.
    """
    n = len(next(iter(history.values()), []))
    x = list(range(1, n + 1))
    acc = accuracy_key(history) if history else None
    panels = [("loss", "loss")] + ([(acc, "accuracy")] if acc else [])
    last = max(n, epochs or 0, 1)
    axis_x = {
        "title": {"text": "epoch"},
        "range": [0.5, last + 0.5],
        "zeroline": False,
    }
    if last <= 20:
        axis_x["dtick"] = 1
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50 if title else 30, "b": 45},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "hovermode": "x unified",
        "shapes": [],
        "annotations": [],
    }
    if title:
        layout["title"] = {"text": html.escape(title), "x": 0, "xanchor": "left", "y": 0.98}
    data: list[dict[str, Any]] = []
    width = 1.0 / len(panels)
    for i, (key, label) in enumerate(panels):
        suffix = "" if i == 0 else str(i + 1)
        xa, ya = f"x{suffix}", f"y{suffix}"
        layout[f"xaxis{suffix}"] = {
            **axis_x,
            "domain": [i * width + (0.06 if i else 0), (i + 1) * width - (0.06 if i == 0 else 0)],
            "anchor": ya,
        }
        layout[f"yaxis{suffix}"] = {"title": {"text": label}, "anchor": xa}
        common = {"type": "scatter", "mode": "lines+markers", "x": x, "xaxis": xa, "yaxis": ya}
        data.append(
            {
                **common,
                "name": f"training {label}",
                "y": _finite(history.get(key, [])),
                "line": {"color": TRAIN_COLOUR},
                "legendgroup": "training",
            }
        )
        val_key = f"val_{key}"
        if val_key in history:
            data.append(
                {
                    **common,
                    "name": f"validation {label}",
                    "y": _finite(history[val_key]),
                    "line": {"color": VAL_COLOUR, "dash": "dash"},
                    # The shaded band between the two curves is the train/validation gap.
                    "fill": "tonexty",
                    "fillcolor": GAP_FILL,
                    "legendgroup": "validation",
                }
            )
        if best is not None and 1 <= best <= n:
            layout["shapes"].append(
                {
                    "type": "line",
                    "xref": xa,
                    "yref": f"{ya} domain",
                    "x0": best,
                    "x1": best,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": BEST_COLOUR, "dash": "dot", "width": 2},
                }
            )
            if monitor in (key, val_key) and math.isfinite(history[monitor][best - 1]):
                data.append(
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "name": f"best epoch {best}",
                        "x": [best],
                        "y": [history[monitor][best - 1]],
                        "xaxis": xa,
                        "yaxis": ya,
                        "marker": {"symbol": "star", "size": 15, "color": BEST_COLOUR},
                    }
                )
    return {"data": data, "layout": layout}


class TrainingMonitor(_Widget):
    """Learning curves drawn live while ``model.fit`` runs: a Keras callback and a widget.

    ::

        monitor = TrainingMonitor()
        display(monitor)
        model.fit(X, y, epochs=10, validation_split=0.2, verbose=0, callbacks=[monitor])

    Loss and accuracy for training (solid) and validation (dashed) are redrawn
    after every epoch, with the gap between them shaded and the best epoch of
    ``monitor`` marked; a progress line follows the batches. Below, in words: the
    best epoch, the gap and whether it grows, a diagnosis
    (:func:`cnnwidgets.core.curves.diagnose_curves`) and what
    ``EarlyStopping(patience=...)`` would have done on this run
    (:func:`cnnwidgets.core.curves.simulate_early_stopping`). Epochs count from 1,
    as Keras prints them.

    One monitor can follow several ``fit`` calls: one starting again at epoch 1
    clears the curves, one continuing (``initial_epoch=``) extends them. It
    writes nothing to stdout or stderr, so it also suits ``verbose=0`` and
    graded notebooks. Changing a trait (``monitor.patience = 5``) recomputes
    synchronously.

    Parameters
    ----------
    monitor : str
        Quantity whose best epoch is marked, as in ``EarlyStopping``.
    mode : {"auto", "min", "max"}
    patience : int
        Patience of the ``EarlyStopping`` what-if and of the advice.
    batch_progress : bool
        Update the progress line during an epoch, not only at its end.
    title : str
    height : int
        Height of the figure in pixels.

    Attributes
    ----------
    history : dict
        ``{"loss": [...], "val_loss": [...], ...}``, one value per epoch: after one
        ``fit``, equal to the returned ``History.history``.
    best_epoch : int or None
        Epoch (from 1) with the best ``monitor`` value; None before the first
        epoch or when ``monitor`` is not recorded.
    diagnosis : str
        One sentence on what the curves say; ``verdict`` is its short form.
    gap : list of float
        ``val_loss - loss`` per epoch (empty without validation); ``gap_trend``
        is ``"growing"``, ``"shrinking"``, ``"steady"`` or ``""``.
    early_stopping : EarlyStoppingOutcome or None
    figure : dict
        The plotly figure shown (``plotly.graph_objects.Figure(monitor.figure)``).
    progress_text : str
        The progress line: ``"epoch 3/10 · batch 20/45 · 2.1 s"``.
    message : str
        Why the best epoch cannot be marked, or ``""``.

    Examples
    --------
    >>> m = TrainingMonitor.from_history({"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.6, 0.7]})
    >>> m.best_epoch, m.gap_trend
    (2, 'growing')
    >>> m.patience = 0  # recomputes before returning
    >>> m.early_stopping.stop_epoch
    3
    """

    monitor = T.Unicode("val_loss", help="Quantity whose best epoch is marked (EarlyStopping's).")
    mode = T.Enum(
        ("auto", "min", "max"), "auto", help="'min' or 'max' is best; 'auto' infers from the name."
    )
    patience = T.Int(3, help="Patience of the EarlyStopping what-if and of the advice.")
    batch_progress = T.Bool(True, help="Update the progress line during an epoch too.")
    title = T.Unicode("", help="Heading of the figure.")

    def __new__(cls, *args, **kwargs):
        # A real keras.callbacks.Callback, without importing Keras with this module.
        return super().__new__(_with_keras_callback(cls), *args, **kwargs)

    def __init__(
        self,
        *,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 3,
        batch_progress: bool = True,
        title: str = "",
        height: int = 300,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._height = int(height)
        self.history: dict[str, list[float]] = {}
        self.best_epoch: int | None = None
        self.diagnosis = ""
        self.verdict = ""
        self.gap: list[float] = []
        self.gap_trend = ""
        self.early_stopping = None
        self.figure: dict[str, Any] = {}
        self.progress_text = "waiting for model.fit(..., callbacks=[monitor])"
        self.message = ""
        self.epochs: int | None = None  # planned by the running (or last) fit
        self._steps: int | None = None
        self._fit_start: float | None = None
        self._epoch = 0
        self._last_progress = 0.0
        self._build_controls()

        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.batch_progress, self.title = batch_progress, title
        self._start()

    @classmethod
    def from_history(
        cls,
        history: object,
        *,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 3,
        title: str = "",
        height: int = 300,
    ) -> TrainingMonitor:
        """The static summary of a finished run: what ``model.fit`` returned, or its dict.

        Examples
        --------
        >>> TrainingMonitor.from_history({"loss": [0.9, 0.5]}).progress_text
        '2 epochs (from a recorded history)'
        """
        m = cls(monitor=monitor, mode=mode, patience=patience, title=title, height=height)
        m.history = history_dict(history)
        n = m._n()
        m.epochs = n
        m.progress_text = f"{n} epoch{'s' if n != 1 else ''} (from a recorded history)"
        m._progress.value = m._progress_html()
        m._refresh()
        return m

    # ---- controls ---------------------------------------------------------------------

    def _build_controls(self) -> None:
        self._progress = W.HTML()
        # The figure is replaced in place every epoch; a fixed minimum height stops
        # the page below from jumping while the new plot is drawn.
        self._plot = W.Output(layout=W.Layout(min_height=f"{self._height + 10}px"))
        self._summary = W.HTML()
        self._monitor_dd = W.Dropdown(
            description="best by",
            options=["val_loss"],
            style={"description_width": "60px"},
            layout=W.Layout(width="220px"),
        )
        self._patience_slider = W.IntSlider(
            description="patience",
            min=0,
            max=_MAX_PATIENCE,
            style={"description_width": "60px"},
            layout=W.Layout(width="300px"),
        )
        self._monitor_dd.observe(self._on_monitor_control, "value")
        self._bind(self._patience_slider, "patience")
        self.children = [
            self._progress,
            self._plot,
            W.HBox([self._monitor_dd, self._patience_slider]),
            self._summary,
        ]

    def _on_monitor_control(self, change) -> None:
        if not self._busy and change["new"] is not None:
            self.monitor = change["new"]

    @T.validate("patience")
    def _valid_patience(self, proposal):
        value = proposal["value"]
        if value < 0:
            raise T.TraitError(f"patience must be 0 or more epochs, got {value}.")
        return value

    @T.observe("monitor", "mode", "patience", "title")
    def _setting_changed(self, change):
        self._refresh()

    # ---- the Keras callback -------------------------------------------------------------
    # Keras calls these on the thread running fit. Only hooks that Keras always calls
    # synchronously are defined: a *_batch_end hook would make Keras wait for every
    # batch's metrics (it disables its asynchronous dispatch of batch callbacks).

    def on_train_begin(self, logs=None):
        params = getattr(self, "params", None) or {}
        self.epochs = params.get("epochs")
        self._steps = params.get("steps")
        self._fit_start = time.perf_counter()
        self._last_progress = 0.0
        self._refresh()  # the x axis now spans the planned epochs
        self._show_progress("starting", force=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if epoch < self._n():
            # fit started again from an earlier epoch (a new fit starts at 0): forget
            # the curves from there on, as Keras's own History does.
            self.history = {k: v[:epoch] for k, v in self.history.items()} if epoch else {}
            self._refresh()

    def on_train_batch_begin(self, batch, logs=None):
        if self.batch_progress and batch:
            steps = f"/{self._steps}" if self._steps else ""
            self._show_progress(f"batch {batch}{steps}")

    def on_test_begin(self, logs=None):
        if self._fit_start is not None:
            self._show_progress("validating", force=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        n = self._n()
        for key in logs:
            if key not in self.history:  # a metric that appears late: earlier epochs had none
                self.history[key] = [math.nan] * n
        for key, values in self.history.items():
            value = logs.get(key)
            values.append(math.nan if value is None else float(value))
        self._refresh()
        self._show_progress(self._metrics_text(), force=True)

    def on_train_end(self, logs=None):
        seconds = self._elapsed()
        n = self._n()
        model = getattr(self, "_model", None)
        stopped = bool(getattr(model, "stop_training", False)) and n < (self.epochs or n)
        done = f"done: {n} epoch{'s' if n != 1 else ''} in {seconds:.1f} s"
        if stopped:
            done += f" (stopped early, {self.epochs} planned)"
        self.progress_text = f"{done} · {self._metrics_text()}"
        self._progress.value = self._progress_html()
        self._fit_start = None

    # ---- progress -------------------------------------------------------------------------

    def _elapsed(self) -> float:
        return 0.0 if self._fit_start is None else time.perf_counter() - self._fit_start

    def _show_progress(self, what: str, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_progress < _BATCH_REFRESH_S:
            return
        self._last_progress = now
        total = f"/{self.epochs}" if self.epochs else ""
        self.progress_text = f"epoch {self._epoch + 1}{total} · {what} · {self._elapsed():.1f} s"
        self._progress.value = self._progress_html()

    def _metrics_text(self) -> str:
        if not self._n():
            return "no epoch finished"
        # Training before validation, the loss first: "loss · accuracy · val_loss · val_accuracy".
        keys = sorted(self.history, key=lambda k: (k.startswith("val_"), "loss" not in k))
        return " · ".join(f"{k} {_fmt(self.history[k][-1])}" for k in keys)

    def _progress_html(self) -> str:
        return (
            f"<div style='font-family:monospace;font-size:13px'>"
            f"{html.escape(self.progress_text)}</div>"
        )

    # ---- the one recompute ------------------------------------------------------------------

    def _n(self) -> int:
        return len(next(iter(self.history.values()), []))

    def _update(self) -> None:
        """Recompute best epoch, gap, diagnosis and the what-if with core; redraw the figure."""
        h, n = self.history, self._n()
        self.message = ""
        self.best_epoch = None
        if n and self.monitor in h:
            try:
                self.best_epoch = best_epoch(h, self.monitor, self.mode)
            except ValueError as err:
                self.message = str(err)
        elif n:
            have = ", ".join(h)
            self.message = (
                f"{self.monitor!r} is not recorded in this run (it has {have}); pick another "
                "quantity, or fit with validation_split=0.2 to get the validation ones."
            )
        has_val = n > 0 and "val_loss" in h and "loss" in h
        self.gap = generalization_gap(h).tolist() if has_val else []
        self.gap_trend = gap_trend(h) if has_val and n >= 2 else ""
        if n and "loss" in h:
            diagnosis = diagnose_curves(h, patience=self.patience)
            self.diagnosis, self.verdict = diagnosis.message, diagnosis.verdict
        else:
            self.diagnosis, self.verdict = "", ""
        self.early_stopping = None
        if n and self.monitor in h and not self.message:
            self.early_stopping = simulate_early_stopping(
                h, self.monitor, patience=self.patience, mode=self.mode
            )
        self.figure = _curves_figure(
            h,
            best=self.best_epoch,
            monitor=self.monitor,
            epochs=self.epochs,
            height=self._height,
            title=self.title,
        )
        self._plot.outputs = (
            {
                "output_type": "display_data",
                "data": {MIMETYPE: self.figure, "text/plain": self._plain_text()},
                "metadata": {},
            },
        )
        self._sync_controls()
        self._summary.value = self._summary_html()

    def _sync_controls(self) -> None:
        options = list(self.history) or [self.monitor]
        if self.monitor not in options:
            options.append(self.monitor)
        # Inside _update, which is quiet: the controls follow the traits without writing back.
        if list(self._monitor_dd.options) != options:
            self._monitor_dd.options = options
        self._monitor_dd.value = self.monitor
        self._patience_slider.max = max(_MAX_PATIENCE, self.patience)
        self._patience_slider.value = self.patience

    def _plain_text(self) -> str:
        # What a viewer without the plotly renderer shows instead of the figure.
        n = self._n()
        if not n:
            return "learning curves: no epoch finished yet"
        best = f", best epoch {self.best_epoch} by {self.monitor}" if self.best_epoch else ""
        return f"learning curves: {n} epoch{'s' if n != 1 else ''}{best}"

    def _summary_html(self) -> str:
        lines = []
        n = self._n()
        if self.best_epoch is not None:
            value = self.history[self.monitor][self.best_epoch - 1]
            lines.append(
                f"<b>Best epoch</b>: {self.best_epoch} of {n} "
                f"({html.escape(self.monitor)} {_fmt(value)}), the dotted line and ★"
            )
        if self.gap:
            trend = f", {self.gap_trend}" if self.gap_trend else ""
            lines.append(
                f"<b>Gap</b> (validation − training loss, shaded) at epoch {n}: "
                f"{_fmt(self.gap[-1])}{trend}"
            )
        if self.diagnosis:
            colour = _VERDICT_COLOURS.get(self.verdict, "#344054")
            lines.append(
                f"<b>Diagnosis</b>: <span style='color:{colour}'>"
                f"{html.escape(self.diagnosis)}</span>"
            )
        if self.early_stopping is not None:
            lines.append(f"<b>What if</b>: {html.escape(self.early_stopping.message)}")
        if self.message:
            lines.append(f"<span style='color:#b42318'>{html.escape(self.message)}</span>")
        return "".join(f"<div>{line}</div>" for line in lines)
