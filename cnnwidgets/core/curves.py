"""Read learning curves like a teacher: best epoch, train/validation gap, what went wrong."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Diagnosis",
    "EarlyStoppingOutcome",
    "accuracy_key",
    "best_epoch",
    "diagnose_curves",
    "gap_trend",
    "generalization_gap",
    "history_dict",
    "read_sweep",
    "simulate_early_stopping",
]

# Epochs are counted from 1 in everything this module returns and says, as Keras
# prints them ("Epoch 3/10"); Keras's callbacks count from 0 internally
# (EarlyStopping.best_epoch, .stopped_epoch), so theirs are one less.

# Metric names whose best value is the smallest / the largest, for mode="auto".
# Keras decides from the metric object's direction; a history only has names.
_DOWN = ("loss", "error", "mae", "mse", "mape", "msle", "crossentropy", "hinge", "divergence")
_UP = ("acc", "auc", "precision", "recall", "f1", "iou")
# Accuracy names Keras writes, most common first; any other "...accuracy" comes after.
_ACCURACY_NAMES = (
    "accuracy",
    "acc",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
)

# Thresholds of the diagnosis (see diagnose_curves): a change counts when it is
# larger than this fraction of the value, so noise in the last digits says nothing.
_FALLING = 0.01  # a loss "still falls" if the last epoch took off more than 1 %
_RISEN = 0.02  # validation loss "has risen" if it ends more than 2 % above its best
_STALLED_ACCURACY = 0.01  # accuracy "stays" if the last epoch added less than 1 point
_GAP_TOLERANCE = 0.02  # a gap is "steady" if it moves less than 2 % of the loss per epoch
_ACCURACY_GAP_TOLERANCE = 0.005  # ... or, for an accuracy, less than half a point per epoch


def history_dict(history: object) -> dict[str, list[float]]:
    """The ``{"loss": [...], "val_loss": [...], ...}`` dict of a Keras ``History`` or a dict.

    Accepts what ``model.fit`` returns (its ``.history`` is used) or the dict
    itself, checks that every list has one number per epoch, and returns a new
    dict of float lists.

    Examples
    --------
    >>> history_dict({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]})
    {'loss': [0.9, 0.5], 'val_loss': [1.0, 0.7]}
    """
    raw = getattr(history, "history", history)
    if not isinstance(raw, Mapping):
        raise ValueError(
            "Expected what model.fit returns (a History) or its .history dict "
            f"{{'loss': [...], ...}}, got {type(history).__name__}."
        )
    out: dict[str, list[float]] = {}
    for key, values in raw.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise ValueError(f"history[{key!r}] must be a list with one number per epoch.")
        try:
            out[str(key)] = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"history[{key!r}] must hold numbers, got {values!r}.") from None
    lengths = {key: len(v) for key, v in out.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} {n}" for k, n in lengths.items())
        raise ValueError(
            f"The history's lists have different lengths ({shown}): every metric needs one "
            "value per epoch (was fit run with validation_freq > 1?)."
        )
    return out


def _epochs(history: dict[str, list[float]]) -> int:
    return len(next(iter(history.values()), []))


def _values(history: dict[str, list[float]], key: str) -> np.ndarray:
    if key not in history:
        have = ", ".join(history) or "nothing"
        hint = ""
        if key.startswith("val_"):
            hint = (
                ": fit with validation_split=0.2 or validation_data=(X_val, y_val) to get it, "
                f"or use {key.removeprefix('val_')!r}"
            )
        raise ValueError(f"The history has no {key!r} (it has {have}){hint}.")
    return np.asarray(history[key], dtype=np.float64)


def _direction(monitor: str, mode: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
    name = monitor.removeprefix("val_").lower()
    if any(word in name for word in _DOWN):
        return "min"
    if any(word in name for word in _UP):
        return "max"
    raise ValueError(
        f"Cannot tell whether {monitor!r} should go down or up: pass mode='min' or mode='max'."
    )


def accuracy_key(history: object) -> str | None:
    """The training-accuracy name in a history (``"accuracy"``, ``"acc"``, ...), or None.

    Examples
    --------
    >>> accuracy_key({"loss": [0.5], "sparse_categorical_accuracy": [0.8]})
    'sparse_categorical_accuracy'
    >>> accuracy_key({"loss": [0.5]}) is None
    True
    """
    keys = list(history_dict(history))
    for name in _ACCURACY_NAMES:
        if name in keys:
            return name
    return next((k for k in keys if k.endswith("accuracy") and not k.startswith("val_")), None)


def best_epoch(history: object, monitor: str = "val_loss", mode: str = "auto") -> int:
    """The epoch (counted from 1) with the best ``monitor`` value; the first one on a tie.

    ``mode`` as in Keras's ``EarlyStopping``: ``"min"``, ``"max"``, or ``"auto"``
    (losses and errors go down, accuracies up). Epochs whose value is not a
    number (``nan``) are skipped.

    Examples
    --------
    >>> best_epoch({"loss": [0.9, 0.5, 0.3], "val_loss": [0.8, 0.6, 0.7]})
    2
    >>> best_epoch({"val_accuracy": [0.8, 0.9, 0.9]}, monitor="val_accuracy")
    2
    """
    h = history_dict(history)
    values = _values(h, monitor)
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError(f"{monitor!r} has no finite value in this history.")
    if _direction(monitor, mode) == "min":
        index = int(np.argmin(np.where(finite, values, np.inf)))
    else:
        index = int(np.argmax(np.where(finite, values, -np.inf)))
    return index + 1


def generalization_gap(history: object, metric: str = "loss") -> np.ndarray:
    """How much worse validation is than training, per epoch: positive = validation worse.

    ``val_loss - loss`` for a loss (lower is better); ``accuracy - val_accuracy``
    for an accuracy (higher is better). A gap that grows epoch after epoch is
    the mark of overfitting.

    Examples
    --------
    >>> generalization_gap({"loss": [0.5, 0.3], "val_loss": [0.6, 0.5]}).round(3).tolist()
    [0.1, 0.2]
    >>> h = {"accuracy": [0.8, 0.95], "val_accuracy": [0.78, 0.9]}
    >>> generalization_gap(h, "accuracy").round(3).tolist()
    [0.02, 0.05]
    """
    h = history_dict(history)
    train, val = _values(h, metric), _values(h, f"val_{metric}")
    return val - train if _direction(metric, "auto") == "min" else train - val


def gap_trend(
    history: object,
    metric: str = "loss",
    *,
    window: int = 5,
    tolerance: float | None = None,
) -> str:
    """Is the train/validation gap ``"growing"``, ``"shrinking"`` or ``"steady"``?

    The slope of a straight line through the gap of the last ``window`` epochs
    decides; it counts as steady while it is within ``tolerance`` per epoch.
    By default that is 2 % of a loss's mean size over those epochs (so a loss
    near 0.05 and one near 2 are judged alike), and half a point (0.005) per
    epoch for an accuracy, which lives in 0..1. ``"unknown"`` with one epoch.

    Examples
    --------
    >>> gap_trend({"loss": [0.9, 0.6, 0.4, 0.3], "val_loss": [0.9, 0.7, 0.6, 0.6]})
    'growing'
    >>> gap_trend({"loss": [0.9, 0.6, 0.5], "val_loss": [0.95, 0.65, 0.55]})
    'steady'
    """
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 2:
        raise ValueError(f"window must be a whole number of epochs >= 2, got {window!r}.")
    h = history_dict(history)
    gap = generalization_gap(h, metric)[-window:]
    train = _values(h, metric)[-window:]
    val = _values(h, f"val_{metric}")[-window:]
    keep = np.isfinite(gap)
    if keep.sum() < 2:
        return "unknown"
    epochs = np.arange(gap.size, dtype=np.float64)[keep]
    slope = float(np.polyfit(epochs, gap[keep], 1)[0])
    if tolerance is None and _direction(metric, "auto") == "max":
        tolerance = _ACCURACY_GAP_TOLERANCE
    elif tolerance is None:
        size = float(np.mean(np.abs(np.concatenate([train[keep], val[keep]]))))
        tolerance = _GAP_TOLERANCE * size
    if slope > tolerance:
        return "growing"
    if slope < -tolerance:
        return "shrinking"
    return "steady"


@dataclass(frozen=True)
class EarlyStoppingOutcome:
    """What ``keras.callbacks.EarlyStopping`` would have done on a recorded history.

    Epochs count from 1 (Keras's ``stopped_epoch`` and ``best_epoch`` attributes
    count from 0: they are one less).

    Attributes
    ----------
    monitor : str
    patience : int
    epochs : int
        Epochs in the history.
    stop_epoch : int or None
        The last epoch trained before it stops; None if it would not have stopped.
    restored_epoch : int or None
        The epoch whose weights ``restore_best_weights=True`` keeps (Keras restores
        them at the end of training, stopped or not); None if no epoch was monitored.
    best_value : float or None
        The monitored value at ``restored_epoch``.

    Examples
    --------
    >>> out = EarlyStoppingOutcome("val_loss", 2, 10, 6, 4, 0.31)
    >>> out.stopped, out.epochs_saved
    (True, 4)
    """

    monitor: str
    patience: int
    epochs: int
    stop_epoch: int | None
    restored_epoch: int | None
    best_value: float | None

    @property
    def stopped(self) -> bool:
        """True if training would have stopped before the history ends."""
        return self.stop_epoch is not None

    @property
    def epochs_run(self) -> int:
        """Epochs that would have been trained."""
        return self.epochs if self.stop_epoch is None else self.stop_epoch

    @property
    def epochs_saved(self) -> int:
        """Epochs of this history that early stopping would have skipped."""
        return self.epochs - self.epochs_run

    @property
    def message(self) -> str:
        """One sentence for a student."""
        call = f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience})"
        if self.stop_epoch is None:
            head = f"{call} would not have stopped within these {self.epochs} epochs"
        elif self.stop_epoch == self.epochs:
            head = f"{call} would have stopped at epoch {self.stop_epoch}, the last one here"
        else:
            saved = self.epochs_saved
            head = (
                f"{call} would have stopped after epoch {self.stop_epoch} of {self.epochs} "
                f"({saved} epoch{'s' if saved != 1 else ''} saved)"
            )
        if self.restored_epoch is None:
            return head + "."
        return (
            f"{head}; with restore_best_weights=True the model keeps the weights of epoch "
            f"{self.restored_epoch} ({self.monitor} {self.best_value:.4g})."
        )

    def __str__(self) -> str:
        return self.message


def simulate_early_stopping(
    history: object,
    monitor: str = "val_loss",
    min_delta: float = 0.0,
    patience: int = 0,
    mode: str = "auto",
    baseline: float | None = None,
    start_from_epoch: int = 0,
) -> EarlyStoppingOutcome:
    """Replay ``keras.callbacks.EarlyStopping`` on a recorded history, step for step.

    Same arguments and defaults as Keras: an epoch improves on the best so far
    when it is better by more than ``min_delta``; after ``patience`` epochs
    without improvement training stops (never at the first epoch); epochs before
    ``start_from_epoch`` (counted from 0, as Keras does) are ignored; with a
    ``baseline``, the waiting only resets on values better than it.

    Examples
    --------
    >>> h = {"loss": [0.9, 0.6, 0.4, 0.3, 0.2, 0.1], "val_loss": [0.8, 0.6, 0.5, 0.55, 0.6, 0.7]}
    >>> out = simulate_early_stopping(h, patience=2)
    >>> out.stop_epoch, out.restored_epoch, out.epochs_saved
    (5, 3, 1)
    """
    if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
        raise ValueError(f"patience must be a whole number >= 0, got {patience!r}.")
    h = history_dict(history)
    values = _values(h, monitor)
    better = np.less if _direction(monitor, mode) == "min" else np.greater
    # Keras folds the sign of min_delta into the comparison: current - delta < best.
    delta = -abs(min_delta) if better is np.less else abs(min_delta)

    def improves(current: float, reference: float | None) -> bool:
        return reference is None or bool(better(current - delta, reference))

    best: float | None = None
    best_index: int | None = None
    wait = 0
    for epoch, current in enumerate(values.tolist()):
        if epoch < start_from_epoch:
            continue
        if best_index is None:  # restore_best_weights takes the first monitored epoch
            best_index = epoch
        wait += 1
        if improves(current, best):
            best, best_index = current, epoch
            if baseline is None or improves(current, baseline):
                wait = 0
            continue
        if wait >= patience and epoch > 0:
            return EarlyStoppingOutcome(
                monitor, int(patience), values.size, epoch + 1, best_index + 1, _num(best)
            )
    restored = None if best_index is None else best_index + 1
    return EarlyStoppingOutcome(monitor, int(patience), values.size, None, restored, _num(best))


def _num(value: float | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Diagnosis:
    """What the learning curves say: a short ``verdict`` and a ``message`` for the student.

    ``verdict`` is one of ``"diverging"``, ``"too short"``, ``"no validation"``,
    ``"overfitting"``, ``"unstable"``, ``"underfitting"``, ``"train longer"``,
    ``"starting to overfit"``, ``"levelled off"``.

    Examples
    --------
    >>> str(Diagnosis("train longer", "both losses still falling: train longer"))
    'both losses still falling: train longer'
    """

    verdict: str
    message: str

    def __str__(self) -> str:
        return self.message


def _fell(values: np.ndarray) -> bool:
    # The last epoch took more than _FALLING of the value off.
    return values.size >= 2 and values[-2] - values[-1] > _FALLING * abs(values[-2])


def diagnose_curves(history: object, *, patience: int = 3, low_accuracy: float = 0.7) -> Diagnosis:
    """Diagnose a training run from its losses (and accuracy): over- or underfitting, and so on.

    The first rule that applies decides (epochs counted from 1):

    1. **diverging**: the training loss became ``nan``/``inf``, or ends above its
       first epoch's value: the learning rate is too high.
    2. **too short**: one epoch has no trend.
    3. **no validation**: there is no ``val_loss`` to compare with.
    4. **overfitting**: validation loss ended more than 2 % above its best, at
       least 2 epochs after it, while the training loss kept falling
       (**unstable** if the training loss did not fall either).
    5. **underfitting**: training accuracy is below ``low_accuracy`` and the last
       epoch added less than 1 point.
    6. **train longer**: the last epoch was validation's best and took more than
       1 % off both losses.
    7. **starting to overfit**: the gap grows (see :func:`gap_trend`) while the
       training loss still falls.
    8. **levelled off**: otherwise.

    ``patience`` goes into the suggested ``EarlyStopping`` call.

    Examples
    --------
    >>> h = {"loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.07],
    ...      "val_loss": [0.9, 0.7, 0.6, 0.55, 0.5, 0.52, 0.56, 0.6]}
    >>> print(diagnose_curves(h))  # doctest: +NORMALIZE_WHITESPACE
    validation loss has risen for 3 epochs since epoch 5 while training loss keeps falling:
    overfitting — try dropout, L2, augmentation or EarlyStopping(monitor='val_loss', patience=3)
    """
    h = history_dict(history)
    loss = _values(h, "loss")
    n = loss.size
    if n == 0:
        raise ValueError("The history is empty: train for at least one epoch.")
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        k = int(bad[0])
        return Diagnosis(
            "diverging",
            f"training loss became {loss[k]} at epoch {k + 1}: the learning rate is too high or "
            "the inputs are not scaled — lower the learning rate (say 10 times) and scale "
            "pixels to 0..1",
        )
    if n >= 2 and loss[-1] > loss[0]:
        return Diagnosis(
            "diverging",
            f"training loss rose from {loss[0]:.3g} at epoch 1 to {loss[-1]:.3g} at epoch {n}: "
            "the learning rate is probably too high — try one 10 times smaller",
        )
    if n == 1:
        return Diagnosis("too short", "only one epoch so far: train a few more to see a trend")
    if "val_loss" not in h:
        still = "training loss is still falling; " if _fell(loss) else ""
        return Diagnosis(
            "no validation",
            f"{still}there is no validation loss to compare with: fit with "
            "validation_split=0.2 (or validation_data=(X_val, y_val)) to watch for overfitting",
        )
    val = _values(h, "val_loss")
    b = best_epoch(h, "val_loss")
    since = n - b
    if since >= 2 and val[-1] - val[b - 1] > _RISEN * abs(val[b - 1]):
        if loss[-1] < loss[b - 1] * (1 - _FALLING):
            return Diagnosis(
                "overfitting",
                f"validation loss has risen for {since} epochs since epoch {b} while training "
                "loss keeps falling: overfitting — try dropout, L2, augmentation or "
                f"EarlyStopping(monitor='val_loss', patience={patience})",
            )
        return Diagnosis(
            "unstable",
            f"validation loss has risen since epoch {b} and training loss has stopped falling: "
            "the learning rate may be too high — try a smaller one",
        )
    acc_key = accuracy_key(h)
    if acc_key is not None:
        acc = _values(h, acc_key)
        if acc[-1] < low_accuracy and acc[-1] - acc[-2] < _STALLED_ACCURACY:
            return Diagnosis(
                "underfitting",
                f"training accuracy stays low ({acc[-1]:.2f} at epoch {n}): underfitting — "
                "a bigger model or a higher learning rate",
            )
    if b == n and _fell(loss) and _fell(val):
        return Diagnosis("train longer", "both losses still falling: train longer")
    if _fell(loss) and gap_trend(h) == "growing":
        return Diagnosis(
            "starting to overfit",
            f"validation loss has levelled off since epoch {b} while training loss keeps "
            "falling and the gap grows: the model is starting to overfit — "
            f"EarlyStopping(monitor='val_loss', patience={patience}) would keep the best epoch",
        )
    gap = float(val[-1] - loss[-1])
    return Diagnosis(
        "levelled off",
        f"both losses have levelled off (validation − training = {gap:.3g} at epoch {n}): "
        "more epochs will not help much — a bigger model, another learning rate or more data "
        "might",
    )


def _diverged(loss: np.ndarray) -> bool:
    # diagnose_curves's first rule: not finite somewhere, or ending above where it started.
    return loss.size > 0 and (not np.isfinite(loss).all() or loss[-1] > loss[0])


def read_sweep(histories: Mapping[float, object]) -> tuple[list[float], float | None]:
    """Read a learning-rate sweep: which rates diverged, and which one did best.

    ``histories`` maps each learning rate to its run's history (``{"loss": [...],
    "val_loss": [...]}``, or what ``fit`` returned). A run **diverged** when its
    training loss became ``nan``/``inf`` or ends above its first epoch's value (the
    first rule of :func:`diagnose_curves`). The **best** of the others is the one whose
    validation loss reached the lowest value at any epoch (on equal values, the smaller
    rate). Returns ``(sorted diverged rates, best rate or None)``.

    Examples
    --------
    >>> read_sweep({1e-3: {"loss": [1.0, 0.8, 0.7], "val_loss": [1.0, 0.85, 0.8]},
    ...             1e-2: {"loss": [1.0, 0.5, 0.3], "val_loss": [0.9, 0.6, 0.65]},
    ...             1.0: {"loss": [1.0, 4.0, float("nan")], "val_loss": [2.0, 9.0, 9.0]}})
    ([1.0], 0.01)
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("Give the sweep as {learning_rate: history}, with at least one run.")
    diverged, best, lowest = [], None, np.inf
    for rate in sorted(histories):
        h = history_dict(histories[rate])
        if _diverged(_values(h, "loss")):
            diverged.append(rate)
            continue
        val = _values(h, "val_loss")
        finite = val[np.isfinite(val)]
        low = float(finite.min()) if finite.size else np.inf
        if best is None or low < lowest:
            best, lowest = rate, low
    return diverged, best
