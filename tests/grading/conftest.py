"""Shared models and data for the grading tests: the COURSE.md reference models and tiny digits."""

from __future__ import annotations

import pytest

from cnnwidgets.keras_helpers import quiet_keras

from .builders import mnist_model


@pytest.fixture(scope="session")
def keras():
    return quiet_keras()


@pytest.fixture(scope="session")
def mnist_reference(keras):
    return mnist_model(keras)


@pytest.fixture(scope="session")
def digits():
    """600 of sklearn's 8x8 digits as (n, 8, 8, 1) floats in [0, 1], labels 0..9."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X = (data.images[:600] / 16.0)[..., None].astype("float32")
    return X, data.target[:600]
