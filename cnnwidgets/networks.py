"""Small trained networks that a notebook and the grader build the same way, from a seed.

An assignment that hands the student a trained network (assignment 7's digit CNN)
gets it from here, and so do its hidden tests: the grader trains its own copy,
seeded, instead of reading the student's kernel, where ``model`` could be
anything by the time the tests run.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["DIGITS_CNN_LAYERS", "digits_cnn"]

# The layers of digits_cnn, by name, in order.
DIGITS_CNN_LAYERS = ("conv_1", "pool_1", "conv_2", "pool_2", "flatten", "digit")


def _architecture(keras: Any) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_1"),
            layers.MaxPooling2D(2, name="pool_1"),
            layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_2"),
            layers.MaxPooling2D(2, name="pool_2"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, activation="softmax", name="digit"),
        ],
        name="digits_cnn",
    )


@functools.lru_cache(maxsize=4)
def _trained_weights(seed: int, split_seed: int, epochs: int) -> tuple[np.ndarray, ...]:
    from .data import load_dataset, split
    from .grading.quiet import framework_noise_silenced
    from .grading.training import _op_determinism
    from .keras_helpers import quiet_keras

    keras = quiet_keras()
    X, y, _ = load_dataset("digits")
    X_train, _, y_train, _ = split(X, y, test_size=0.2, seed=split_seed)
    with framework_noise_silenced(), _op_determinism(True, keras):
        keras.utils.set_random_seed(seed)
        model = _architecture(keras)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=3e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(X_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return tuple(np.array(w) for w in model.get_weights())


def digits_cnn(seed: int = 0, *, split_seed: int = 0, epochs: int = 5) -> Any:
    """A small CNN trained on scikit-learn's 8×8 digits: the same network for the same seeds.

    ``conv_1`` (16 filters, 3×3, same) → ``pool_1`` → ``conv_2`` (32) → ``pool_2`` →
    ``flatten`` → ``digit`` (10, softmax), trained with Adam (3e-3) for ``epochs``
    epochs on the 80 % of the digits that ``split(X, y, test_size=0.2, seed=split_seed)``
    puts in training. Trained once per process and seeds; each call returns a new,
    compiled model with those weights, so a caller may change it freely.

    Examples
    --------
    >>> model = digits_cnn()  # doctest: +SKIP
    >>> [layer.name for layer in model.layers]  # doctest: +SKIP
    ['conv_1', 'pool_1', 'conv_2', 'pool_2', 'flatten', 'digit']
    """
    from .keras_helpers import quiet_keras

    keras = quiet_keras()
    weights = _trained_weights(int(seed), int(split_seed), int(epochs))
    model = _architecture(keras)
    model.set_weights(list(weights))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
