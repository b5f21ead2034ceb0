"""Batch normalization as Keras computes it: batch statistics in training, moving ones later."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import positive_int

__all__ = ["BatchNormStep", "batch_norm", "batch_norm_params", "batch_norm_run"]


@dataclass
class BatchNormStep:
    """What one call of a BatchNormalization layer computed.

    ``mean`` and ``variance`` are the statistics the output was normalized with (the
    batch's in training, the moving ones at inference); ``moving_mean`` and
    ``moving_variance`` are the layer's non-trainable state after the call.
    """

    output: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray
    training: bool


def _per_channel(name: str, value: object, channels: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(channels, float(arr))
    if arr.shape != (channels,):
        raise ValueError(
            f"{name} must be one number or one per channel ({channels}), got {arr.shape}."
        )
    return arr


def batch_norm(
    x: np.ndarray,
    *,
    training: bool,
    gamma: float | np.ndarray = 1.0,
    beta: float | np.ndarray = 0.0,
    moving_mean: float | np.ndarray = 0.0,
    moving_variance: float | np.ndarray = 1.0,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
) -> BatchNormStep:
    """One call of ``keras.layers.BatchNormalization`` on a batch ``x`` ``(n, ..., channels)``.

    Each channel is normalized on its own, over the batch and every position:
    ``y = γ · (x - μ) / √(σ² + ε) + β``.

    * ``training=True`` (inside ``fit``): μ and σ² are the **batch's** mean and
      variance, and the moving statistics move towards them:
      ``moving = momentum · moving + (1 - momentum) · batch``.
    * ``training=False`` (``predict``, ``evaluate``): μ and σ² are the **moving**
      statistics, so one image gets the same output whatever batch it comes in, and
      nothing is updated.

    γ (scale) and β (shift) are learned by gradient descent; the moving mean and
    variance are not (they are averaged, not trained): ``non-trainable`` parameters.
    Defaults are Keras's (momentum 0.99, ε = 0.001, γ = 1, β = 0, moving mean 0,
    moving variance 1).

    Examples
    --------
    >>> x = np.array([[1.0], [3.0]])  # a batch of two one-channel values
    >>> step = batch_norm(x, training=True, momentum=0.9)
    >>> step.output.round(3).ravel().tolist(), step.moving_mean.round(3).tolist()
    ([-1.0, 1.0], [0.2])
    >>> batch_norm(x, training=False).output.round(3).ravel().tolist()  # moving stats 0 and 1
    [1.0, 2.999]
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim < 2:
        raise ValueError(f"x must be a batch (n, ..., channels), got shape {arr.shape}.")
    channels = arr.shape[-1]
    g = _per_channel("gamma", gamma, channels)
    b = _per_channel("beta", beta, channels)
    mm = _per_channel("moving_mean", moving_mean, channels)
    mv = _per_channel("moving_variance", moving_variance, channels)
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be between 0 and 1, got {momentum!r}.")
    if training:
        axes = tuple(range(arr.ndim - 1))
        mean, variance = arr.mean(axis=axes), arr.var(axis=axes)
        new_mm = momentum * mm + (1 - momentum) * mean
        new_mv = momentum * mv + (1 - momentum) * variance
    else:
        mean, variance, new_mm, new_mv = mm, mv, mm, mv
    out = g * (arr - mean) / np.sqrt(variance + epsilon) + b
    return BatchNormStep(out, mean, variance, new_mm, new_mv, bool(training))


def batch_norm_run(
    batches: list[np.ndarray], *, momentum: float = 0.99, epsilon: float = 1e-3
) -> list[BatchNormStep]:
    """Training calls on ``batches`` one after the other, from Keras's initial state.

    Shows how slowly the moving statistics follow the data: after ``t`` batches from
    the same distribution, ``1 - momentum^t`` of the way from (0, 1) to its statistics.

    Examples
    --------
    >>> steps = batch_norm_run([np.full((4, 1), 10.0)] * 3, momentum=0.5)
    >>> [round(float(s.moving_mean[0]), 2) for s in steps]
    [5.0, 7.5, 8.75]
    """
    steps: list[BatchNormStep] = []
    mm: float | np.ndarray = 0.0
    mv: float | np.ndarray = 1.0
    for batch in batches:
        step = batch_norm(
            batch,
            training=True,
            moving_mean=mm,
            moving_variance=mv,
            momentum=momentum,
            epsilon=epsilon,
        )
        steps.append(step)
        mm, mv = step.moving_mean, step.moving_variance
    return steps


def batch_norm_params(channels: int) -> dict[str, int]:
    """Parameters of a BatchNormalization layer on ``channels`` channels.

    γ and β are trainable; the moving mean and variance are counted by
    ``model.summary()`` as non-trainable: 4 per channel in all.

    Examples
    --------
    >>> batch_norm_params(32)
    {'total': 128, 'trainable': 64, 'non_trainable': 64}
    """
    c = positive_int("channels", channels)
    return {"total": 4 * c, "trainable": 2 * c, "non_trainable": 2 * c}
