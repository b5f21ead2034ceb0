"""The architecture explorer shows core's tables, follows edits, and explains broken stacks."""

from __future__ import annotations

import pytest

from cnnwidgets.core.architectures import architecture
from cnnwidgets.core.shapes import param_totals, shape_table, stack_table
from cnnwidgets.widgets.architecture import ArchitectureExplorer


def _keras():
    from cnnwidgets._keras import quiet_keras

    return quiet_keras()


def _build(code: str):
    _keras()
    namespace: dict = {}
    exec(code, namespace)
    return namespace["model"]


@pytest.mark.parametrize(
    ("name", "total"),
    [
        ("mnist", 220_234),
        ("cifar", 528_054),
        ("cats_vs_dogs", 3_453_121),
        ("mlp", 669_706),
        ("vgg", 814_122),
    ],
)
def test_presets(name, total):
    ex = ArchitectureExplorer.preset(name)
    assert ex.table == stack_table(*architecture(name))
    assert ex.totals == {"total": total, "trainable": total, "non_trainable": 0}
    assert ex.error is None and ex.title
    assert f"{total:,}" in ex._table.value


def test_cats_vs_dogs_keeps_93_percent_in_one_dense_layer():
    ex = ArchitectureExplorer.preset("cats_vs_dogs")
    biggest = max(range(len(ex.shares)), key=ex.shares.__getitem__)
    assert ex.table[biggest]["layer"] == "Dense" and ex.table[biggest]["params"] == 3_211_776
    assert round(ex.shares[biggest], 2) == 0.93
    assert "holds 93.0 % of the parameters" in ex._table.value
    assert "&lt;0.1 %" in ex._table.value  # the first conv layer: small, not nothing
    assert sum(ex.shares) == pytest.approx(1)


def test_editing_a_control_updates_the_table():
    ex = ArchitectureExplorer.preset("mnist")
    ex.layer_controls[0]["filters"].value = 16
    assert ex.layers[0]["filters"] == 16
    assert ex.table[0]["params"] == 16 * 9 + 16
    assert ex.table[2]["params"] == 64 * 9 * 16 + 64
    ex.layer_controls[0]["padding"].value = "valid"
    assert ex.table[0]["output_shape"] == (None, 26, 26, 16)
    ex.layer_controls[5]["units"].value = 128
    assert ex.totals == param_totals(stack_table(ex.input_shape, ex.layers))
    ex.layer_controls[5]["activation"].value = "linear"
    assert "activation" not in ex.layers[5]
    ex.input_controls[2].value = 3
    assert ex.input_shape == (28, 28, 3) and ex.table[0]["params"] == 16 * 27 + 16


def test_adding_and_removing_layers():
    ex = ArchitectureExplorer.preset("mnist")
    ex.layer_type.value = "Dropout"
    ex.add_button.click()
    assert ex.layers[-1] == {"layer": "Dropout", "rate": 0.5} and len(ex.layer_controls) == 8
    assert ex.totals["total"] == 220_234
    ex.layer_controls[7]["rate"].value = 0.3
    assert ex.layers[7]["rate"] == pytest.approx(0.3)
    ex.remove_buttons[7].click()
    assert len(ex.layers) == 7
    ex.layer_type.value = "BatchNormalization"
    ex.insert_buttons[1].click()  # BatchNorm above the first pooling layer
    assert ex.layers[1] == {"layer": "BatchNormalization"}
    assert ex.totals == {"total": 220_234 + 128, "trainable": 220_234 + 64, "non_trainable": 64}
    ex.remove_layer(1)
    ex.add_layer("Conv2D", index=0, filters=8, kernel_size=5)
    assert ex.table[0]["params"] == 8 * 25 + 8


def test_invalid_stacks_name_the_layer_and_keep_the_rows_before_it():
    ex = ArchitectureExplorer.preset("mnist")
    ex.add_layer("Conv2D")  # after Dense(10)
    assert ex.error.startswith("Layer 8 (Conv2D): Conv2D needs an input of (height, width")
    assert len(ex.table) == 7 and ex.totals is None and ex.shares == []
    assert "stops here" in ex._table.value and "Layer 8 (Conv2D)" in ex._error.value
    ex.remove_layer(7)
    assert ex.error is None
    ex.layer_controls[0]["padding"].value = "valid"
    ex.layer_controls[0]["kernel_size"].value = 29
    assert "Layer 1 (Conv2D): The kernel (29) is larger than the padded input" in ex.error
    ex.layer_controls[0]["kernel_size"].value = 3
    ex.layer_controls[0]["filters"].value = 0
    assert ex.error == "Layer 1 (Conv2D): filters must be at least 1, got 0."
    ex.input_controls[0].value = 0
    assert "input_shape" in ex.error and ex.table == []


def test_setting_layers_directly_moves_the_controls():
    ex = ArchitectureExplorer((28, 28, 1), [{"layer": "Conv2D", "filters": 4, "kernel_size": 3}])
    controls = ex.layer_controls[0]
    ex.layers = [{"layer": "Conv2D", "filters": 9, "kernel_size": 5, "use_bias": False}]
    assert ex.layer_controls[0] is controls  # same structure: the controls stay, values move
    assert controls["filters"].value == 9 and controls["kernel_size"].value == 5
    assert "use_bias=False" in ex._extras[0].value
    assert ex.table[0]["params"] == 9 * 25
    ex.layers = [{"layer": "Conv2D", "filters": 2, "kernel_size": (3, 1)}]
    assert ex.layer_controls[0]["kernel_size"].disabled  # a pair is shown, not edited
    assert ex.table[0]["output_shape"] == (None, 26, 28, 2)


def test_the_code_box_builds_the_same_model():
    ex = ArchitectureExplorer.preset("cifar")
    ex.layer_controls[0]["filters"].value = 8
    ex.layer_type.value = "BatchNormalization"
    ex.insert_buttons[1].click()
    code = ex.to_keras_code()
    assert code == ex.code and "layers.Conv2D(8, 2" in ex._code.value
    model = _build(code)
    assert model.count_params() == ex.totals["total"]
    table = shape_table(model)
    assert [r["output_shape"] for r in table] == [r["output_shape"] for r in ex.table]
    assert param_totals(table) == ex.totals


def test_from_model_sequential_and_functional():
    keras = _keras()
    layers = keras.layers
    seq = keras.Sequential(
        [keras.Input((12, 12, 1)), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(2)]
    )
    ex = ArchitectureExplorer.from_model(seq)
    assert ex.table == shape_table(seq) and ex.totals["total"] == seq.count_params()
    assert ex.title == seq.name and ex.input_shape == (12, 12, 1)
    inputs = keras.Input((10, 10, 3))
    x = layers.Conv2D(8, 3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    y = layers.Conv2D(8, 1)(inputs)
    x = layers.GlobalAveragePooling2D()(layers.Add()([x, y]))
    func = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x), name="branchy")
    ex = ArchitectureExplorer.from_model(func, title="Two branches")
    assert ex.table == shape_table(func)
    assert ex.table[0]["layer"] == "InputLayer"
    assert ex.totals == {
        "total": func.count_params(),
        "trainable": func.count_params() - 16,
        "non_trainable": 16,
    }
    assert ex.title == "Two branches" and not ex.editable and ex.layers == []
    with pytest.raises(ValueError, match="cannot edit"):
        ex.add_layer("Dense")
    with pytest.raises(ValueError, match="cannot edit"):
        ex.to_keras_code()


def test_from_an_unbuilt_model_explains_instead_of_failing():
    keras = _keras()
    ex = ArchitectureExplorer.from_model(keras.Sequential([keras.layers.Dense(3)]))
    assert ex.table == [] and "keras.Input" in ex.error and ex.totals is None


def test_unknown_preset_and_layer():
    with pytest.raises(ValueError, match="choose one of"):
        ArchitectureExplorer.preset("resnet")
    with pytest.raises(ValueError, match="Unknown layer 'Conv3D'"):
        ArchitectureExplorer().add_layer("Conv3D")
    ex = ArchitectureExplorer((28, 28, 1), [{"layer": "Conv3D"}])
    assert ex.error.startswith("Layer 1: unknown layer 'Conv3D'") and ex.code is None


def test_a_residual_block_shows_who_feeds_whom():
    from cnnwidgets.core.deeper import residual_block_table

    keras = _keras()
    layers = keras.layers
    inputs = keras.Input((16, 16, 32), name="input")
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = layers.Conv2D(64, 3, padding="same", name="conv_b")(x)
    shortcut = layers.Conv2D(64, 1, name="projection")(inputs)
    outputs = layers.Activation("relu", name="relu")(layers.Add(name="add")([shortcut, x]))
    ex = ArchitectureExplorer.from_model(keras.Model(inputs, outputs))
    expected = residual_block_table((16, 16, 32), 64)
    assert ex.connections == {r["name"]: r["inputs"] for r in expected}
    assert [r["params"] for r in ex.table] == [r["params"] for r in expected]
    assert "Connected to" in ex._table.value and "projection, conv_b" in ex._table.value
    chain = ArchitectureExplorer.from_model(
        keras.Sequential([keras.Input((4,)), layers.Dense(2), layers.Dense(1)])
    )
    assert chain.connections == {} and "Connected to" not in chain._table.value
