"""BatchNormWidget: training against inference statistics, momentum, γ, β and the counts."""

from __future__ import annotations

import numpy as np
import pytest

from cnnwidgets.core import batch_norm_params
from cnnwidgets.widgets import BatchNormWidget


def test_training_uses_the_batch_and_inference_the_moving_statistics():
    w = BatchNormWidget(data_mean=5.0, data_std=2.0, steps=10, gamma=2.0, beta=1.0)
    out = w.training.output
    assert out.mean() == pytest.approx(1.0, abs=1e-9)  # β
    assert out.std() == pytest.approx(2.0, abs=0.01)  # γ (ε keeps it a hair under)
    np.testing.assert_allclose(w.training.mean, w.batch.mean(axis=0))
    assert w.moving_mean == pytest.approx(5.0 * (1 - 0.99**10), rel=0.1)
    assert w.inference.output.mean() > 5  # the moving statistics still lag
    w.steps = 500
    assert w.inference.output.mean() == pytest.approx(1.0, abs=0.3)


def test_a_value_depends_on_its_batch_only_in_training():
    w = BatchNormWidget()
    a, b = w.same_value_outputs
    assert a != pytest.approx(b)
    assert "depends on its neighbours" in w._facts.value


def test_momentum_sets_how_fast_the_moving_statistics_follow():
    w = BatchNormWidget(steps=20, momentum=0.99)
    slow = w.moving_mean
    w.momentum = 0.5
    assert abs(w.moving_mean - w.data_mean) < abs(slow - w.data_mean)
    w.momentum = 0.0
    assert w.moving_mean == pytest.approx(float(w.batch.mean()))


def test_parameters_and_controls():
    w = BatchNormWidget(channels=16)
    assert w.params == batch_norm_params(16)
    assert "<b>32</b> trainable" in w._facts.value
    slider = next(c for c in w.children[0].children if c.description == "γ (scale)")
    slider.value = 1.5
    assert w.gamma == 1.5
    w.steps = 10_000
    assert w.steps == 500
