"""FeatureMapViewer: a student's layer and image choices, checked against Keras sub-models."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from cnnwidgets.core.featuremaps import filter_grid, grid_shape
from cnnwidgets.widgets.featuremaps import FeatureMapViewer


@pytest.fixture(scope="module")
def keras():
    from cnnwidgets._keras import quiet_keras

    return quiet_keras()


@pytest.fixture(scope="module")
def digits():
    from cnnwidgets.data import load_dataset

    X, y, names = load_dataset("digits", n=300)
    return X, y, names


def _layers(keras, head="softmax"):
    L = keras.layers
    return [
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(16, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(10, activation=head),
    ]


@pytest.fixture(scope="module")
def model(keras, digits):
    """A small digits CNN, trained for one epoch."""
    X, y, _ = digits
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), *_layers(keras)])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=1, verbose=0)
    return model


@pytest.fixture(scope="module")
def viewer(model, digits):
    X, y, names = digits
    return FeatureMapViewer(model, X[:20], y=y[:20], labels=names)


def _expected_tile_shape(h, w, c):
    rows, cols = grid_shape(c)
    return (rows * (h + 1) - 1, cols * (w + 1) - 1)


def test_the_layers_with_feature_maps_are_offered(viewer, model):
    spatial = [layer.name for layer in model.layers if len(layer.output.shape) == 4]
    assert viewer.layer_names == spatial and len(spatial) == 4
    assert viewer.layer_name == spatial[0] and viewer.message == ""
    labels = [label for label, _ in viewer._layer_dd.options]
    assert labels[0] == f"{spatial[0]} (Conv2D) 8×8×8"
    assert labels[1] == f"{spatial[1]} (MaxPooling2D) 4×4×8"


def test_activations_are_what_a_keras_sub_model_gives(viewer, model, keras, digits):
    X = digits[0]
    for index in (0, 7):
        viewer.index = index
        for layer in model.layers[:4]:
            viewer.layer_name = layer.name
            oracle = keras.Model(model.inputs, layer.output)([X[index : index + 1]])
            np.testing.assert_allclose(viewer.activations, np.asarray(oracle)[0], atol=1e-6)


def test_switching_layers_retiles_to_the_layer_s_channels(viewer):
    for name in viewer.layer_names:
        viewer.layer_name = name
        h, w, c = viewer.activations.shape
        assert viewer.tile.shape == _expected_tile_shape(h, w, c)
        assert f"{h}×{w}×{c} — {c} maps" in viewer._maps_caption.value
    viewer.layer_name = viewer.layer_names[0]
    assert viewer.tile.shape == _expected_tile_shape(8, 8, 8)


def test_pooling_maps_are_half_the_size_of_the_conv_maps_before_them(viewer):
    names = viewer.layer_names
    for conv, pool in ((names[0], names[1]), (names[2], names[3])):
        viewer.layer_name = conv
        conv_maps = viewer.activations
        viewer.layer_name = pool
        h, w, c = conv_maps.shape
        assert viewer.activations.shape == (h // 2, w // 2, c)
        # Max pooling keeps the largest value of each 2x2 window.
        np.testing.assert_allclose(
            viewer.activations, conv_maps.reshape(h // 2, 2, w // 2, 2, c).max(axis=(1, 3))
        )


def test_switching_layers_does_not_call_the_model_again(viewer):
    calls = []
    sub = viewer._sub

    def counting(x, training=False):
        calls.append(x.shape)
        return sub(x, training=training)

    viewer._sub = counting
    try:
        viewer.index = 11
        for name in viewer.layer_names:
            viewer.layer_name = name
        viewer.normalize = "all"
        viewer.index = 12
        viewer.index = 11  # cached
    finally:
        viewer._sub = sub
        viewer.normalize = "each"
    assert calls == [(1, 8, 8, 1), (1, 8, 8, 1)]


def test_the_first_conv_layer_s_filters(viewer, model):
    conv = model.layers[0]
    assert viewer.filters_layer == conv.name
    assert viewer.filters.shape == (2 * 4 - 1, 4 * 4 - 1)  # 8 filters of 3x3 in a 2 x 4 grid
    np.testing.assert_array_equal(viewer.filters, filter_grid(conv.get_weights()[0]))
    assert "8 filters of 3×3×1" in viewer._filters_caption.value
    assert bytes(viewer._filters_image.value).startswith(b"\x89PNG")


def test_the_prediction_is_the_model_s_top_three(viewer, model, digits):
    X, y, names = digits
    viewer.index = 3
    probabilities = np.asarray(model(X[3:4]))[0]
    np.testing.assert_allclose(viewer.probabilities, probabilities, rtol=1e-5)
    top = np.argsort(-probabilities)[:3]
    assert [name for name, _ in viewer.prediction] == [names[i] for i in top]
    assert [p for _, p in viewer.prediction] == pytest.approx(probabilities[top].tolist())
    assert f"true label: <b>{names[y[3]]}</b>" in viewer._prediction_html.value


def test_the_controls_set_the_traits(viewer):
    viewer._layer_dd.value = viewer.layer_names[2]
    assert viewer.layer_name == viewer.layer_names[2] and viewer.activations.shape[2] == 16
    viewer._index_slider.value = 5
    assert viewer.index == 5
    viewer._normalize_tb.value = "all"
    assert viewer.normalize == "all"
    finite = viewer.tile[np.isfinite(viewer.tile)]
    assert finite.min() == 0.0 and finite.max() == pytest.approx(1.0)
    viewer.normalize = "each"
    assert viewer._normalize_tb.value == "each"  # and back
    assert viewer._index_slider.max == 19


def test_wrong_choices_are_refused(viewer):
    with pytest.raises(traitlets.TraitError, match="choose one of"):
        viewer.layer_name = "dense"
    with pytest.raises(traitlets.TraitError, match="between 0 and 19"):
        viewer.index = 20


def test_a_functional_model_with_logits(keras, digits):
    X, y, _ = digits
    keras.utils.set_random_seed(1)
    x = inputs = keras.Input((8, 8, 1))
    for layer in _layers(keras, head=None):
        x = layer(x)
    model = keras.Model(inputs, x)
    w = FeatureMapViewer(model, X[:4], columns=2)
    assert w.message == "" and len(w.layer_names) == 4
    assert w.tile.shape == (4 * 9 - 1, 2 * 9 - 1)  # 8 maps, 2 per row
    assert w.probabilities.sum() == pytest.approx(1.0)
    assert "softmax of the model's outputs" in w._prediction_html.value


def test_a_pretrained_base_inside_the_model(keras, digits):
    # Transfer learning: the base is one layer (a model) of the model that uses it.
    L = keras.layers
    base = keras.Sequential(
        [keras.Input((8, 8, 1)), L.Conv2D(6, 3, activation="relu"), L.MaxPooling2D()],
        name="base",
    )
    base.trainable = False
    model = keras.Sequential([keras.Input((8, 8, 1)), base, L.Flatten(), L.Dense(10)])
    w = FeatureMapViewer(model, digits[0][:3])
    assert w.layer_names == ["base"] and w.activations.shape == (3, 3, 6)
    assert w.filters_layer == base.layers[0].name and w.filters.shape == (2 * 4 - 1, 4 * 4 - 1)


def test_a_colour_model_shows_colour_filters(keras):
    keras.utils.set_random_seed(2)
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            L.Conv2D(16, 5, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.GlobalAveragePooling2D(),
            L.Dense(1, activation="sigmoid"),
        ]
    )
    X = np.random.default_rng(0).random((3, 64, 64, 3)).astype("float32")
    w = FeatureMapViewer(model, X, labels=["cat", "dog"])
    assert len(w.layer_names) == 2  # global pooling gives a vector, not maps
    assert w.filters.shape == (4 * 6 - 1, 4 * 6 - 1, 3)
    assert sorted(name for name, _ in w.prediction) == ["cat", "dog"]
    w.layer_name = w.layer_names[1]
    assert w.activations.shape == (32, 32, 16)


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("unbuilt", "not built yet"),
        ("subclassed", "subclassed model"),
        ("no channel axis", "add the channel axis: X[..., None]"),
        ("no maps", "no layer with a spatial output"),
    ],
)
def test_models_it_cannot_show_get_a_clear_message(keras, digits, model, case, words):
    X = digits[0][:5]
    L = keras.layers
    if case == "unbuilt":
        args = (keras.Sequential(_layers(keras)), X)
    elif case == "subclassed":

        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.conv = L.Conv2D(4, 3)

            def call(self, x):
                return self.conv(x)

        net = Net()
        net(X)
        args = (net, X)
    elif case == "no channel axis":
        args = (model, X[..., 0])
    else:
        args = (keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(10)]), X)
    w = FeatureMapViewer(*args)
    assert words in w.message
    assert w.activations is None and w.tile is None
    assert words in w._message_html.value
    assert w._layer_dd.disabled
