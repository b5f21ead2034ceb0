"""Kernel positions, unread cells and filled-in formulas agree with brute force and with Keras."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnwidgets.core import arithmetic
from cnnwidgets.core.arithmetic import (
    conv_arithmetic,
    conv_params_formula,
    coverage,
    first_window,
    kernel_positions,
    kernel_taps,
    output_size_formula,
    padding_mask,
    uncovered,
    window_box,
    window_products,
    window_start,
)
from cnnwidgets.core.conv import conv2d, conv_window
from cnnwidgets.core.params import conv_params
from cnnwidgets.core.sizes import conv_output_size, effective_kernel_size, padding_amounts

from ._keras_oracle import keras, keras_conv2d, keras_depthwise, oracle, run_doctests, seeds

configs = st.tuples(
    st.integers(1, 30),  # input_size
    st.integers(1, 7),  # kernel_size
    st.integers(1, 5),  # strides
    st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 4)),  # padding
    st.integers(1, 4),  # dilation_rate
)


def _feasible(i, k, s, p, d) -> bool:
    try:
        conv_output_size(i, k, s, p, d)
    except ValueError:
        return False
    return True


def _brute(i, k, s, p, d):
    """Positions and unread cells straight from the definitions, sharing no code with core."""
    before, after = padding_amounts(i, k, s, p, d)
    padded = i + before + after
    span = (k - 1) * d + 1
    starts = [x for x in range(padded) if x % s == 0 and x + span <= padded]
    read = {x + t * d - before for x in starts for t in range(k)}
    return starts, [x for x in range(i) if x not in read]


def _final_number(formula: str) -> int:
    return int(re.search(r"= (\d+)(?: \(|$)", formula).group(1))


# --- worked examples ---------------------------------------------------------------------


def test_floor_leaves_the_last_row_out():
    assert kernel_positions(6, 3, strides=2) == [0, 2]
    assert uncovered(6, 3, strides=2) == [5]
    assert uncovered(6, 3, strides=2, padding="same") == []


def test_nine_by_nine_with_three_by_three_gives_seven():
    geo = conv_arithmetic(9, 3)
    assert geo.output_size == (7, 7)
    assert geo.rows.positions == tuple(range(7))
    assert geo.rows.uncovered == ()


def test_dilation_gaps_count_as_unread():
    # Both windows read padded 0, 2 and 2, 4: cells 1 and 3 sit between taps every time.
    assert kernel_taps(5, 2, strides=2, dilation_rate=2) == [[0, 2], [2, 4]]
    assert uncovered(5, 2, strides=2, dilation_rate=2) == [1, 3]
    # With stride 1 the next window reads what the previous one skipped.
    assert uncovered(5, 2, strides=1, dilation_rate=2) == []


def test_same_padding_can_still_skip_cells_when_the_stride_outruns_the_kernel():
    assert uncovered(6, 1, strides=2, padding="same") == [1, 3, 5]


def test_coverage_counts_overlaps():
    assert coverage(5, 3).tolist() == [1, 2, 3, 2, 1]
    assert coverage(4, 3, padding="same").tolist() == [2, 3, 3, 2]


def test_positions_are_in_padded_coordinates():
    assert kernel_positions(5, 3, strides=2, padding=1) == [0, 2, 4]
    geo = conv_arithmetic(5, 3, strides=2, padding=1)
    assert (geo.rows.pad_before, geo.rows.pad_after, geo.rows.padded_size) == (1, 1, 7)
    assert geo.rows.taps(2) == (4, 5, 6)


def test_formulas_read_like_the_lecture():
    assert output_size_formula(28, 3) == "o = floor((28 + 2·0 − 3 − (3−1)(1−1)) / 1) + 1 = 26"
    assert output_size_formula(5, 3, strides=2, padding=1, dilation_rate=1) == (
        "o = floor((5 + 2·1 − 3 − (3−1)(1−1)) / 2) + 1 = 3"
    )
    assert output_size_formula(28, 3, strides=2, padding="same") == (
        "o = ceil(28 / 2) = 14 (Keras 'same' pads 0 top/left and 1 bottom/right)"
    )
    assert output_size_formula(28, 3, 2, "same", axis="rows").endswith("0 top and 1 bottom)")
    assert output_size_formula(28, 3, 2, "same", axis="cols").endswith("0 left and 1 right)")


def test_params_formula():
    assert conv_params_formula(3, 1, 32) == "32·3·3·1 + 32 = 320"
    assert conv_params_formula((2, 2), 3, 16, use_bias=False) == "16·2·2·3 = 192"


def test_two_d_keeps_the_axes_apart():
    geo = conv_arithmetic((6, 8), (3, 2), strides=2)
    assert geo.output_size == (2, 4) == conv_output_size((6, 8), (3, 2), 2)
    assert geo.rows.uncovered == (5,) and geo.cols.uncovered == ()
    assert geo.formula.splitlines()[0].startswith("rows: ") and "= 4" in geo.formula
    assert geo.coverage.shape == (6, 8)
    assert (geo.coverage[5] == 0).all() and geo.coverage[:5].all()
    assert "\n" not in conv_arithmetic(6, 3).formula


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: uncovered(2, 3), "larger than the padded input"),
        (lambda: kernel_positions(4, 3, dilation_rate=2), "spans 5"),
        (lambda: conv_arithmetic((28, 2), 3), "larger than the padded input"),
        (lambda: output_size_formula(28, 3, padding="full"), "padding must be"),
        (lambda: kernel_positions(28, 0), "kernel_size must be at least 1"),
        (lambda: output_size_formula(28, 3, axis="depth"), "axis must be"),
        (lambda: conv_arithmetic(6, 3).rows.taps(4), "outside the output"),
        (lambda: conv_params_formula(3, 1, 0), "filters must be at least 1"),
    ],
)
def test_impossible_settings_raise_the_core_sentence(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- brute force on random settings ------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(configs)
def test_against_brute_force(config):
    i, k, s, p, d = config
    if not _feasible(*config):
        with pytest.raises(ValueError, match="larger than the padded input"):
            uncovered(*config)
        return
    starts, unread = _brute(*config)
    assert kernel_positions(*config) == starts
    assert len(starts) == conv_output_size(*config)
    assert uncovered(*config) == unread
    before = padding_amounts(*config)[0]
    reads = [x + t * d - before for x in starts for t in range(k)]
    assert coverage(*config).tolist() == [reads.count(x) for x in range(i)]
    geo = conv_arithmetic(*config).rows
    assert geo.uncovered == tuple(unread)
    assert geo.effective_kernel_size == effective_kernel_size(k, d)
    assert starts[-1] + geo.effective_kernel_size <= geo.padded_size


@settings(max_examples=100, deadline=None)
@given(configs)
def test_unread_cells_do_not_change_the_output(config):
    """Oracle: convolve one-hot inputs; a cell is unread iff its one-hot gives all zeros."""
    i, k, s, p, d = config
    if not _feasible(*config):
        return
    # Column x of the identity is the one-hot input for cell x; a (k, 1) kernel of ones
    # slides down the rows only, so output column x (shifted by explicit padding) is the
    # response to cell x.
    out = conv2d(np.eye(i, dtype=np.int64), np.ones((k, 1), np.int64), (s, 1), p, (d, 1))
    shift = p if isinstance(p, int) else 0
    response = out[:, shift : shift + i]
    assert out.shape[0] == conv_output_size(*config)
    assert np.flatnonzero(response.sum(axis=0) == 0).tolist() == uncovered(*config)
    assert response.sum(axis=0).tolist() == coverage(*config).tolist()


@settings(max_examples=200, deadline=None)
@given(configs)
def test_formula_final_number_is_conv_output_size(config):
    i, k, s, p, d = config
    if not _feasible(*config):
        return
    formula = output_size_formula(*config)
    assert _final_number(formula) == conv_output_size(*config)
    if p == "same":
        before, after = padding_amounts(*config)
        assert f"ceil({i} / {s})" in formula and f"pads {before} top/left and {after}" in formula
    else:
        assert f"(({i} + 2·{0 if p == 'valid' else p} − {k} − ({k}−1)({d}−1)) / {s})" in formula


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 7), st.integers(1, 64), st.integers(1, 64), st.booleans())
def test_params_formula_final_number_is_conv_params(k, c, f, bias):
    assert _final_number(conv_params_formula(k, c, f, bias)) == conv_params(k, c, f, bias)


# --- Keras as the oracle, on a few settings ------------------------------------------------


def test_keras_reads_the_same_cells():
    from cnnwidgets._keras import quiet_keras

    keras = quiet_keras()
    settings_ = [
        (6, 3, 2, "valid", 1),
        (7, 2, 3, "same", 1),
        (6, 1, 2, "same", 1),
        (9, 3, 1, "valid", 3),
        (8, 2, 1, "same", 2),
        (10, 3, 4, "same", 1),
    ]
    for i, k, s, p, d in settings_:
        # A batch of one-hot images, one per input row, through a kernel of ones.
        x = np.zeros((i, i, 1, 1), np.float32)
        x[np.arange(i), np.arange(i), 0, 0] = 1
        kernel = np.ones((k, 1, 1, 1), np.float32)
        y = keras.ops.convert_to_numpy(
            keras.ops.conv(x, kernel, strides=(s, 1), padding=p, dilation_rate=(d, 1))
        )
        assert y.shape[1] == conv_output_size(i, k, s, p, d)
        assert np.flatnonzero(y.sum(axis=(1, 2, 3)) == 0).tolist() == uncovered(i, k, s, p, d)


# --- one window: start, span, padding taps, first reader, products and sum ------------------


def test_doctests():
    assert run_doctests(arithmetic).failed == 0


def test_window_geometry_worked_examples():
    # 'same' on 28 with a 3x3 kernel: one zero row above, the window of (0, 5) starts at -1.
    assert window_box((28, 28, 3), 3, padding="same", row=0, col=5) == (-1, 4, 3, 3)
    # Keras pads 3 on each side for a 7x7 'same' kernel: the first window starts 3 out.
    assert window_start(28, 7, padding="same") == -3
    assert window_start(28, 7, padding="same", index=27) == 24
    mask = padding_mask((28, 28), 7, padding="same", row=0, col=0)
    assert mask[:3].all() and mask[:, :3].all() and not mask[3:, 3:].any()
    assert not padding_mask((28, 28), 3, row=5, col=5).any()
    assert first_window(6, 3, strides=2, padding="same").tolist() == [0, 0, 0, 1, 1, 2]


def test_first_window_skips_cells_between_dilated_taps():
    # Windows read 0, 2 and 2, 4: cells 1 and 3 belong to none.
    assert first_window(5, 2, strides=2, dilation_rate=2).tolist() == [0, -1, 0, -1, 1]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: window_start(6, 3, index=4), "outside the output of size 4"),
        (lambda: window_start(6, 3, index=-1), "outside the output"),
        (lambda: window_box((2, 9), 3), "larger than the padded input"),
        (lambda: window_products([[1, 2]], [[1], [2]]), "same size"),
    ],
)
def test_window_helpers_refuse_what_is_not_there(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_products_stay_whole_for_whole_numbers():
    products, total = window_products(np.array([[1, 2], [3, 4]]), np.array([[1, 0], [0, -1]]))
    assert products.dtype == np.int64 and total.dtype == np.int64 and int(total) == -3
    products, total = window_products(np.ones((2, 2, 3), np.float32), np.full((2, 2), 0.5))
    assert products.dtype == np.float64 and total.tolist() == [2.0, 2.0, 2.0]


@settings(max_examples=200, deadline=None)
@given(configs, st.data())
def test_window_start_and_first_window_against_brute_force(config, data):
    i, k, s, p, d = config
    if not _feasible(*config):
        return
    starts, _ = _brute(*config)
    before = padding_amounts(*config)[0]
    index = data.draw(st.integers(0, len(starts) - 1))
    assert window_start(i, k, s, p, index, d) == starts[index] - before
    first = [
        min(
            (w for w, x in enumerate(starts) if cell in {x + t * d - before for t in range(k)}),
            default=-1,
        )
        for cell in range(i)
    ]
    assert first_window(i, k, s, p, d).tolist() == first


@st.composite
def _window_configs(draw):
    """A feasible Conv2D setting Keras accepts, an output position and a seed."""
    ih, iw = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from(["valid", "same"]))
    if draw(st.booleans()):
        strides, dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (1, 1)
    else:
        strides, dilation = (1, 1), (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    try:
        oh, ow = conv_output_size((ih, iw), (kh, kw), strides, padding, dilation)
    except ValueError:
        from hypothesis import reject

        reject()
    row, col = draw(st.integers(0, oh - 1)), draw(st.integers(0, ow - 1))
    return (ih, iw), (kh, kw), strides, padding, dilation, row, col, draw(seeds)


@oracle(30)
@given(_window_configs())
def test_window_box_and_padding_mask_against_keras(config):
    """Oracle: one Keras Conv2D whose filter t is one-hot at tap t reads, at (row, col), the
    input cell under tap t, or a padding zero; distinct positive inputs name the cell."""
    (ih, iw), (kh, kw), strides, padding, dilation, row, col, _ = config
    x = (np.arange(ih * iw, dtype=np.float32) + 1).reshape(ih, iw, 1)
    kernel = np.eye(kh * kw, dtype=np.float32).reshape(kh, kw, 1, kh * kw)
    read = keras_conv2d(x, kernel, strides, padding, dilation)[row, col].reshape(kh, kw)
    top, left, height, width = window_box((ih, iw), (kh, kw), strides, padding, row, col, dilation)
    mask = padding_mask((ih, iw), (kh, kw), strides, padding, row, col, dilation)
    assert (height, width) == (
        effective_kernel_size(kh, dilation[0]),
        effective_kernel_size(kw, dilation[1]),
    )
    assert mask.tolist() == (read == 0).tolist()
    for a in range(kh):
        for b in range(kw):
            if not mask[a, b]:
                r, c = top + a * dilation[0], left + b * dilation[1]
                assert read[a, b] == x[r, c, 0]


@oracle(30)
@given(_window_configs(), st.booleans())
def test_window_products_sum_to_the_keras_output(config, colour):
    """The sum of window ⊙ kernel is Keras's output value there (Conv2D, or DepthwiseConv2D
    channel by channel); the products are zero exactly where the window reads padding."""
    from ._keras_oracle import small_ints

    (ih, iw), (kh, kw), strides, padding, dilation, row, col, seed = config
    x = small_ints((ih, iw, 3 if colour else 1), seed, low=1, high=9)
    kernel = small_ints((kh, kw), seed + 1)
    window = conv_window(
        x if colour else x[:, :, 0], row, col, (kh, kw), strides, padding, dilation
    )
    products, total = window_products(window, kernel)
    if colour:
        expected = keras_depthwise(x, kernel, strides, padding, dilation)[row, col]
    else:
        k4 = kernel[:, :, None, None]
        expected = keras_conv2d(x, k4, strides, padding, dilation)[row, col]
        products = products[:, :, None]
    assert np.atleast_1d(total).tolist() == expected.tolist()
    mask = padding_mask((ih, iw), (kh, kw), strides, padding, row, col, dilation)
    assert (products[mask] == 0).all()


@oracle(20)
@given(configs)
def test_first_window_against_keras(config):
    """Oracle: a batch of one-hot columns through a (k, 1) kernel of ones; the first output
    row that responds to cell x is the first window that reads x."""
    i, k, s, p, d = config
    if not isinstance(p, str) or not _feasible(*config) or (s > 1 and d > 1):
        return
    x = np.zeros((i, i, 1, 1), np.float32)
    x[np.arange(i), np.arange(i), 0, 0] = 1
    y = keras().ops.convert_to_numpy(
        keras().ops.conv(
            x,
            np.ones((k, 1, 1, 1), np.float32),
            strides=(s, 1),
            padding=p,
            dilation_rate=(d, 1),
        )
    )[:, :, 0, 0]
    expected = [int(np.flatnonzero(row)[0]) if row.any() else -1 for row in y]
    assert first_window(i, k, s, p, d).tolist() == expected
