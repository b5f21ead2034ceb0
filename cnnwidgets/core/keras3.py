"""The lectures' Keras code that Keras 3 no longer runs, and what to write instead."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LectureCode", "LECTURE_CODE", "lecture_code", "rotation_factor"]


class LectureCode(NamedTuple):
    """One construct of the source lectures, what Keras 3 does with it, and its replacement.

    ``old`` and ``new`` are runnable code; ``setup`` is what both need first (run with
    ``import keras``, ``import numpy as np`` and ``from keras import layers`` done);
    ``fails_with`` names the exception (or warning) Keras 3 raises on ``old``. The kit's
    tests run every ``old`` and every ``new`` line.
    """

    lesson: str
    source: str
    old: str
    fails_with: str
    new: str
    note: str
    setup: str = ""


LECTURE_CODE: tuple[LectureCode, ...] = (
    LectureCode(
        lesson="04",
        source="lecture 004, CIFAR-10 labels",
        old="from keras.utils import np_utils\ny_train = np_utils.to_categorical(y_train, 10)",
        fails_with="ImportError",
        new="y_train = keras.utils.to_categorical(y_train, 10)",
        note="np_utils is gone; to_categorical lives in keras.utils.",
        setup="y_train = np.array([3, 0, 9])",
    ),
    LectureCode(
        lesson="04",
        source="lecture 004, every model",
        old="model = keras.Sequential()\n"
        "model.add(layers.Conv2D(16, 2, activation='relu', input_shape=(32, 32, 3)))",
        fails_with="UserWarning",
        new="model = keras.Sequential([keras.Input(shape=(32, 32, 3)), "
        "layers.Conv2D(16, 2, activation='relu')])",
        note="Still runs, with a warning: Keras 3 wants the shape in keras.Input, first.",
    ),
    LectureCode(
        lesson="04",
        source="lecture 004, training the CIFAR-10 model",
        old="checkpointer = keras.callbacks.ModelCheckpoint("
        "filepath='model.weights.best.hdf5', save_best_only=True)",
        fails_with="ValueError",
        new="checkpointer = keras.callbacks.ModelCheckpoint("
        "filepath='model.best.keras', save_best_only=True)",
        note="A whole model is saved as .keras (weights alone: save_weights_only=True "
        "and a name ending in .weights.h5).",
    ),
    LectureCode(
        lesson="06",
        source="lecture 004, batch normalization",
        old="from keras.layers.normalization import BatchNormalization",
        fails_with="ImportError",
        new="from keras.layers import BatchNormalization",
        note="The layer moved: keras.layers.BatchNormalization.",
    ),
    LectureCode(
        lesson="07",
        source="lecture 004, data augmentation",
        old="from keras.preprocessing.image import ImageDataGenerator\n"
        "datagen = ImageDataGenerator(horizontal_flip=True, vertical_flip=True)\n"
        "datagen.fit(x_train)",
        fails_with="ImportError",
        new="augment = keras.Sequential([layers.RandomFlip('horizontal_and_vertical')])\n"
        "flipped = augment(x_train, training=True)",
        note="Preprocessing layers replace ImageDataGenerator; put them first in the model, "
        "where they act in fit only. No fit on the data is needed.",
        setup="x_train = np.zeros((4, 8, 8, 1), 'float32')",
    ),
    LectureCode(
        lesson="07",
        source="ImageDataGenerator(rotation_range=20), as older tutorials write it",
        old="from keras.preprocessing.image import ImageDataGenerator\n"
        "datagen = ImageDataGenerator(rotation_range=20)",
        fails_with="ImportError",
        new="rotate = layers.RandomRotation(20 / 360)",
        note="rotation_range is in degrees (±20°); RandomRotation's factor is a fraction of "
        "a full turn: 20 / 360 ≈ 0.056. RandomRotation(0.2) is ±72°, rotation_range=72.",
    ),
)
"""Every construct, in the order the lessons meet them."""


def lecture_code(lesson: str | None = None) -> list[LectureCode]:
    """The constructs a lesson (``"04"``) maps to Keras 3; all of them without ``lesson``.

    Examples
    --------
    >>> [entry.fails_with for entry in lecture_code("06")]
    ['ImportError']
    """
    return [entry for entry in LECTURE_CODE if lesson is None or entry.lesson == lesson]


def rotation_factor(degrees: float) -> float:
    """``RandomRotation``'s factor for ``ImageDataGenerator(rotation_range=degrees)``.

    ``rotation_range`` counts degrees either way; ``RandomRotation`` takes a fraction of
    a full turn (360°). The inverse of :func:`cnnwidgets.rotation_degrees`.

    Examples
    --------
    >>> round(rotation_factor(20), 4)
    0.0556
    >>> rotation_factor(72)
    0.2
    """
    value = float(degrees)
    if not 0 <= value <= 360:
        raise ValueError(f"degrees must be between 0 and 360, got {degrees!r}.")
    return value / 360
