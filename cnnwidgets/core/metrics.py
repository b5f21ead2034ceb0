"""Judging a classifier: the confusion matrix, accuracy, precision, recall, F1, worst mistakes."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "binary_counts",
    "binary_formulas",
    "cell_indices",
    "class_probabilities",
    "classification_metrics",
    "confusion_matrix",
    "normalize_confusion",
    "worst_mistakes",
]

NORMALIZE = (None, "true", "pred", "all")
# Probabilities written as float32 by a softmax or sigmoid can overshoot 0..1 by a rounding step.
_PROBA_SLACK = 1e-5


# --- argument checks, with sentences a student understands ------------------------------------


def _class_indices(name: str, values: object) -> np.ndarray:
    """``values`` as a 1-D ``int64`` array of class indices 0, 1, 2, ..., or a ValueError."""
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]  # keras.datasets.cifar10 stores labels as (n, 1)
    if arr.ndim == 0:
        raise ValueError(
            f"{name} must be a sequence of class indices, one per sample, got {values!r}."
        )
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must hold one class index per sample (a 1-D array), got shape {arr.shape}. "
            "Probabilities or one-hot rows? Take the most likely class: "
            f"{name} = array.argmax(axis=1)."
        )
    if arr.dtype == np.bool_:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        example = arr.flat[0].item() if arr.size else values
        raise ValueError(
            f"{name} must hold class indices (whole numbers 0, 1, 2, ...), got {example!r}. "
            "Class names? Use their positions in the list of names instead."
        )
    if np.issubdtype(arr.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{name} must hold whole-number class indices, got {arr[i].item()!r} at "
                f"position {i}. "
                "Probabilities? Take the most likely class with proba.argmax(axis=1), or "
                "(p > 0.5).astype(int) for one sigmoid output."
            )
    out = arr.astype(np.int64)
    negative = np.flatnonzero(out < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(f"{name} holds {out[i]} at position {i}: class indices start at 0.")
    return out


def _same_length(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(
            "y_true and y_pred must have one entry per sample, the same samples in the same "
            f"order: got {len(y_true)} true labels and {len(y_pred)} predictions."
        )


def _within(name: str, values: np.ndarray, num_classes: int, why: str) -> None:
    outside = np.flatnonzero(values >= num_classes)
    if outside.size:
        i = int(outside[0])
        raise ValueError(
            f"{name} holds {values[i]} at position {i}, but {why} allows only the classes "
            f"0..{num_classes - 1}."
        )


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a count of samples (a whole number >= 0), got {value!r}.")
    return int(value)


def _checked_matrix(cm: object) -> np.ndarray:
    """``cm`` as a square ``int64`` array of counts, or a ValueError."""
    arr = np.asarray(cm)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"A confusion matrix holds counts (whole numbers), got {cm!r}.")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(
            "A confusion matrix is square, one row (true class) and one column (predicted "
            f"class) per class, got shape {arr.shape}."
        )
    if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
        raise ValueError(
            "A confusion matrix holds counts of samples (whole numbers); normalised values "
            "cannot be turned back into counts."
        )
    if (arr < 0).any():
        i, j = (int(v) for v in np.argwhere(arr < 0)[0])
        raise ValueError(
            f"Counts cannot be negative: the cell (true {i}, predicted {j}) holds {arr[i, j]}."
        )
    return arr.astype(np.int64)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # scikit-learn's default: 0/0 is reported as 0.0 (it warns; we flag it in "undefined").
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


# --- the matrix ---------------------------------------------------------------------------------


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    *,
    labels: Sequence[int] | np.ndarray | None = None,
    num_classes: int | None = None,
) -> np.ndarray:
    """Count the samples of each (true class, predicted class) pair.

    ``cm[i, j]`` is the number of samples of true class ``i`` predicted as
    class ``j``: rows are true classes, columns predicted classes, as in
    ``sklearn.metrics.confusion_matrix``. The diagonal holds the correct
    predictions.

    Parameters
    ----------
    y_true, y_pred : sequence of int
        Class indices (0, 1, 2, ...), one per sample; whole floats and booleans
        are accepted, probabilities and one-hot rows are not (take ``argmax``).
    labels : sequence of int, optional
        The classes of the rows and columns, in that order (scikit-learn's
        ``labels``); every label in ``y_true`` and ``y_pred`` must be among them.
    num_classes : int, optional
        Classes ``0 .. num_classes - 1`` (Keras's name). Without ``labels`` or
        ``num_classes`` the classes are ``0 .. max label``, so a class that never
        occurs still gets its row and column (scikit-learn would leave it out
        unless it is listed in ``labels``).

    Returns
    -------
    ndarray of int64, shape (n, n)

    Examples
    --------
    >>> confusion_matrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 1]).tolist()
    [[1, 1, 0], [0, 2, 0], [0, 1, 0]]
    >>> confusion_matrix([0, 1], [0, 0], num_classes=3).shape
    (3, 3)
    """
    t = _class_indices("y_true", y_true)
    p = _class_indices("y_pred", y_pred)
    _same_length(t, p)
    if labels is not None and num_classes is not None:
        raise ValueError("Give labels or num_classes, not both.")
    if labels is not None:
        order = _class_indices("labels", labels)
        if order.size == 0:
            raise ValueError("labels must name at least one class.")
        if np.unique(order).size != order.size:
            raise ValueError(f"labels must not repeat a class, got {order.tolist()}.")
        # Map label values to row/column positions by binary search in the sorted labels.
        sorter = np.argsort(order)
        ordered = order[sorter]
        positions = []
        for name, values in (("y_true", t), ("y_pred", p)):
            at = np.minimum(np.searchsorted(ordered, values), order.size - 1)
            missing = np.flatnonzero(ordered[at] != values)
            if missing.size:
                i = int(missing[0])
                raise ValueError(
                    f"{name} holds {values[i]} at position {i}, which is not one of "
                    f"labels {order.tolist()}."
                )
            positions.append(sorter[at])
        (t, p), n = positions, order.size
    elif num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
            raise ValueError(f"num_classes must be a whole number, got {num_classes!r}.")
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
        n = int(num_classes)
        for name, values in (("y_true", t), ("y_pred", p)):
            _within(name, values, n, f"num_classes={n}")
    else:
        if t.size == 0:
            raise ValueError(
                "y_true and y_pred are empty: there is nothing to count. "
                "Pass num_classes= for an empty matrix."
            )
        n = int(max(t.max(), p.max())) + 1
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n).astype(np.int64)


def binary_counts(*, tp: int, fp: int, fn: int, tn: int) -> np.ndarray:
    """The 2x2 confusion matrix of a yes/no classifier from its four counts.

    Same layout as scikit-learn, with class 0 = negative and class 1 = positive,
    rows true, columns predicted::

                      predicted negative  predicted positive
        true negative        TN                  FP
        true positive        FN                  TP

    Examples
    --------
    >>> binary_counts(tp=10, fp=22, fn=8, tn=60).tolist()
    [[60, 22], [8, 10]]
    """
    counts = {
        name: _count(name, value)
        for name, value in (("tp", tp), ("fp", fp), ("fn", fn), ("tn", tn))
    }
    return np.array([[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]], dtype=np.int64)


def normalize_confusion(
    cm: Sequence[Sequence[int]] | np.ndarray, over: str | None = "true"
) -> np.ndarray:
    """Turn counts into shares, as scikit-learn's ``confusion_matrix(normalize=...)`` does.

    - ``"true"``: divide each row by its total. Each row sums to 1 and the
      diagonal is each class's **recall**.
    - ``"pred"``: divide each column by its total. Each column sums to 1 and the
      diagonal is each class's **precision**.
    - ``"all"``: divide by the number of samples; the diagonal sums to the accuracy.
    - ``None``: the counts, as floats.

    A row (column) with no samples stays 0, as in scikit-learn.

    Examples
    --------
    >>> normalize_confusion([[60, 22], [8, 10]], "true").round(4).tolist()
    [[0.7317, 0.2683], [0.4444, 0.5556]]
    """
    counts = _checked_matrix(cm).astype(np.float64)
    if over not in NORMALIZE:
        raise ValueError(f"over must be 'true', 'pred', 'all' or None, got {over!r}.")
    if over is None:
        return counts
    if over == "true":
        totals = counts.sum(axis=1, keepdims=True)
    elif over == "pred":
        totals = counts.sum(axis=0, keepdims=True)
    else:
        totals = np.full((1, 1), counts.sum())
    return _divide(counts, np.broadcast_to(totals, counts.shape))


# --- the scores -------------------------------------------------------------------------------


def classification_metrics(cm: Sequence[Sequence[int]] | np.ndarray) -> dict[str, Any]:
    """Accuracy, and precision, recall, F1 and support per class, with their averages.

    For class ``c``: ``TP`` = ``cm[c, c]``, ``FP`` = the rest of column ``c``
    (predicted ``c``, wrongly), ``FN`` = the rest of row ``c`` (truly ``c``,
    missed), ``TN`` = everything else.

    - precision = TP / (TP + FP): of the samples predicted ``c``, the share that is ``c``;
    - recall = TP / (TP + FN): of the samples that are ``c``, the share found;
    - F1 = 2·P·R / (P + R) = 2·TP / (2·TP + FP + FN), the harmonic mean of the two;
    - support = TP + FN, the number of samples of class ``c``.

    A share with nothing to divide by (no sample predicted ``c``: precision; no
    sample of class ``c``: recall) is undefined. As with scikit-learn's default
    it is reported as 0.0, and the class is listed in ``"undefined"`` so a view
    can say so. The macro average is the plain mean over classes, the weighted
    average weighs each class by its support (``classification_report``'s
    "macro avg" and "weighted avg").

    Returns
    -------
    dict
        ``"accuracy"`` (float), ``"total"`` (int, number of samples);
        ``"precision"``, ``"recall"``, ``"f1"`` (float arrays, one per class);
        ``"support"``, ``"predicted"`` (row and column totals), ``"tp"``, ``"fp"``,
        ``"fn"``, ``"tn"`` (int arrays, one per class);
        ``"macro"``, ``"weighted"``: dicts with ``"precision"``, ``"recall"``, ``"f1"``;
        ``"undefined"``: dict mapping ``"precision"``, ``"recall"``, ``"f1"`` to the
        tuple of classes whose value was 0/0 and is shown as 0.

    Raises
    ------
    ValueError
        If ``cm`` is not a square matrix of counts, or counts no samples at all.

    Examples
    --------
    >>> m = classification_metrics([[60, 22], [8, 10]])  # TN, FP / FN, TP
    >>> round(m["accuracy"], 4), round(float(m["precision"][1]), 4), float(m["f1"][1])
    (0.7, 0.3125, 0.4)
    >>> classification_metrics([[3, 0], [2, 0]])["undefined"]["precision"]
    (1,)
    """
    counts = _checked_matrix(cm)
    total = int(counts.sum())
    if total == 0:
        raise ValueError(
            "The confusion matrix counts no samples (every cell is 0): accuracy, precision "
            "and recall are undefined."
        )
    tp = np.diag(counts).copy()
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    fp, fn = predicted - tp, support - tp
    tn = total - tp - fp - fn
    precision = _divide(tp, predicted)
    recall = _divide(tp, support)
    # scikit-learn's form of 2PR/(P+R): it stays defined when only one of P and R is.
    f1 = _divide(2 * tp, support + predicted)
    scores = {"precision": precision, "recall": recall, "f1": f1}
    return {
        "accuracy": float(tp.sum() / total),
        "total": total,
        **scores,
        "support": support,
        "predicted": predicted,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "macro": {name: float(values.mean()) for name, values in scores.items()},
        "weighted": {
            name: float(np.average(values, weights=support)) for name, values in scores.items()
        },
        "undefined": {
            "precision": tuple(int(c) for c in np.flatnonzero(predicted == 0)),
            "recall": tuple(int(c) for c in np.flatnonzero(support == 0)),
            "f1": tuple(int(c) for c in np.flatnonzero(support + predicted == 0)),
        },
    }


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def binary_formulas(cm: Sequence[Sequence[int]] | np.ndarray, *, digits: int = 4) -> dict[str, str]:
    """Accuracy, precision, recall and F1 of a 2x2 matrix as formulas with the numbers in.

    Class 1 is the positive class (see :func:`binary_counts` for the layout).
    Results are :func:`classification_metrics`'s, rounded to ``digits``; F1 is
    worked out from the rounded P and R the line shows, but its result is the
    exact one.

    Examples
    --------
    >>> binary_formulas([[60, 22], [8, 10]])["f1"]
    'F1 = 2·P·R / (P + R) = 2·0.3125·0.5556 / (0.3125 + 0.5556) = 0.4000'
    >>> binary_formulas([[60, 22], [8, 10]])["precision"]
    'precision = TP / (TP + FP) = 10 / (10 + 22) = 10 / 32 = 0.3125'
    """
    counts = _checked_matrix(cm)
    if counts.shape != (2, 2):
        raise ValueError(
            f"The formulas with TP, FP, FN and TN are for a yes/no (2x2) matrix, got shape "
            f"{counts.shape}."
        )
    m = classification_metrics(counts)
    (tn, fp), (fn, tp) = counts.tolist()
    p, r, f1 = (float(m[name][1]) for name in ("precision", "recall", "f1"))
    out = {
        "accuracy": (
            f"accuracy = (TP + TN) / (TP + TN + FP + FN) = ({tp} + {tn}) / "
            f"({tp} + {tn} + {fp} + {fn}) = {tp + tn} / {m['total']} = "
            f"{_fmt(m['accuracy'], digits)}"
        )
    }
    for name, other, label, why in (
        ("precision", fp, "FP", "no sample is predicted positive"),
        ("recall", fn, "FN", "there is no positive sample"),
    ):
        head = f"{name} = TP / (TP + {label}) = {tp} / ({tp} + {other})"
        if tp + other == 0:
            out[name] = f"{head}: 0 / 0 is undefined ({why}), shown as 0"
        else:
            out[name] = f"{head} = {tp} / {tp + other} = {_fmt(float(m[name][1]), digits)}"
    if tp + fp > 0 and tp + fn > 0 and tp > 0:
        ps, rs = _fmt(p, digits), _fmt(r, digits)
        out["f1"] = f"F1 = 2·P·R / (P + R) = 2·{ps}·{rs} / ({ps} + {rs}) = {_fmt(f1, digits)}"
    else:
        # 2·P·R/(P+R) would read 0/0 or use an undefined P or R: the count form is defined
        # whenever there is a positive sample or a positive prediction.
        head = f"F1 = 2·TP / (2·TP + FP + FN) = {2 * tp} / ({2 * tp} + {fp} + {fn})"
        if 2 * tp + fp + fn == 0:
            why = "no positive sample, none predicted"
            out["f1"] = f"{head}: 0 / 0 is undefined ({why}), shown as 0"
        else:
            out["f1"] = f"{head} = {_fmt(f1, digits)}"
    return out


# --- finding the samples behind the numbers ----------------------------------------------------


def class_probabilities(proba: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """A model's outputs as one probability per class: ``(n, num_classes)`` floats.

    A softmax head's ``(n, C)`` output passes through. A sigmoid head's ``(n,)``
    or ``(n, 1)`` output ``p`` (the probability of class 1) becomes the two
    columns ``[1 - p, p]``, so ``argmax`` predicts class 1 exactly when
    ``p > 0.5``, as Keras's binary accuracy does.

    Examples
    --------
    >>> class_probabilities([[0.75], [0.25]]).tolist()
    [[0.25, 0.75], [0.75, 0.25]]
    """
    arr = np.asarray(proba)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"proba must hold probabilities (numbers), got {arr.dtype}.")
    x = arr.astype(np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim == 1:
        x = np.stack([1.0 - x, x], axis=1)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(
            "proba must be the model's output, one row of class probabilities per sample "
            f"(n, num_classes), or one sigmoid output per sample, got shape {arr.shape}."
        )
    if (
        not np.isfinite(x).all()
        or x.min(initial=0) < -_PROBA_SLACK
        or (x.max(initial=0) > 1 + _PROBA_SLACK)
    ):
        raise ValueError(
            "proba must hold probabilities between 0 and 1; these look like logits. Give the "
            "last layer activation='softmax' (or 'sigmoid' for one output), or apply "
            "keras.activations.softmax to the outputs."
        )
    return np.clip(x, 0.0, 1.0)


def worst_mistakes(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray | None,
    proba: Sequence[Sequence[float]] | np.ndarray,
    *,
    k: int | None = None,
) -> np.ndarray:
    """Indices of the misclassified samples, the most confidently wrong first.

    A sample is a mistake when ``y_pred != y_true``; its confidence is the
    probability the model gave the class it predicted, ``proba[i, y_pred[i]]``.
    Ties keep the samples' order.

    Parameters
    ----------
    y_true : sequence of int
    y_pred : sequence of int or None
        None predicts the most likely class of ``proba``.
    proba : array (n, num_classes), or (n,) / (n, 1) for a sigmoid head
        See :func:`class_probabilities`.
    k : int, optional
        Keep the first ``k``; all mistakes by default.

    Examples
    --------
    >>> proba = [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.05, 0.95]]
    >>> worst_mistakes([0, 0, 1, 0], None, proba).tolist()
    [3, 1, 2]
    """
    t = _class_indices("y_true", y_true)
    probs = class_probabilities(proba)
    if len(probs) != len(t):
        raise ValueError(
            f"proba must have one row per sample: got {len(probs)} rows for {len(t)} labels."
        )
    p = probs.argmax(axis=1) if y_pred is None else _class_indices("y_pred", y_pred)
    _same_length(t, p)
    columns = probs.shape[1]
    for name, values in (("y_true", t), ("y_pred", p)):
        _within(name, values, columns, f"proba with {columns} column(s)")
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0):
        raise ValueError(f"k must be a whole number >= 0 (how many to keep), got {k!r}.")
    wrong = np.flatnonzero(t != p)
    order = np.argsort(-probs[wrong, p[wrong]], kind="stable")
    return wrong[order][:k]


def cell_indices(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    true_label: int,
    pred_label: int,
) -> np.ndarray:
    """Indices of the samples behind one cell: true class ``true_label``, predicted ``pred_label``.

    ``len(cell_indices(y_true, y_pred, i, j)) == confusion_matrix(y_true, y_pred)[i, j]``.

    Examples
    --------
    >>> cell_indices([2, 2, 9, 2], [9, 2, 9, 9], 2, 9).tolist()
    [0, 3]
    """
    t = _class_indices("y_true", y_true)
    p = _class_indices("y_pred", y_pred)
    _same_length(t, p)
    for name, value in (("true_label", true_label), ("pred_label", pred_label)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a class index (a whole number >= 0), got {value!r}.")
    return np.flatnonzero((t == true_label) & (p == pred_label))
