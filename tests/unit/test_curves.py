"""Learning-curve reading: best epoch, gap, diagnosis, and EarlyStopping replayed against Keras."""

from __future__ import annotations

import numpy as np
import pytest

import cnnwidgets.core.curves as curves_module
from cnnwidgets.core.curves import (
    Diagnosis,
    accuracy_key,
    best_epoch,
    diagnose_curves,
    gap_trend,
    generalization_gap,
    history_dict,
    read_sweep,
    simulate_early_stopping,
)

from ._keras_oracle import keras, run_doctests

# Validation loss bottoms out at epoch 5 and rises for 3 epochs; training loss keeps falling.
OVERFIT = {
    "loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.07],
    "accuracy": [0.70, 0.82, 0.88, 0.91, 0.94, 0.96, 0.97, 0.98],
    "val_loss": [0.9, 0.7, 0.6, 0.55, 0.5, 0.52, 0.56, 0.6],
    "val_accuracy": [0.72, 0.80, 0.84, 0.86, 0.88, 0.88, 0.87, 0.87],
}
STILL_FALLING = {
    "loss": [2.0, 1.2, 0.8, 0.6],
    "accuracy": [0.4, 0.65, 0.78, 0.84],
    "val_loss": [1.8, 1.1, 0.8, 0.65],
    "val_accuracy": [0.45, 0.66, 0.77, 0.82],
}
UNDERFIT = {
    "loss": [2.30, 2.10, 2.05, 2.04, 2.035],
    "accuracy": [0.12, 0.22, 0.25, 0.255, 0.258],
    "val_loss": [2.25, 2.08, 2.05, 2.045, 2.04],
    "val_accuracy": [0.15, 0.23, 0.25, 0.25, 0.26],
}


class _Recorded:
    """A stand-in for what model.fit returns: only ``.history`` is read."""

    def __init__(self, history):
        self.history = history


# --- history_dict, accuracy_key ---------------------------------------------------------------


def test_history_dict_takes_a_history_object_or_a_dict_and_copies_it():
    h = history_dict(_Recorded({"loss": np.array([0.5, 0.25], dtype=np.float32)}))
    assert h == {"loss": [0.5, 0.25]}
    assert all(type(v) is float for v in h["loss"])
    source = {"loss": [1.0]}
    history_dict(source)["loss"].append(2.0)
    assert source == {"loss": [1.0]}


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ([0.5, 0.4], "History"),
        ({"loss": [0.5, 0.4], "val_loss": [0.6]}, "validation_freq"),
        ({"loss": "0.5"}, "one number per epoch"),
        ({"loss": [0.5, "x"]}, "must hold numbers"),
    ],
)
def test_history_dict_explains_what_is_wrong(bad, words):
    with pytest.raises(ValueError, match=words):
        history_dict(bad)


def test_accuracy_key_finds_the_names_keras_writes():
    assert accuracy_key(OVERFIT) == "accuracy"
    assert accuracy_key({"loss": [1], "acc": [0.5], "val_acc": [0.4]}) == "acc"
    assert accuracy_key({"loss": [1], "val_binary_accuracy": [0.5], "binary_accuracy": [1]}) == (
        "binary_accuracy"
    )
    assert accuracy_key({"loss": [1], "val_accuracy": [0.5]}) is None


# --- best_epoch, gap ----------------------------------------------------------------------------


def test_best_epoch_counts_from_one_and_follows_the_monitor():
    assert best_epoch(OVERFIT) == 5
    assert best_epoch(OVERFIT, "val_accuracy") == 5  # first of the tied 0.88s
    assert best_epoch(OVERFIT, "loss") == 8
    assert best_epoch(OVERFIT, "val_loss", mode="max") == 1


def test_best_epoch_skips_nan_and_says_how_to_get_validation_values():
    assert best_epoch({"val_loss": [np.nan, 0.5, 0.4, np.nan]}) == 3
    with pytest.raises(ValueError, match="validation_split=0.2"):
        best_epoch({"loss": [0.5, 0.4]})
    with pytest.raises(ValueError, match="mode='max'"):
        best_epoch({"val_f": [0.5]}, "val_f")
    with pytest.raises(ValueError, match="mode must be"):
        best_epoch(OVERFIT, mode="down")


def test_gap_is_positive_when_validation_is_worse():
    loss_gap = generalization_gap(OVERFIT)
    assert loss_gap == pytest.approx(np.subtract(OVERFIT["val_loss"], OVERFIT["loss"]))
    acc_gap = generalization_gap(OVERFIT, "accuracy")
    assert acc_gap == pytest.approx(np.subtract(OVERFIT["accuracy"], OVERFIT["val_accuracy"]))
    assert acc_gap[-1] > 0 and loss_gap[-1] > 0


def test_gap_trend():
    assert gap_trend(OVERFIT) == "growing"
    assert gap_trend(OVERFIT, "accuracy") == "growing"
    shrinking = {"loss": [0.5, 0.45, 0.4], "val_loss": [1.0, 0.7, 0.5]}
    assert gap_trend(shrinking) == "shrinking"
    assert gap_trend(UNDERFIT) == "steady"
    assert gap_trend({"loss": [0.5], "val_loss": [0.6]}) == "unknown"
    assert gap_trend(OVERFIT, window=2, tolerance=1.0) == "steady"
    with pytest.raises(ValueError, match="window"):
        gap_trend(OVERFIT, window=1)


# --- simulate_early_stopping against Keras's EarlyStopping --------------------------------------


class _FakeModel:
    """Just enough of a model for EarlyStopping: its "weights" are the current epoch number."""

    def __init__(self):
        self.stop_training = False
        self.epoch = -1
        self.restored = None

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, weights):
        self.restored = weights[0]


def _keras_early_stopping(values, **kwargs):
    """Drive keras.callbacks.EarlyStopping over recorded values: (stop index, restored index)."""
    callback = keras().callbacks.EarlyStopping(restore_best_weights=True, **kwargs)
    model = _FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.epoch = epoch
        callback.on_epoch_end(epoch, {kwargs.get("monitor", "val_loss"): value})
        if model.stop_training:
            break
    callback.on_train_end()
    stopped = callback.stopped_epoch if model.stop_training else None
    return stopped, model.restored


@pytest.mark.parametrize("seed", range(12))
def test_simulate_early_stopping_does_what_keras_does(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 15))
    # A noisy U-shaped validation curve, rounded so that ties happen.
    t = np.linspace(-1, 1, n)
    values = np.round(t**2 + rng.normal(0, 0.15, n) + rng.uniform(0.2, 1), 1).tolist()
    options = {
        "patience": int(rng.integers(0, 4)),
        "min_delta": float(rng.choice([0.0, 0.05, 0.2])),
        "start_from_epoch": int(rng.choice([0, 0, 2])),
    }
    if seed % 4 == 3:
        options["baseline"] = float(np.round(np.median(values), 1))
    mode = "max" if seed % 3 == 2 else "min"
    stopped, restored = _keras_early_stopping(values, mode=mode, **options)
    out = simulate_early_stopping({"val_loss": values}, mode=mode, **options)
    assert out.stop_epoch == (None if stopped is None else stopped + 1)
    assert out.restored_epoch == (None if restored is None else restored + 1)


def test_early_stopping_outcome_in_words():
    out = simulate_early_stopping(OVERFIT, patience=2)
    assert (out.stop_epoch, out.restored_epoch, out.epochs_run, out.epochs_saved) == (7, 5, 7, 1)
    assert out.best_value == pytest.approx(0.5)
    assert str(out) == (
        "EarlyStopping(monitor='val_loss', patience=2) would have stopped after epoch 7 of 8 "
        "(1 epoch saved); with restore_best_weights=True the model keeps the weights of "
        "epoch 5 (val_loss 0.5)."
    )
    patient = simulate_early_stopping(OVERFIT, patience=5)
    assert not patient.stopped and patient.epochs_saved == 0 and patient.restored_epoch == 5
    assert "would not have stopped within these 8 epochs" in patient.message
    by_accuracy = simulate_early_stopping(OVERFIT, "val_accuracy", patience=1)
    assert (by_accuracy.stop_epoch, by_accuracy.restored_epoch) == (6, 5)
    with pytest.raises(ValueError, match="patience"):
        simulate_early_stopping(OVERFIT, patience=-1)


# --- diagnose_curves ----------------------------------------------------------------------------


def test_overfitting_is_named_with_the_epochs_and_the_fixes():
    d = diagnose_curves(OVERFIT)
    assert d == Diagnosis(
        "overfitting",
        "validation loss has risen for 3 epochs since epoch 5 while training loss keeps "
        "falling: overfitting — try dropout, L2, augmentation or "
        "EarlyStopping(monitor='val_loss', patience=3)",
    )
    assert "patience=5)" in diagnose_curves(OVERFIT, patience=5).message


def test_both_losses_falling_means_train_longer():
    assert diagnose_curves(STILL_FALLING) == Diagnosis(
        "train longer", "both losses still falling: train longer"
    )


def test_low_stalled_training_accuracy_is_underfitting():
    d = diagnose_curves(UNDERFIT)
    assert d.verdict == "underfitting"
    assert d.message == (
        "training accuracy stays low (0.26 at epoch 5): underfitting — a bigger model or a "
        "higher learning rate"
    )
    # Low but still climbing fast: that is not underfitting yet.
    climbing = {k: v[:2] for k, v in UNDERFIT.items()}
    assert diagnose_curves(climbing).verdict != "underfitting"
    assert diagnose_curves(UNDERFIT, low_accuracy=0.2).verdict != "underfitting"


@pytest.mark.parametrize(
    ("history", "verdict", "words"),
    [
        ({"loss": [1.0, np.nan, np.nan]}, "diverging", "became nan at epoch 2"),
        ({"loss": [1.0, 3.0, 9.0], "val_loss": [1, 3, 9]}, "diverging", "learning rate"),
        ({"loss": [1.0], "val_loss": [1.1]}, "too short", "only one epoch"),
        ({"loss": [1.0, 0.5]}, "no validation", "validation_split=0.2"),
        (
            {"loss": [1.0, 0.5, 0.5, 0.5], "val_loss": [0.9, 0.5, 0.7, 0.8]},
            "unstable",
            "since epoch 2",
        ),
        (
            {"loss": [1.0, 0.6, 0.45, 0.35, 0.27], "val_loss": [0.9, 0.62, 0.55, 0.55, 0.551]},
            "starting to overfit",
            "levelled off since epoch 3",
        ),
        (
            {"loss": [1.0, 0.3, 0.3, 0.3], "val_loss": [1.0, 0.35, 0.35, 0.35]},
            "levelled off",
            "more epochs will not help",
        ),
    ],
)
def test_the_other_verdicts(history, verdict, words):
    d = diagnose_curves(history)
    assert d.verdict == verdict, d.message
    assert words in d.message
    assert str(d) == d.message


def test_an_empty_history_is_an_error():
    with pytest.raises(ValueError, match="at least one epoch"):
        diagnose_curves({"loss": []})


def test_docstring_examples():
    result = run_doctests(curves_module)
    assert result.failed == 0 and result.attempted > 0


# --- read_sweep ------------------------------------------------------------------------------


def _run(loss, val_loss):
    return {"loss": list(loss), "val_loss": list(val_loss)}


def test_read_sweep_names_the_diverged_and_the_lowest_validation_loss():
    sweep = {
        1e-4: _run([1.0, 0.95, 0.9, 0.86], [1.0, 0.96, 0.92, 0.9]),  # crawls
        1e-3: _run([1.0, 0.6, 0.4, 0.3], [0.9, 0.55, 0.45, 0.5]),  # lowest at epoch 3: 0.45
        1e-2: _run([1.0, 0.5, 0.3, 0.2], [0.8, 0.5, 0.6, 0.8]),  # lowest 0.5, then overfits
        1.0: _run([1.0, 2.0, 5.0, 9.0], [1.0, 2.0, 5.0, 9.0]),  # climbs
        2.0: _run([1.0, float("nan"), float("nan"), float("nan")], [1.0] * 4),  # nan
    }
    assert read_sweep(sweep) == ([1.0, 2.0], 1e-3)


def test_read_sweep_agrees_with_diagnose_curves_on_divergence():
    rng = np.random.default_rng(0)
    for _ in range(200):
        loss = np.exp(rng.normal(0, 0.5, int(rng.integers(1, 8)))).tolist()
        if rng.random() < 0.2:
            loss[int(rng.integers(0, len(loss)))] = float(rng.choice([np.nan, np.inf]))
        run = _run(loss, np.abs(rng.normal(1, 0.3, len(loss))))
        diverged, best = read_sweep({0.1: run})
        assert (diverged == [0.1]) == (diagnose_curves(run).verdict == "diverging"), run
        assert best == (None if diverged else 0.1)


def test_read_sweep_breaks_ties_by_the_smaller_rate_and_ignores_nan_validation():
    same = _run([1.0, 0.5], [0.7, 0.4])
    assert read_sweep({0.01: same, 0.001: same}) == ([], 0.001)
    nan_val = _run([1.0, 0.5], [float("nan"), 0.3])
    assert read_sweep({0.01: same, 0.05: nan_val}) == ([], 0.05)
    assert read_sweep({0.5: _run([1.0, 3.0], [1.0, 3.0])}) == ([0.5], None)
    with pytest.raises(ValueError, match="learning_rate: history"):
        read_sweep({})
    with pytest.raises(ValueError, match="no 'val_loss'"):
        read_sweep({0.1: {"loss": [1.0, 0.5]}})
