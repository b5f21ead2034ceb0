"""Backpropagation in NumPy, checked against tf.GradientTape on random configurations."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import cnnwidgets.core.gradients as gradients_module
from cnnwidgets.core import (
    conv2d,
    conv_input_gradient,
    conv_kernel_gradient,
    kernel_loss_gradient,
    kernel_step,
    learn_kernel,
    max_stable_learning_rate,
    mse_loss,
    pool2d,
    pool_gradient,
    preset_kernel,
    standardize,
)

from ._keras_oracle import as_pair, keras, oracle, run_doctests, stride_or_dilation


@functools.cache
def tf():
    keras()  # TensorFlow imported quietly, the way the kit does
    import tensorflow

    return tensorflow


def _tf_padded(x: np.ndarray, padding) -> tuple[np.ndarray, str]:
    if isinstance(padding, str):
        return x, padding.upper()
    return np.pad(x, [(padding, padding), (padding, padding), (0, 0)]), "VALID"


def tape_conv_gradients(x, kernel4d, grad_output, strides, padding, dilation_rate):
    """dL/dK and dL/dx of L = sum(conv(x, K) * G), by tf.GradientTape."""
    t = tf()
    xp, pad = _tf_padded(x, padding)
    before = 0 if isinstance(padding, str) else padding
    xv = t.Variable(xp[None])
    kv = t.Variable(kernel4d)
    with t.GradientTape() as tape:
        # tf.nn.convolution, as Keras's Conv2D: TF's CPU conv2d gradient refuses dilation
        out = t.nn.convolution(
            xv, kv, strides=as_pair(strides), padding=pad, dilations=as_pair(dilation_rate)
        )
        loss = t.reduce_sum(out * grad_output[None])
    dk, dx = tape.gradient(loss, [kv, xv])
    dx = dx.numpy()[0]
    h, w = x.shape[:2]
    return dk.numpy(), dx[before : before + h, before : before + w], out.numpy()[0]


@st.composite
def conv_cases(draw):
    kernel_size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides, dilation = draw(stride_or_dilation())
    padding = draw(st.sampled_from(["valid", "same", 0, 1, 2]))
    p = padding if isinstance(padding, int) else 0
    size = []
    for k, d in zip(kernel_size, as_pair(dilation), strict=True):
        smallest = 1 if padding == "same" else max(1, (k - 1) * d + 1 - 2 * p)
        size.append(draw(st.integers(smallest, smallest + 6)))
    return {
        "size": tuple(size),
        "channels": draw(st.integers(1, 3)),
        "filters": draw(st.integers(1, 3)),
        "kernel_size": kernel_size,
        "strides": strides,
        "padding": padding,
        "dilation_rate": dilation,
        "seed": draw(st.integers(0, 2**20)),
    }


_EDGE = {
    "size": (6, 7),
    "channels": 2,
    "filters": 2,
    "kernel_size": (2, 3),
    "strides": 2,
    "padding": "same",
    "dilation_rate": 1,
    "seed": 5,
}


@oracle(30)
@given(case=conv_cases())
@example(case=_EDGE)
@example(case={**_EDGE, "strides": 1, "dilation_rate": 2, "padding": 1})
def test_conv_gradients_match_gradient_tape(case):
    rng = np.random.default_rng(case["seed"])
    geometry = {k: case[k] for k in ("strides", "padding", "dilation_rate")}
    x = rng.normal(size=(*case["size"], case["channels"]))
    kernel = rng.normal(size=(*case["kernel_size"], case["channels"], case["filters"]))
    out = conv2d(x, kernel, **geometry)
    grad_out = rng.normal(size=out.shape)
    dk, dx, tf_out = tape_conv_gradients(x, kernel, grad_out, **geometry)
    np.testing.assert_allclose(out, tf_out, atol=1e-9)
    ours_dk = conv_kernel_gradient(x, grad_out, case["kernel_size"], **geometry)
    ours_dx = conv_input_gradient(grad_out, kernel, x.shape, **geometry)
    assert ours_dk.shape == kernel.shape and ours_dx.shape == x.shape
    np.testing.assert_allclose(ours_dk, dk, atol=1e-9)
    np.testing.assert_allclose(ours_dx, dx, atol=1e-9)


def test_gradient_shapes_follow_the_kernel():
    rng = np.random.default_rng(0)
    gray, colour = rng.normal(size=(6, 6)), rng.normal(size=(6, 6, 3))
    assert conv_kernel_gradient(gray, np.ones((4, 4)), 3).shape == (3, 3)
    assert conv_kernel_gradient(colour, np.ones((4, 4)), 3).shape == (3, 3, 3)
    assert conv_kernel_gradient(colour, np.ones((4, 4, 5)), 3).shape == (3, 3, 3, 5)
    assert conv_input_gradient(np.ones((4, 4)), np.ones((3, 3, 3)), (6, 6, 3)).shape == (6, 6, 3)
    with pytest.raises(ValueError, match="output's shape"):
        conv_kernel_gradient(gray, np.ones((3, 3)), 3)


@st.composite
def pool_cases(draw):
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.sampled_from(["valid", "same"]))
    size = tuple(draw(st.integers(1 if padding == "same" else k, 9)) for k in pool)
    return pool, strides, padding, size, draw(st.integers(1, 3)), draw(st.integers(0, 2**20))


@oracle(30)
@given(case=pool_cases(), mode=st.sampled_from(["max", "avg"]))
@example(case=((2, 2), None, "valid", (7, 7), 2, 1), mode="max")
@example(case=((3, 3), (2, 2), "same", (6, 5), 1, 2), mode="avg")
def test_pool_gradients_match_gradient_tape(case, mode):
    pool, strides, padding, size, channels, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(*size, channels))  # real values: no ties for the max
    out = pool2d(x, pool, strides, padding, mode)
    grad_out = rng.normal(size=out.shape)
    t = tf()
    xv = t.Variable(x[None])
    op = t.nn.max_pool2d if mode == "max" else t.nn.avg_pool2d
    with t.GradientTape() as tape:
        y = op(xv, ksize=pool, strides=strides or pool, padding=padding.upper())
        loss = t.reduce_sum(y * grad_out[None])
    expected = tape.gradient(loss, xv).numpy()[0]
    np.testing.assert_allclose(y.numpy()[0], out, atol=1e-12)
    np.testing.assert_allclose(pool_gradient(x, grad_out, pool, strides, padding, mode), expected)


def test_max_pool_gradient_goes_to_the_winner_only():
    x = np.array([[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 1.0, 1.0]])
    grad = pool_gradient(x, np.array([[1.0, 1.0]]))
    assert grad.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]
    tie = pool_gradient(np.ones((2, 2)), np.array([[1.0]]))
    assert tie.tolist() == [[1, 0], [0, 0]]  # a tie: the first cell in reading order


def test_kernel_loss_gradient_matches_keras_mean_squared_error():
    t = tf()
    rng = np.random.default_rng(3)
    x, k = rng.normal(size=(9, 8)), rng.normal(size=(3, 3))
    target = rng.normal(size=(7, 6))
    loss, grad = kernel_loss_gradient(x, k, target)
    kv = t.Variable(k[:, :, None, None])
    with t.GradientTape() as tape:
        out = t.nn.conv2d(x[None, :, :, None], kv, strides=1, padding="VALID")[0, :, :, 0]
        tf_loss = keras().losses.MeanSquaredError()(target.reshape(1, -1), t.reshape(out, (1, -1)))
    np.testing.assert_allclose(loss, float(tf_loss), rtol=1e-6)
    np.testing.assert_allclose(grad, tape.gradient(tf_loss, kv).numpy()[:, :, 0, 0], rtol=1e-6)
    assert mse_loss(conv2d(x, k), target) == pytest.approx(loss)


def test_one_step_moves_every_weight_against_its_gradient():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 8))
    k, target = rng.normal(size=(3, 3)), conv2d(x, preset_kernel("vertical edges"))
    new, loss, grad = kernel_step(x, k, target, 0.01)
    np.testing.assert_allclose(new, k - 0.01 * grad)
    assert kernel_loss_gradient(x, new, target)[0] < loss


def test_gradient_descent_learns_the_vertical_edge_kernel_on_a_photo():
    from cnnwidgets.data import load_photo

    photo = standardize(np.asarray(load_photo("chelsea", size=32), dtype=float).mean(axis=2))
    sobel = preset_kernel("vertical edges")
    start = np.random.default_rng(0).normal(scale=0.5, size=(3, 3))
    run = learn_kernel(photo, conv2d(photo, sobel), start, 0.1, 150)
    assert len(run.kernels) == len(run.losses) == 151 and len(run.gradients) == 150
    assert run.losses[-1] < 1e-3 * run.losses[0]
    assert np.abs(run.kernel - sobel).max() < 0.05


def test_a_learning_rate_above_the_limit_diverges_and_below_it_does_not():
    rng = np.random.default_rng(2)
    x = standardize(rng.normal(size=(16, 16)).cumsum(axis=1))  # neighbours alike, as in photos
    target = conv2d(x, preset_kernel("sharpen"))
    limit = max_stable_learning_rate(x, 3)
    start = rng.normal(size=(3, 3))
    below = learn_kernel(x, target, start, 0.9 * limit, 60)
    above = learn_kernel(x, target, start, 1.1 * limit, 60)
    assert below.losses[-1] < below.losses[0]
    assert above.losses[-1] > 10 * above.losses[0]


def test_standardize():
    z = standardize(np.arange(10.0))
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    assert standardize(np.ones(3)).tolist() == [0, 0, 0]


def test_docstring_examples():
    assert run_doctests(gradients_module).failed == 0
