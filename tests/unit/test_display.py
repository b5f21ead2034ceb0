"""Numbers to pixels: the diverging scale for signed maps, to_rgb8 and to_grayscale."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cnnwidgets.core.display as display_module
from cnnwidgets.core import diverging_rgb, to_grayscale, to_rgb8

from ._keras_oracle import FAST, run_doctests

WHITE = [255, 255, 255]
BLUE = [33, 102, 172]  # ColorBrewer RdBu's ends
RED = [178, 24, 43]

signed_maps = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
    elements=st.floats(-1e3, 1e3, allow_nan=False, width=32),
)


# --- diverging_rgb --------------------------------------------------------------------------


def test_white_at_zero_blue_below_red_above():
    out = diverging_rgb(np.array([[-1.0, 0.0, 1.0]]))
    assert out.dtype == np.uint8
    assert out.shape == (1, 3, 3)
    assert out[0].tolist() == [BLUE, WHITE, RED]


def test_saturates_at_the_limit():
    out = diverging_rgb(np.array([[-10.0, -2.0, -1.0, 0.5, 2.0, 10.0]]), limit=2.0)
    assert out[0, 0].tolist() == BLUE and out[0, 1].tolist() == BLUE  # beyond and at -limit
    assert out[0, 4].tolist() == RED and out[0, 5].tolist() == RED
    assert out[0, 2].tolist() == [144, 178, 214]  # half way from white to blue
    assert out[0, 3].tolist() == [236, 197, 202]  # a quarter of the way to red


def test_default_limit_is_the_largest_absolute_value():
    x = np.array([[-4.0, 1.0, 2.0]])
    np.testing.assert_array_equal(diverging_rgb(x), diverging_rgb(x, limit=4.0))
    assert diverging_rgb(x)[0, 0].tolist() == BLUE
    assert diverging_rgb(x)[0, 2].tolist() != RED  # 2 is only half of the scale


@FAST
@given(x=signed_maps)
def test_scale_is_symmetric(x):
    # -v is as far from white, towards blue, as v is towards red.
    limit = float(np.abs(x).max()) or 1.0
    pos, neg = diverging_rgb(x, limit).astype(int), diverging_rgb(-x, limit).astype(int)
    frac_pos = (255 - pos) / (255 - np.where(x[..., None] >= 0, RED, BLUE))
    frac_neg = (255 - neg) / (255 - np.where(-x[..., None] >= 0, RED, BLUE))
    np.testing.assert_allclose(frac_pos, frac_neg, atol=1 / 80)
    np.testing.assert_array_equal(diverging_rgb(x), diverging_rgb(x, limit=limit))
    # Zero is white; the sign picks the hue.
    assert (pos[x == 0] == 255).all()
    assert (pos[x > 0][:, 0] >= pos[x > 0][:, 2]).all()  # reds: more red than blue
    assert (pos[x < 0][:, 2] >= pos[x < 0][:, 0]).all()  # blues: more blue than red


@FAST
@given(a=st.floats(0, 1), b=st.floats(0, 1))
def test_farther_from_zero_is_darker(a, b):
    lo, hi = sorted((a, b))
    out = diverging_rgb(np.array([[lo, hi, -lo, -hi]]), limit=1.0).astype(int)
    assert (out[0, 1] <= out[0, 0]).all()
    assert (out[0, 3] <= out[0, 2]).all()


def test_all_zero_map_is_white():
    assert (diverging_rgb(np.zeros((2, 3))) == 255).all()


def test_limit_zero_saturates_by_sign():
    out = diverging_rgb(np.array([[-0.1, 0.0, 3.0]]), limit=0)
    assert out[0].tolist() == [BLUE, WHITE, RED]


@pytest.mark.parametrize(
    ("x", "limit", "phrase"),
    [
        (np.zeros(3), None, "diverging_rgb colours one 2-D map, got shape (3,)"),
        (np.zeros((2, 2, 3)), None, "one 2-D map"),
        (np.ones((2, 2)), -1.0, "limit must be a number >= 0"),
        (np.ones((2, 2)), float("nan"), "limit must be a number >= 0"),
    ],
)
def test_diverging_rgb_bad_input(x, limit, phrase):
    with pytest.raises(ValueError) as info:
        diverging_rgb(x, limit)
    assert phrase in str(info.value)


# --- to_rgb8 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "kwargs", "expected"),
    [
        ([[0.0, 0.5]], {}, [[0, 255]]),  # small non-negative values are stretched
        ([[0.2, 0.4, 1.0]], {}, [[0, 64, 255]]),  # ... from their minimum
        ([[0.0, 100.0, 255.0]], {}, [[0, 100, 255]]),  # already pixel values: as they are
        ([[3.0, 200.4]], {}, [[3, 200]]),  # ... rounded
        ([[10.0, 20.0, 520.0]], {}, [[0, 5, 255]]),  # beyond 255: stretched
        ([[7.0, 7.0]], {}, [[7, 7]]),  # a flat map of pixel values stays
        ([[0.5, 0.5]], {}, [[0, 0]]),  # a flat map below 1 is black, not a division by 0
        ([[0.0, 0.0]], {}, [[0, 0]]),
    ],
)
def test_to_rgb8_grayscale_cases(x, kwargs, expected):
    out = to_rgb8(np.array(x), **kwargs)
    assert out.dtype == np.uint8
    assert out.tolist() == expected


def test_to_rgb8_signed_maps_use_the_diverging_scale():
    x = np.array([[-2.0, 0.0, 1.0]])
    np.testing.assert_array_equal(to_rgb8(x), diverging_rgb(x))
    assert to_rgb8(x).shape == (1, 3, 3)
    # signed=True shows a positive map on the diverging scale; signed=False stretches.
    pos = np.array([[0.0, 1.0, 2.0]])
    np.testing.assert_array_equal(to_rgb8(pos, signed=True), diverging_rgb(pos))
    assert to_rgb8(x, signed=False).tolist() == [[0, 170, 255]]


def test_to_rgb8_colour_images_are_clipped_not_stretched():
    x = np.array([[[-20.0, 0.4, 300.0], [10.0, 128.6, 255.0]]])
    out = to_rgb8(x)
    assert out.dtype == np.uint8
    assert out.tolist() == [[[0, 0, 255], [10, 129, 255]]]
    # A one-channel image is a grayscale map.
    assert to_rgb8(np.array([[[0.0], [0.5]]])).tolist() == [[0, 255]]
    assert to_rgb8(np.zeros((2, 2, 4))).shape == (2, 2, 4)  # RGBA keeps its alpha


@pytest.mark.parametrize(
    ("shape", "phrase"),
    [
        ((5,), "Expected a (H, W) or (H, W, 3) array, got shape (5,)"),
        ((1, 2, 2, 3), "Expected a (H, W) or (H, W, 3) array"),
        ((4, 4, 2), "Expected a (H, W) or (H, W, 3) array, got shape (4, 4, 2)"),
    ],
)
def test_to_rgb8_bad_shapes(shape, phrase):
    with pytest.raises(ValueError) as info:
        to_rgb8(np.zeros(shape))
    assert phrase in str(info.value)


# --- to_grayscale ---------------------------------------------------------------------------


def test_to_grayscale_uses_luma_weights():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(
        to_grayscale(rgb), [[0.299 * 255, 0.587 * 255, 0.114 * 255, 255.0]], rtol=1e-6
    )
    assert to_grayscale(rgb).dtype == np.float32
    rgba = np.concatenate([rgb, np.zeros((1, 4, 1), np.uint8)], axis=-1)
    np.testing.assert_array_equal(to_grayscale(rgba), to_grayscale(rgb))  # alpha ignored
    gray = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(to_grayscale(gray), gray)
    np.testing.assert_array_equal(to_grayscale(gray[:, :, None]), gray)


def test_to_grayscale_bad_shape():
    with pytest.raises(ValueError, match=r"Expected a \(H, W\) or \(H, W, 3\) image"):
        to_grayscale(np.zeros((2, 2, 2)))


def test_docstring_examples():
    result = run_doctests(display_module)
    assert result.failed == 0
    assert result.attempted >= 3
