"""Receptive fields by formula, checked against a gradient-based measurement in Keras."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import cnnwidgets.core.receptive as receptive_module
from cnnwidgets.core import receptive_field_table, receptive_mask, receptive_window

from ._keras_oracle import keras, oracle, run_doctests


@functools.cache
def tf():
    keras()
    import tensorflow

    return tensorflow


def measured_mask(size: tuple[int, int], specs: list[dict], row: int, col: int) -> np.ndarray:
    """The input pixels whose gradient for output (row, col) is not zero.

    Positive weights (all ones), no activation and a positive input leave nothing to
    cancel, so every input the output depends on gets a positive gradient. A max pool
    sends its gradient to one winner only, so pools are measured as average pools of the
    same geometry: the window a pool looks at does not depend on what it computes there.
    """
    layers = keras().layers
    stack = []
    for spec in specs:
        geometry = {k: v for k, v in spec.items() if k in ("strides", "padding", "dilation_rate")}
        if spec["layer"] == "Conv2D":
            stack.append(
                layers.Conv2D(
                    1,
                    spec["kernel_size"],
                    use_bias=False,
                    kernel_initializer="ones",
                    **geometry,
                )
            )
        else:
            stack.append(layers.AveragePooling2D(spec.get("pool_size", 2), **geometry))
    model = keras().Sequential([keras().Input((*size, 1)), *stack])
    t = tf()
    x = t.Variable(np.ones((1, *size, 1), dtype=np.float32))
    with t.GradientTape() as tape:
        out = model(x)[0, row, col, 0]
    return tape.gradient(out, x).numpy()[0, :, :, 0] > 0


@st.composite
def stacks(draw):
    specs = []
    for _ in range(draw(st.integers(1, 4))):
        padding = draw(st.sampled_from(["valid", "same"]))
        if draw(st.booleans()):
            k = draw(st.integers(1, 4))
            spec = {"layer": "Conv2D", "kernel_size": k, "padding": padding}
            if draw(st.booleans()):
                spec["strides"] = draw(st.integers(1, 3))
            else:
                spec["dilation_rate"] = draw(st.integers(1, 3))
        else:
            spec = {
                "layer": draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D"])),
                "pool_size": draw(st.integers(1, 3)),
                "padding": padding,
            }
            if draw(st.booleans()):
                spec["strides"] = draw(st.integers(1, 3))
        specs.append(spec)
    size = (draw(st.integers(4, 20)), draw(st.integers(4, 20)))
    return size, specs, draw(st.floats(0, 1)), draw(st.floats(0, 1))


@oracle(40)
@given(case=stacks())
@example(
    case=(
        (4, 4),
        [{"layer": "Conv2D", "kernel_size": 2, "padding": "same", "dilation_rate": 2}],
        0,
        0,
    )
)
@example(
    case=(
        (12, 12),
        [{"layer": "Conv2D", "kernel_size": 3, "padding": "same"}, {"layer": "MaxPooling2D"}],
        0.0,
        1.0,
    )
)
def test_window_matches_the_gradient_measured_in_keras(case):
    size, specs, fr, fc = case
    try:
        table = receptive_field_table(size, specs)
    except ValueError:
        assume(False)
    out = table[-1]["output_size"]
    row, col = int(fr * (out[0] - 1)), int(fc * (out[1] - 1))
    measured = measured_mask(size, specs, row, col)
    np.testing.assert_array_equal(receptive_mask(size, specs, row, col), measured)
    if not measured.any():  # every tap of a dilated kernel fell in the padding
        with pytest.raises(ValueError, match="no input pixel"):
            receptive_window(size, specs, row, col)
        return
    rows, cols = np.nonzero(measured)
    window = (rows.min(), rows.max()), (cols.min(), cols.max())
    assert receptive_window(size, specs, row, col) == window


def test_growth_through_the_course_stack():
    conv = {"layer": "Conv2D", "kernel_size": 3, "padding": "same"}
    pool = {"layer": "MaxPooling2D", "pool_size": 2}
    rows = receptive_field_table(28, [conv, pool, conv, pool])
    assert [r["size"] for r in rows] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert rows[-1]["output_size"] == (7, 7)
    dilated = receptive_field_table(28, [{**conv, "dilation_rate": 2}])
    assert dilated[0]["size"] == (5, 5)


def test_unclipped_window_reaches_into_the_padding():
    conv = [{"layer": "Conv2D", "kernel_size": 5, "padding": "same"}]
    assert receptive_window(8, conv, 0, 0, clip=False) == ((-2, 2), (-2, 2))
    assert receptive_window(8, conv, 0, 0) == ((0, 2), (0, 2))


def test_bad_stacks():
    with pytest.raises(ValueError, match="whole input"):
        receptive_field_table(8, [{"layer": "Flatten"}])
    with pytest.raises(ValueError, match="outside"):
        receptive_window(8, [{"layer": "Conv2D", "kernel_size": 3}], 6, 0)
    with pytest.raises(ValueError, match="Layer 2"):
        receptive_field_table(4, [{"layer": "Conv2D", "kernel_size": 3}] * 3)


def test_docstring_examples():
    assert run_doctests(receptive_module).failed == 0
