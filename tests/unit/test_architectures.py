"""The reference architectures give COURSE.md's numbers, and their Keras code builds them."""

from __future__ import annotations

import pytest

from cnnwidgets.core.architectures import ARCHITECTURES, architecture, keras_code
from cnnwidgets.core.shapes import (
    STACK_LAYERS,
    param_shares,
    param_totals,
    shape_table,
    stack_table,
)

TOTALS = {
    "mnist": 220_234,
    "cifar": 528_054,
    "cats_vs_dogs": 3_453_121,
    "mlp": 669_706,
    "vgg": 814_122,
}


def _build(code: str):
    from cnnwidgets.keras_helpers import quiet_keras

    quiet_keras()
    namespace: dict = {}
    exec(code, namespace)
    return namespace["model"]


def _without_names(rows):
    return [{k: v for k, v in r.items() if k != "name"} for r in rows]


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_totals_match_the_course(name):
    assert set(ARCHITECTURES) == set(TOTALS)
    assert param_totals(stack_table(*architecture(name)))["total"] == TOTALS[name]


def test_layer_by_layer_numbers():
    params = [r["params"] for r in stack_table(*architecture("cats_vs_dogs")) if r["params"]]
    assert params == [896, 18_496, 73_856, 147_584, 3_211_776, 513]
    rows = stack_table(*architecture("cats_vs_dogs"))
    assert round(max(param_shares(rows)), 2) == 0.93
    mnist = stack_table(*architecture("mnist"))
    assert [r["output_shape"][1:] for r in mnist[:5]] == [
        (28, 28, 32),
        (14, 14, 32),
        (14, 14, 64),
        (7, 7, 64),
        (3136,),
    ]
    assert [r["params"] for r in mnist if r["params"]] == [320, 18_496, 200_768, 650]
    mlp = stack_table(*architecture("mlp"))
    assert [r["params"] for r in mlp] == [401_920, 262_656, 5_130]


def test_architecture_returns_copies():
    shape, layers = architecture("mnist")
    layers[0]["filters"] = 1
    layers.append({"layer": "Dropout"})
    assert architecture("mnist")[1][0]["filters"] == 32
    assert len(architecture("mnist")[1]) == 7
    with pytest.raises(ValueError, match="choose one of cats_vs_dogs, cifar, mlp, mnist, vgg"):
        architecture("resnet")


def test_code_reads_like_the_lectures():
    code = keras_code(
        (28, 28, 1),
        [
            {"layer": "Rescaling", "scale": 1 / 255},
            {"layer": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
            {"layer": "Conv2D", "kernel_size": 3, "filters": 8, "use_bias": False},
            {"layer": "MaxPooling2D"},
            {"layer": "Dropout", "rate": 0.25},
            {"layer": "Dense", "units": 10, "activation": None},
        ],
    )
    assert "keras.Input(shape=(28, 28, 1))," in code
    assert "layers.Rescaling(1 / 255)," in code
    assert 'layers.Conv2D(32, 3, activation="relu"),' in code
    assert "layers.Conv2D(8, 3, use_bias=False)," in code
    assert "layers.MaxPooling2D()," in code
    assert "layers.Dropout(0.25)," in code
    assert "layers.Dense(10)," in code
    with pytest.raises(ValueError, match="Layer 1: unknown layer 'Conv1D'"):
        keras_code((28, 28, 1), [{"layer": "Conv1D"}])


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_code_builds_the_same_model(name):
    model = _build(keras_code(*architecture(name)))
    assert model.count_params() == TOTALS[name]
    assert _without_names(shape_table(model)) == _without_names(stack_table(*architecture(name)))


def test_code_builds_every_stack_layer_as_stack_table_predicts():
    layers = [
        {"layer": "Rescaling", "scale": 1 / 255, "offset": -0.5},
        {"layer": "Conv2D", "filters": 6, "kernel_size": (3, 2), "strides": 2, "use_bias": False},
        {"layer": "BatchNormalization"},
        {"layer": "Activation", "activation": "relu"},
        {"layer": "AveragePooling2D", "pool_size": 2, "padding": "same"},
        {"layer": "Conv2D", "filters": 4, "kernel_size": 2, "dilation_rate": 2},
        {"layer": "MaxPooling2D", "pool_size": 2, "strides": 1},
        {"layer": "GlobalMaxPooling2D"},
        {"layer": "Dropout", "rate": 0.2},
        {"layer": "Dense", "units": 3, "activation": "softmax"},
    ]
    # Flatten is in every preset; GlobalAveragePooling2D differs from GlobalMaxPooling2D
    # only in the values, which tables do not show.
    assert {s["layer"] for s in layers} == set(STACK_LAYERS) - {"Flatten", "GlobalAveragePooling2D"}
    model = _build(keras_code((19, 15, 3), layers))
    assert _without_names(shape_table(model)) == _without_names(stack_table((19, 15, 3), layers))
