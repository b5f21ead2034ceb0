"""check_head: does a classifier's output layer agree with its loss and with the labels?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..keras_helpers import Head, head_of, not_a_model
from .report import HeadReport

__all__ = ["check_head", "assert_head_matches", "loss_kind", "label_kind"]

_BINARY = {"binary_crossentropy", "bce", "binary_focal_crossentropy"}
_SPARSE = {"sparse_categorical_crossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "cce", "categorical_focal_crossentropy"}
_LOSS_CLASSES = {
    "BinaryCrossentropy": "binary",
    "BinaryFocalCrossentropy": "binary",
    "SparseCategoricalCrossentropy": "sparse",
    "CategoricalCrossentropy": "categorical",
    "CategoricalFocalCrossentropy": "categorical",
}
_FIX_SPARSE = "Dense(N, 'softmax') + sparse_categorical_crossentropy"


@dataclass
class Loss:
    """A loss reduced to what matters here: ``kind`` is ``'binary'``, ``'sparse'``,
    ``'categorical'``, ``'other'`` or None (no loss), plus ``from_logits`` and a name."""

    kind: str | None
    from_logits: bool
    name: str


@dataclass
class Labels:
    """Labels reduced to their encoding: ``kind`` is ``'integer'``, ``'onehot'``,
    ``'multihot'`` or ``'continuous'``; ``width`` columns (1 for integers); value range."""

    kind: str
    width: int
    low: float
    high: float


def loss_kind(loss: Any) -> Loss:
    """Reduce a loss given as a string, a function or a ``keras.losses.Loss`` object.

    Examples
    --------
    >>> loss_kind("sparse_categorical_crossentropy").kind
    'sparse'
    >>> loss_kind(None).kind is None
    True
    """
    if loss is None:
        return Loss(None, False, "")
    from_logits = False
    if isinstance(loss, str):
        name = loss.lower()
    elif type(loss).__name__ in _LOSS_CLASSES:
        config = _config(loss)
        from_logits = bool(config.get("from_logits", False))
        return Loss(_LOSS_CLASSES[type(loss).__name__], from_logits, type(loss).__name__)
    elif callable(loss):
        name = getattr(getattr(loss, "fn", loss), "__name__", type(loss).__name__).lower()
        from_logits = bool(_config(loss).get("from_logits", False))
    else:
        return Loss("other", False, type(loss).__name__)
    if name in _BINARY:
        kind = "binary"
    elif name in _SPARSE:
        kind = "sparse"
    elif name in _CATEGORICAL:
        kind = "categorical"
    else:
        kind = "other"
    return Loss(kind, from_logits, name)


def _config(loss: Any) -> dict:
    try:
        return dict(loss.get_config())
    except Exception:  # plain functions have no config
        return {}


def label_kind(y: Any) -> Labels:
    """How the labels are encoded.

    Examples
    --------
    >>> label_kind([0, 1, 1, 0])
    Labels(kind='integer', width=1, low=0.0, high=1.0)
    >>> label_kind([[0, 1, 0], [1, 0, 0]]).kind
    'onehot'
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    low, high = (float(y.min()), float(y.max())) if y.size else (0.0, 0.0)
    if y.ndim == 1:
        kind = "integer" if np.all(y == np.round(y)) else "continuous"
        return Labels(kind, 1, low, high)
    width = int(y.shape[-1])
    if np.all((y == 0) | (y == 1)):
        kind = "onehot" if np.all(y.sum(axis=-1) == 1) else "multihot"
    elif np.allclose(y.sum(axis=-1), 1) and low >= 0:
        kind = "onehot"  # smoothed or soft labels: one distribution per row
    else:
        kind = "continuous"
    return Labels(kind, width, low, high)


def check_head(model: Any, y: Any = None, loss: Any = None) -> HeadReport:
    """Check that the output layer, the loss and the labels of a classifier agree.

    The three agreeing set-ups (COURSE.md, concept 13):

    - ``Dense(1, 'sigmoid')`` + ``binary_crossentropy`` with 0/1 labels;
    - ``Dense(N, 'softmax')`` + ``sparse_categorical_crossentropy`` with integer
      labels 0..N-1;
    - ``Dense(N, 'softmax')`` + ``categorical_crossentropy`` with one-hot labels
      of width N.

    A head without activation (logits) agrees with a loss made with
    ``from_logits=True``. ``Dense(N, 'sigmoid')`` + ``binary_crossentropy`` with
    multi-hot labels (several labels per image) is accepted too.

    Parameters
    ----------
    model : keras.Model
        The classifier.
    y : array-like, optional
        The training labels; without them the label checks are skipped.
    loss : str, function or keras.losses.Loss, optional
        Defaults to the loss the model was compiled with; without either the
        loss checks are skipped.

    Returns
    -------
    HeadReport
        ``passed``, ``messages``, ``score``, ``checks``.

    Examples
    --------
    >>> import keras  # doctest: +SKIP
    >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    ... # doctest: +SKIP
    >>> print(check_head(m, [0, 1, 1], "binary_crossentropy").messages[0])  # doctest: +SKIP
    Dense(2, activation='sigmoid') with binary labels: use Dense(1, 'sigmoid') + \
binary_crossentropy, or Dense(2, 'softmax') + sparse_categorical_crossentropy
    """
    problem = not_a_model(model)
    if problem is not None:
        return HeadReport(False, [problem], 0.0, 0)
    try:
        head = head_of(model)
    except Exception as err:  # never crash a student's cell
        return HeadReport(False, [f"The grader could not read the output layer: {err}"], 0.0, 0)
    if loss is None and getattr(model, "compiled", False):
        loss = getattr(model, "loss", None)
    lo = loss_kind(loss)
    labels = label_kind(y) if y is not None else None
    results: list[str | None] = []
    if len(head.shape) != 2:
        results.append(
            f"The output has shape {head.shape}: add Flatten() or GlobalAveragePooling2D() "
            "before the Dense head, so each image gets one row of class scores"
        )
        return _report(results)
    results.append(_head_alone(head, lo, labels))
    if lo.kind is not None:
        results.append(_loss_vs_head(head, lo, labels))
    if labels is not None:
        if lo.kind is not None:
            results.append(_loss_vs_labels(head, lo, labels))
        results.append(_units_vs_labels(head, lo, labels))
    return _report(results)


def assert_head_matches(model: Any, y: Any = None, loss: Any = None) -> None:
    """Raise ``AssertionError`` with :func:`check_head`'s report unless all agree.

    Examples
    --------
    >>> assert_head_matches(model, y_train)  # doctest: +SKIP
    """
    __tracebackhide__ = True
    report = check_head(model, y, loss)
    if not report.passed:
        raise AssertionError(str(report)) from None


def _report(results: list[str | None]) -> HeadReport:
    messages = list(dict.fromkeys(r for r in results if r))  # same sentence once
    failed = sum(r is not None for r in results)
    score = 1 - failed / len(results) if results else 0.0
    return HeadReport(not messages, messages, score, len(results))


def _is_binary(labels: Labels | None) -> bool:
    return labels is not None and labels.kind == "integer" and labels.high <= 1


def _head_alone(head: Head, lo: Loss, labels: Labels | None) -> str | None:
    n, act = head.units, head.activation
    if n == 1 and act == "softmax":
        return (
            f"{head.text} always outputs 1.0 (softmax over one unit): "
            "use Dense(1, 'sigmoid') + binary_crossentropy for two classes"
        )
    if n >= 2 and act == "sigmoid":
        multilabel = labels is not None and labels.kind == "multihot"
        if multilabel or (labels is None and lo.kind == "binary" and n > 2):
            return None  # several labels per image: independent sigmoids are right
        if n == 2 and labels is not None and labels.kind == "integer" and labels.high >= n:
            # more classes than units: "two classes" advice (Dense(2, 'softmax')) would be wrong
            k = int(labels.high) + 1
            return (
                f"{head.text} for {k} classes, one per image: use Dense({k}, 'softmax') + "
                "sparse_categorical_crossentropy"
            )
        if n == 2 or _is_binary(labels):
            where = " with binary labels" if _is_binary(labels) else " for two classes"
            return (
                f"{head.text}{where}: use Dense(1, 'sigmoid') + binary_crossentropy, "
                f"or Dense({n}, 'softmax') + sparse_categorical_crossentropy"
            )
        return (
            f"{head.text} for one class per image: use activation='softmax', so the "
            f"{n} class probabilities sum to 1"
        )
    if act not in ("softmax", "sigmoid", "linear"):
        fix = "Dense(1, 'sigmoid')" if n == 1 else f"Dense({n}, 'softmax')"
        return (
            f"{head.text}: {act!r} does not give class probabilities — "
            f"the output layer of a classifier is {fix}"
        )
    return None


def _loss_vs_head(head: Head, lo: Loss, labels: Labels | None) -> str | None:
    n, act, name = head.units, head.activation, lo.name
    if lo.kind == "other":
        if labels is not None and labels.kind in ("integer", "onehot"):
            fix = (
                "binary_crossentropy"
                if n == 1
                else "categorical_crossentropy"
                if labels.kind == "onehot"
                else "sparse_categorical_crossentropy"
            )
            return f"loss {name!r} for class labels: a classifier learns with {fix}"
        return None
    if lo.from_logits and act in ("softmax", "sigmoid"):
        return (
            f"{head.text} with a loss made with from_logits=True: the loss would apply "
            f"{act} a second time — drop from_logits=True, or the activation"
        )
    if not lo.from_logits and act == "linear":
        want = "sigmoid" if n == 1 else "softmax"
        return (
            f"{head.text} outputs raw scores (logits) but {name} expects probabilities: "
            f"add activation={want!r}, or make the loss with from_logits=True"
        )
    if lo.kind == "binary" and n > 1 and act == "softmax":
        return (
            f"binary_crossentropy with {head.text}: use sparse_categorical_crossentropy "
            "(integer labels) or categorical_crossentropy (one-hot labels)"
        )
    if lo.kind in ("sparse", "categorical") and n == 1:
        return (
            f"{name} with a single output unit: one unit means a binary classifier — "
            f"use binary_crossentropy, or {_FIX_SPARSE} for N classes"
        )
    return None


def _loss_vs_labels(head: Head, lo: Loss, labels: Labels) -> str | None:
    if lo.kind == "sparse" and labels.kind in ("onehot", "multihot"):
        return (
            "one-hot labels with sparse_categorical_crossentropy: "
            "use categorical_crossentropy or integer labels"
        )
    if lo.kind == "categorical" and labels.kind == "integer":
        return (
            "integer labels with categorical_crossentropy: use sparse_categorical_crossentropy "
            "or one-hot labels (keras.utils.to_categorical(y))"
        )
    if lo.kind == "binary" and labels.kind == "integer" and labels.high > 1:
        return (
            f"binary_crossentropy needs 0/1 labels, but the labels go up to {labels.high:g}: "
            f"use Dense({int(labels.high) + 1}, 'softmax') + sparse_categorical_crossentropy"
        )
    return None


def _units_vs_labels(head: Head, lo: Loss, labels: Labels) -> str | None:
    n = head.units
    if labels.kind == "continuous":
        return (
            f"the labels are not class numbers (they range from {labels.low:g} to "
            f"{labels.high:g}): a classifier needs integer labels 0..N-1 or one-hot rows"
        )
    if labels.kind == "integer":
        if labels.low < 0:
            return f"the labels go down to {labels.low:g}: class labels run from 0 to N-1"
        top = int(labels.high)
        if n == 1 and top > 1:
            if lo.kind == "binary":
                return None  # already said by the loss check
            return (
                f"1 output unit but the labels go up to {top}: use Dense({top + 1}, 'softmax') "
                "+ sparse_categorical_crossentropy"
            )
        if n > 1 and top >= n:
            return (
                f"{n} output units but the labels go up to {top}: "
                f"use Dense({top + 1}, ...), one unit per class 0..{top}"
            )
        return None
    if labels.width != n:
        what = "one-hot" if labels.kind == "onehot" else "multi-hot"
        return (
            f"{what} labels have {labels.width} columns but the model has {n} output "
            f"unit{'s' if n != 1 else ''}: one unit per column"
        )
    return None
