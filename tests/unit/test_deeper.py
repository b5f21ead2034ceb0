"""VGG doubling and a residual block: shapes, parameters and connections against Keras."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.deeper as deeper_module
from cnnwidgets.core import (
    doubling_filters,
    layer_inputs,
    param_totals,
    residual_block_table,
    shape_table,
    stack_table,
    vgg_stack,
)

from ._keras_oracle import keras, keras_model, oracle, run_doctests


def keras_residual_block(input_shape, filters, kernel_size, strides):
    k = keras()
    layers = k.layers
    x = k.Input(input_shape, name="input")
    a = layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", activation="relu", name="conv_a"
    )(x)
    b = layers.Conv2D(filters, kernel_size, padding="same", name="conv_b")(a)
    shortcut = x
    if strides != 1 or input_shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, name="projection")(x)
    added = layers.Add(name="add")([shortcut, b])
    return k.Model(x, layers.Activation("relu", name="relu")(added))


@oracle(15)
@given(
    size=st.integers(3, 16),
    channels=st.integers(1, 8),
    filters=st.integers(1, 8),
    kernel_size=st.sampled_from([1, 3, 5]),
    strides=st.integers(1, 3),
)
def test_residual_block_matches_a_keras_functional_model(
    size, channels, filters, kernel_size, strides
):
    model = keras_residual_block((size, size, channels), filters, kernel_size, strides)
    ours = residual_block_table((size, size, channels), filters, kernel_size, strides)
    theirs = shape_table(model)
    by_name = {r["name"]: r for r in theirs}
    assert [r["name"] for r in ours] == [r["name"] for r in theirs]
    for row in ours:
        assert row["output_shape"] == by_name[row["name"]]["output_shape"]
        assert row["params"] == by_name[row["name"]]["params"]
    assert layer_inputs(model) == {r["name"]: r["inputs"] for r in ours}


def test_sequential_models_are_chains():
    model = keras_model((8, 8, 1), [{"layer": "Conv2D", "filters": 2, "kernel_size": 3}])
    model.add(keras().layers.Flatten(name="flat"))
    names = [layer.name for layer in model.layers]
    assert layer_inputs(model) == {names[0]: [], "flat": [names[0]]}


def test_vgg_stack_doubles_and_matches_keras():
    assert doubling_filters(16, 4) == [16, 32, 64, 128]
    specs = vgg_stack(blocks=3, filters=32)
    ours = stack_table((32, 32, 3), specs)
    theirs = shape_table(keras_model((32, 32, 3), specs, fresh=True))
    assert [(r["output_shape"], r["params"]) for r in ours] == [
        (r["output_shape"], r["params"]) for r in theirs
    ]
    filters = [s["filters"] for s in specs if s["layer"] == "Conv2D"]
    assert filters == [32, 32, 64, 64, 128, 128]
    assert param_totals(ours)["total"] == 814_122


def test_bad_input():
    with pytest.raises(ValueError, match="height, width, channels"):
        residual_block_table((8, 8), 4)


def test_docstring_examples():
    assert run_doctests(deeper_module).failed == 0
