"""The convolution calculator shows core's numbers for any settings and explains impossible ones."""

from __future__ import annotations

import html
import random
import re

import pytest

from cnnwidgets.core.arithmetic import output_size_formula
from cnnwidgets.core.params import conv_params
from cnnwidgets.core.sizes import conv_output_size
from cnnwidgets.widgets.calculator import ConvCalculator


def test_defaults_are_the_mnist_first_layer():
    calc = ConvCalculator()
    assert calc.output_size == (26, 26)
    assert calc.output_shape == (None, 26, 26, 32)
    assert calc.params == 320
    assert calc.formula == output_size_formula(28, 3)
    assert calc.error is None
    assert calc.uncovered_rows == calc.uncovered_cols == []
    assert "26 × 26 × 32" in calc.message and "320" in calc.message
    assert calc.n_positions == 26 * 26 and calc.window_output == (0, 0)


def test_traits_keep_kerass_names():
    calc = ConvCalculator(
        input_size=9,
        kernel_size=3,
        strides=1,
        padding="valid",
        dilation_rate=1,
        in_channels=3,
        filters=8,
    )
    assert calc.output_shape == (None, 7, 7, 8)
    assert calc.params == conv_params(3, 3, 8) == 224
    for name in ("input_size", "kernel_size", "strides", "padding", "dilation_rate", "filters"):
        assert calc.trait_metadata(name, "help"), name


def test_floor_leaves_a_row_unread_and_the_picture_shades_it():
    calc = ConvCalculator(input_size=6)
    calc.strides = 2
    assert calc.output_size == (2, 2)
    assert calc.uncovered_rows == [5] and calc.uncovered_cols == [5]
    assert calc.positions_rows == [0, 2]
    assert "rows 5 and columns 5" in calc.message
    assert calc.picture.count("#fca5a5") == 2  # one band for the row, one for the column
    calc.padding = "same"
    assert calc.uncovered_rows == [] and calc.output_size == (3, 3)
    assert calc.padding_rows == (0, 1)
    assert "ceil(6 / 2) = 3" in calc.formula and "0 top/left and 1 bottom/right" in calc.formula


def test_moving_controls_sets_the_traits():
    calc = ConvCalculator()
    c = calc.controls
    c["kernel_size"].value = 5
    assert calc.kernel_size == 5 and calc.output_size == (24, 24)
    c["padding"].value = "explicit"
    c["p"].value = 2
    assert calc.padding == 2 and calc.output_size == (28, 28)
    assert "2·2" in calc.formula
    c["padding"].value = "same"
    assert calc.padding == "same"
    c["square"].value = False
    c["width"].value = 20
    assert calc.input_size == (28, 20)
    assert calc.output_size == (28, 20) and calc.formula.startswith("rows: ")
    c["filters"].value = 64
    c["in_channels"].value = 3
    assert calc.params == conv_params(5, 3, 64) and calc.output_shape == (None, 28, 20, 64)
    c["square"].value = True
    assert calc.input_size == 28 and c["width"].layout.display == "none"
    c["square"].value = False  # the width box comes back holding the square's side
    assert c["width"].layout.display is None and c["width"].value == 28


def test_setting_traits_moves_the_controls():
    calc = ConvCalculator()
    calc.padding = 1
    calc.input_size = (10, 12)
    calc.kernel_size = 15  # past the slider's end: the slider grows
    c = calc.controls
    assert c["padding"].value == "explicit" and c["p"].value == 1 and not c["p"].disabled
    assert (c["height"].value, c["width"].value, c["square"].value) == (10, 12, False)
    assert c["kernel_size"].value == 15
    assert calc.error and "larger than the padded input" in calc.error


def test_dilation_and_stepping_through_positions():
    calc = ConvCalculator(input_size=7, kernel_size=3, dilation_rate=2)
    assert calc.output_size == (3, 3)
    calc.position = 4
    assert calc.window_output == (1, 1)
    assert calc.window_rows == [1, 3, 5] and calc.window_cols == [1, 3, 5]
    calc.controls["position"].value = 8
    assert calc.position == 8 and calc.window_output == (2, 2)
    # A position past the end outlines the last window instead of failing.
    calc.position = 100
    assert calc.window_output == (2, 2) and calc.error is None
    assert calc.controls["position"].max == 8


@pytest.mark.parametrize(
    ("settings", "sentence"),
    [
        ({"input_size": 2}, "larger than the padded input (2 + 2*0 = 2)"),
        ({"input_size": 4, "dilation_rate": 2}, "spans 5"),
        ({"kernel_size": 0}, "kernel_size must be at least 1"),
        ({"strides": 0}, "strides must be at least 1"),
        ({"padding": "full"}, "padding must be 'valid', 'same'"),
        ({"padding": -1}, "padding cannot be negative"),
        ({"input_size": (28, 0)}, "input_size must be at least 1"),
    ],
)
def test_impossible_settings_explain_themselves(settings, sentence):
    calc = ConvCalculator()
    for name, value in settings.items():
        setattr(calc, name, value)
    assert sentence in calc.error
    assert calc.output_size is None and calc.output_shape is None and calc.formula is None
    assert calc.message.startswith(calc.error)
    assert html.escape(sentence.split(" (")[0]) in calc._view.value
    assert "No picture" in calc.picture


def test_bad_filters_still_show_the_spatial_size():
    calc = ConvCalculator()
    calc.filters = 0
    assert "filters must be at least 1" in calc.error
    assert calc.output_size == (26, 26) and calc.output_shape is None and calc.params is None
    calc.filters = 16
    assert calc.error is None and calc.params == 160


def test_big_inputs_are_drawn_truncated():
    calc = ConvCalculator(input_size=150, kernel_size=3, padding="same")
    assert calc.truncated
    assert "showing the top-left 32 × 32" in calc.picture
    assert len(calc.picture) < 6000  # patterns, not one element per cell


def test_random_settings_never_raise_and_match_core():
    rng = random.Random(0)
    calc = ConvCalculator()
    for _ in range(200):
        size = rng.choice([rng.randint(0, 12), (rng.randint(1, 12), rng.randint(1, 12))])
        padding = rng.choice(["valid", "same", rng.randint(-1, 3)])
        settings = dict(
            input_size=size,
            kernel_size=rng.randint(0, 6),
            strides=rng.randint(1, 4),
            padding=padding,
            dilation_rate=rng.randint(1, 3),
            filters=rng.randint(1, 8),
        )
        with calc.hold_trait_notifications():
            for name, value in settings.items():
                setattr(calc, name, value)
        try:
            expected = conv_output_size(
                size,
                settings["kernel_size"],
                settings["strides"],
                padding,
                settings["dilation_rate"],
            )
        except ValueError as err:
            assert calc.output_size is None and calc.error.startswith(str(err))
            continue
        assert calc.error is None
        assert calc.output_size == (expected if isinstance(expected, tuple) else (expected,) * 2)
        numbers = [int(n) for n in re.findall(r"= (\d+)", calc.formula)]
        assert set(numbers) == set(calc.output_size)


def test_moving_one_control_leaves_the_other_traits_alone():
    calc = ConvCalculator()
    calc.kernel_size = 0  # the slider cannot show it; moving another control must not hide it
    calc.controls["strides"].value = 2
    assert calc.strides == 2 and calc.kernel_size == 0
    assert "kernel_size must be at least 1" in calc.error
    calc.controls["kernel_size"].value = 3
    assert calc.error is None and calc.output_size == (13, 13)


def test_settings_keras_refuses_get_a_note_not_an_error():
    calc = ConvCalculator(strides=2, dilation_rate=2)
    assert calc.error is None and calc.output_size == (12, 12)
    assert "strides > 1 together with dilation_rate > 1" in calc.note
    assert calc.note in calc.message
    calc.dilation_rate = 1
    assert calc.note is None
    calc.padding = 1
    assert "padding='valid' or 'same'" in calc.note and "ZeroPadding2D(1)" in calc.note


@pytest.mark.parametrize(
    ("settings", "zeros"),
    [
        ({"input_size": 28, "kernel_size": 7, "padding": "same"}, "3 on every side"),
        ({"input_size": 28, "kernel_size": 3}, "none"),
        ({"input_size": 6, "kernel_size": 3, "strides": 2, "padding": "same"}, "0 top, 1 bottom"),
        ({"input_size": 5, "kernel_size": 3, "padding": 2}, "2 on every side"),
    ],
)
def test_padding_shown_as_numbers_matches_the_text(settings, zeros):
    """The zeros beside the padding menu are the formula's: 'Keras pads 3' reads 3, not 0."""
    calc = ConvCalculator(**settings)
    shown = html.unescape(calc._zeros.value)
    assert zeros in shown
    geo = calc.arithmetic
    assert (geo.rows.pad_before, geo.rows.pad_after) == calc.padding_rows
    if settings.get("padding") == "same":
        before, after = calc.padding_rows
        assert f"pads {before} top/left and {after} bottom/right" in calc.formula
    # The typed p is for explicit padding only: elsewhere it is hidden, never a stale 0.
    explicit = isinstance(settings.get("padding"), int)
    assert (calc.controls["p"].layout.display is None) == explicit


def test_a_change_is_one_message_per_view(messages):
    """A new height: the readout and pictures in one message, first; the position slider's
    new range in one more; the Play buttons follow the slider in the browser (jslink)."""
    calc = ConvCalculator()
    messages.clear()
    calc.controls["height"].set_state({"value": 31})  # as the browser's message does
    assert calc.output_size == (29, 29)
    views = [v for v, _ in messages.sent]
    assert views[0] is calc._view
    assert max(messages.per_view().values()) == 1
    assert set(map(id, views)) <= {id(calc._view), id(calc.controls["position"])}
    assert messages.of(calc.controls["position"]) == [("max",)]
    messages.clear()
    calc.controls["position"].set_state({"value": 5})  # a step: the outline moves, nothing else
    assert [v for v, _ in messages.sent] == [calc._view]
