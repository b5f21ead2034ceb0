"""TrainingMonitor: a real Keras callback during fit, and the static summary of a History."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from contextlib import contextmanager

import numpy as np
import pytest

import cnnwidgets.widgets.training as training_module
from cnnwidgets.core.curves import diagnose_curves, simulate_early_stopping
from cnnwidgets.widgets.training import MIMETYPE, TrainingMonitor

OVERFIT = {
    "loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.07],
    "accuracy": [0.70, 0.82, 0.88, 0.91, 0.94, 0.96, 0.97, 0.98],
    "val_loss": [0.9, 0.7, 0.6, 0.55, 0.5, 0.52, 0.56, 0.6],
    "val_accuracy": [0.72, 0.80, 0.84, 0.86, 0.88, 0.89, 0.87, 0.87],
}


@pytest.fixture(scope="module")
def keras():
    from cnnwidgets._keras import quiet_keras

    return quiet_keras()


@pytest.fixture(scope="module")
def digits():
    from cnnwidgets.data import load_dataset

    X, y, _ = load_dataset("digits", n=300)
    return X, y


def _tiny_model(keras):
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            L.Conv2D(4, 3, activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@contextmanager
def _captured_fds():
    """Everything written to file descriptors 1 and 2 inside the block (what nbgrader sees)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    written: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield written
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            written.append(sink.read().decode(errors="replace"))


@pytest.fixture(scope="module")
def trained(keras, digits):
    """The model's first fit (3 epochs, verbose=0) with a monitor, and what it wrote."""
    X, y = digits
    model = _tiny_model(keras)
    monitor = TrainingMonitor()
    with _captured_fds() as written:
        history = model.fit(
            X, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0, callbacks=[monitor]
        )
    return model, monitor, history, written[0]


def test_it_is_a_keras_callback_and_a_widget(keras):
    import ipywidgets as W

    monitor = TrainingMonitor()
    assert isinstance(monitor, keras.callbacks.Callback)
    assert isinstance(monitor, TrainingMonitor) and isinstance(monitor, W.VBox)
    assert type(monitor).__name__ == "TrainingMonitor"
    assert monitor.history == {} and monitor.best_epoch is None and monitor.diagnosis == ""
    assert monitor.progress_text.startswith("waiting for model.fit")


def test_the_history_is_keras_history_and_the_best_epoch_is_marked(trained):
    _, monitor, history, _ = trained
    assert monitor.history == history.history
    assert set(monitor.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    best = int(np.argmin(history.history["val_loss"])) + 1
    assert monitor.best_epoch == best
    assert monitor.gap == pytest.approx(
        np.subtract(history.history["val_loss"], history.history["loss"]).tolist()
    )
    assert monitor.diagnosis == diagnose_curves(history).message
    assert monitor.early_stopping == simulate_early_stopping(history, patience=3)
    assert re.fullmatch(
        r"done: 3 epochs in \d+\.\d s · loss \S+ · accuracy \S+ · val_loss \S+ · val_accuracy \S+",
        monitor.progress_text,
    ), monitor.progress_text


def test_one_figure_replaced_in_place_with_the_curves_and_the_best_epoch(trained):
    import plotly.graph_objects as go

    _, monitor, history, _ = trained
    fig = monitor.figure
    go.Figure(fig)  # plotly accepts the hand-built dict
    names = [trace["name"] for trace in fig["data"]]
    assert names == [
        "training loss",
        "validation loss",
        f"best epoch {monitor.best_epoch}",
        "training accuracy",
        "validation accuracy",
    ]
    assert fig["data"][0]["y"] == pytest.approx(history.history["loss"])
    assert fig["data"][1]["fill"] == "tonexty"  # the shaded gap
    assert fig["data"][0]["x"] == [1, 2, 3]
    assert [shape["x0"] for shape in fig["layout"]["shapes"]] == [monitor.best_epoch] * 2
    outputs = monitor._plot.outputs
    assert len(outputs) == 1 and outputs[0]["data"][MIMETYPE] is fig


def test_fit_writes_nothing_to_stdout_or_stderr(trained):
    # nbgrader fails a cell with stderr output; TensorFlow's start-up included.
    assert trained[3] == ""


def test_a_second_fit_continues_or_starts_again(trained, digits):
    model = trained[0]
    X, y = digits[0][:96], digits[1][:96]
    monitor = TrainingMonitor()
    with _captured_fds() as written:
        first = model.fit(X, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[monitor])
        more = model.fit(
            X, y, epochs=3, initial_epoch=2, validation_split=0.25, verbose=0, callbacks=[monitor]
        )
        assert monitor.history["loss"] == first.history["loss"] + more.history["loss"]
        assert monitor.epochs == 3 and monitor.figure["data"][0]["x"] == [1, 2, 3]
        again = model.fit(X, y, epochs=1, validation_split=0.25, verbose=0, callbacks=[monitor])
        assert monitor.history == again.history
    assert written == [""]


def test_from_history_gives_the_same_summary(trained):
    _, live, history, _ = trained
    for source in (history, history.history):
        static = TrainingMonitor.from_history(source)
        assert static.history == live.history
        assert (static.best_epoch, static.diagnosis, static.gap) == (
            live.best_epoch,
            live.diagnosis,
            live.gap,
        )
        assert static.figure["data"] == live.figure["data"]
        assert static.progress_text == "3 epochs (from a recorded history)"


def test_a_crafted_overfitting_run():
    m = TrainingMonitor.from_history(OVERFIT, title="dropout 0")
    assert m.best_epoch == 5 and m.verdict == "overfitting"
    assert m.diagnosis.startswith("validation loss has risen for 3 epochs since epoch 5")
    assert m.gap_trend == "growing"
    assert m.early_stopping.stop_epoch == 8  # patience 3: at the last epoch
    assert "would have stopped at epoch 8, the last one here" in m._summary.value
    assert "overfitting — try dropout" in m._summary.value and "★" in m._summary.value
    assert m.figure["layout"]["title"]["text"] == "dropout 0"
    m.patience = 2  # a student moves the patience
    assert (m.early_stopping.stop_epoch, m.early_stopping.restored_epoch) == (7, 5)
    assert "patience=2" in m.diagnosis and "stopped after epoch 7 of 8" in m._summary.value
    m._patience_slider.value = 1  # ... or the slider
    assert m.patience == 1 and m.early_stopping.stop_epoch == 6
    m.monitor = "val_accuracy"
    assert m.best_epoch == 6 and m.early_stopping.monitor == "val_accuracy"
    assert m.figure["data"][-1]["name"] == "best epoch 6"  # the star is on the accuracy panel
    m._monitor_dd.value = "loss"
    assert m.monitor == "loss" and m.best_epoch == 8
    assert list(m._monitor_dd.options) == list(OVERFIT)


def test_without_validation_data_it_says_how_to_get_it():
    m = TrainingMonitor.from_history({"loss": [1.0, 0.5, 0.4]})
    assert m.best_epoch is None and m.gap == [] and m.early_stopping is None
    assert "'val_loss' is not recorded" in m.message and "validation_split=0.2" in m.message
    assert m.verdict == "no validation"
    assert [t["name"] for t in m.figure["data"]] == ["training loss"]


def test_missing_points_become_null_so_the_figure_is_valid_json():
    m = TrainingMonitor.from_history({"loss": [1.0, float("nan")], "val_loss": [1.0, 0.9]})
    json.dumps(m.figure, allow_nan=False)
    assert m.figure["data"][0]["y"] == [1.0, None]
    assert m.verdict == "diverging"


def test_progress_during_an_epoch(monkeypatch):
    monkeypatch.setattr(training_module, "_BATCH_REFRESH_S", 0.0)
    m = TrainingMonitor()
    m.set_params({"epochs": 10, "steps": 45, "verbose": 0})
    m.on_train_begin()
    m.on_epoch_begin(2)
    m.on_train_batch_begin(20)
    assert re.fullmatch(r"epoch 3/10 · batch 20/45 · \d+\.\d s", m.progress_text)
    m.on_test_begin()
    assert "validating" in m.progress_text
    m.batch_progress = False
    m.on_train_batch_begin(30)
    assert "batch 30" not in m.progress_text


def test_an_early_stop_is_reported():
    class Stopped:
        stop_training = True

    m = TrainingMonitor()
    m.set_model(Stopped())
    m.set_params({"epochs": 10, "steps": 3})
    m.on_train_begin()
    for epoch, (loss, val) in enumerate([(1.0, 0.9), (0.8, 1.0)]):
        m.on_epoch_begin(epoch)
        m.on_epoch_end(epoch, {"loss": loss, "val_loss": val})
    m.on_train_end()
    assert m.progress_text.startswith("done: 2 epochs in ")
    assert "(stopped early, 10 planned)" in m.progress_text


def test_the_saved_widget_state_stays_small(trained):
    # No plotly FigureWidget (a ~5 MB bundle in each saved notebook): the whole
    # monitor, figure included, is a few kilobytes of widget state.
    _, monitor, _, _ = trained

    def states(widget):
        yield widget.get_state()
        for child in getattr(widget, "children", ()):
            yield from states(child)

    text = json.dumps(list(states(monitor)), default=str)
    assert len(text) < 30_000
    assert "_esm" not in text


def test_patience_cannot_be_negative():
    import traitlets

    with pytest.raises(traitlets.TraitError, match="patience"):
        TrainingMonitor(patience=-1)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(training_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
