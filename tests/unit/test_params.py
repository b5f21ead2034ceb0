"""conv_params and dense_params: the course's counts, and Keras's count_params()."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.params as params_module
from cnnwidgets.core import conv_params, dense_params

from ._keras_oracle import ORACLE, keras, one_or_pair, run_doctests

# --- The course's numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kernel_size", "in_channels", "filters", "expected"),
    [
        # MNIST-style model
        (3, 1, 32, 320),
        (3, 32, 64, 18_496),
        # CIFAR-style model of source 004 (2x2 kernels)
        (2, 3, 16, 208),
        (2, 16, 32, 2_080),
        (2, 32, 64, 8_256),
        # cats-vs-dogs model
        (3, 3, 32, 896),
        (3, 64, 128, 73_856),
        (3, 128, 128, 147_584),
    ],
)
def test_course_conv_counts(kernel_size, in_channels, filters, expected):
    assert conv_params(kernel_size, in_channels, filters) == expected
    assert conv_params((kernel_size, kernel_size), in_channels, filters) == expected


@pytest.mark.parametrize(
    ("in_features", "units", "expected"),
    [
        (3136, 64, 200_768),
        (64, 10, 650),
        (1024, 500, 512_500),
        (500, 10, 5_010),
        (6272, 512, 3_211_776),
        (512, 1, 513),
        (784, 512, 401_920),
        (512, 512, 262_656),
        (512, 10, 5_130),
    ],
)
def test_course_dense_counts(in_features, units, expected):
    assert dense_params(in_features, units) == expected


def test_one_bias_per_filter_whatever_the_depth():
    # A colour filter is 3x3x3 = 27 weights and ONE bias, not one per channel.
    assert conv_params(3, 3, 1) == 28
    assert conv_params(3, 3, 1, use_bias=False) == 27
    assert conv_params(3, 3, 10) - conv_params(3, 3, 10, use_bias=False) == 10
    assert dense_params(784, 10) - dense_params(784, 10, use_bias=False) == 10


def test_non_square_kernels():
    assert conv_params((1, 7), 4, 2) == 2 * 7 * 4 + 2
    assert conv_params((5, 2), 1, 3, use_bias=False) == 30


# --- Keras as the oracle on random configurations -------------------------------------------


@ORACLE
@given(
    kernel_size=one_or_pair(st.integers(1, 7)),
    in_channels=st.integers(1, 64),
    filters=st.integers(1, 64),
    use_bias=st.booleans(),
)
def test_conv_params_match_keras(kernel_size, in_channels, filters, use_bias):
    layer = keras().layers.Conv2D(filters, kernel_size, use_bias=use_bias)
    layer.build((None, 16, 16, in_channels))
    assert conv_params(kernel_size, in_channels, filters, use_bias) == layer.count_params()


@ORACLE
@given(in_features=st.integers(1, 5000), units=st.integers(1, 600), use_bias=st.booleans())
def test_dense_params_match_keras(in_features, units, use_bias):
    layer = keras().layers.Dense(units, use_bias=use_bias)
    layer.build((None, in_features))
    assert dense_params(in_features, units, use_bias) == layer.count_params()


# --- Bad input: one readable sentence, never a wrong number --------------------------------


@pytest.mark.parametrize(
    ("call", "phrase"),
    [
        (lambda: conv_params(3, 1, 0), "filters must be at least 1"),
        (lambda: conv_params(3, 0, 32), "in_channels must be at least 1"),
        (lambda: conv_params(0, 1, 32), "kernel_size must be at least 1"),
        (lambda: conv_params((3, 3, 3), 1, 32), "one number or a pair"),
        (lambda: conv_params(3, True, 32), "in_channels must be a whole number"),
        (lambda: conv_params(3, 1, 32.0), "filters must be a whole number"),
        (lambda: dense_params(0, 10), "in_features must be at least 1"),
        (lambda: dense_params(784, -1), "units must be at least 1"),
        (lambda: dense_params(784, "10"), "units must be a whole number"),
        (lambda: dense_params(False, 10), "in_features must be a whole number"),
    ],
)
def test_bad_input_raises_a_readable_value_error(call, phrase):
    with pytest.raises(ValueError) as info:
        call()
    assert phrase in str(info.value)


def test_docstring_examples():
    result = run_doctests(params_module)
    assert result.failed == 0
    assert result.attempted >= 3
