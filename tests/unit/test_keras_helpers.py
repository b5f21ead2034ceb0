"""cnnwidgets.keras_helpers: the quiet import, why something is not a model, shapes and heads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnnwidgets
from cnnwidgets import keras_helpers
from cnnwidgets.keras_helpers import (
    activation_name,
    head_of,
    input_shapes,
    not_a_model,
    output_shapes,
    quiet_keras,
)

from ._keras_oracle import run_doctests

REPO = Path(__file__).resolve().parents[2]

keras = quiet_keras()
layers = keras.layers

# Import the package, check Keras is not loaded yet, then import it quietly.
_PROBE = """
import json, os, sys
import cnnwidgets
before = sorted(m for m in ("keras", "tensorflow") if m in sys.modules)
keras = cnnwidgets.quiet_keras()
keras.layers.Dense(2)(keras.ops.ones((1, 3)))
print(json.dumps({"before": before, "level": os.environ.get("TF_CPP_MIN_LOG_LEVEL")}))
"""


def test_importing_the_package_loads_no_keras_and_quiet_keras_writes_nothing_to_stderr():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env["PYTHONPATH"] = str(REPO)
    run = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report == {"before": [], "level": "3"}


def test_the_helpers_are_public():
    for name in keras_helpers.__all__:
        assert getattr(cnnwidgets, name) is getattr(keras_helpers, name), name
    assert set(keras_helpers.__all__) <= set(cnnwidgets.__all__)


def _subclassed():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    return Net()


def _build_model():
    return keras.Sequential([keras.Input((4,)), layers.Dense(2)])


@pytest.mark.parametrize(
    ("make", "start"),
    [
        (lambda: None, "Got None instead of a Keras model — did build_model() forget"),
        (lambda: "x" * 40, "Got a string ('xxxxxxxxxxxxxxxxxxxxxxxxxxx...')"),
        (lambda: 3, "Got a int (3)"),
        (lambda: {"layers": 2}, "Got a dict ({'layers': 2})"),
        (lambda: keras.Sequential, "Got the class Sequential, not a model made from it"),
        (lambda: int, "Got the class int instead"),
        (lambda: [layers.Dense(2), layers.Dense(1)], "Got a list of 2 layers instead of a model"),
        (lambda: (), "Got a tuple of 0 items"),
        (lambda: layers.Dense(2), "Got a single Dense layer instead of a model"),
        (lambda: _build_model, "Got the function _build_model instead of a model — did you forget"),
        (lambda: object(), "Got a object instead"),
        (lambda: keras.Sequential([layers.Dense(2)]), "The model has no input shape yet"),
        (_subclassed, "Net is a subclassed keras.Model, whose layers the grader cannot see"),
    ],
)
def test_not_a_model_says_why(make, start):
    assert not_a_model(make()).startswith(start)


def test_not_a_model_suggests_the_task_s_input_shape():
    message = not_a_model(keras.Sequential([layers.Dense(2)]), example_shape=(8, 8, 1))
    assert "keras.Input(shape=(8, 8, 1))" in message


def test_models_are_models():
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, layers.Dense(2)(inputs))
    assert not_a_model(_build_model()) is None
    assert not_a_model(functional) is None


def test_shapes_of_one_and_of_several_inputs_and_outputs():
    a, b = keras.Input((4,)), keras.Input((8, 8, 1))
    joined = layers.Concatenate()([a, layers.Flatten()(b)])
    model = keras.Model([a, b], [layers.Dense(3)(joined), layers.Dense(1)(joined)])
    assert input_shapes(model) == [(None, 4), (None, 8, 8, 1)]
    assert output_shapes(model) == [(None, 3), (None, 1)]
    assert input_shapes(_build_model()) == (None, 4)
    assert output_shapes(_build_model()) == (None, 2)


@pytest.mark.parametrize(
    ("body", "units", "activation", "text"),
    [
        ([layers.Dense(1, activation="sigmoid")], 1, "sigmoid", "Dense(1, activation='sigmoid')"),
        ([layers.Dense(10), layers.Activation("softmax")], 10, "softmax", None),
        ([layers.Dense(10, activation="softmax"), layers.Dropout(0.2)], 10, "softmax", None),
        ([layers.Dense(3)], 3, "linear", "Dense(3) without an activation"),
        (
            [layers.Reshape((2, 2)), layers.Conv1D(5, 2, activation="relu")],
            5,
            "relu",
            "an output layer (Conv1D) with 5 units and activation 'relu'",
        ),
    ],
)
def test_head_of_reads_the_last_layer_and_looks_through_activations(body, units, activation, text):
    head = head_of(keras.Sequential([keras.Input((4,)), *body]))
    assert (head.units, head.activation) == (units, activation)
    assert head.text == (text or f"Dense({units}, activation={activation!r})")


def test_activation_names():
    assert activation_name(keras.activations.relu) == "relu"
    assert activation_name(None) == "linear"


def test_old_private_home_still_imports_for_the_widgets():
    from cnnwidgets._keras import quiet_keras as old

    assert old is quiet_keras


def test_docstring_examples():
    result = run_doctests(keras_helpers)
    assert result.failed == 0 and result.attempted >= 10
