"""A confusion matrix to click: live accuracy, precision, recall, F1, and the images of a cell."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.display import to_rgb8
from ..core.metrics import (
    binary_counts,
    binary_formulas,
    cell_indices,
    class_probabilities,
    classification_metrics,
    confusion_matrix,
    normalize_confusion,
)
from ._base import _Widget
from ._common import ERROR_STYLE, PIXELATED, STYLE, fit_factor
from ._png import encode_png, upscale

__all__ = ["ConfusionMatrixWidget"]

NORMALIZE = ("none", "true", "pred", "all")
_NORMALIZE_OPTIONS = [
    ("counts", "none"),
    ("by true class (recall)", "true"),
    ("by predicted class (precision)", "pred"),
    ("share of all", "all"),
]
_NORMALIZE_NOTES = {
    "none": "Counts of samples. The diagonal (blue) is right, the rest (red) are mistakes.",
    "true": "Each row divided by its total: rows sum to 1 and the diagonal is each class's "
    "<b>recall</b> (the share of that class the model finds).",
    "pred": "Each column divided by its total: columns sum to 1 and the diagonal is each "
    "class's <b>precision</b> (the share of that prediction that is right).",
    "all": "Each cell divided by the number of samples: the diagonal adds up to the "
    "<b>accuracy</b>.",
}
MAX_IMAGES = 24  # images shown for a clicked cell; the rest are counted
MAX_CLICKABLE = 20  # classes drawn as a grid of buttons; beyond, an HTML table and two menus
_IMAGE_PX = 64
_BATCH_SIZE = 256
_DIGITS = 4  # the course quotes 0.5556 and 0.3125
# ColorBrewer RdBu ends (as core.display's diverging scale): blue = right, red = wrong.
_RIGHT, _WRONG = (33, 102, 172), (178, 24, 43)
_MIN_TINT = 0.08  # a cell with one mistake among thousands must still look non-empty
_BINARY_ROLES = {
    (0, 0): ("TN", "true negatives: negatives predicted negative"),
    (0, 1): ("FP", "false positives: negatives predicted positive"),
    (1, 0): ("FN", "false negatives: positives the model missed"),
    (1, 1): ("TP", "true positives: positives found"),
}
_NOTE_STYLE = "color:#8a5a00;"
_CELL = "padding:2px 8px;text-align:right;font-family:monospace;"
_HEAD = "padding:2px 8px;text-align:left;"


class _Thumbnails:
    """Small PNGs of a stack of images, each encoded on first use and then reused."""

    def __init__(self, images: Any, n: int, name: str = "images") -> None:
        arr = np.asarray(images)
        shape = arr.shape
        if arr.ndim not in (3, 4) or shape[0] != n or (arr.ndim == 4 and shape[3] not in (1, 3)):
            raise ValueError(
                f"{name} must be one picture per sample, (n, height, width) or (n, height, "
                f"width, 1 or 3) with n = {n}, got shape {shape}."
            )
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{name} must hold pixel values (numbers), got {arr.dtype}.")
        self.images = arr
        # Keras data are floats in 0..1 (load_dataset's default); pixels are 0..255.
        self.scale_255 = bool(
            np.issubdtype(arr.dtype, np.floating) and arr.size and float(arr.max()) <= 1.0
        )
        # Small pictures (digits, faces) are enlarged: keep their pixels square and crisp.
        self.pixelated = max(shape[1:3]) <= _IMAGE_PX
        self._cache: dict[int, bytes] = {}

    def png(self, index: int) -> bytes:
        png = self._cache.get(index)
        if png is None:
            x = self.images[index].astype(np.float32)
            if self.scale_255:
                x *= 255.0
            pixels = to_rgb8(x)
            png = encode_png(upscale(pixels, fit_factor(pixels.shape, _IMAGE_PX)))
            self._cache[index] = png
        return png

    def cells(self, count: int) -> list[tuple[W.Image, W.HTML, W.VBox]]:
        """``count`` hidden (image, caption, box) cells, made once and refilled on every redraw.

        Refilling beats building new widgets at every click: no new comms for the browser
        to open, and nothing left behind to close.
        """
        cells = []
        for _ in range(count):
            image = W.Image(format="png", layout=W.Layout(width=f"{_IMAGE_PX}px"))
            if self.pixelated:
                image.add_class(PIXELATED)
            caption = W.HTML()
            box = W.VBox([image, caption], layout=W.Layout(align_items="center", display="none"))
            cells.append((image, caption, box))
        return cells


@dataclass
class _Samples:
    """The predictions behind a matrix, kept so a clicked cell can show its samples."""

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    thumbs: _Thumbnails | None
    confidence: np.ndarray | None  # proba[i, y_pred[i]]


def _tint(t: float, rgb: tuple[int, int, int]) -> str:
    """``rgb`` mixed into white by ``t`` in 0..1, as a CSS colour."""
    if t > 0:
        t = _MIN_TINT + (1 - _MIN_TINT) * min(t, 1.0)
    r, g, b = (round(255 + (c - 255) * t) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _fmt(value: float) -> str:
    return f"{value:.{_DIGITS}f}"


def _join(classes: Sequence[str]) -> str:
    return ", ".join(classes[:-1]) + " and " + classes[-1] if len(classes) > 1 else classes[0]


def _as_counts(cm: object) -> list[list[int]]:
    # The core's checks give the sentence; a list of lists is what traitlets can compare.
    try:
        return normalize_confusion(cm, None).astype(np.int64).tolist()
    except ValueError as err:
        raise T.TraitError(str(err)) from None


class ConfusionMatrixWidget(_Widget):
    """A confusion matrix with live accuracy, precision, recall and F1, and its images.

    Rows are true classes and columns predicted classes, as in scikit-learn.
    The matrix is a heat map (blue diagonal: right; red: mistakes) that can be
    shown as counts or normalised by true class (the diagonal is the recall),
    by predicted class (the diagonal is the precision) or over all samples.
    Below it: the accuracy, a per-class table of precision, recall, F1 and
    support with macro and weighted averages, and for a yes/no matrix the
    formulas with the numbers in. Clicking a cell shows the samples of that
    (true, predicted) pair, the most confident first, when the widget was built
    from predictions with images. Every number comes from
    :mod:`cnnwidgets.core.metrics`; a 0/0 is shown as 0, as scikit-learn does,
    and ``message`` says which.

    Build it scikit-learn style: from counts (``ConfusionMatrixWidget(cm)``,
    :meth:`from_counts`), :meth:`from_predictions` or :meth:`from_model`.
    Setting a trait (``w.normalize = "true"``, ``w.selected = (2, 9)``, or a
    new ``w.cm``) recomputes synchronously, before the assignment returns.

    Parameters
    ----------
    cm : array (n, n) of int, optional
        The counts, ``cm[i][j]`` = samples of true class ``i`` predicted as ``j``.
        By default the lecture's example, TP 10, FP 22, FN 8, TN 60.
    labels : list of str, optional
        Names of the classes 0, 1, 2, ... (e.g. a data set's ``class_names``);
        by default the class numbers. Unlike scikit-learn's ``labels`` these are
        names, not label values (``display_labels`` there).
    normalize : {"none", "true", "pred", "all"}
    editable : bool
        Show a box per count to type into (the counts, not predictions, are the data).

    Attributes
    ----------
    counts : ndarray of int, shape (n, n)
        ``cm`` as an array.
    displayed : ndarray of float
        The values shown in the cells: ``normalize_confusion(cm, normalize)``.
    metrics : dict or None
        ``classification_metrics(cm)``; None when the matrix counts no samples.
    formulas : dict of str or None
        ``binary_formulas(cm)`` for a 2x2 matrix, else None.
    selected_indices : ndarray of int or None
        The samples of the selected cell, ``cell_indices(y_true, y_pred, *selected)``
        in sample order; None without a selection or without predictions.
    shown_indices : ndarray of int
        The samples whose images are shown: at most ``MAX_IMAGES``, most confident first.
    message : str
        What a learner should know: 0/0 values shown as 0, invalid edits, errors; or ``""``.
    y_true, y_pred, proba, images
        The predictions the matrix counts (None for a matrix of counts).
    cell_buttons : list of list of Button
        The clickable cells (empty above ``MAX_CLICKABLE`` classes).
    cell_inputs : list of list of IntText
        The count boxes of an editable matrix (empty otherwise).

    Examples
    --------
    >>> w = ConfusionMatrixWidget.from_counts(tp=10, fp=22, fn=8, tn=60)
    >>> round(w.metrics["accuracy"], 2), float(w.metrics["f1"][1])
    (0.7, 0.4)
    >>> w.cell_inputs[1][1].value = 20  # the learner types TP = 20
    >>> round(float(w.metrics["f1"][1]), 4)
    0.5714
    >>> w = ConfusionMatrixWidget.from_predictions([2, 2, 9, 2], [9, 2, 9, 9])
    >>> w.selected = (2, 9)
    >>> w.selected_indices.tolist()
    [0, 3]
    """

    cm = T.Any(help="The counts as rows of ints: cm[i][j] = samples of true class i predicted j.")
    normalize = T.Enum(
        NORMALIZE,
        "none",
        help="What the cells show: 'none' counts; 'true' rows sum to 1 (recall view); "
        "'pred' columns sum to 1 (precision view); 'all' shares of all samples.",
    )
    selected = T.Tuple(
        T.Int(),
        T.Int(),
        default_value=None,
        allow_none=True,
        help="The clicked cell as (true class, predicted class), or None.",
    )
    labels = T.List(
        T.Unicode(), help="Names of the classes 0, 1, 2, ...; empty for the class numbers."
    )

    def __init__(
        self,
        cm: object = None,
        *,
        labels: Sequence[str] | None = None,
        normalize: str | None = "none",
        editable: bool = False,
        _samples: _Samples | None = None,
        **kwargs: Any,
    ) -> None:
        if cm is None:
            cm = binary_counts(tp=10, fp=22, fn=8, tn=60)
            labels = ["negative", "positive"] if labels is None else labels
        if editable and _samples is not None:
            raise ValueError(
                "A matrix built from predictions counts those predictions and cannot be "
                "edited; use ConfusionMatrixWidget(cm, editable=True) to type counts."
            )
        self._samples = _samples
        self.editable = bool(editable)
        super().__init__(
            cm=cm,
            normalize="none" if normalize is None else normalize,
            labels=[str(name) for name in labels or []],
            **kwargs,
        )
        s = _samples
        self.y_true = None if s is None else s.y_true
        self.y_pred = None if s is None else s.y_pred
        self.proba = None if s is None else s.proba
        self.images = None if s is None or s.thumbs is None else s.thumbs.images
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.displayed = np.zeros((0, 0))
        self.metrics: dict[str, Any] | None = None
        self.formulas: dict[str, str] | None = None
        self.selected_indices: np.ndarray | None = None
        self.shown_indices = np.zeros(0, dtype=np.int64)
        self.message = ""
        self._edit_note = ""
        self._size = -1
        self.cell_buttons: list[list[W.Button]] = []
        self.cell_inputs: list[list[W.IntText]] = []
        self._matrix_widgets: list[W.Widget] = []
        self._build()
        self._start()

    # --- constructors -------------------------------------------------------------------------

    @classmethod
    def from_counts(
        cls,
        *,
        tp: int,
        fp: int,
        fn: int,
        tn: int,
        labels: Sequence[str] = ("negative", "positive"),
        normalize: str = "none",
        editable: bool = True,
    ) -> ConfusionMatrixWidget:
        """A yes/no matrix from its four counts, each in a box to edit, with the formulas.

        Examples
        --------
        >>> w = ConfusionMatrixWidget.from_counts(tp=100, fn=30, fp=70, tn=800)
        >>> w.formulas["recall"]
        'recall = TP / (TP + FN) = 100 / (100 + 30) = 100 / 130 = 0.7692'
        """
        cm = binary_counts(tp=tp, fp=fp, fn=fn, tn=tn)
        return cls(cm, labels=list(labels), normalize=normalize, editable=editable)

    @classmethod
    def from_predictions(
        cls,
        y_true: Sequence[int] | np.ndarray,
        y_pred: Sequence[int] | np.ndarray,
        *,
        labels: Sequence[str] | None = None,
        images: np.ndarray | None = None,
        proba: np.ndarray | None = None,
        normalize: str = "none",
    ) -> ConfusionMatrixWidget:
        """The matrix of predicted vs true class indices; ``images`` appear when a cell is clicked.

        Parameters
        ----------
        y_true, y_pred : sequence of int
            Class indices, one per sample.
        labels : list of str, optional
            Class names; their number fixes the number of classes.
        images : array (n, H, W) or (n, H, W, C), optional
            The samples, e.g. ``X_test``; floats in 0..1 or 0..255.
        proba : array (n, num_classes), optional
            The model's probabilities: each image is captioned with its confidence in
            the predicted class, and the most confident are shown first.

        Examples
        --------
        >>> w = ConfusionMatrixWidget.from_predictions([0, 1, 1], [0, 1, 0], labels=["cat", "dog"])
        >>> w.counts.tolist(), round(w.metrics["accuracy"], 4)
        ([[1, 0], [1, 1]], 0.6667)
        """
        probs = None if proba is None else class_probabilities(proba)
        if labels is not None:
            num_classes = len(labels)
        elif probs is not None:
            num_classes = probs.shape[1]  # the model's outputs name every class it knows
        else:
            num_classes = None
        try:
            cm = confusion_matrix(y_true, y_pred, num_classes=num_classes)
        except ValueError as err:
            if labels is None:
                raise
            # The learner gave names, not num_classes: say it in their terms.
            text = str(err).replace(f"num_classes={num_classes}", f"{num_classes} labels")
            raise ValueError(text) from None
        # The core accepted them: as arrays they are one class index per sample.
        t = np.asarray(y_true).reshape(-1).astype(np.int64)
        p = np.asarray(y_pred).reshape(-1).astype(np.int64)
        n = len(t)
        confidence = None
        if probs is not None:
            if probs.shape != (n, cm.shape[0]):
                raise ValueError(
                    f"proba must have one row per sample and one column per class, shape "
                    f"({n}, {cm.shape[0]}), got {probs.shape}."
                )
            confidence = probs[np.arange(n), p]
        thumbs = None if images is None else _Thumbnails(images, n)
        samples = _Samples(t, p, probs, thumbs, confidence)
        return cls(cm, labels=labels, normalize=normalize, _samples=samples)

    @classmethod
    def from_model(
        cls,
        model: Any,
        X: np.ndarray,
        y: Sequence[int] | np.ndarray,
        *,
        labels: Sequence[str] | None = None,
        batch_size: int = _BATCH_SIZE,
        normalize: str = "none",
    ) -> ConfusionMatrixWidget:
        """Run a Keras classifier on ``X`` and compare its predictions with ``y``.

        The model is called directly, ``model(X_batch, training=False)`` in
        batches (not ``predict``, which is slower on small data and prints a
        progress bar). A softmax head predicts its most likely class; a
        ``Dense(1, "sigmoid")`` head predicts class 1 when its output is above 0.5.
        ``X`` becomes the images of the cells and the outputs their confidences.

        Examples
        --------
        >>> w = ConfusionMatrixWidget.from_model(model, X_test, y_test)  # doctest: +SKIP
        >>> w.selected = (2, 9)  # the 2s read as 9s  # doctest: +SKIP
        """
        proba = _model_outputs(model, X, batch_size)
        y_pred = class_probabilities(proba).argmax(axis=1)
        return cls.from_predictions(
            y, y_pred, labels=labels, images=X, proba=proba, normalize=normalize
        )

    # --- reactions ----------------------------------------------------------------------------

    @T.validate("cm")
    def _valid_cm(self, proposal):
        counts = _as_counts(proposal["value"])
        if self._ready and self._samples is not None and counts != self.cm:
            raise T.TraitError(
                "This matrix counts the predictions it was built from; to try other counts "
                "use ConfusionMatrixWidget(cm, editable=True) or from_counts(...)."
            )
        return counts

    @T.validate("selected")
    def _valid_selected(self, proposal):
        cell = proposal["value"]
        if cell is not None:
            n = len(self.cm)
            if not all(0 <= c < n for c in cell):
                raise T.TraitError(
                    f"selected must be a cell (true class, predicted class) with both in "
                    f"0..{n - 1}, got {cell}."
                )
        return cell

    @T.observe("cm", "normalize", "selected", "labels")
    def _changed(self, change) -> None:
        if change["name"] == "cm":
            self._edit_note = ""
            n = len(change["new"])
            if self.selected is not None and max(self.selected) >= n:
                with self._quiet():
                    self.selected = None  # a cell of the old matrix
        self._refresh()

    def _on_click(self, cell: tuple[int, int]) -> None:
        # A second click on the selected cell closes it.
        self.selected = None if self.selected == cell else cell

    def _on_edit(self, i: int, j: int, change) -> None:
        if self._busy:
            return
        value = change["new"]
        if value < 0:
            old = self.cm[i][j]
            with self._quiet():
                self.cell_inputs[i][j].value = old
            self._edit_note = (
                f"A count cannot be negative: you typed {value} for {self._cell_name(i, j)}; "
                f"it stays {old}."
            )
            self._show_message()
            return
        counts = [list(row) for row in self.cm]
        counts[i][j] = value
        self.cm = counts

    def _on_pick(self, _change) -> None:
        if not self._busy:
            cell = (self._pick_true.value, self._pick_pred.value)
            self.selected = None if min(cell) < 0 else cell

    # --- the one recompute --------------------------------------------------------------------

    def _update(self) -> None:
        """Recompute every number with core.metrics, then redraw."""
        counts = np.array(self.cm, dtype=np.int64)
        n = counts.shape[0]
        if n != self._size:
            self._build_matrix(n)
        self.counts = counts
        over = None if self.normalize == "none" else self.normalize
        self.displayed = normalize_confusion(counts, over)
        try:
            self.metrics = classification_metrics(counts)
            error = ""
        except ValueError as err:
            self.metrics, error = None, str(err)
        self.formulas = binary_formulas(counts) if n == 2 and self.metrics is not None else None
        self._select_samples()

        names = self._names()
        self._draw_matrix(names)
        with self._quiet():
            for i, row in enumerate(self.cell_inputs):
                for j, box in enumerate(row):
                    box.value = int(counts[i, j])
            if n > MAX_CLICKABLE:
                self._pick_true.value, self._pick_pred.value = self.selected or (-1, -1)
        self._normalize_note.value = (
            f"<small>{_NORMALIZE_NOTES[self.normalize]} Colours: the darkest blue is the "
            "largest diagonal cell, the darkest red the largest mistake.</small>"
        )
        self._summary.value = self._summary_html(error)
        self._table.value = self._table_html(names) if self.metrics is not None else ""
        self._formulas.value = self._formulas_html()
        self._draw_selection(names)
        self._message_parts = [error] if error else self._undefined_notes(names)
        self._show_message()

    # --- helpers of _update -------------------------------------------------------------------

    def _names(self) -> list[str]:
        n = len(self.cm)
        return list(self.labels) if len(self.labels) == n else [str(i) for i in range(n)]

    def _cell_name(self, i: int, j: int) -> str:
        if len(self.cm) == 2:
            return _BINARY_ROLES[(i, j)][0]
        names = self._names()
        return f"true {names[i]}, predicted {names[j]}"

    def _select_samples(self) -> None:
        s, cell = self._samples, self.selected
        if s is None or cell is None:
            self.selected_indices = None
            self.shown_indices = np.zeros(0, dtype=np.int64)
            return
        idx = cell_indices(s.y_true, s.y_pred, *cell)
        self.selected_indices = idx
        if s.confidence is not None:
            idx = idx[np.argsort(-s.confidence[idx], kind="stable")]
        self.shown_indices = idx[:MAX_IMAGES]

    def _undefined_notes(self, names: list[str]) -> list[str]:
        notes = []
        if len(self.labels) not in (0, len(self.cm)):
            notes.append(
                f"labels has {len(self.labels)} names for {len(self.cm)} classes: the classes "
                "are numbered instead."
            )
        if self.metrics is None:
            return notes
        undefined = self.metrics["undefined"]
        absent = set(undefined["f1"])  # neither in the data nor predicted
        for key, why, formula in (
            ("precision", "No sample is predicted as", "TP / (TP + FP)"),
            ("recall", "No sample in the data is of", "TP / (TP + FN)"),
        ):
            classes = [names[c] for c in undefined[key] if c not in absent]
            if classes:
                noun, its = ("class", "its") if len(classes) == 1 else ("classes", "their")
                notes.append(
                    f"{why} {noun} {_join(classes)}: {its} {key}, {formula} = 0/0, is "
                    "undefined and shown as 0 (scikit-learn's default, with a warning)."
                )
        if absent:
            classes = [names[c] for c in sorted(absent)]
            noun, its = ("Class", "its") if len(classes) == 1 else ("Classes", "their")
            notes.append(
                f"{noun} {_join(classes)} never occur{'s' if len(classes) == 1 else ''} and "
                f"{'is' if len(classes) == 1 else 'are'} never predicted: {its} precision, "
                "recall and F1 are 0/0, shown as 0, and still count in the macro average, "
                "which they pull down."
            )
        return notes

    def _show_message(self) -> None:
        parts = ([self._edit_note] if self._edit_note else []) + self._message_parts
        self.message = " ".join(parts)
        # Errors in red; a 0/0 shown as 0 is a fact worth knowing, not a failure.
        style = ERROR_STYLE if self.metrics is None or self._edit_note else _NOTE_STYLE
        self._message.value = "".join(
            f'<div style="{style}">⚠ {html.escape(p)}</div>' for p in parts
        )

    def _cell_look(self, i: int, j: int, vmax: tuple[float, float]) -> tuple[str, str, str]:
        """Text, background and text colour of cell ``(i, j)``."""
        value = float(self.displayed[i, j])
        text = str(int(self.counts[i, j])) if self.normalize == "none" else f"{value:.2f}"
        # Right and wrong each get their own scale: mistakes are what a learner looks for,
        # and against a diagonal of 177 a cell of 18 would be a barely visible pink.
        top = vmax[0] if i == j else vmax[1]
        t = value / top if top > 0 else 0.0
        background = _tint(t, _RIGHT if i == j else _WRONG)
        colour = "white" if t > 0.55 else "black"
        return text, background, colour

    def _draw_matrix(self, names: list[str]) -> None:
        n = len(names)
        shown = self.displayed
        wrong = shown[~np.eye(n, dtype=bool)]
        vmax = (float(np.diag(shown).max()), float(wrong.max()) if wrong.size else 0.0)
        counts, support, predicted = self.counts, self.counts.sum(1), self.counts.sum(0)
        for i, name in enumerate(names):
            bold = f"<b>{html.escape(name)}</b>"
            self._row_heads[i].value = bold
            self._col_heads[i].value = f"<div style='text-align:center'>{bold}</div>"
            self._row_totals[i].value = f"<span style='color:#666'>{support[i]:,}</span>"
            self._col_totals[i].value = f"<span style='color:#666'>{predicted[i]:,}</span>"
        self._grand_total.value = f"<span style='color:#666'>{int(counts.sum()):,}</span>"
        if n > MAX_CLICKABLE:
            options = [("—", -1), *((name, i) for i, name in enumerate(names))]
            if list(self._pick_true.options) != options:
                with self._quiet():
                    self._pick_true.options = self._pick_pred.options = options
            self._matrix_html.value = self._matrix_table(names, vmax)
            return
        for i, row in enumerate(self.cell_buttons):
            for j, button in enumerate(row):
                text, background, colour = self._cell_look(i, j, vmax)
                chosen = self.selected == (i, j)
                role = f" ({_BINARY_ROLES[(i, j)][0]})" if n == 2 else ""
                button.description = text
                button.tooltip = (
                    f"true {names[i]} → predicted {names[j]}{role}: {counts[i, j]:,} sample(s)"
                )
                button.style.button_color = background
                button.style.text_color = colour
                button.style.font_weight = "bold" if chosen else "normal"
                button.layout.border = "3px solid #111111" if chosen else "1px solid #dddddd"

    def _matrix_table(self, names: list[str], vmax: tuple[float, float]) -> str:
        # Above MAX_CLICKABLE classes a button per cell costs too much to draw: one table.
        head = "".join(
            f"<th style='padding:1px 3px;font-size:11px'>{html.escape(m)}</th>" for m in names
        )
        rows = [f"<tr><th></th>{head}</tr>"]
        for i, name in enumerate(names):
            cells = []
            for j in range(len(names)):
                text, background, colour = self._cell_look(i, j, vmax)
                ring = "outline:3px solid #111;" if self.selected == (i, j) else ""
                cells.append(
                    f"<td style='background:{background};color:{colour};{ring}padding:1px 3px;"
                    f"font-size:11px;text-align:right'>{text}</td>"
                )
            rows.append(
                f"<tr><th style='font-size:11px'>{html.escape(name)}</th>{''.join(cells)}</tr>"
            )
        return f"<table style='border-collapse:collapse'>{''.join(rows)}</table>"

    def _summary_html(self, error: str) -> str:
        if self.metrics is None:
            return f"<b>accuracy</b>: undefined, {html.escape(error)}"
        m = self.metrics
        right = int(m["tp"].sum())
        return (
            f"<b>accuracy</b> = right / all = {right:,} / {m['total']:,} = "
            f"<b>{_fmt(m['accuracy'])}</b> ({100 * m['accuracy']:.1f} %)"
        )

    def _formulas_html(self) -> str:
        if self.formulas is None:
            return ""
        lines = "<br>".join(
            html.escape(self.formulas[k]) for k in ("accuracy", "precision", "recall", "f1")
        )
        names = self._names()
        return (
            f"<div style='font-family:monospace;font-size:13px;line-height:1.6'>"
            f"<small>positive class: {html.escape(names[1])}</small><br>{lines}</div>"
        )

    def _table_html(self, names: list[str]) -> str:
        m = self.metrics
        assert m is not None
        undefined = {key: set(m["undefined"][key]) for key in ("precision", "recall", "f1")}
        focus = self.selected[0] if self.selected is not None else None
        head = "".join(
            f"<th style='{_CELL if h != 'class' else _HEAD}'>{h}</th>"
            for h in ("class", "precision", "recall", "F1", "support", "predicted")
        )
        rows = [f"<tr style='border-bottom:1px solid #999'>{head}</tr>"]

        def score(key: str, c: int) -> str:
            value = _fmt(float(m[key][c]))
            if c in undefined[key]:
                return (
                    f"<span style='color:#999' title='0/0: undefined, shown as 0'>{value}*</span>"
                )
            return value

        for c, name in enumerate(names):
            shade = " style='background:#fff7d6'" if c == focus else ""
            rows.append(
                f"<tr{shade}><td style='{_HEAD}'>{html.escape(name)}</td>"
                + "".join(
                    f"<td style='{_CELL}'>{score(k, c)}</td>" for k in ("precision", "recall", "f1")
                )
                + f"<td style='{_CELL}'>{m['support'][c]:,}</td>"
                f"<td style='{_CELL}'>{m['predicted'][c]:,}</td></tr>"
            )
        total = m["total"]
        rows.append(
            f"<tr style='border-top:1px solid #999'><td style='{_HEAD}'><b>accuracy</b></td>"
            f"<td></td><td></td><td style='{_CELL}'><b>{_fmt(m['accuracy'])}</b></td>"
            f"<td style='{_CELL}'>{total:,}</td><td></td></tr>"
        )
        for key, title in (("macro", "macro avg"), ("weighted", "weighted avg")):
            avg = m[key]
            rows.append(
                f"<tr><td style='{_HEAD}'>{title}</td>"
                + "".join(
                    f"<td style='{_CELL}'>{_fmt(avg[k])}</td>"
                    for k in ("precision", "recall", "f1")
                )
                + f"<td style='{_CELL}'>{total:,}</td><td></td></tr>"
            )
        note = (
            "<small>macro avg: the plain mean over classes; weighted avg: each class weighted "
            "by its support. * 0/0, shown as 0.</small>"
        )
        return f"<table style='border-collapse:collapse'>{''.join(rows)}</table>{note}"

    def _draw_selection(self, names: list[str]) -> None:
        s, cell = self._samples, self.selected
        shown = self.shown_indices.tolist()
        for k, (image, caption, box) in enumerate(self._gallery_cells):
            if k < len(shown) and s is not None and s.thumbs is not None:
                i = shown[k]
                image.value = s.thumbs.png(i)
                conf = "" if s.confidence is None else f" · {s.confidence[i]:.2f}"
                caption.value = f"<div style='line-height:1.3;font-size:12px'>#{i}{conf}</div>"
                box.layout.display = None
            else:
                box.layout.display = "none"
        if cell is None:
            self._selection.value = (
                "<i>Click a cell to see its images.</i>"
                if s is not None and s.thumbs is not None
                else "<i>Click a cell to see what it counts.</i>"
            )
            return
        i, j = cell
        count = int(self.counts[i, j])
        role = ""
        if len(names) == 2:
            short, long = _BINARY_ROLES[cell]
            role = f" — <b>{short}</b>, {long}"
        head = (
            f"<b>true {html.escape(names[i])} → predicted {html.escape(names[j])}</b>: "
            f"{count:,} sample(s){role}"
        )
        if s is None:
            self._selection.value = (
                f"{head}.<br><small>These counts were typed in: no images stand behind them. "
                "ConfusionMatrixWidget.from_predictions(y_true, y_pred, images=X) or "
                ".from_model(model, X, y) keeps the samples.</small>"
            )
            return
        rest = count - len(shown)
        if count == 0:
            detail = "no sample here."
        elif s.thumbs is None:
            listed = ", ".join(str(k) for k in shown)
            more = f" and {rest:,} more" if rest else ""
            detail = f"samples {listed}{more} (pass images= to see them)."
        else:
            order = "most confident first" if s.confidence is not None else "in data order"
            caption = " (caption: sample index · confidence in the predicted class)"
            caption = caption if s.confidence is not None else " (caption: sample index)"
            more = f"; {rest:,} more not shown" if rest else ""
            detail = f"showing {len(shown)}, {order}{more}{caption}."
        self._selection.value = f"{head}: {detail}"

    # --- building the views ------------------------------------------------------------------

    def _build(self) -> None:
        self._normalize_tb = W.ToggleButtons(
            options=_NORMALIZE_OPTIONS, description="show", style={"button_width": "auto"}
        )
        W.link((self, "normalize"), (self._normalize_tb, "value"))
        self._normalize_note = W.HTML()
        self._matrix_box = W.VBox()
        self._editor_box = W.VBox(layout=W.Layout(margin="0 0 0 24px"))
        self._summary, self._formulas, self._table = W.HTML(), W.HTML(), W.HTML()
        self._message, self._selection = W.HTML(), W.HTML()
        self._pick_true = W.Dropdown(description="true", layout=W.Layout(width="200px"))
        self._pick_pred = W.Dropdown(description="predicted", layout=W.Layout(width="220px"))
        for pick in (self._pick_true, self._pick_pred):
            pick.observe(self._on_pick, names="value")
        self._picks = W.HBox([self._pick_true, self._pick_pred])
        s = self._samples
        self._gallery_cells = [] if s is None or s.thumbs is None else s.thumbs.cells(MAX_IMAGES)
        self._gallery = W.GridBox(
            [box for _, _, box in self._gallery_cells],
            layout=W.Layout(
                grid_template_columns=f"repeat(auto-fill, {_IMAGE_PX + 24}px)", grid_gap="4px"
            ),
        )
        # What a click shows sits next to the matrix: beside it when the notebook is wide
        # enough, else right under it, never below the metrics table.
        self._selection_box = W.VBox(
            [self._selection, self._gallery],
            layout=W.Layout(flex="1 1 300px", min_width="280px", margin="0 0 0 12px"),
        )
        self.children = [
            W.HTML(STYLE),
            self._normalize_tb,
            self._normalize_note,
            W.HBox(
                [self._matrix_box, self._editor_box, self._selection_box],
                layout=W.Layout(flex_flow="row wrap", align_items="flex-start"),
            ),
            self._summary,
            self._formulas,
            self._table,
            self._message,
        ]

    def _build_matrix(self, n: int) -> None:
        """The grid of cells; only when the number of classes changes, so typing keeps focus."""
        # Replaced cells would otherwise keep their comms open in the browser.
        for widget in self._matrix_widgets:
            widget.close()
        self._size = n
        self._row_heads = [W.HTML() for _ in range(n)]
        self._col_heads = [W.HTML() for _ in range(n)]
        self._row_totals = [W.HTML() for _ in range(n)]
        self._col_totals = [W.HTML() for _ in range(n)]
        self._grand_total = W.HTML()
        made: list[W.Widget] = [
            *self._row_heads,
            *self._col_heads,
            *self._row_totals,
            *self._col_totals,
            self._grand_total,
        ]
        self.cell_buttons = []
        if n <= MAX_CLICKABLE:
            for i in range(n):
                row = []
                for j in range(n):
                    button = W.Button(layout=W.Layout(width="auto", height="32px", margin="0"))
                    button.on_click(lambda _, c=(i, j): self._on_click(c))
                    row.append(button)
                self.cell_buttons.append(row)
            total_head, total_foot = W.HTML("<small>total</small>"), W.HTML("<small>total</small>")
            items = [W.HTML("<small>true ↓ · predicted →</small>"), *self._col_heads, total_head]
            for i in range(n):
                items += [self._row_heads[i], *self.cell_buttons[i], self._row_totals[i]]
            items += [total_foot, *self._col_totals, self._grand_total]
            width = 56 if n > 10 else 64
            grid = W.GridBox(
                items,
                layout=W.Layout(
                    grid_template_columns=f"auto repeat({n}, {width}px) auto",
                    grid_gap="2px",
                    align_items="center",
                ),
            )
            title = W.HTML("<b>predicted class →</b>")
            self._matrix_box.children = [title, grid]
            made += [items[0], total_head, total_foot, grid, title]
            made += [button for row in self.cell_buttons for button in row]
        else:
            self._matrix_html = W.HTML()
            title = W.HTML("<b>rows: true class, columns: predicted class</b>")
            self._matrix_box.children = [title, self._matrix_html, self._picks]
            made += [title, self._matrix_html]
        self.cell_inputs = []
        if self.editable:
            for i in range(n):
                row = []
                for j in range(n):
                    name = _BINARY_ROLES[(i, j)][0] if n == 2 else ""
                    box = W.IntText(
                        description=name,
                        layout=W.Layout(width="110px" if name else "70px"),
                        style={"description_width": "28px" if name else "0px"},
                    )
                    box.observe(lambda change, c=(i, j): self._on_edit(*c, change), names="value")
                    row.append(box)
                self.cell_inputs.append(row)
            rows = [W.HBox(row) for row in self.cell_inputs]
            title = W.HTML("<b>edit the counts</b> (rows: true, columns: predicted)")
            self._editor_box.children = [title, *rows]
            made += [title, *rows, *(box for row in self.cell_inputs for box in row)]
        self._matrix_widgets = made


def _model_outputs(model: Any, X: np.ndarray, batch_size: int) -> np.ndarray:
    """``model(X_batch, training=False)`` over ``X``, as one NumPy array."""
    from .._keras import quiet_keras

    keras = quiet_keras()
    if len(X) == 0:
        raise ValueError("X holds no samples: there is nothing to predict.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}.")
    parts = []
    for start in range(0, len(X), batch_size):
        out = model(X[start : start + batch_size], training=False)
        if isinstance(out, (list, tuple, dict)):
            raise ValueError(
                "The model has several outputs; give the confusion matrix one classifier output."
            )
        parts.append(np.asarray(keras.ops.convert_to_numpy(out)))
    return np.concatenate(parts)
