"""check_model and assert_model_matches on right, wrong and non-models."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnwidgets.core import param_totals, shape_table
from cnnwidgets.grading import ModelReport, assert_model_matches, check_model

from .builders import cifar_model, mnist_layers, mnist_model


def test_reference_is_the_course_model(keras, mnist_reference):
    table = shape_table(mnist_reference)
    assert param_totals(table)["total"] == 220_234
    assert [r["output_shape"] for r in table][:4] == [
        (None, 28, 28, 32),
        (None, 14, 14, 32),
        (None, 14, 14, 64),
        (None, 7, 7, 64),
    ]
    assert cifar_model(keras).count_params() == 528_054


def test_reference_matches_itself(mnist_reference):
    report = check_model(mnist_reference, mnist_reference)
    assert isinstance(report, ModelReport)
    assert report.passed and report.score == 1.0 and report.messages == []
    assert bool(report)
    assert str(report) == f"✔ All {report.checks} checks passed: the model matches the reference."


def test_functional_twin_passes(keras, mnist_reference):
    assert check_model(mnist_model(keras, functional=True), mnist_reference).passed
    # ... and the other way round
    assert check_model(mnist_reference, mnist_model(keras, functional=True)).passed


def test_input_shape_kwarg_equals_keras_input(keras, mnist_reference):
    L = keras.layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras 3 prefers keras.Input; the lectures use this
        layers = mnist_layers(keras)
        first = L.Conv2D(32, 3, padding="same", activation="relu", input_shape=(28, 28, 1))
        model = keras.Sequential([first, *layers[1:]])
    assert check_model(model, mnist_reference).passed


def test_activation_forms_are_equal(keras, mnist_reference):
    L = keras.layers
    # a separate Activation layer, a ReLU layer and the activation function itself
    layers = mnist_layers(keras)
    layers[0] = L.Conv2D(32, 3, padding="same")
    layers.insert(1, L.Activation("relu"))
    layers[6] = L.Dense(64, activation=keras.activations.relu)
    layers[7] = L.Dense(10)
    layers.insert(8, L.Softmax())
    model = keras.Sequential([keras.Input((28, 28, 1)), *layers])
    report = check_model(model, mnist_reference)
    assert report.passed, str(report)


def test_extra_trailing_layer_fails(keras, mnist_reference):
    model = mnist_model(keras, extra=keras.layers.Dense(10, activation="softmax"))
    report = check_model(model, mnist_reference)
    assert not report.passed and 0 < report.score < 1
    assert report.messages == ["The model has 8 layers, expected 7: layer 8 (Dense) is extra."]


def test_extra_layer_in_the_middle_is_named(keras, mnist_reference):
    layers = mnist_layers(keras)
    layers.insert(4, keras.layers.Dropout(0.2))
    report = check_model(keras.Sequential([keras.Input((28, 28, 1)), *layers]), mnist_reference)
    assert report.messages == ["The model has 8 layers, expected 7: layer 5 (Dropout) is extra."]


def test_missing_last_layer_fails(keras, mnist_reference):
    report = check_model(mnist_model(keras, drop=6), mnist_reference)
    assert not report.passed
    assert report.messages[0] == (
        "The model has 6 layers, expected 7: Dense(units=10, activation='softmax') "
        "is missing after layer 6 (Dense)."
    )


def test_missing_pooling_is_the_root_cause(keras, mnist_reference):
    report = check_model(mnist_model(keras, drop=3), mnist_reference)
    assert report.messages == [
        "The model has 6 layers, expected 7: MaxPooling2D(pool_size=(2, 2)) is missing "
        "after layer 3 (Conv2D).",
        "Layers 4 and 5 also differ because their input does (e.g. layer 5 (Dense): "
        "802,880 parameters, expected 200,768); fix the first problem and check again.",
    ]


def test_wrong_padding_names_the_cause_once(keras, mnist_reference):
    report = check_model(mnist_model(keras, padding="valid"), mnist_reference)
    assert not report.passed
    assert report.messages[0] == (
        "layer 1 (Conv2D): output shape (None, 26, 26, 32), expected (None, 28, 28, 32) "
        "— did you mean padding='same'?"
    )
    # the shapes of layers 2-6 follow from layer 1: one line, not one message each
    assert len(report.messages) == 2
    assert report.messages[1].startswith("Layers 2–6 also differ because their input does")
    assert str(report).splitlines()[1] == "  - " + report.messages[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"filters1": 16}, "layer 1 (Conv2D): filters 16, expected 32"),
        ({"kernel1": 5}, "layer 1 (Conv2D): kernel_size (5, 5), expected (3, 3)"),
        ({"strides1": 2}, "layer 1 (Conv2D): strides (2, 2), expected (1, 1)"),
        ({"pool1": 3}, "layer 2 (MaxPooling2D): pool_size (3, 3), expected (2, 2)"),
        ({"units": 128}, "layer 6 (Dense): units 128, expected 64"),
        (
            {"hidden": None},
            "layer 6 (Dense): activation 'linear', expected 'relu' — did you forget "
            "activation='relu'?",
        ),
        (
            {"head": "relu"},
            "layer 7 (Dense): activation 'relu', expected 'softmax' — the output layer "
            "turns scores into class probabilities",
        ),
    ],
)
def test_wrong_argument_is_named(keras, mnist_reference, change, message):
    report = check_model(mnist_model(keras, **change), mnist_reference)
    assert not report.passed
    assert report.messages[0] == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate1": 0.5}, "layer 7 (Dropout): rate 0.5, expected 0.3"),
        ({"rate2": 0.2}, "layer 10 (Dropout): rate 0.2, expected 0.4"),
        ({"units": 256}, "layer 9 (Dense): units 256, expected 500"),
    ],
)
def test_cifar_model_arguments(keras, kwargs, message):
    report = check_model(cifar_model(keras, **kwargs), cifar_model(keras))
    assert report.messages[0] == message
    assert check_model(cifar_model(keras), cifar_model(keras)).passed


def test_wrong_layer_class(keras, mnist_reference):
    layers = mnist_layers(keras)
    layers[1] = keras.layers.AveragePooling2D(2)
    report = check_model(keras.Sequential([keras.Input((28, 28, 1)), *layers]), mnist_reference)
    assert report.messages == [
        "layer 2 (AveragePooling2D): expected MaxPooling2D(pool_size=(2, 2)) here"
    ]


@pytest.mark.parametrize(
    ("shape", "hint"),
    [
        ((28, 28, 3), "grayscale images have 1 channel, colour images 3"),
        ((32, 32, 1), "use keras.Input(shape=(28, 28, 1))"),
    ],
)
def test_wrong_input_shape(keras, mnist_reference, shape, hint):
    report = check_model(mnist_model(keras, input_shape=shape), mnist_reference)
    assert (
        report.messages[0] == f"input shape {(None, *shape)}, expected (None, 28, 28, 1) — {hint}"
    )


def test_missing_channel_axis(keras):
    L = keras.layers

    def mlp(shape):
        return keras.Sequential([keras.Input(shape), L.Flatten(), L.Dense(10)])

    report = check_model(mlp((28, 28)), mlp((28, 28, 1)))
    assert report.messages == [
        "input shape (None, 28, 28), expected (None, 28, 28, 1) — an image needs its channel "
        "axis: keras.Input(shape=(28, 28, 1))"
    ]


def test_nested_models_are_compared_inside(keras):
    L = keras.layers

    def model(zoom):
        block = keras.Sequential([L.RandomFlip("horizontal"), L.Conv2D(zoom, 3)])
        return keras.Sequential([keras.Input((8, 8, 1)), block, L.Flatten(), L.Dense(2)])

    assert check_model(model(4), model(4)).passed
    report = check_model(model(8), model(4))
    assert report.messages[0] == "layer 1 (Sequential) › layer 2 (Conv2D): filters 8, expected 4"
    inline = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            L.RandomFlip("horizontal"),
            L.Conv2D(4, 3),
            L.Flatten(),
            L.Dense(2),
        ]
    )
    assert check_model(inline, model(4)).messages[:2] == [
        "The model has 4 layers, expected 3: layer 2 (Conv2D) is extra.",
        "layer 1 (RandomFlip): expected Sequential([RandomFlip, Conv2D]) here",
    ]


def _unbuilt(keras):
    return keras.Sequential([keras.layers.Dense(3)])


def _subclassed(keras):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    return Net()


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda k: None, "did build_model() forget to `return model`?"),
        (lambda k: mnist_model, "did you forget to call mnist_model()?"),
        (lambda k: mnist_layers(k), "wrap them in a model: keras.Sequential([...])"),
        (lambda k: "model", "Got a string ('model') instead of a Keras model."),
        (lambda k: k.Sequential, "Got the class Sequential, not a model made from it"),
        (lambda k: 42, "Got a int (42) instead of a Keras model."),
        (lambda k: k.layers.Dense(3), "Got a single Dense layer instead of a model"),
        (_unbuilt, "give it one: put keras.Input(shape=(28, 28, 1)) first"),
        (_subclassed, "Net is a subclassed keras.Model"),
    ],
)
def test_non_models_fail_with_a_sentence(keras, mnist_reference, make, phrase):
    report = check_model(make(keras), mnist_reference)
    assert not report.passed and report.score == 0.0 and report.checks == 0
    assert len(report.messages) == 1 and phrase in report.messages[0]
    assert str(report).startswith("✘ Nothing could be checked")


def test_invalid_reference_is_the_instructors_error(keras, mnist_reference):
    with pytest.raises(TypeError, match="the reference must be a built Keras model"):
        check_model(mnist_reference, None)


def test_assert_model_matches(keras, mnist_reference):
    assert assert_model_matches(mnist_model(keras, functional=True), mnist_reference) is None
    with pytest.raises(AssertionError) as info:
        assert_model_matches(mnist_model(keras, padding="valid"), mnist_reference)
    text = str(info.value)
    assert text == str(check_model(mnist_model(keras, padding="valid"), mnist_reference))
    assert "did you mean padding='same'?" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


# --- Random stacks: a model matches itself and its twin; one changed argument is found ---

_stack = st.lists(
    st.tuples(st.sampled_from([4, 8]), st.sampled_from([1, 3]), st.sampled_from(["same", "valid"])),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stack=_stack, which=st.integers(0, 2), data=st.data())
def test_random_stacks(keras, stack, which, data):
    L = keras.layers

    def build(stack, functional):
        layers = [L.Conv2D(f, k, padding=p, activation="relu") for f, k, p in stack]
        layers += [L.Flatten(), L.Dense(3, activation="softmax")]
        x = inputs = keras.Input((12, 12, 2))
        if not functional:
            return keras.Sequential([inputs, *layers])
        for layer in layers:
            x = layer(x)
        return keras.Model(inputs, x)

    reference = build(stack, functional=False)
    assert check_model(build(stack, functional=True), reference).passed
    i = which % len(stack)
    f, k, p = stack[i]
    changed = list(stack)
    changed[i] = (12 - f, k, p)  # 4 <-> 8 filters
    report = check_model(build(changed, functional=data.draw(st.booleans())), reference)
    assert not report.passed
    assert report.messages[0] == f"layer {i + 1} (Conv2D): filters {12 - f}, expected {f}"


def test_nested_model_with_a_missing_layer(keras):
    L = keras.layers

    def model(*inner):
        block = keras.Sequential([L.RandomFlip("horizontal"), *inner])
        return keras.Sequential([keras.Input((8, 8, 1)), block, L.Flatten(), L.Dense(2)])

    report = check_model(model(), model(L.RandomZoom(0.1)))
    assert report.messages[0] == (
        "layer 1 (Sequential) has 1 layer, expected 2: RandomZoom() is missing after "
        "layer 1 (Sequential) › layer 1 (RandomFlip)."
    )
