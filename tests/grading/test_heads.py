"""check_head: the output layer, the loss and the labels must agree."""

from __future__ import annotations

import numpy as np
import pytest

from cnnwidgets.grading import HeadReport, assert_head_matches, check_head

BINARY = np.array([0, 1, 1, 0])
DIGITS = np.arange(10)
ONE_HOT = np.eye(10)[DIGITS]


def head(keras, units, activation, loss=None, inputs=(4,)):
    L = keras.layers
    layers = [keras.Input(inputs)] + ([L.Flatten()] if len(inputs) > 1 else [])
    model = keras.Sequential([*layers, L.Dense(units, activation=activation)])
    if loss is not None:
        model.compile(optimizer="adam", loss=loss)
    return model


@pytest.mark.parametrize(
    ("units", "activation", "loss", "y"),
    [
        (1, "sigmoid", "binary_crossentropy", BINARY),
        (10, "softmax", "sparse_categorical_crossentropy", DIGITS),
        (10, "softmax", "categorical_crossentropy", ONE_HOT),
        (10, None, "from_logits", DIGITS),
        (1, "sigmoid", "bce", BINARY.reshape(-1, 1)),
        (3, "sigmoid", "binary_crossentropy", np.array([[1, 0, 1], [0, 0, 1]])),  # multi-label
    ],
)
def test_agreeing_heads_pass(keras, units, activation, loss, y):
    if loss == "from_logits":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    report = check_head(head(keras, units, activation, loss), y)
    assert isinstance(report, HeadReport)
    assert report.passed, str(report)
    assert str(report).startswith("✔ All 4 checks passed")


def test_the_lectures_binary_head(keras):
    # lecture 003: Dense(2, activation="sigmoid") for cats vs dogs
    report = check_head(head(keras, 2, "sigmoid", "binary_crossentropy"), BINARY)
    assert not report.passed
    assert report.messages == [
        "Dense(2, activation='sigmoid') with binary labels: use Dense(1, 'sigmoid') + "
        "binary_crossentropy, or Dense(2, 'softmax') + sparse_categorical_crossentropy"
    ]


@pytest.mark.parametrize(
    ("units", "activation", "loss", "y", "message"),
    [
        (
            10,
            "softmax",
            "sparse_categorical_crossentropy",
            np.arange(12),
            "10 output units but the labels go up to 11: use Dense(12, ...), one unit per "
            "class 0..11",
        ),
        (
            10,
            "softmax",
            "sparse_categorical_crossentropy",
            ONE_HOT,
            "one-hot labels with sparse_categorical_crossentropy: use categorical_crossentropy "
            "or integer labels",
        ),
        (
            10,
            "softmax",
            "categorical_crossentropy",
            DIGITS,
            "integer labels with categorical_crossentropy: use sparse_categorical_crossentropy "
            "or one-hot labels (keras.utils.to_categorical(y))",
        ),
        (
            10,
            "softmax",
            "logits",
            DIGITS,
            "Dense(10, activation='softmax') with a loss made with from_logits=True: the loss "
            "would apply softmax a second time — drop from_logits=True, or the activation",
        ),
        (
            10,
            None,
            "sparse_categorical_crossentropy",
            DIGITS,
            "Dense(10) without an activation outputs raw scores (logits) but "
            "sparse_categorical_crossentropy expects probabilities: add activation='softmax', "
            "or make the loss with from_logits=True",
        ),
        (
            1,
            "softmax",
            "binary_crossentropy",
            BINARY,
            "Dense(1, activation='softmax') always outputs 1.0 (softmax over one unit): use "
            "Dense(1, 'sigmoid') + binary_crossentropy for two classes",
        ),
        (
            1,
            "sigmoid",
            "binary_crossentropy",
            DIGITS,
            "binary_crossentropy needs 0/1 labels, but the labels go up to 9: use "
            "Dense(10, 'softmax') + sparse_categorical_crossentropy",
        ),
        (
            10,
            "sigmoid",
            "sparse_categorical_crossentropy",
            DIGITS,
            "Dense(10, activation='sigmoid') for one class per image: use activation='softmax', "
            "so the 10 class probabilities sum to 1",
        ),
        (
            10,
            "relu",
            "sparse_categorical_crossentropy",
            DIGITS,
            "Dense(10, activation='relu'): 'relu' does not give class probabilities — the "
            "output layer of a classifier is Dense(10, 'softmax')",
        ),
        (
            10,
            "softmax",
            "binary_crossentropy",
            ONE_HOT,
            "binary_crossentropy with Dense(10, activation='softmax'): use "
            "sparse_categorical_crossentropy (integer labels) or categorical_crossentropy "
            "(one-hot labels)",
        ),
        (
            10,
            "softmax",
            "categorical_crossentropy",
            np.eye(12),
            "one-hot labels have 12 columns but the model has 10 output units: one unit per column",
        ),
        (
            10,
            "softmax",
            "mse",
            DIGITS,
            "loss 'mse' for class labels: a classifier learns with sparse_categorical_crossentropy",
        ),
    ],
)
def test_mismatches_are_named(keras, units, activation, loss, y, message):
    if loss == "logits":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    report = check_head(head(keras, units, activation, loss), y)
    assert not report.passed
    assert report.messages == [message]
    assert 0 < report.score < 1


def test_loss_argument_overrides_and_labels_are_optional(keras):
    model = head(keras, 2, "softmax", "binary_crossentropy")
    assert not check_head(model).passed
    assert check_head(model, loss="sparse_categorical_crossentropy").passed
    uncompiled = head(keras, 2, "sigmoid")
    assert check_head(uncompiled).messages == [
        "Dense(2, activation='sigmoid') for two classes: use Dense(1, 'sigmoid') + "
        "binary_crossentropy, or Dense(2, 'softmax') + sparse_categorical_crossentropy"
    ]
    assert check_head(uncompiled).checks == 1


def test_activation_layer_after_dense_is_the_head(keras):
    L = keras.layers
    model = keras.Sequential([keras.Input((4,)), L.Dense(10), L.Activation("softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    assert check_head(model, DIGITS).passed


def test_output_without_flatten(keras):
    L = keras.layers
    model = keras.Sequential([keras.Input((6, 6, 3)), L.Dense(10, activation="softmax")])
    report = check_head(model, DIGITS, "sparse_categorical_crossentropy")
    assert report.messages[0].startswith("The output has shape (None, 6, 6, 10): add Flatten()")


@pytest.mark.parametrize("thing", [None, "model", [1, 2]])
def test_non_models(thing):
    report = check_head(thing, DIGITS)
    assert not report.passed and report.checks == 0 and len(report.messages) == 1


def test_assert_head_matches(keras):
    assert assert_head_matches(head(keras, 1, "sigmoid", "binary_crossentropy"), BINARY) is None
    with pytest.raises(AssertionError, match=r"Dense\(2, activation='sigmoid'\) with binary"):
        assert_head_matches(head(keras, 2, "sigmoid", "binary_crossentropy"), BINARY)
