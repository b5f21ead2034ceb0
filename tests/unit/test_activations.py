"""Activations, softmax with a temperature and the two cross-entropies, against Keras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.activations as activations_module
from cnnwidgets.core import (
    ACTIVATIONS,
    activate,
    binary_cross_entropy,
    leaky_relu,
    relu,
    sigmoid,
    softmax,
    sparse_cross_entropy,
)

from ._keras_oracle import keras, oracle, run_doctests

seeds = st.integers(0, 2**20)


@oracle(20)
@given(seed=seeds, name=st.sampled_from(sorted(ACTIVATIONS)))
def test_activations_match_keras(seed, name):
    x = np.random.default_rng(seed).normal(scale=4, size=(5, 6)).astype(np.float32)
    expected = np.asarray(getattr(keras().activations, name)(x))
    np.testing.assert_allclose(activate(name, x), expected, rtol=1e-6, atol=1e-7)


@oracle(20)
@given(seed=seeds, temperature=st.floats(0.05, 20), n=st.integers(2, 10))
def test_softmax_with_temperature_matches_keras_on_scaled_scores(seed, temperature, n):
    z = np.random.default_rng(seed).normal(scale=3, size=(n,))
    expected = np.asarray(keras().activations.softmax(z[None] / temperature))[0]
    ours = softmax(z, temperature)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-12)
    assert ours.sum() == pytest.approx(1) and ours.argmax() == z.argmax()


def test_temperature_sharpens_or_flattens():
    z = np.array([2.0, 1.0, 0.1])
    cold, warm, hot = softmax(z, 0.1), softmax(z, 1), softmax(z, 100)
    assert cold.max() > 0.999 and hot.max() - hot.min() < 0.02
    assert cold.max() > warm.max() > hot.max()
    with pytest.raises(ValueError, match="above 0"):
        softmax(z, 0)


def test_relu_family_by_hand():
    x = np.array([-2.0, 0.0, 3.0])
    assert relu(x).tolist() == [0, 0, 3]
    assert leaky_relu(x, 0.1).tolist() == pytest.approx([-0.2, 0, 3])
    assert sigmoid(np.array([-800.0, 800.0])).tolist() == [0, 1]  # no overflow
    with pytest.raises(ValueError, match="Unknown activation"):
        activate("swishy", x)


@oracle(20)
@given(seed=seeds, n=st.integers(2, 10))
def test_cross_entropies_match_keras_losses(seed, n):
    rng = np.random.default_rng(seed)
    p = softmax(rng.normal(size=n))
    label = int(rng.integers(n))
    losses = keras().losses
    expected = float(
        np.asarray(losses.sparse_categorical_crossentropy(np.array([label]), p[None])).ravel()[0]
    )
    assert sparse_cross_entropy(p, label) == pytest.approx(expected, rel=1e-5)
    q, y = float(sigmoid(rng.normal(size=1))[0]), int(rng.integers(2))
    expected = float(
        np.asarray(losses.binary_crossentropy(np.array([[y]], "float32"), np.array([[q]]))).ravel()[
            0
        ]
    )
    assert binary_cross_entropy(q, y) == pytest.approx(expected, rel=1e-4)


def test_docstring_examples():
    assert run_doctests(activations_module).failed == 0
