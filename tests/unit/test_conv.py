"""conv2d, conv_window and pad2d: the course's worked problems, and Keras's numbers exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import cnnwidgets.core.conv as conv_module
from cnnwidgets.core import conv2d, conv_output_size, conv_window, pad2d

from ._keras_oracle import (
    FAST,
    ORACLE,
    as_pair,
    keras_conv2d,
    keras_depthwise,
    keras_zero_padding,
    run_doctests,
    small_ints,
    stride_or_dilation,
)

# --- The course's worked problems ----------------------------------------------------------

WORKED_IMAGE = np.array([[0, 0, 0], [0, 0, 2], [0, 1, 2]])
WORKED_KERNEL = np.array([[1, -1, 0], [1, 1, 0], [0, 1, -1]])


def test_worked_problem_gives_minus_one():
    out = conv2d(WORKED_IMAGE, WORKED_KERNEL)
    assert out.tolist() == [[-1]]
    assert out.dtype == np.int64  # whole numbers stay whole
    # The element-wise products a student writes down, then their sum.
    window = conv_window(WORKED_IMAGE, 0, 0, 3)
    np.testing.assert_array_equal(window, WORKED_IMAGE)
    assert (window * WORKED_KERNEL).tolist() == [[0, 0, 0], [0, 0, 0], [0, 1, -2]]


def test_worked_problem_matches_keras():
    x = WORKED_IMAGE[:, :, None].astype(np.float32)
    kernel = WORKED_KERNEL[:, :, None, None].astype(np.float32)
    assert keras_conv2d(x, kernel).tolist() == [[[-1.0]]]


def test_colour_worked_problem_sums_channels_and_adds_one_bias():
    # A colour kernel is as deep as the image: one product-sum per channel, added up,
    # plus ONE bias for the filter. Channel 0 is the worked problem; 1 and 2 add 3 and -5.
    image = np.stack([WORKED_IMAGE, np.ones((3, 3), int), np.eye(3, dtype=int)], axis=-1)
    kernel = np.stack(
        [WORKED_KERNEL, np.eye(3, dtype=int), -np.full((3, 3), 5) * np.eye(3, dtype=int) / 3],
        axis=-1,
    )
    per_channel = [float((image[:, :, c] * kernel[:, :, c]).sum()) for c in range(3)]
    assert per_channel == [-1.0, 3.0, -5.0]
    assert conv2d(image, kernel).shape == (1, 1)
    assert conv2d(image, kernel)[0, 0] == pytest.approx(-3.0)
    bias = np.array([0.5], dtype=np.float32)
    keras_out = keras_conv2d(
        image.astype(np.float32), kernel[..., None].astype(np.float32), bias=bias
    )
    assert keras_out[0, 0, 0] == pytest.approx(-3.0 + 0.5)


def test_nine_by_nine_with_three_by_three_gives_seven_by_seven():
    image = np.arange(81).reshape(9, 9)
    out = conv2d(image, np.ones((3, 3), int))
    assert out.shape == (7, 7)
    assert out[0, 0] == image[:3, :3].sum()
    assert out[6, 6] == image[6:, 6:].sum()
    np.testing.assert_array_equal(
        out,
        keras_conv2d(image[:, :, None].astype(np.float32), np.ones((3, 3, 1, 1), np.float32))[
            :, :, 0
        ],
    )


def test_deep_learning_convolution_does_not_flip_the_kernel():
    # Cross-correlation: a single bright pixel comes out as the kernel turned 180 degrees.
    delta = np.zeros((5, 5), int)
    delta[2, 2] = 1
    kernel = np.arange(1, 10).reshape(3, 3)
    np.testing.assert_array_equal(conv2d(delta, kernel), kernel[::-1, ::-1])
    # ... and a padded kernel-sized image reproduces it where it fully overlaps.
    assert conv2d(kernel, kernel).item() == (kernel * kernel).sum()


# --- Keras as the oracle on random configurations -------------------------------------------


@st.composite
def conv_cases(draw, max_channels: int = 3):
    """A possible convolution: random sizes, kernel shape, strides or dilation and padding."""
    kernel_size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides, dilation = draw(stride_or_dilation())
    padding = draw(st.sampled_from(["valid", "same", 0, 1, 2]))
    p = padding if isinstance(padding, int) else 0
    size = []
    for k, d in zip(kernel_size, as_pair(dilation), strict=True):
        smallest = 1 if padding == "same" else max(1, (k - 1) * d + 1 - 2 * p)
        size.append(draw(st.integers(smallest, smallest + 7)))
    return {
        "size": tuple(size),
        "channels": draw(st.integers(1, max_channels)),
        "filters": draw(st.integers(1, 3)),
        "kernel_size": kernel_size,
        "strides": strides,
        "padding": padding,
        "dilation_rate": dilation,
        "seed": draw(st.integers(0, 2**20)),
    }


def _geometry(case):
    return {k: case[k] for k in ("strides", "padding", "dilation_rate")}


def keras_reference(x: np.ndarray, kernel4d: np.ndarray, case) -> np.ndarray:
    x, padding = keras_zero_padding(x.astype(np.float32), case["padding"])
    return keras_conv2d(x, kernel4d, case["strides"], padding, case["dilation_rate"])


def _case(size, kernel_size, strides=1, padding="valid", dilation_rate=1, channels=2, filters=2):
    return {
        "size": size,
        "channels": channels,
        "filters": filters,
        "kernel_size": kernel_size,
        "strides": strides,
        "padding": padding,
        "dilation_rate": dilation_rate,
        "seed": 1,
    }


# Cases the lessons dwell on, always run whatever hypothesis draws.
KEY_CASES = [
    _case((6, 7), (2, 4), strides=2, padding="same"),  # even kernel: odd zero bottom/right
    _case((5, 5), (3, 3), strides=2, padding="same"),
    _case((9, 8), (3, 2), dilation_rate=(2, 3), padding="same"),
    _case((4, 4), (4, 3), padding=2),  # the paper's arbitrary padding
    _case((6, 6), (3, 3), strides=2, padding=1),  # the paper's padding, strides, odd
    _case((7, 7), (3, 3), dilation_rate=2),  # the paper's dilation
]


@ORACLE
@given(case=conv_cases())
@example(case=KEY_CASES[0])
@example(case=KEY_CASES[1])
@example(case=KEY_CASES[2])
@example(case=KEY_CASES[3])
@example(case=KEY_CASES[4])
@example(case=KEY_CASES[5])
def test_4d_kernel_on_colour_image_matches_keras_conv2d(case):
    x = small_ints((*case["size"], case["channels"]), case["seed"])
    kernel = small_ints((*case["kernel_size"], case["channels"], case["filters"]), case["seed"] + 1)
    ours = conv2d(x.astype(np.int64), kernel.astype(np.int64), **_geometry(case))
    expected = keras_reference(x, kernel, case)
    assert ours.shape == expected.shape
    assert ours.shape[:2] == conv_output_size(case["size"], case["kernel_size"], **_geometry(case))
    np.testing.assert_array_equal(ours, expected)


@ORACLE
@given(case=conv_cases())
def test_3d_kernel_gives_one_feature_map_like_a_one_filter_conv2d(case):
    x = small_ints((*case["size"], case["channels"]), case["seed"])
    kernel = small_ints((*case["kernel_size"], case["channels"]), case["seed"] + 1)
    ours = conv2d(x, kernel, **_geometry(case))
    assert ours.ndim == 2
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, keras_reference(x, kernel[..., None], case)[:, :, 0])


@ORACLE
@given(case=conv_cases(), kernel_ndim=st.sampled_from([2, 3, 4]))
def test_grayscale_image_with_2d_3d_and_4d_kernels_matches_keras(case, kernel_ndim):
    x = small_ints(case["size"], case["seed"])
    kernel4d = small_ints((*case["kernel_size"], 1, case["filters"]), case["seed"] + 1)
    kernel = {2: kernel4d[:, :, 0, 0], 3: kernel4d[:, :, :, 0], 4: kernel4d}[kernel_ndim]
    ours = conv2d(x, kernel, **_geometry(case))
    expected = keras_reference(x[:, :, None], kernel4d, case)
    if kernel_ndim < 4:  # one map, without a channel axis
        expected = expected[:, :, 0]
    assert ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)


@ORACLE
@given(case=conv_cases(max_channels=4))
def test_2d_kernel_on_colour_image_is_per_channel_like_depthwise_conv2d(case):
    x = small_ints((*case["size"], case["channels"]), case["seed"])
    kernel = small_ints(case["kernel_size"], case["seed"] + 1)
    ours = conv2d(x, kernel, **_geometry(case))
    xk, padding = keras_zero_padding(x, case["padding"])
    expected = keras_depthwise(xk, kernel, case["strides"], padding, case["dilation_rate"])
    assert ours.shape == expected.shape
    assert ours.shape[2] == case["channels"]
    np.testing.assert_array_equal(ours, expected)


@ORACLE
@given(case=conv_cases(), dtype=st.sampled_from([np.float32, np.float64]))
def test_real_valued_floats_match_keras_in_their_own_precision(case, dtype):
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(*case["size"], case["channels"])).astype(dtype)
    kernel = rng.normal(size=(*case["kernel_size"], case["channels"], case["filters"]))
    kernel = kernel.astype(dtype)
    ours = conv2d(x, kernel, **_geometry(case))
    assert ours.dtype == dtype
    xk, padding = keras_zero_padding(x, case["padding"])
    expected = keras_conv2d(xk, kernel, case["strides"], padding, case["dilation_rate"])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours, expected, rtol=tol, atol=tol)


def test_large_image_computed_in_bands_matches_keras():
    # Tall enough that conv2d works in several bands of output rows, with stride and "same".
    x = small_ints((301, 130, 3), seed=7)
    kernel = small_ints((3, 4, 3, 2), seed=8)
    for geometry in ({}, {"strides": (2, 3), "padding": "same"}, {"dilation_rate": (2, 1)}):
        expected = keras_conv2d(x, kernel, **geometry)
        np.testing.assert_array_equal(conv2d(x, kernel, **geometry), expected)
    np.testing.assert_array_equal(
        conv2d(x, kernel[:, :, 0, 0]), keras_depthwise(x, kernel[:, :, 0, 0])
    )


@FAST
@given(case=conv_cases(), colour=st.booleans())
def test_conv_window_products_sum_to_the_output_value(case, colour):
    shape = (*case["size"], case["channels"]) if colour else case["size"]
    x = small_ints(shape, case["seed"]).astype(np.int64)
    kernel = small_ints(case["kernel_size"] + shape[2:], case["seed"] + 1).astype(np.int64)
    out = conv2d(x, kernel, **_geometry(case))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            window = conv_window(x, r, c, case["kernel_size"], **_geometry(case))
            assert window.shape == kernel.shape
            assert (window * kernel).sum() == out[r, c]


@FAST
@given(
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    kernel_size=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    p=st.integers(0, 3),
)
def test_pad2d_adds_zeros_around_an_untouched_image(size, kernel_size, strides, p):
    x = np.arange(1, size[0] * size[1] + 1).reshape(size)
    padded = pad2d(x, kernel_size, strides, p)
    assert padded.shape == (size[0] + 2 * p, size[1] + 2 * p)
    np.testing.assert_array_equal(padded[p : p + size[0], p : p + size[1]], x)
    assert padded.sum() == x.sum()  # everything else is zero
    same = pad2d(x, kernel_size, strides, "same")
    extra = np.array(same.shape) - np.array(size)
    # Keras puts the odd zero at the bottom/right: the image sits at (floor(extra / 2)).
    top, left = extra // 2
    np.testing.assert_array_equal(same[top : top + size[0], left : left + size[1]], x)
    np.testing.assert_array_equal(pad2d(x, kernel_size, strides, "valid"), x)


def test_pad2d_examples():
    assert pad2d(np.ones((2, 3)), 2, padding="same").shape == (3, 4)
    assert pad2d(np.ones((2, 3)), 2, padding="same")[2].tolist() == [0, 0, 0, 0]
    assert pad2d(np.ones((2, 3, 3)), 3, padding=1).shape == (4, 5, 3)
    assert pad2d(np.ones((2, 2)), 1, padding=1, value=7).tolist() == [
        [7, 7, 7, 7],
        [7, 1, 1, 7],
        [7, 1, 1, 7],
        [7, 7, 7, 7],
    ]


@pytest.mark.parametrize(
    ("image", "phrase"),
    [(np.ones((1, 4, 4, 3)), "drop the batch axis"), (np.ones(4), "image must be (height, width)")],
)
def test_pad2d_bad_input(image, phrase):
    with pytest.raises(ValueError) as info:
        pad2d(image, 3, padding="same")
    assert phrase in str(info.value)


def test_integers_and_booleans_are_exact():
    x = np.array([[True, False], [True, True]])
    assert conv2d(x, np.ones((2, 2), np.int8)).tolist() == [[3]]
    big = np.full((3, 3), 2**40, dtype=np.int64)
    assert conv2d(big, np.ones((3, 3), int)).item() == 9 * 2**40
    assert conv2d(np.ones((3, 3), np.uint8), np.full((3, 3), 0.5)).dtype == np.float64
    assert conv2d(np.ones((3, 3), np.float16), np.ones((3, 3), np.float16)).dtype == np.float32


def test_lists_are_accepted():
    assert conv2d(WORKED_IMAGE.tolist(), WORKED_KERNEL.tolist()).tolist() == [[-1]]


# --- Bad input: one readable sentence, never a wrong number --------------------------------


@pytest.mark.parametrize(
    ("image", "kernel", "kwargs", "phrase"),
    [
        (np.ones((5, 5, 3)), np.ones((3, 3, 2)), {}, "a kernel must be as deep as its input"),
        (np.ones((5, 5, 3)), np.ones((3, 3, 1, 4)), {}, "has depth 1 but the image has 3"),
        (np.ones((5, 5)), np.ones((3, 3, 3)), {}, "has depth 3 but the image has 1"),
        (np.ones((1, 5, 5, 3)), np.ones((3, 3, 3)), {}, "drop the batch axis"),
        (np.ones(5), np.ones((3, 3)), {}, "image must be (height, width)"),
        (np.ones((5, 5)), np.ones(3), {}, "kernel must be (kh, kw)"),
        (np.ones((5, 5, 1)), np.ones((3, 3, 1, 1, 1)), {}, "kernel must be (kh, kw)"),
        (np.ones((0, 5)), np.ones((3, 3)), {}, "must not be empty"),
        (np.ones((5, 5)), np.ones((3, 0)), {}, "must not be empty"),
        (np.full((3, 3), "a"), np.ones((3, 3)), {}, "image must hold numbers"),
        (np.ones((3, 3)), [[None] * 3] * 3, {}, "kernel must hold numbers"),
        (np.ones((3, 3)), np.ones((4, 4)), {}, "larger than the padded input"),
        (np.ones((3, 3)), np.ones((3, 3)), {"dilation_rate": 2}, "larger than the padded input"),
        (np.ones((5, 5)), np.ones((3, 3)), {"strides": True}, "strides must be a whole number"),
        (np.ones((5, 5)), np.ones((3, 3)), {"strides": 1.0}, "strides must be a whole number"),
        (np.ones((5, 5)), np.ones((3, 3)), {"strides": 0}, "strides must be at least 1"),
        (np.ones((5, 5)), np.ones((3, 3)), {"padding": "full"}, "padding must be 'valid'"),
        (np.ones((5, 5)), np.ones((3, 3)), {"padding": -1}, "padding cannot be negative"),
        (np.ones((5, 5)), np.ones((3, 3)), {"dilation_rate": (1, 2, 3)}, "one number or a pair"),
    ],
)
def test_bad_input_raises_a_readable_value_error(image, kernel, kwargs, phrase):
    with pytest.raises(ValueError) as info:
        conv2d(image, kernel, **kwargs)
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    ("args", "kwargs", "phrase"),
    [
        ((np.ones((4, 4)), 2, 0, 3), {}, "outside the 2x2 output"),
        ((np.ones((4, 4)), -1, 0, 3), {}, "outside the 2x2 output"),
        ((np.ones((4, 4)), 0, 0, 5), {}, "larger than the padded input"),
        ((np.ones((4, 4)), 0, 0, 3), {"padding": "nope"}, "padding must be 'valid'"),
        ((np.ones((4, 4)), 0.0, 0, 3), {}, "row must be a whole number"),
        ((np.ones((4, 4)), 0, True, 3), {}, "col must be a whole number"),
        # A batch of one image: without the check, kernel_size 1 gave a window of wrong axes.
        ((np.ones((1, 4, 4, 3)), 0, 0, 1), {}, "drop the batch axis"),
        ((np.full((4, 4), "x"), 0, 0, 1), {}, "image must hold numbers"),
    ],
)
def test_conv_window_bad_input(args, kwargs, phrase):
    with pytest.raises(ValueError) as info:
        conv_window(*args, **kwargs)
    assert phrase in str(info.value)


def test_docstring_examples():
    result = run_doctests(conv_module)
    assert result.failed == 0
    assert result.attempted >= 5
