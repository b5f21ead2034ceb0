"""Output sizes and padding amounts: the paper's figures, the course's numbers, Keras's layers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.sizes as sizes_module
from cnnwidgets.core import (
    conv_output_size,
    effective_kernel_size,
    padding_amounts,
    pool_output_size,
)

from ._keras_oracle import (
    FAST,
    ORACLE,
    as_pair,
    keras,
    keras_conv2d,
    keras_shape_or_none,
    one_or_pair,
    run_doctests,
    small_ints,
    stride_or_dilation,
)

# --- Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016) ---------

# (figure, i, k, s, p, d, o): the relationships' worked examples, as the paper gives them.
PAPER_CONV = [
    ("no padding, unit strides", 4, 3, 1, 0, 1, 2),
    ("arbitrary padding, unit strides", 5, 4, 1, 2, 1, 6),
    ("half (same) padding, unit strides", 5, 3, 1, 1, 1, 5),
    ("full padding, unit strides", 5, 3, 1, 2, 1, 7),
    ("no padding, non-unit strides", 5, 3, 2, 0, 1, 2),
    ("padding, non-unit strides", 5, 3, 2, 1, 1, 3),
    ("padding, non-unit strides, odd", 6, 3, 2, 1, 1, 3),
    ("dilated convolution", 7, 3, 1, 0, 2, 3),
]


@pytest.mark.parametrize(("figure", "i", "k", "s", "p", "d", "o"), PAPER_CONV)
def test_paper_relationships(figure, i, k, s, p, d, o):
    assert conv_output_size(i, k, strides=s, padding=p, dilation_rate=d) == o, figure
    # The same numbers as (rows, cols) pairs, and along either axis of a non-square input.
    assert conv_output_size((i, i + 3 * s), k, s, p, d) == (o, o + 3)
    assert conv_output_size((i, i), (k, k), (s, s), p, (d, d)) == (o, o)


@pytest.mark.parametrize(("figure", "i", "k", "s", "p", "d", "o"), PAPER_CONV)
def test_paper_relationships_match_keras(figure, i, k, s, p, d, o):
    layer = keras().Sequential(
        [
            keras().layers.ZeroPadding2D(p),
            keras().layers.Conv2D(1, k, strides=s, dilation_rate=d),
        ]
    )
    assert keras_shape_or_none(layer, (i, i, 1)) == (o, o, 1), figure


def test_paper_half_and_full_padding_named():
    # Half padding p = floor(k/2) is Keras's "same" at unit stride; full padding p = k - 1.
    for i in range(1, 12):
        for k in (1, 3, 5, 7):
            assert conv_output_size(i, k, padding="same") == i
            assert conv_output_size(i, k, padding=k // 2) == i
            assert conv_output_size(i, k, padding=k - 1) == i + k - 1
    assert padding_amounts(5, 3, padding="same") == (1, 1)
    assert padding_amounts(5, 3, padding=2) == (2, 2)


def test_paper_pooling_relationship():
    # i = 5, k = 3, s = 1: o = (i - k) / s + 1 = 3.
    assert pool_output_size(5, 3, strides=1) == 3
    assert pool_output_size((5, 5), (3, 3), (1, 1)) == (3, 3)
    assert keras_shape_or_none(keras().layers.MaxPooling2D(3, strides=1), (5, 5, 1)) == (3, 3, 1)


def test_dilated_kernel_span():
    # A 3x3 kernel dilated by 2 spans 5 cells, which the paper's dilation figure shows.
    assert effective_kernel_size(3, 2) == 5
    assert effective_kernel_size(3) == 3
    assert effective_kernel_size(1, 7) == 1
    assert effective_kernel_size(4, dilation_rate=3) == 10


# --- The course's numbers ------------------------------------------------------------------


def test_nine_by_nine_with_three_by_three_gives_seven_by_seven():
    assert conv_output_size(9, 3) == 7
    assert conv_output_size((9, 9), 3) == (7, 7)


@pytest.mark.parametrize(
    ("i", "kwargs", "o"),
    [
        (28, {}, 26),
        (28, {"padding": "same"}, 28),
        (28, {"padding": "same", "strides": 2}, 14),
        (27, {"padding": "same", "strides": 2}, 14),
        (150, {}, 148),
        (5, {"strides": 2, "padding": 1}, 3),
    ],
)
def test_course_conv_sizes(i, kwargs, o):
    assert conv_output_size(i, 3, **kwargs) == o


@pytest.mark.parametrize(
    ("i", "kwargs", "o"),
    [(28, {}, 14), (14, {}, 7), (7, {}, 3), (7, {"padding": "same"}, 4), (148, {}, 74)],
)
def test_course_pool_sizes(i, kwargs, o):
    # 2x2 stride 2 halves each side; an odd size drops its last row/column with "valid".
    assert pool_output_size(i, **kwargs) == o


def test_int_arguments_give_an_int_and_pairs_give_a_pair():
    assert isinstance(conv_output_size(28, 3), int)
    assert conv_output_size(28, (3, 5)) == (26, 24)
    assert conv_output_size(28, 3, strides=[1, 2]) == (26, 13)
    assert conv_output_size(28, 3, dilation_rate=(1, 2)) == (26, 24)
    assert isinstance(pool_output_size(28), int)
    assert pool_output_size((28, 27)) == (14, 13)


# --- Keras as the oracle on random configurations -------------------------------------------


@st.composite
def conv_shape_cases(draw):
    """Any small configuration, possible or not: the kit and Keras must agree on which."""
    strides, dilation = draw(stride_or_dilation())
    return {
        "input_size": (draw(st.integers(1, 14)), draw(st.integers(1, 14))),
        "kernel_size": draw(one_or_pair(st.integers(1, 6))),
        "strides": strides,
        "padding": draw(st.sampled_from(["valid", "same"])),
        "dilation_rate": dilation,
    }


@ORACLE
@given(case=conv_shape_cases(), channels=st.integers(1, 3), filters=st.integers(1, 3))
def test_conv_output_size_matches_keras_conv2d(case, channels, filters):
    layer = keras().layers.Conv2D(
        filters,
        case["kernel_size"],
        strides=case["strides"],
        padding=case["padding"],
        dilation_rate=case["dilation_rate"],
    )
    expected = keras_shape_or_none(layer, (*case["input_size"], channels))
    if expected is None:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv_output_size(**case)
    else:
        assert (*conv_output_size(**case), filters) == expected


@ORACLE
@given(
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    kernel_size=one_or_pair(st.integers(1, 6)),
    p=st.integers(0, 3),
    sd=stride_or_dilation(),
)
def test_explicit_padding_matches_zero_padding_then_valid_conv(size, kernel_size, p, sd):
    strides, dilation = sd
    layer = keras().Sequential(
        [
            keras().layers.ZeroPadding2D(p),
            keras().layers.Conv2D(2, kernel_size, strides=strides, dilation_rate=dilation),
        ]
    )
    expected = keras_shape_or_none(layer, (*size, 1))
    if expected is None:
        with pytest.raises(ValueError, match="add more padding"):
            conv_output_size(size, kernel_size, strides, p, dilation)
    else:
        assert conv_output_size(size, kernel_size, strides, p, dilation) == expected[:2]


@ORACLE
@given(
    size=st.tuples(st.integers(1, 14), st.integers(1, 14)),
    pool_size=one_or_pair(st.integers(1, 5)),
    strides=st.one_of(st.none(), one_or_pair(st.integers(1, 4))),
    padding=st.sampled_from(["valid", "same"]),
    mode=st.sampled_from(["max", "avg"]),
)
def test_pool_output_size_matches_keras_pooling(size, pool_size, strides, padding, mode):
    layers = keras().layers
    cls = layers.MaxPooling2D if mode == "max" else layers.AveragePooling2D
    expected = keras_shape_or_none(cls(pool_size, strides=strides, padding=padding), (*size, 2))
    if expected is None:
        with pytest.raises(ValueError, match="pooling window"):
            pool_output_size(size, pool_size, strides, padding)
    else:
        assert (*pool_output_size(size, pool_size, strides, padding), 2) == expected


@ORACLE
@given(
    size=st.tuples(st.integers(1, 10), st.integers(1, 10)),
    kernel_size=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    sd=stride_or_dilation(),
    seed=st.integers(0, 2**16),
)
def test_same_padding_amounts_are_where_keras_puts_its_zeros(size, kernel_size, sd, seed):
    # Keras's "same" conv equals a "valid" conv on the input padded by padding_amounts:
    # the odd extra zero goes to the bottom/right, and a misplaced zero changes the numbers.
    strides, dilation = (as_pair(v) for v in sd)
    x = small_ints((*size, 1), seed)
    kernel = small_ints((*kernel_size, 1, 1), seed + 1)
    widths = [
        padding_amounts(n, k, s, "same", d)
        for n, k, s, d in zip(size, kernel_size, strides, dilation, strict=True)
    ]
    padded = np.pad(x, [*widths, (0, 0)])
    same = keras_conv2d(x, kernel, strides, "same", dilation)
    valid = keras_conv2d(padded, kernel, strides, "valid", dilation)
    np.testing.assert_array_equal(same, valid)


@FAST
@given(
    i=st.integers(1, 60),
    k=st.integers(1, 7),
    s=st.integers(1, 5),
    d=st.integers(1, 4),
    p=st.integers(0, 6),
)
def test_formula_and_padding_amounts_agree(i, k, s, d, p):
    k_eff = effective_kernel_size(k, d)
    assert k_eff == (k - 1) * d + 1
    # "same": total zeros (o-1)s + k_eff - i (never negative), the odd one after.
    before, after = padding_amounts(i, k, s, "same", d)
    o = conv_output_size(i, k, s, "same", d)
    assert o == -(-i // s)
    assert before + after == max((o - 1) * s + k_eff - i, 0)
    assert after - before in (0, 1)
    # The padded input holds exactly o windows at stride s.
    assert (i + before + after - k_eff) // s + 1 == o
    assert padding_amounts(i, k, s, p, d) == (p, p)
    assert padding_amounts(i, k, s, "valid", d) == (0, 0)
    if i + 2 * p >= k_eff:
        assert conv_output_size(i, k, s, p, d) == (i + 2 * p - k_eff) // s + 1
    if i >= k_eff:
        assert conv_output_size(i, k, s, "valid", d) == conv_output_size(i, k, s, 0, d)


# --- Bad input: one readable sentence, never a wrong number --------------------------------


@pytest.mark.parametrize(
    ("call", "phrase"),
    [
        (lambda: conv_output_size(0, 3), "input_size must be at least 1"),
        (lambda: conv_output_size(-5, 3), "input_size must be at least 1"),
        (lambda: conv_output_size(28, 0), "kernel_size must be at least 1"),
        (lambda: conv_output_size(28, 3, strides=0), "strides must be at least 1"),
        (lambda: conv_output_size(28, 3, dilation_rate=0), "dilation_rate must be at least 1"),
        (lambda: conv_output_size(3, 4), "larger than the padded input"),
        (lambda: conv_output_size(3, 4), "padding='same'"),
        (lambda: conv_output_size(4, 3, dilation_rate=2), "spans 5"),
        (lambda: conv_output_size(2, 7, padding=2), "add more padding"),
        (lambda: conv_output_size((28, 3), 4), "larger than the padded input"),
        (lambda: conv_output_size(28, 3, padding="full"), "padding must be 'valid', 'same'"),
        (lambda: conv_output_size(28, 3, padding=-1), "padding cannot be negative"),
        (lambda: conv_output_size(28, 3, padding=1.5), "padding must be 'valid', 'same'"),
        (lambda: conv_output_size(28, 3, padding=True), "padding must be 'valid', 'same'"),
        (lambda: conv_output_size(28, True), "kernel_size must be a whole number"),
        (lambda: conv_output_size(28.0, 3), "input_size must be a whole number"),
        (lambda: conv_output_size("28", 3), "input_size must be a whole number"),
        (lambda: conv_output_size(28, (3, 3, 3)), "one number or a pair"),
        (lambda: conv_output_size(28, 3, strides=(1, False)), "strides must be a whole number"),
        (lambda: pool_output_size(0), "input_size must be at least 1"),
        (lambda: pool_output_size(3, 4), "pooling window"),
        (lambda: pool_output_size(28, 2, padding=1), "ZeroPadding2D"),
        (lambda: pool_output_size(28, 2, padding="full"), "padding must be 'valid', 'same'"),
        (lambda: pool_output_size(28, 2, strides=0), "strides must be at least 1"),
        (lambda: padding_amounts(0, 3), "input_size must be at least 1"),
        (lambda: padding_amounts(5, 3, padding=-2), "padding cannot be negative"),
        (lambda: effective_kernel_size(3, 0), "dilation_rate must be at least 1"),
        (lambda: effective_kernel_size(False), "kernel_size must be a whole number"),
    ],
)
def test_bad_input_raises_a_readable_value_error(call, phrase):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert phrase in message
    assert message.endswith(".")


def test_numpy_integers_are_whole_numbers():
    assert conv_output_size(np.int64(28), np.int32(3)) == 26
    assert pool_output_size(np.int64(28), np.int8(2)) == 14


def test_padding_is_case_insensitive_like_keras():
    assert conv_output_size(28, 3, padding="SAME") == 28
    assert pool_output_size(7, padding="Valid") == 3


def test_docstring_examples():
    result = run_doctests(sizes_module)
    assert result.failed == 0
    assert result.attempted >= 8
