"""stack_table and shape_table: the course's models, and Keras models built from random specs."""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import cnnwidgets.core.shapes as shapes_module
from cnnwidgets.core import STACK_LAYERS, param_shares, param_totals, shape_table, stack_table

from ._keras_oracle import ORACLE, keras, keras_model, oracle, run_doctests, summary_rows

# --- The course's models -------------------------------------------------------------------


def _conv(filters, kernel_size, **kw):
    return {"layer": "Conv2D", "filters": filters, "kernel_size": kernel_size, **kw}


MNIST = (
    (28, 28, 1),
    [
        _conv(32, 3, padding="same", activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        _conv(64, 3, padding="same", activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        {"layer": "Flatten"},
        {"layer": "Dense", "units": 64, "activation": "relu"},
        {"layer": "Dense", "units": 10, "activation": "softmax"},
    ],
)
MNIST_ROWS = [
    ("conv2d", "Conv2D", (None, 28, 28, 32), 320),
    ("max_pooling2d", "MaxPooling2D", (None, 14, 14, 32), 0),
    ("conv2d_1", "Conv2D", (None, 14, 14, 64), 18_496),
    ("max_pooling2d_1", "MaxPooling2D", (None, 7, 7, 64), 0),
    ("flatten", "Flatten", (None, 3136), 0),
    ("dense", "Dense", (None, 64), 200_768),
    ("dense_1", "Dense", (None, 10), 650),
]

CIFAR = (
    (32, 32, 3),
    [
        _conv(16, 2, padding="same", activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        _conv(32, 2, padding="same", activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        _conv(64, 2, padding="same", activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        {"layer": "Dropout", "rate": 0.3},
        {"layer": "Flatten"},
        {"layer": "Dense", "units": 500, "activation": "relu"},
        {"layer": "Dropout", "rate": 0.4},
        {"layer": "Dense", "units": 10, "activation": "softmax"},
    ],
)
CIFAR_PARAMS = [208, 0, 2_080, 0, 8_256, 0, 0, 0, 512_500, 0, 5_010]

CATS_VS_DOGS = (
    (150, 150, 3),
    [
        _conv(32, 3, activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        _conv(64, 3, activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        _conv(128, 3, activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        _conv(128, 3, activation="relu"),
        {"layer": "MaxPooling2D", "pool_size": 2},
        {"layer": "Flatten"},
        {"layer": "Dense", "units": 512, "activation": "relu"},
        {"layer": "Dense", "units": 1, "activation": "sigmoid"},
    ],
)
CATS_VS_DOGS_ROWS = [
    ((None, 148, 148, 32), 896),
    ((None, 74, 74, 32), 0),
    ((None, 72, 72, 64), 18_496),
    ((None, 36, 36, 64), 0),
    ((None, 34, 34, 128), 73_856),
    ((None, 17, 17, 128), 0),
    ((None, 15, 15, 128), 147_584),
    ((None, 7, 7, 128), 0),
    ((None, 6272), 0),
    ((None, 512), 3_211_776),
    ((None, 1), 513),
]

MLP = (
    (28, 28),
    [
        {"layer": "Flatten"},
        {"layer": "Dense", "units": 512, "activation": "relu"},
        {"layer": "Dense", "units": 512, "activation": "relu"},
        {"layer": "Dense", "units": 10, "activation": "softmax"},
    ],
)
MLP_ROWS = [((None, 784), 0), ((None, 512), 401_920), ((None, 512), 262_656), ((None, 10), 5_130)]

COURSE_MODELS = {
    "mnist": (MNIST, 220_234),
    "cifar": (CIFAR, 528_054),
    "cats_vs_dogs": (CATS_VS_DOGS, 3_453_121),
    "mlp": (MLP, 669_706),
}


def _rows(table, *keys):
    return [tuple(r[k] for k in keys) for r in table]


def test_mnist_model_by_hand():
    table = stack_table(*MNIST)
    assert _rows(table, "name", "layer", "output_shape", "params") == MNIST_ROWS
    assert param_totals(table) == {"total": 220_234, "trainable": 220_234, "non_trainable": 0}


def test_cifar_model_by_hand():
    table = stack_table(*CIFAR)
    assert _rows(table, "params") == [(p,) for p in CIFAR_PARAMS]
    assert table[6]["output_shape"] == (None, 4, 4, 64)
    assert table[7]["output_shape"] == (None, 1024)
    assert param_totals(table)["total"] == 528_054


def test_cats_vs_dogs_model_by_hand_and_where_its_parameters_live():
    table = stack_table(*CATS_VS_DOGS)
    assert _rows(table, "output_shape", "params") == CATS_VS_DOGS_ROWS
    assert param_totals(table)["total"] == 3_453_121
    shares = param_shares(table)
    assert sum(shares) == pytest.approx(1.0)
    biggest = max(range(len(shares)), key=shares.__getitem__)
    assert table[biggest]["layer"] == "Dense" and table[biggest]["params"] == 3_211_776
    assert round(100 * shares[biggest]) == 93
    assert shares[biggest] == pytest.approx(3_211_776 / 3_453_121)


def test_mlp_by_hand():
    table = stack_table(*MLP)
    assert _rows(table, "output_shape", "params") == MLP_ROWS
    assert param_totals(table)["total"] == 669_706
    # The same MLP fed flat vectors has the same parameters.
    flat = stack_table((784,), MLP[1][1:])
    assert param_totals(flat)["total"] == 669_706


@pytest.mark.parametrize("name", COURSE_MODELS)
def test_course_models_in_keras(name):
    (input_shape, specs), total = COURSE_MODELS[name]
    model = keras_model(input_shape, specs, fresh=True)
    assert model.count_params() == total
    keras_table = shape_table(model)
    ours = stack_table(input_shape, specs)
    assert keras_table == ours  # names, classes, shapes, params and trainable params
    assert param_totals(keras_table)["total"] == total
    assert param_shares(keras_table) == param_shares(ours)
    if name == "mnist":
        assert _rows(keras_table, "name", "layer", "output_shape", "params") == MNIST_ROWS


def test_course_summary_text_lists_every_row():
    model = keras_model(*MNIST, fresh=True)
    text, rows = summary_rows(model)
    assert rows == [(f"{n} ({kind})", str(shape), f"{p:,}") for n, kind, shape, p in MNIST_ROWS]
    assert "Total params: 220,234" in text


# --- Keras as the oracle on random stacks ---------------------------------------------------


@st.composite
def conv_spec(draw):
    spec = _conv(draw(st.integers(1, 8)), draw(st.sampled_from([1, 2, 3, (1, 3), (3, 2)])))
    if draw(st.booleans()):
        spec["padding"] = draw(st.sampled_from(["valid", "same"]))
    # Independent on purpose: strides > 1 with dilation > 1 is refused by Keras and the kit.
    if draw(st.integers(0, 3)) == 0:
        spec["strides"] = draw(st.sampled_from([1, 2, (2, 1)]))
    if draw(st.integers(0, 3)) == 0:
        spec["dilation_rate"] = draw(st.sampled_from([1, 2, (1, 2)]))
    if draw(st.booleans()):
        spec["use_bias"] = draw(st.booleans())
    return spec


@st.composite
def pool_spec(draw):
    spec = {"layer": draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D"]))}
    if draw(st.booleans()):
        spec["pool_size"] = draw(st.sampled_from([1, 2, 3, (2, 1)]))
    if draw(st.booleans()):
        spec["strides"] = draw(st.sampled_from([None, 1, 2, 3]))
    if draw(st.booleans()):
        spec["padding"] = draw(st.sampled_from(["valid", "same"]))
    return spec


def _simple(kind, **kw):
    return st.just({"layer": kind, **kw})


anywhere = st.one_of(
    _simple("BatchNormalization"),
    _simple("Dropout", rate=0.25),
    _simple("Activation", activation="relu"),
    _simple("Rescaling", scale=1 / 255),
)
dense_spec = st.builds(
    lambda units, bias: {"layer": "Dense", "units": units, "use_bias": bias},
    st.integers(1, 12),
    st.booleans(),
)
head = st.sampled_from(["Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", None])


@st.composite
def stacks(draw):
    """An input shape and a stack of specs; most are possible, some are not (too small)."""
    input_shape = (draw(st.integers(3, 20)), draw(st.integers(3, 20)), draw(st.integers(1, 3)))
    body = draw(st.lists(st.one_of(conv_spec(), pool_spec(), anywhere), max_size=5))
    last = draw(head)
    tail = draw(st.lists(st.one_of(dense_spec, anywhere), max_size=3))
    specs = [*body, *([{"layer": last}] if last else []), *tail]
    return input_shape, specs or [{"layer": "Flatten"}]  # Keras builds no model of no layers


def _keras_or_none(input_shape, specs, fresh=False):
    try:
        return keras_model(input_shape, specs, fresh=fresh)
    except (ValueError, TypeError):  # TypeError: a required argument is missing
        return None


@ORACLE
@given(stack=stacks())
def test_stack_table_matches_a_keras_model_built_from_the_same_specs(stack):
    input_shape, specs = stack
    model = _keras_or_none(input_shape, specs)
    event("Keras refuses" if model is None else "Keras builds")
    if model is None:  # Keras refuses: the kit must refuse too, naming the layer
        with pytest.raises(ValueError, match=r"^Layer \d+ \("):
            stack_table(input_shape, specs)
        return
    ours = stack_table(input_shape, specs)
    theirs = shape_table(model)
    assert _rows(ours, "layer", "output_shape", "params", "trainable_params") == _rows(
        theirs, "layer", "output_shape", "params", "trainable_params"
    )
    assert param_totals(ours)["total"] == model.count_params()
    assert [r["params"] for r in ours] == [layer.count_params() for layer in model.layers]


@oracle(max_examples=8)
@given(stack=stacks())
def test_stack_table_names_a_fresh_model_like_keras(stack):
    # Keras numbers its automatic names per session; clear_session starts them afresh.
    input_shape, specs = stack
    model = _keras_or_none(input_shape, specs, fresh=True)
    if model is not None:
        assert _rows(stack_table(input_shape, specs), "name") == [(ly.name,) for ly in model.layers]


@ORACLE
@given(stack=stacks())
def test_shape_table_reads_what_keras_reports(stack):
    input_shape, specs = stack
    model = _keras_or_none(input_shape, specs)
    if model is None:
        return
    table = shape_table(model)
    assert len(table) == len(model.layers)
    for row, layer in zip(table, model.layers, strict=True):
        assert row["name"] == layer.name
        assert row["layer"] == type(layer).__name__
        assert row["output_shape"] == tuple(layer.output.shape)
        assert row["params"] == layer.count_params()
    totals = param_totals(table)
    assert totals["total"] == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert totals["trainable"] == trainable
    _, rows = summary_rows(model)
    assert rows == [
        (f"{r['name']} ({r['layer']})", str(r["output_shape"]), f"{r['params']:,}") for r in table
    ]


def test_shape_table_of_a_functional_model_lists_its_input_layer():
    k = keras()
    inputs = k.Input((10, 12, 3))
    x = k.layers.Conv2D(4, 3, padding="same")(inputs)
    x = k.layers.BatchNormalization()(x)
    outputs = k.layers.Dense(2)(k.layers.GlobalAveragePooling2D()(x))
    model = k.Model(inputs, outputs)
    table = shape_table(model)
    assert [r["layer"] for r in table] == [
        "InputLayer",
        "Conv2D",
        "BatchNormalization",
        "GlobalAveragePooling2D",
        "Dense",
    ]
    assert table[0]["output_shape"] == (None, 10, 12, 3)
    assert [r["params"] for r in table] == [0, 112, 16, 0, 10]
    assert [r["trainable_params"] for r in table] == [0, 112, 8, 0, 10]
    assert param_totals(table) == {"total": 138, "trainable": 130, "non_trainable": 8}
    _, rows = summary_rows(model)
    assert [shape for _, shape, _ in rows] == [str(r["output_shape"]) for r in table]


def test_frozen_layers_count_as_non_trainable():
    model = keras_model(*MNIST)
    model.layers[0].trainable = False
    totals = param_totals(shape_table(model))
    assert totals == {"total": 220_234, "trainable": 220_234 - 320, "non_trainable": 320}


def test_param_shares():
    assert param_shares([{"params": 1}, {"params": 3}]) == [0.25, 0.75]
    assert param_shares([{"params": 0}, {"params": 0}]) == [0.0, 0.0]
    assert param_shares([]) == []
    assert param_totals([]) == {"total": 0, "trainable": 0, "non_trainable": 0}


def test_batch_normalization_learns_two_of_its_four_numbers_per_channel():
    table = stack_table((8, 8, 5), [{"layer": "BatchNormalization"}])
    assert (table[0]["params"], table[0]["trainable_params"]) == (20, 10)


def test_dense_on_an_image_acts_on_the_last_axis():
    table = stack_table((4, 5, 3), [{"layer": "Dense", "units": 7}])
    assert table[0]["output_shape"] == (None, 4, 5, 7)
    assert table[0]["params"] == 3 * 7 + 7


def test_keras_defaults_and_limits():
    # MaxPooling2D's pool_size defaults to 2 in Keras; Dropout takes any rate in [0, 1].
    assert stack_table((7, 7, 1), [{"layer": "MaxPooling2D"}])[0]["output_shape"] == (None, 3, 3, 1)
    for rate in (0, 0.5, 1):
        model = keras_model((4,), [{"layer": "Dropout", "rate": rate}])
        ours = stack_table((4,), [{"layer": "Dropout", "rate": rate}])
        assert _rows(ours, "output_shape", "params") == _rows(
            shape_table(model), "output_shape", "params"
        )


def test_names_given_in_specs_are_kept():
    table = stack_table((28, 28, 1), [_conv(8, 3, name="features"), {"layer": "Flatten"}])
    assert [r["name"] for r in table] == ["features", "flatten"]


def test_every_stack_layer_is_a_keras_layer():
    for kind in STACK_LAYERS:
        assert hasattr(keras().layers, kind)


# --- Bad input: one readable sentence, never a wrong number --------------------------------


@pytest.mark.parametrize(
    ("input_shape", "specs", "phrase"),
    [
        ((28, 28, 1), [{"layer": "Conv3D"}], "Layer 1: unknown layer 'Conv3D'; choose one of"),
        ((28, 28, 1), [{"units": 3}], "unknown layer None"),
        ((28, 28, 1), [_conv(8, 3, kernel=3)], "Layer 1 (Conv2D): unknown argument(s) ['kernel']"),
        ((784,), [_conv(8, 3)], "needs an input of (height, width, channels)"),
        ((28, 28), [_conv(8, 3)], "a grayscale image needs its channel axis"),
        ((10,), [{"layer": "MaxPooling2D"}], "Layer 1 (MaxPooling2D): MaxPooling2D needs an input"),
        ((10,), [{"layer": "GlobalAveragePooling2D"}], "needs an input of (height, width"),
        ((28, 28, 1), [{"layer": "Conv2D", "filters": 8}], "Conv2D needs filters and kernel_size"),
        ((28, 28, 1), [_conv(0, 3)], "filters must be at least 1"),
        ((28, 28, 1), [_conv(8, 3, padding=1)], "takes padding='valid' or 'same'"),
        ((28, 28, 1), [_conv(8, 3, padding="full")], "padding must be 'valid', 'same'"),
        ((28, 28, 1), [_conv(8, 29)], "Layer 1 (Conv2D): The kernel (29) is larger than"),
        ((28, 28, 1), [_conv(8, 3, strides=2, dilation_rate=2)], "strides > 1 together with"),
        ((4, 4, 1), [_conv(1, 3), {"layer": "MaxPooling2D", "pool_size": 3}], "Layer 2"),
        (
            (28, 28, 1),
            [{"layer": "AveragePooling2D", "pool_size": 2, "padding": 1}],
            "ZeroPadding2D",
        ),
        ((28, 28, 1), [{"layer": "Dense"}], "Dense needs units"),
        ((28, 28, 1), [{"layer": "Dense", "units": True}], "units must be a whole number"),
        ((28, 28, 1), [{"layer": "Dropout", "rate": 1.5}], "rate must be a number from 0 to 1"),
        ((28, 28, 1), [{"layer": "Dropout", "rate": "high"}], "rate must be a number from 0"),
        ((28, 28, 1), [{"layer": "Dropout", "rate": True}], "rate must be a number from 0"),
        # Keras's constructors have no default for these: the kit does not invent one.
        ((28, 28, 1), [{"layer": "Dropout"}], "Layer 1 (Dropout): Dropout needs rate."),
        ((28, 28, 1), [{"layer": "AveragePooling2D"}], "AveragePooling2D needs pool_size"),
        ((28, 28, 1), [{"layer": "Activation"}], "Activation needs activation"),
        ((28, 28, 1), [{"layer": "Rescaling"}], "Rescaling needs scale"),
        ((28, 28, 1), [_conv(8, 3), {"layer": "Dense"}], "Layer 2 (Dense): Dense needs units."),
        ((28, 28, 1), ["Dense"], "Layer 1: each layer is a dict such as"),
        ((), [], "input_shape must be a non-empty tuple"),
        ((28, 0, 1), [], "each input_shape size must be at least 1"),
        ((28, 28.0, 1), [], "each input_shape size must be a whole number"),
    ],
)
def test_stack_table_bad_input(input_shape, specs, phrase):
    with pytest.raises(ValueError) as info:
        stack_table(input_shape, specs)
    assert phrase in str(info.value)


def test_shape_table_needs_a_built_keras_model():
    with pytest.raises(ValueError, match="shape_table needs a Keras model, got list"):
        shape_table([1, 2, 3])
    with pytest.raises(ValueError, match="shape_table needs a Keras model, got Dense"):
        shape_table(keras().layers.Dense(3))
    unbuilt = keras().Sequential([keras().layers.Dense(3), keras().layers.Dense(2)])
    with pytest.raises(ValueError, match="has no output shape yet: give the model an input"):
        shape_table(unbuilt)
    unbuilt.build((None, 5))  # ... or build it
    assert [r["output_shape"] for r in shape_table(unbuilt)] == [(None, 3), (None, 2)]


def test_shape_table_docstring_example_with_keras():
    k = keras()
    m = k.Sequential([k.Input((28, 28, 1)), k.layers.Conv2D(32, 3)])
    assert (shape_table(m)[0]["output_shape"], shape_table(m)[0]["params"]) == (
        (None, 26, 26, 32),
        320,
    )


def test_docstring_examples():
    result = run_doctests(shapes_module)
    assert result.failed == 0
    assert result.attempted >= 4
