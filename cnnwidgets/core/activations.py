"""Activations applied to feature maps (ReLU, leaky ReLU, sigmoid, tanh) and softmax over scores."""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "activate",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "softmax",
    "sparse_cross_entropy",
    "binary_cross_entropy",
]


def _array(x: object) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"x must hold numbers, got an array of {arr.dtype}.")
    return arr.astype(np.result_type(arr.dtype, np.float32))


def relu(x: np.ndarray) -> np.ndarray:
    """``max(0, x)``: negatives become 0, positives pass unchanged.

    Examples
    --------
    >>> relu(np.array([-2.0, 0.0, 3.0])).tolist()
    [0.0, 0.0, 3.0]
    """
    return np.maximum(_array(x), 0)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """``x`` for positives, ``negative_slope · x`` for negatives (``keras.activations.leaky_relu``).

    The slope is fixed here; ``keras.layers.PReLU`` learns it, which makes PReLU a
    *parametric* activation. ReLU, sigmoid and tanh have no parameters at all.

    Examples
    --------
    >>> leaky_relu(np.array([-2.0, 3.0])).tolist()
    [-0.4, 3.0]
    """
    a = _array(x)
    return np.where(a >= 0, a, a * a.dtype.type(negative_slope))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^-x)``: any number squeezed into (0, 1), 0 going to 0.5.

    Examples
    --------
    >>> sigmoid(np.array([0.0])).tolist()
    [0.5]
    """
    a = _array(x)
    # Split by sign so neither branch computes e to a large positive power.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x: np.ndarray) -> np.ndarray:
    """The hyperbolic tangent: into (-1, 1), 0 staying 0; ``2 · sigmoid(2x) - 1``.

    Examples
    --------
    >>> tanh(np.array([0.0])).tolist()
    [0.0]
    """
    return np.tanh(_array(x))


ACTIVATIONS = {"relu": relu, "leaky_relu": leaky_relu, "sigmoid": sigmoid, "tanh": tanh}
"""The activations a feature map is shown through, by their Keras names."""


def activate(name: str, x: np.ndarray) -> np.ndarray:
    """Apply the activation called ``name`` (a key of ``ACTIVATIONS`` or ``"linear"``).

    Examples
    --------
    >>> activate("relu", np.array([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """
    if name in (None, "linear"):
        return _array(x)
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[name](x)


def softmax(scores: np.ndarray, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """Class scores (logits) → probabilities that are positive and sum to 1.

    ``softmax(z)_i = e^(z_i / T) / Σ_j e^(z_j / T)``. At temperature ``T = 1`` this is
    ``keras.activations.softmax``. A lower temperature sharpens the distribution towards
    the largest score; a higher one flattens it towards uniform. The order of the
    classes never changes, so the predicted class (the arg max) is the same at any T.

    Examples
    --------
    >>> softmax(np.array([2.0, 1.0, 0.1])).round(3).tolist()
    [0.659, 0.242, 0.099]
    >>> softmax(np.array([2.0, 1.0, 0.1]), temperature=100).round(2).tolist()
    [0.34, 0.33, 0.33]
    """
    t = float(temperature)
    if not t > 0:
        raise ValueError(f"temperature must be above 0, got {temperature!r}.")
    z = _array(scores)
    z = z / z.dtype.type(t)  # in the scores' own precision, as Keras does
    z = z - z.max(axis=axis, keepdims=True)  # the same result without overflow
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def sparse_cross_entropy(probabilities: np.ndarray, label: int) -> float:
    """``-log p[label]``: the loss ``sparse_categorical_crossentropy`` gives one example.

    It is small when the true class gets a high probability and grows without bound as
    that probability goes to 0. Keras clips probabilities to [1e-7, 1 - 1e-7] first.

    Examples
    --------
    >>> round(sparse_cross_entropy(np.array([0.7, 0.2, 0.1]), 0), 4)
    0.3567
    """
    p = _array(probabilities)
    eps = 1e-7
    return float(-np.log(np.clip(p[int(label)], eps, 1 - eps)))


def binary_cross_entropy(probability: float, label: int) -> float:
    """``-(y log p + (1 - y) log(1 - p))``: what ``binary_crossentropy`` gives one example.

    Examples
    --------
    >>> round(binary_cross_entropy(0.8, 1), 4), round(binary_cross_entropy(0.8, 0), 4)
    (0.2231, 1.6094)
    """
    eps = 1e-7
    p = float(np.clip(float(probability), eps, 1 - eps))
    y = float(label)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
