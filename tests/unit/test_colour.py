"""Colour convolution: one map and one bias per filter, or depthwise; Keras as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.colour as colour_module
from cnnwidgets.core import (
    WORKED_COLOUR_KERNEL,
    WORKED_COLOUR_WINDOW,
    WORKED_KERNEL,
    WORKED_WINDOW,
    colour_conv,
    colour_conv_step,
    conv2d,
    conv_params,
    depthwise_params,
)

from ._keras_oracle import as_pair, keras, oracle, run_doctests, small_ints, stride_or_dilation


def test_the_lecture_worked_problem_is_minus_one():
    assert conv2d(WORKED_WINDOW, WORKED_KERNEL).tolist() == [[-1]]
    assert np.array_equal(WORKED_COLOUR_WINDOW[:, :, 0], WORKED_WINDOW)
    step = colour_conv_step(WORKED_COLOUR_WINDOW, WORKED_COLOUR_KERNEL, 1)
    assert step.channel_sums[0] == -1
    assert step.outputs.tolist() == [step.channel_sums.sum() + 1]  # ONE bias, added once


def test_depthwise_keeps_the_channels_apart():
    step = colour_conv_step(WORKED_COLOUR_WINDOW, WORKED_COLOUR_KERNEL, [1, 2, 3], depthwise=True)
    assert step.outputs.tolist() == (step.channel_sums + [1, 2, 3]).tolist()
    with pytest.raises(ValueError, match="ONE bias"):
        colour_conv_step(WORKED_COLOUR_WINDOW, WORKED_COLOUR_KERNEL, [1, 2, 3])


@st.composite
def cases(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides, dilation = draw(stride_or_dilation())
    padding = draw(st.sampled_from(["valid", "same"]))
    size = [
        draw(st.integers(1 if padding == "same" else (kk - 1) * d + 1, 9))
        for kk, d in zip(k, as_pair(dilation), strict=True)
    ]
    return k, strides, dilation, padding, tuple(size), draw(st.integers(1, 4)), draw(st.integers())


@oracle(25)
@given(case=cases())
def test_one_filter_matches_conv2d_and_depthwise_matches_depthwiseconv2d(case):
    k, strides, dilation, padding, size, channels, seed = case
    x = small_ints((*size, channels), seed % 2**20)
    kernel = small_ints((*k, channels), seed % 2**20 + 1)
    bias = small_ints((channels,), seed % 2**20 + 2)
    geometry = {"strides": strides, "padding": padding, "dilation_rate": dilation}
    layers = keras().layers

    conv = layers.Conv2D(1, k, **geometry)
    conv.build((1, *x.shape))
    conv.set_weights([kernel[..., None], bias[:1]])
    expected = np.asarray(conv(x[None]))[0, :, :, 0]
    np.testing.assert_array_equal(colour_conv(x, kernel, float(bias[0]), **geometry), expected)

    if as_pair(strides)[0] != as_pair(strides)[1]:
        return  # TensorFlow's depthwise kernel wants equal strides
    depthwise = layers.DepthwiseConv2D(k, **geometry)
    depthwise.build((1, *x.shape))
    depthwise.set_weights([kernel[..., None], bias])
    expected = np.asarray(depthwise(x[None]))[0]
    np.testing.assert_array_equal(
        colour_conv(x, kernel, bias, depthwise=True, **geometry), expected
    )
    assert depthwise.count_params() == depthwise_params(k, channels)
    assert conv.count_params() == conv_params(k, channels, 1)


def test_bad_input():
    with pytest.raises(ValueError, match="as deep as its input"):
        colour_conv(np.zeros((4, 4, 3)), np.zeros((3, 3, 2)))
    with pytest.raises(ValueError, match="one bias per channel"):
        colour_conv(np.zeros((4, 4, 3)), np.zeros((3, 3, 3)), [1, 2], depthwise=True)
    with pytest.raises(ValueError, match="same shape"):
        colour_conv_step(np.zeros((3, 3, 3)), np.zeros((2, 2, 3)))


def test_docstring_examples():
    assert run_doctests(colour_module).failed == 0
