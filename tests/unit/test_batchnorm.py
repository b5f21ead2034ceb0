"""Batch normalization in training and at inference, against keras.layers.BatchNormalization."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.batchnorm as batchnorm_module
from cnnwidgets.core import batch_norm, batch_norm_params, batch_norm_run, stack_table

from ._keras_oracle import keras, oracle, run_doctests


@oracle(20)
@given(
    seed=st.integers(0, 2**20),
    shape=st.sampled_from([(4, 3), (2, 5, 5, 2), (3, 4, 6, 1), (8, 2, 2, 4)]),
    momentum=st.floats(0.0, 0.99),
    epsilon=st.sampled_from([1e-3, 1e-5, 0.1]),
)
def test_training_then_inference_match_keras(seed, shape, momentum, epsilon):
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    layer = keras().layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build((None, *shape[1:]))
    gamma, beta = rng.normal(size=channels), rng.normal(size=channels)
    mm, mv = rng.normal(size=channels), rng.uniform(0.5, 2, size=channels)
    layer.set_weights([gamma, beta, mm, mv])
    batches = [rng.normal(loc=3, scale=2, size=shape).astype(np.float32) for _ in range(3)]
    state = {"moving_mean": mm, "moving_variance": mv}
    for batch in batches:
        ours = batch_norm(
            batch,
            training=True,
            gamma=gamma,
            beta=beta,
            momentum=momentum,
            epsilon=epsilon,
            **state,
        )
        theirs = np.asarray(layer(batch, training=True))
        np.testing.assert_allclose(ours.output, theirs, rtol=1e-4, atol=1e-4)
        state = {"moving_mean": ours.moving_mean, "moving_variance": ours.moving_variance}
        np.testing.assert_allclose(ours.moving_mean, np.asarray(layer.moving_mean), rtol=1e-5)
        np.testing.assert_allclose(
            ours.moving_variance, np.asarray(layer.moving_variance), rtol=1e-5
        )
    inference = batch_norm(
        batches[0], training=False, gamma=gamma, beta=beta, epsilon=epsilon, **state
    )
    np.testing.assert_allclose(
        inference.output, np.asarray(layer(batches[0], training=False)), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(inference.moving_mean, state["moving_mean"])  # nothing updated


def test_inference_does_not_depend_on_the_batch():
    x = np.random.default_rng(0).normal(size=(6, 2))
    one = batch_norm(x[:1], training=False, moving_mean=1.0, moving_variance=4.0).output
    all_ = batch_norm(x, training=False, moving_mean=1.0, moving_variance=4.0).output
    np.testing.assert_allclose(one, all_[:1])
    trained = batch_norm(x, training=True).output
    assert trained.mean(axis=0) == pytest.approx([0, 0], abs=1e-9)


def test_moving_statistics_follow_slowly():
    steps = batch_norm_run([np.full((4, 1), 10.0)] * 100, momentum=0.99)
    assert steps[0].moving_mean[0] == pytest.approx(0.1)
    assert steps[-1].moving_mean[0] == pytest.approx(10 * (1 - 0.99**100))


def test_parameters_match_stack_table_and_keras():
    layer = keras().layers.BatchNormalization()
    layer.build((None, 8, 8, 32))
    counts = batch_norm_params(32)
    assert counts["total"] == layer.count_params() == 128
    assert counts["trainable"] == sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    row = stack_table((8, 8, 32), [{"layer": "BatchNormalization"}])[0]
    assert (row["params"], row["trainable_params"]) == (counts["total"], counts["trainable"])


def test_bad_input():
    with pytest.raises(ValueError, match="batch"):
        batch_norm(np.zeros(3), training=True)
    with pytest.raises(ValueError, match="one per channel"):
        batch_norm(np.zeros((2, 3)), training=True, gamma=[1, 2])


def test_docstring_examples():
    assert run_doctests(batchnorm_module).failed == 0
