"""ActivationExplorer and SoftmaxWidget show core's numbers and follow their controls."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from cnnwidgets.core import activate, sigmoid, softmax, sparse_cross_entropy
from cnnwidgets.widgets import ActivationExplorer, SoftmaxWidget


@pytest.fixture(scope="module")
def picture():
    return np.random.default_rng(0).uniform(0, 255, size=(24, 24))


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "sigmoid", "tanh"])
def test_each_activation_is_applied_value_by_value(picture, name):
    w = ActivationExplorer(picture, activation=name)
    np.testing.assert_allclose(w.activated, activate(name, w.feature_map))
    assert w.activated.shape == w.feature_map.shape == picture.shape
    assert name in w._after_caption.value


def test_relu_zeroes_the_negatives(picture):
    w = ActivationExplorer(picture, activation="relu")
    assert w.zero_share == pytest.approx(np.mean(w.feature_map <= 0))
    assert f"{w.zero_share:.0%}" in w._facts.value
    w._activation.value = "sigmoid"
    assert w.activation == "sigmoid" and "not" in w._facts.value  # not parametric
    w._kernel.value = "box blur"
    assert w.negative_share == 0  # a blur of a positive picture is positive
    with pytest.raises(traitlets.TraitError):
        w.activation = "swish"


def test_softmax_with_temperature_and_its_loss():
    w = SoftmaxWidget([2.0, 1.0, 0.1, -1.0], labels=["cat", "dog", "bird", "fish"], label=1)
    np.testing.assert_allclose(w.probabilities, softmax(np.array([2.0, 1.0, 0.1, -1.0])))
    assert w.loss == pytest.approx(sparse_cross_entropy(w.probabilities, 1))
    assert w.predicted == 0
    w.temperature = 5
    flat = w.probabilities.copy()
    w.temperature = 0.2
    assert w.probabilities.max() > flat.max() and w.predicted == 0
    w._score_boxes[3].value = 9.0
    assert w.scores[3] == 9.0 and w.predicted == 3
    assert "sum to <b>1.000</b>" in w._facts.value


def test_a_sigmoid_head_does_not_sum_to_one():
    w = SoftmaxWidget([2.0, 1.0, 0.1])
    w._head.value = "sigmoid"
    np.testing.assert_allclose(w.probabilities, sigmoid(np.array([2.0, 1.0, 0.1])))
    assert abs(w.probabilities.sum() - 1) > 0.5
    assert "Dense(2, &#x27;sigmoid&#x27;)" in w._facts.value or "Dense(2, 'sigmoid')" in (
        w._facts.value
    )
    with pytest.raises(ValueError, match="one label per score"):
        SoftmaxWidget([1.0, 2.0], labels=["a"])
