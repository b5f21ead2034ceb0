"""pool2d and pool_winners: hand-worked maps, and Keras's MaxPooling2D / AveragePooling2D."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import cnnwidgets.core.pooling as pooling_module
from cnnwidgets.core import pool2d, pool_output_size, pool_winners

from ._keras_oracle import FAST, ORACLE, as_pair, keras_pool2d, one_or_pair, run_doctests

X = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]])


# --- Hand-worked maps ----------------------------------------------------------------------


def test_max_pooling_takes_the_largest_value_of_each_window():
    out = pool2d(X)
    assert out.tolist() == [[4, 2], [2, 8]]
    assert out.dtype == X.dtype
    # Nothing is averaged first: every output value is one of the window's values.
    for r in range(2):
        for c in range(2):
            assert out[r, c] in X[2 * r : 2 * r + 2, 2 * c : 2 * c + 2]


def test_average_pooling_takes_the_mean():
    assert pool2d(X, mode="avg").tolist() == [[2.5, 1.0], [1.25, 6.5]]


def test_two_by_two_stride_two_keeps_a_quarter_of_the_pixels():
    x = np.arange(28 * 28).reshape(28, 28)
    assert pool2d(x).size * 4 == x.size
    assert pool2d(x).shape == (14, 14)


def test_odd_size_drops_the_last_row_and_column_with_valid_padding():
    x = np.arange(49).reshape(7, 7)
    valid = pool2d(x)
    assert valid.shape == (3, 3)
    assert x[6].max() not in valid  # the last row is never looked at
    np.testing.assert_array_equal(valid, pool2d(x[:6, :6]))
    same = pool2d(x, padding="same")
    assert same.shape == (4, 4)
    assert same[3, 3] == x[6, 6]  # the padded cells never win a max
    assert pool2d(x.astype(float), padding="same", mode="avg")[3, 3] == x[6, 6]


def test_same_padding_ignores_the_padded_cells_in_an_average():
    x = np.ones((3, 3))
    np.testing.assert_array_equal(pool2d(x, padding="same", mode="avg"), np.ones((2, 2)))
    np.testing.assert_array_equal(pool2d(-x, padding="same"), -np.ones((2, 2)))


def test_pooling_is_channel_by_channel():
    x = np.stack([X, -X, 10 * X], axis=-1)
    out = pool2d(x)
    assert out.shape == (2, 2, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], pool2d(x[:, :, c]))
        np.testing.assert_array_equal(
            pool2d(x, mode="avg")[:, :, c], pool2d(x[:, :, c], mode="avg")
        )


def test_dtypes():
    assert pool2d(X.astype(np.uint8)).dtype == np.uint8
    assert pool2d(X.astype(np.float32)).dtype == np.float32
    assert pool2d(X.astype(np.float32), mode="avg").dtype == np.float32
    assert pool2d(X > 4).tolist() == [[False, False], [False, True]]
    assert pool2d(-X - 1, padding="same", pool_size=3, strides=2).tolist() == [[-1, -1], [-1, -6]]
    assert pool2d(X.tolist()).tolist() == [[4, 2], [2, 8]]


# --- Keras as the oracle on random configurations -------------------------------------------


@st.composite
def pool_cases(draw):
    """A possible pooling: sizes, window, strides (often != pool_size) and padding."""
    pool_size = draw(one_or_pair(st.integers(1, 4)))
    strides = draw(st.one_of(st.none(), one_or_pair(st.integers(1, 4))))
    padding = draw(st.sampled_from(["valid", "same"]))
    size = tuple(draw(st.integers(1 if padding == "same" else k, 13)) for k in as_pair(pool_size))
    return {
        "size": size,
        "channels": draw(st.integers(1, 3)),
        "pool_size": pool_size,
        "strides": strides,
        "padding": padding,
        "seed": draw(st.integers(0, 2**20)),
    }


def _geometry(case):
    return {k: case[k] for k in ("pool_size", "strides", "padding")}


def _case(size, pool_size, strides, padding):
    return {
        "size": size,
        "channels": 2,
        "pool_size": pool_size,
        "strides": strides,
        "padding": padding,
        "seed": 3,
    }


@ORACLE
@given(case=pool_cases(), mode=st.sampled_from(["max", "avg"]))
@example(case=_case((7, 7), 2, None, "valid"), mode="max")  # odd: last row/column dropped
@example(case=_case((7, 7), 2, None, "same"), mode="avg")  # odd: one padded row/column
@example(case=_case((5, 6), 3, 2, "same"), mode="avg")  # overlapping windows
@example(case=_case((5, 5), 3, 1, "valid"), mode="max")  # the paper's pooling figure
@example(case=_case((9, 4), (2, 1), (1, 3), "same"), mode="avg")  # strides > pool_size
def test_pool2d_matches_keras(case, mode):
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(*case["size"], case["channels"])).astype(np.float32)
    ours = pool2d(x, **_geometry(case), mode=mode)
    expected = keras_pool2d(x, **_geometry(case), mode=mode)
    assert ours.shape == expected.shape
    assert ours.shape[:2] == pool_output_size(
        case["size"], case["pool_size"], case["strides"], case["padding"]
    )
    if mode == "max":
        np.testing.assert_array_equal(ours, expected)  # a max is one of the inputs, exactly
    else:
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)


@ORACLE
@given(case=pool_cases())
def test_negative_maps_with_same_padding_match_keras(case):
    # All values below zero: a zero from the padding would win a max if it were counted.
    rng = np.random.default_rng(case["seed"])
    x = -rng.integers(1, 9, size=(*case["size"], case["channels"])).astype(np.float32)
    ours = pool2d(x, **_geometry(case))
    assert (ours < 0).all()
    np.testing.assert_array_equal(ours, keras_pool2d(x, **_geometry(case)))


@FAST
@given(case=pool_cases())
def test_winners_hold_the_max_and_are_real_cells(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(-5, 5, size=case["size"])
    where = pool_winners(x, **_geometry(case))
    out = pool2d(x, **_geometry(case))
    assert where.shape == (*out.shape, 2)
    rows, cols = where[..., 0], where[..., 1]
    assert (rows >= 0).all() and (rows < x.shape[0]).all()
    assert (cols >= 0).all() and (cols < x.shape[1]).all()
    np.testing.assert_array_equal(x[rows, cols], out)


@FAST
@given(case=pool_cases())
def test_2d_map_is_the_one_channel_case(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(-9, 9, size=case["size"])
    for mode in ("max", "avg"):
        flat = pool2d(x, **_geometry(case), mode=mode)
        deep = pool2d(x[:, :, None], **_geometry(case), mode=mode)
        np.testing.assert_array_equal(flat, deep[:, :, 0])


def test_winner_ties_go_to_the_first_cell_in_reading_order():
    x = np.array([[7, 7], [7, 7]])
    assert pool_winners(x)[0, 0].tolist() == [0, 0]
    x = np.array([[1, 3], [4, 2]])
    assert pool_winners(x)[0, 0].tolist() == [1, 0]
    # With "same" padding the winners are given in the unpadded input's coordinates.
    x = np.arange(9).reshape(3, 3)
    assert pool_winners(x, padding="same").tolist() == [[[1, 1], [1, 2]], [[2, 1], [2, 2]]]


# --- Bad input: one readable sentence, never a wrong number --------------------------------


@pytest.mark.parametrize(
    ("call", "phrase"),
    [
        (lambda: pool2d(X, padding=1), "put a ZeroPadding2D layer before the pooling layer"),
        (lambda: pool2d(X, padding="full"), "padding must be 'valid', 'same'"),
        (lambda: pool2d(X, mode="median"), "mode must be 'max' or 'avg'"),
        (lambda: pool2d(np.ones((1, 4, 4, 1))), "x must be (height, width)"),
        (lambda: pool2d(np.ones(4)), "x must be (height, width)"),
        (lambda: pool2d(np.full((4, 4), "a")), "x must hold numbers"),
        (lambda: pool2d(X, pool_size=5), "pooling window"),
        (lambda: pool2d(X, pool_size=0), "pool_size must be at least 1"),
        (lambda: pool2d(X, pool_size=True), "pool_size must be a whole number"),
        (lambda: pool2d(X, strides=2.0), "strides must be a whole number"),
        (lambda: pool_winners(np.ones((4, 4, 2))), "pool_winners takes one channel"),
        (lambda: pool_winners(X, padding=2), "ZeroPadding2D"),
    ],
)
def test_bad_input_raises_a_readable_value_error(call, phrase):
    with pytest.raises(ValueError) as info:
        call()
    assert phrase in str(info.value)


def test_docstring_examples():
    result = run_doctests(pooling_module)
    assert result.failed == 0
    assert result.attempted >= 5
