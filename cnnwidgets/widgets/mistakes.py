"""The model's worst mistakes: the images it got wrong while being most sure of itself."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.metrics import (
    class_probabilities,
    classification_metrics,
    confusion_matrix,
    worst_mistakes,
)
from ._base import _Widget
from ._common import STYLE
from .confusion import _BATCH_SIZE, _model_outputs, _Thumbnails

__all__ = ["MistakesGallery"]

MAX_SHOWN = 64  # image cells made once; the slider cannot ask for more
_GOOD_STYLE = "color:#1a7f37;"
_ALL = -1  # the menu's value for "every class" (a menu cannot hold None as a choice)


class MistakesGallery(_Widget):
    """The misclassified samples, most confidently wrong first, captioned "true 2 → predicted 9".

    A mistake's confidence is the probability the model gave the class it
    wrongly predicted: 0.97 means the model was sure, and wrong. The ordering
    is :func:`cnnwidgets.core.metrics.worst_mistakes`'s. A slider sets how many
    to show and a menu keeps the mistakes on one true class. Setting a trait
    (``g.k = 8``, ``g.true_class = 2``) redraws synchronously.

    Parameters
    ----------
    X : array (n, H, W) or (n, H, W, C)
        The samples, floats in 0..1 or pixels in 0..255.
    y_true : sequence of int
        Their true class indices.
    proba : array (n, num_classes), or (n,) / (n, 1) for a sigmoid head
        The model's outputs for ``X``.
    labels : list of str, optional
        Class names, used in the captions.
    k : int
        How many mistakes to show (1-64).
    true_class : int or None
        Show only the mistakes on this true class.
    y_pred : sequence of int, optional
        The predicted classes, if not the most likely class of ``proba``.

    Attributes
    ----------
    y_pred : ndarray of int
    accuracy : float
        Share of samples classified right (:func:`~cnnwidgets.core.metrics.classification_metrics`).
    confidence : ndarray of float
        ``proba[i, y_pred[i]]``, the probability of the predicted class.
    mistakes : ndarray of int
        Every mistake passing the class filter, most confident first.
    shown_indices : ndarray of int
        The first ``k`` of ``mistakes``: the samples on screen.
    captions : list of str
        Their captions, e.g. ``"true 2 → predicted 9 (0.97)"``.
    message : str
        ``""``, or why nothing is shown.

    Examples
    --------
    >>> X = np.zeros((4, 8, 8))
    >>> proba = [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.05, 0.95]]
    >>> g = MistakesGallery(X, [0, 0, 1, 0], proba)
    >>> g.shown_indices.tolist(), g.captions[0]
    ([3, 1, 2], 'true 0 → predicted 1 (0.95)')
    >>> g.true_class = 1
    >>> g.captions
    ['true 1 → predicted 0 (0.60)']
    """

    k = T.Int(16, help="How many mistakes to show, the most confident first (1-64).")
    true_class = T.Int(
        None, allow_none=True, help="Show only mistakes on this true class; None for all."
    )

    def __init__(
        self,
        X: np.ndarray,
        y_true: Sequence[int] | np.ndarray,
        proba: np.ndarray,
        *,
        labels: Sequence[str] | None = None,
        k: int = 16,
        true_class: int | None = None,
        y_pred: Sequence[int] | np.ndarray | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        probs = class_probabilities(proba)
        order = worst_mistakes(y_true, y_pred, probs)  # checks the labels against proba
        self.y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
        self.y_pred = probs.argmax(axis=1) if y_pred is None else np.asarray(y_pred).reshape(-1)
        self.y_pred = self.y_pred.astype(np.int64)
        self.proba = probs
        n, num_classes = probs.shape
        self.confidence = probs[np.arange(n), self.y_pred]
        cm = confusion_matrix(self.y_true, self.y_pred, num_classes=num_classes)
        self.accuracy = classification_metrics(cm)["accuracy"]
        self._thumbs = _Thumbnails(X, n, name="X")
        self.images = self._thumbs.images
        if labels is not None and len(labels) != num_classes:
            raise ValueError(
                f"labels must name the {num_classes} classes of proba, got {len(labels)} names."
            )
        self.labels = [str(c) for c in labels] if labels is not None else None
        self._all_mistakes = order
        self.mistakes = order
        self.shown_indices = order[:0]
        self.captions: list[str] = []
        self.message = ""
        self._build(num_classes)
        self.k, self.true_class = k, true_class
        W.link((self, "k"), (self._k_slider, "value"))
        W.link(
            (self, "true_class"),
            (self._class_menu, "value"),
            transform=(lambda c: _ALL if c is None else c, lambda v: None if v == _ALL else v),
        )
        self._start()

    @classmethod
    def from_predictions(
        cls,
        X: np.ndarray,
        y_true: Sequence[int] | np.ndarray,
        proba: np.ndarray,
        *,
        labels: Sequence[str] | None = None,
        k: int = 16,
        y_pred: Sequence[int] | np.ndarray | None = None,
    ) -> MistakesGallery:
        """The worst mistakes among predictions already made (``proba`` = the model's outputs).

        Examples
        --------
        >>> g = MistakesGallery.from_predictions(np.zeros((2, 8, 8)), [0, 0], [[0.8], [0.1]])
        >>> g.captions  # one sigmoid output: class 1 above 0.5
        ['true 0 → predicted 1 (0.80)']
        """
        return cls(X, y_true, proba, labels=labels, k=k, y_pred=y_pred)

    @classmethod
    def from_model(
        cls,
        model: Any,
        X: np.ndarray,
        y: Sequence[int] | np.ndarray,
        *,
        labels: Sequence[str] | None = None,
        k: int = 16,
        batch_size: int = _BATCH_SIZE,
    ) -> MistakesGallery:
        """Run a Keras classifier on ``X`` (``model(X_batch, training=False)``) and show its
        worst mistakes against ``y``.

        Examples
        --------
        >>> MistakesGallery.from_model(model, X_test, y_test, k=24)  # doctest: +SKIP
        """
        return cls(X, y, _model_outputs(model, X, batch_size), labels=labels, k=k)

    # --- reactions ----------------------------------------------------------------------------

    @T.validate("k")
    def _valid_k(self, proposal):
        k = proposal["value"]
        if not 1 <= k <= MAX_SHOWN:
            raise T.TraitError(f"k must be between 1 and {MAX_SHOWN}, got {k}.")
        return k

    @T.validate("true_class")
    def _valid_class(self, proposal):
        c = proposal["value"]
        if c is not None and not 0 <= c < self.proba.shape[1]:
            raise T.TraitError(
                f"true_class must be a class index 0..{self.proba.shape[1] - 1} or None, got {c}."
            )
        return c

    @T.observe("k", "true_class")
    def _changed(self, _change) -> None:
        self._refresh()

    # --- the one recompute --------------------------------------------------------------------

    def _update(self) -> None:
        c = self.true_class
        order = self._all_mistakes
        if c is not None:
            order = order[self.y_true[order] == c]  # keeps worst_mistakes's order
        self.mistakes = order
        self.shown_indices = order[: self.k]
        self.captions = [self._caption(i) for i in self.shown_indices.tolist()]
        for slot, (image, caption, box) in enumerate(self._cells):
            if slot < len(self.captions):
                i = int(self.shown_indices[slot])
                image.value = self._thumbs.png(i)
                true_pred = self._caption(i, confidence=False)
                caption.value = (
                    f"<div style='line-height:1.3;text-align:center;font-size:12px'>"
                    f"{html.escape(true_pred)}<br>({self.confidence[i]:.2f}) "
                    f"<span style='color:#888'>X[{i}]</span></div>"
                )
                box.layout.display = None
            else:
                box.layout.display = "none"
        self._summary.value = self._summary_html()
        self.message = self._message_text()
        self._message.value = (
            f'<div style="{_GOOD_STYLE}">✔ {html.escape(self.message)}</div>'
            if self.message
            else ""
        )

    def _name(self, c: int) -> str:
        return self.labels[c] if self.labels is not None else str(c)

    def _caption(self, i: int, *, confidence: bool = True) -> str:
        text = (
            f"true {self._name(int(self.y_true[i]))} → predicted {self._name(int(self.y_pred[i]))}"
        )
        return f"{text} ({self.confidence[i]:.2f})" if confidence else text

    def _summary_html(self) -> str:
        n = len(self.y_true)
        wrong = len(self._all_mistakes)
        head = f"<b>{wrong:,}</b> of {n:,} samples misclassified (accuracy {self.accuracy:.4f})."
        if self.true_class is not None:
            of_class = int((self.y_true == self.true_class).sum())
            head += (
                f" True class {html.escape(self._name(self.true_class))}: "
                f"<b>{len(self.mistakes):,}</b> of {of_class:,} misclassified."
            )
        if len(self.shown_indices):
            head += (
                f" Showing {len(self.shown_indices)}, the most confident first: the caption's "
                "number is the probability the model gave its wrong answer."
            )
        return head

    def _message_text(self) -> str:
        if len(self.mistakes):
            return ""
        if self.true_class is None:
            return "The model makes no mistake on these samples: nothing to show."
        return f"The model makes no mistake on class {self._name(self.true_class)}."

    # --- building the views --------------------------------------------------------------------

    def _build(self, num_classes: int) -> None:
        self._k_slider = W.IntSlider(
            min=1, max=MAX_SHOWN, description="show", style={"description_width": "60px"}
        )
        wrong = np.bincount(self.y_true[self._all_mistakes], minlength=num_classes)
        options = [(f"every class ({len(self._all_mistakes):,} mistakes)", _ALL)]
        options += [(f"{self._name(c)} ({wrong[c]:,} mistakes)", c) for c in range(num_classes)]
        self._class_menu = W.Dropdown(
            options=options,
            description="true class",
            style={"description_width": "70px"},
            layout=W.Layout(width="320px"),
        )
        self._summary, self._message = W.HTML(), W.HTML()
        self._cells = self._thumbs.cells(MAX_SHOWN)
        grid = W.GridBox(
            [box for _, _, box in self._cells],
            # As many columns as the notebook's width holds.
            layout=W.Layout(grid_template_columns="repeat(auto-fill, 150px)", grid_gap="6px"),
        )
        self.children = [
            W.HTML(STYLE),
            W.HBox([self._k_slider, self._class_menu], layout=W.Layout(flex_flow="row wrap")),
            self._summary,
            self._message,
            grid,
        ]
