"""Sample submissions of a2 and a3 made from the released notebooks, and their scores."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from . import _redteam
from ._samples import REPO

A2 = "a2_shapes_and_parameters"
A3 = "a3_digit_classifier"
A2_MAX = 13.0
A3_MAX = 5.0

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def source_path(assignment: str) -> Path:
    return REPO / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    return REPO / "exercises" / assignment / f"{assignment}.ipynb"


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_answers(assignment: str) -> dict[str, str]:
    """The solution cells' code as a student would type it (the markers removed)."""
    nb = nbformat.read(source_path(assignment), as_version=4)
    return {
        _grade_id(c): "\n".join(line for line in c.source.split("\n") if not _MARKER.match(line))
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def fill(assignment: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with the given answer cells filled in."""
    nb = nbformat.read(release_path(assignment), as_version=4)
    for cell in nb.cells:
        if _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
    return nb


def cell_outputs(notebook: Path, grade_id: str) -> str:
    """Everything a cell of an executed notebook showed: streams and error lines, as text."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if _grade_id(c) == grade_id)
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


# --- a2 ------------------------------------------------------------------------------


def a2_samples() -> dict[str, tuple[nbformat.NotebookNode, float]]:
    """Student id -> (notebook, expected score) for a2.

    The solution earns full marks, the untouched student version 0.
    """
    right = solution_answers(A2)
    build = right["build_house_numbers_model"]
    same = 'layers.Conv2D(16, 5, padding="same", activation="relu")'
    valid = 'layers.Conv2D(32, 3, activation="relu")'
    softmax = 'layers.Dense(10, activation="softmax")'
    for code in (same, valid, softmax):
        assert code in build, "the a2 solution changed: update the samples"
    padding = dict(right)
    padding["build_house_numbers_model"] = build.replace(
        same, 'layers.Conv2D(16, 5, activation="relu")', 1
    )
    same_everywhere = dict(right)
    same_everywhere["build_house_numbers_model"] = build.replace(
        valid, 'layers.Conv2D(32, 3, padding="same", activation="relu")', 1
    )
    lesson = dict(right)
    lesson["build_house_numbers_model"] = _LESSON_03_MODEL.strip()
    patched = dict(padding)
    patched["build_house_numbers_model"] = (
        padding["build_house_numbers_model"].replace(
            softmax, 'layers.Dense(10, activation="relu")', 1
        )
        + "\n\n"
        + _PATCH_CHECKERS.strip()
    )
    counted = dict(right)
    counted["layer_params"] = _COUNT_PARAMS.strip()
    counted["single_layers"] = right["single_layers"].replace(
        "conv_rgb = 24 * 3 * 3 * 3 + 24", _CONV_RGB_BY_KERAS, 1
    )
    assert counted["single_layers"] != right["single_layers"], "update the a2 samples"
    tables = dict(right)
    tables["shapes"] = _SHAPES_FROM_TABLES.strip()
    vendored = {**right, **_redteam.cells(A2, "vendored")}
    return {
        "correct": (fill(A2, right), A2_MAX),
        # a third reviewer's: the kit's tables carried in the notebook for all of part A;
        # part B only (5 points)
        "redteam_vendored": (fill(A2, vendored), 5.0),
        "released": (nbformat.read(release_path(A2), as_version=4), 0.0),
        # Part A's rule: the numbers worked out, not read off Keras or the kit. The answers
        # come from a Python without either: the parameter lists (2 points) and conv_rgb
        # (1 point) are lost, the rest counts
        "rule_count_params": (fill(A2, counted), A2_MAX - 3),
        # the shapes from the kit's table function, reached by a built name: 2 points
        "rule_kit_tables": (fill(A2, tables), A2_MAX - 2),
        # Part B, the padding the output shapes tell. padding='valid' in the first
        # convolution: the total (1 point) and the layer check (3 points) fail; part A and
        # the compile check still count
        "padding": (fill(A2, padding), A2_MAX - 4),
        # padding='same' in both convolutions, as in the lessons' models: the same 4 points
        "same_everywhere": (fill(A2, same_everywhere), A2_MAX - 4),
        # lesson 03's MNIST-style model pasted in (the red team's S7): no longer the answer;
        # the compile check only
        "lesson_03_model": (fill(A2, lesson), A2_MAX - 4),
        # The same model with a ReLU head, and the kit's checkers and Keras's parameter
        # count rewritten in the student's kernel. Tests run in the verifier, with their
        # own copies: the total, the layers and the head (5 points) still fail.
        "patched_checkers": (fill(A2, patched), A2_MAX - 5),
    }


def a2_messages() -> dict[str, dict[str, str]]:
    """Student id -> {test grade_id: text that test's output must contain} for a2."""
    return {
        "padding": {
            "test_house_numbers_layers": (
                "layer 1 (Conv2D): output shape (None, 28, 28, 16), expected (None, 32, 32, 16) "
                "— did you mean padding='same'?"
            ),
            "test_house_numbers_summary": "the model has 42,282 parameters, the table's has 55,594",
        },
        "same_everywhere": {
            "test_house_numbers_layers": (
                "layer 3 (Conv2D): output shape (None, 16, 16, 32), expected (None, 14, 14, 32) "
                "— did you mean padding='valid'?"
            ),
        },
        "lesson_03_model": {
            "test_house_numbers_layers": (
                "input shape (None, 28, 28, 1), expected (None, 32, 32, 1)"
            ),
        },
    }


# Lesson 03's MNIST-style model, with a compile line: the answer of part B until the
# red team's S7, now a different network.
_LESSON_03_MODEL = """
def build_house_numbers_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


_COUNT_PARAMS = """
_net = keras.Sequential([
    keras.Input(shape=(38, 38, 3)),
    layers.Conv2D(12, 5, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(24, 3, strides=2, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(48, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
layer_params = [layer.count_params() for layer in _net.layers]
total_params = _net.count_params()
"""

_CONV_RGB_BY_KERAS = (
    "conv_rgb = keras.Sequential([keras.Input(shape=(48, 48, 3)), layers.Conv2D(24, 3)])"
    ".count_params()"
)

_SHAPES_FROM_TABLES = """
import importlib

_table = getattr(importlib.import_module("cnnwidgets." + "core"), "stack_" + "table")
_net = [
    {"layer": "Conv2D", "filters": 12, "kernel_size": 5, "activation": "relu"},
    {"layer": "MaxPooling2D", "pool_size": 2},
    {"layer": "Conv2D", "filters": 24, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"layer": "MaxPooling2D", "pool_size": 2},
    {"layer": "Flatten"},
    {"layer": "Dense", "units": 48},
    {"layer": "Dense", "units": 10},
]
shapes = [tuple(row["output_shape"][1:]) for row in _table((38, 38, 3), _net)]
"""

# Redefines the checkers the hidden tests import, and the number the visible one reads.
_PATCH_CHECKERS = """
import cnnwidgets.grading
import cnnwidgets.keras_helpers

def _agree(*args, **kwargs):
    return None

for _name in ("assert_model_matches", "assert_head_matches", "check_model"):
    setattr(cnnwidgets.grading, _name, _agree)
cnnwidgets.keras_helpers.not_a_model = _agree
keras.Model.count_params = lambda self: 55_594
"""


# --- a3 ------------------------------------------------------------------------------

_WEAK = """
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Flatten(),
        layers.Dropout(0.1),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""

_OVER_BUDGET = """
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Flatten(),
        layers.Dense(4096, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""

# Lecture 003's binary head on a ten-class problem.
_BINARY_HEAD = """
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(2, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model
"""

_NO_RETURN = """
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""

# Hands in a number instead of a model that earns it, and lowers the bar of the self-check.
_HARD_CODED = """
accuracy = 0.99  # I trained it earlier, trust me
THRESHOLD = 0.0


def build_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""

# Adam at 1e-5 learns next to nothing in 12 epochs: honestly, the head and budget points only.
_SLOW = """
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
"""

# The same model trained on all 1,797 digits (the grader's held-out ones too) inside
# build_model, then compiled again so that its optimizer has taken no step; and the same
# with every layer frozen, so that training cannot undo it.
_PRETRAINED = """
def build_model(freeze=False):
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    digits = load_dataset("digits")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(digits.X, digits.y, epochs=15, verbose=0)
    for layer in model.layers:
        layer.trainable = not freeze
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
"""
_PRETRAINED_FROZEN = _PRETRAINED.replace("freeze=False", "freeze=True")

# A fresh model whose initialisers hold weights trained once, in the answer cell.
_CONSTANT_INIT = """
_digits = load_dataset("digits")
_teacher = keras.Sequential([keras.Input(shape=(8, 8, 1)), layers.Flatten(),
                             layers.Dense(10, activation="softmax")])
_teacher.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
_teacher.fit(_digits.X, _digits.y, epochs=15, verbose=0)
_kernel, _bias = _teacher.layers[-1].get_weights()


def build_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Flatten(),
        layers.Dense(10, activation="softmax",
                     kernel_initializer=keras.initializers.Constant(_kernel),
                     bias_initializer=keras.initializers.Constant(_bias)),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
"""

# student -> (build_model cell, expected score, {test grade_id: text its output must contain})
_A3_CASES: dict[str, tuple[str | None, float, dict[str, str]]] = {
    "correct": (None, A3_MAX, {}),
    # head and budget right; 0.89 held-out accuracy
    "weak": (
        _WEAK,
        2.0,
        {"test_accuracy": "< 0.970 required (the median of 2 trainings: 0."},
    ),  # fmt: skip
    # 307,210 parameters: the head point only
    "over_budget": (
        _OVER_BUDGET,
        1.0,
        {
            "test_budget": "the model has 307,210 parameters, the budget is 150,000",
            "test_accuracy": "the model has 307,210 parameters, the budget is 150,000",
        },
    ),
    # the budget point only
    "binary_head": (
        _BINARY_HEAD,
        1.0,
        {
            "test_head": "Dense(2, activation='sigmoid') for 10 classes",
            "test_accuracy": "training failed",
        },
    ),
    "no_return": (
        _NO_RETURN,
        0.0,
        {"test_head": "Got None", "test_accuracy": "build_model() returned None"},
    ),
    # head and budget right; no accuracy points whatever the notebook claims
    "hard_coded": (_HARD_CODED, 2.0, {"test_accuracy": "< 0.970 required (the median of 2"}),
    # The weights a model comes with never reach the grader's training: what the slow model
    # honestly earns is what its pretrained disguises earn
    "slow": (_SLOW, 2.0, {"test_accuracy": "< 0.970 required"}),
    "rule_pretrained": (_PRETRAINED, 2.0, {"test_accuracy": "< 0.970 required"}),
    "rule_pretrained_frozen": (
        _PRETRAINED_FROZEN,
        2.0,
        {"test_accuracy": "is frozen (trainable=False): the grader trains every layer"},
    ),  # fmt: skip
    # the kit's own network as the answer (a second reviewer's idea): refused, by name
    "rule_kit_network": (
        "from cnnwidgets.networks import digits_cnn as build_model",
        0.0,
        {"test_head": "build_model is the kit's own cnnwidgets.networks.digits_cnn"},
    ),  # fmt: skip
    "rule_constant_init": (
        _CONSTANT_INIT,
        2.0,
        {"test_accuracy": "kernel_initializer is a Constant that holds an array of numbers"},
    ),  # fmt: skip
    # a third reviewer's: a logistic regression fitted on all 1,797 digits, its 650 weights
    # in 161 Rescaling layers of four numbers each: the head and budget points only
    "redteam_rescale_lists": (
        _redteam.cells(A3, "rescale_lists")["build_model"],
        2.0,
        {
            "test_accuracy": "the model carries numbers of its own (layer 'dense_5': "
            "kernel_initializer is Identity"
        },
    ),  # fmt: skip
    # a fourth reviewer's: the same fitted on every digit, its weights as boolean masks in
    # two Rescaling layers (Keras casts them to 0.0 and 1.0): the head and budget points only
    "redteam_bool_masks": (
        _redteam.cells(A3, "bool_masks")["build_model"],
        2.0,
        {"test_accuracy": "scale holds 19,840 numbers"},
    ),  # fmt: skip
    # a fifth reviewer's: the same as index lists of keras.ops.take calls between the layers
    # (operations are no layers, and their arguments were tuples): head and budget only
    "redteam_ops_gather": (
        _redteam.cells(A3, "ops_gather")["build_model"],
        2.0,
        {"test_accuracy": "operation(s) of keras.ops between its layers"},
    ),  # fmt: skip
}


def a3_samples() -> dict[str, tuple[nbformat.NotebookNode, float]]:
    """Student id -> (notebook, expected score) for a3."""
    right = solution_answers(A3)
    out = {"released": (nbformat.read(release_path(A3), as_version=4), 0.0)}
    for student, (code, score, _) in _A3_CASES.items():
        answers = dict(right)
        if code is not None:
            answers["build_model"] = code.strip()
        out[student] = (fill(A3, answers), score)
    return out


def a3_messages() -> dict[str, dict[str, str]]:
    """Student id -> {test grade_id: text that test's output must contain} for a3."""
    return {student: case[2] for student, case in _A3_CASES.items()}


def write_samples(
    course_root: Path, assignment: str, samples: dict[str, tuple[nbformat.NotebookNode, float]]
) -> dict[str, float]:
    """Write ``samples`` under ``course_root/submitted``; return student -> expected score."""
    expected = {}
    for student, (nb, score) in samples.items():
        folder = course_root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
        expected[student] = score
    return expected
