"""KernelLearner: steps of gradient descent from core, a learning-rate limit, divergence."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from cnnwidgets.core import conv2d, kernel_step, max_stable_learning_rate, preset_kernel
from cnnwidgets.widgets import KernelLearner


@pytest.fixture(scope="module")
def grid():
    # A small picture of its own: no photo to load, the same numbers every run.
    return np.random.default_rng(4).uniform(0, 255, size=(16, 16)).cumsum(axis=1) % 255


def test_each_step_is_cores_gradient_step(grid):
    w = KernelLearner(grid, target="sharpen", learning_rate=0.05, seed=3)
    start = w.kernel.copy()
    target = conv2d(w.image, preset_kernel("sharpen"))
    np.testing.assert_allclose(w.target_output, target)
    w.step = 1
    expected, loss, grad = kernel_step(w.image, start, target, 0.05)
    np.testing.assert_allclose(w.kernel, expected)
    assert w.losses[0] == pytest.approx(loss)
    w.step = 3
    assert len(w.losses) == 4 and w.taken == 3
    w._one.click()
    assert w.step == 4 and w.taken == 4
    w._ten.click()
    assert w.step == 14
    w._reset.click()
    np.testing.assert_allclose(w.kernel, start)


def test_it_learns_the_edge_filter_on_the_photo():
    w = KernelLearner()  # chelsea, 32x32, vertical edges, rate 0.1
    assert w.image.shape == (32, 32) and abs(w.image.mean()) < 1e-9
    w.step = 150
    assert w.losses[-1] < 1e-3 * w.losses[0]
    assert np.abs(w.kernel - preset_kernel("vertical edges")).max() < 0.05
    assert "nobody typed" in w._status.value


def test_a_rate_above_the_limit_diverges_and_says_so(grid):
    w = KernelLearner(grid, learning_rate=0.05)
    assert w.max_learning_rate == pytest.approx(max_stable_learning_rate(w.image, 3))
    w.learning_rate = min(10.0, 1.5 * w.max_learning_rate)
    w.step = 200
    assert w.diverged and w.taken < 200
    assert "too large" in w._status.value
    w.learning_rate = 0.5 * w.max_learning_rate
    assert not w.diverged and w.losses[-1] < w.losses[0]


def test_controls_follow_the_traits(grid):
    w = KernelLearner(grid)
    w._target_dd.value = "emboss"
    assert w.target == "emboss"
    np.testing.assert_allclose(w.target_kernel, preset_kernel("emboss"))
    first = w.kernel.copy()
    w._new.click()
    assert w.seed == 1 and w.step == 0 and not np.allclose(w.kernel, first)
    w._play.value = 5
    assert w.taken == 5
    with pytest.raises(traitlets.TraitError):
        w.target = "identity"
    with pytest.raises(traitlets.TraitError):
        w.learning_rate = 0
