"""Assignments a6 and a7: grade sample submissions with `cnnkit grade --jobs 2`.

Whether exercises/ equals a fresh generation and leaks nothing is checked for every
assignment by test_exercises.py; here one grading run per assignment gives the solution
full marks and the release 0, and the samples show what the typical mistakes cost and say:
the lecture's Dense(2, 'sigmoid') head, an overfitting "fix" that changes nothing, a transfer
model whose base is not frozen.
"""

from __future__ import annotations

import pytest

from . import _redteam
from ._cases import Cases, Graded, grade, scores
from ._samples_a3 import cell_outputs
from .conftest import tree_hashes

pytestmark = pytest.mark.slow

A6, A7 = "a6_faces", "a7_inside_the_network"
A6_MAX, A7_MAX = 10.0, 12.0

_UNCHANGED = """
def build_regularized_model():
    return build_overfitting_model()
"""

# student -> ({answer grade_id: new code, or (old, new) for one edit of the solution's code},
#             expected score, {test grade_id: text that test's output must contain})

# Part 6 read by the last epoch's validation loss rather than the lowest: the hidden 2 points
_LAST_EPOCH = ("low = val.min() if val.size else np.inf", "low = val[-1] if val.size else np.inf")

_A6_CASES: Cases = {
    "correct": ({}, A6_MAX, {}),
    "released": (None, 0.0, {}),
    # Lecture 003's head: the head point, and the accuracy points, since Keras cannot train
    # two sigmoids on one 0/1 label column; the overfitting fix still counts
    "lecture_head": (
        {
            "build_model": (
                'layers.Dense(1, activation="sigmoid"),  # one probability: "is it a face?"',
                'layers.Dense(2, activation="sigmoid"),',
            )
        },
        A6_MAX - 4,
        {
            "test_head": (
                "Dense(2, activation='sigmoid') with binary labels: use Dense(1, 'sigmoid') + "
                "binary_crossentropy, or Dense(2, 'softmax') + sparse_categorical_crossentropy"
            ),
            "test_accuracy": "training failed: Dense(2, activation='sigmoid') with binary labels",
        },
    ),
    # A third reviewer's: a logistic regression fitted on all 200 faces, its weights in
    # Rescaling settings or scalar Constant kernels, trained at a learning rate that moves
    # nothing: the head point and part 6 (the solution's) only
    "redteam_rescale_lists": (
        _redteam.cells(A6, "rescale_lists"),
        4.0,
        {
            "test_accuracy": "the model carries numbers of its own (layer 'dense_3': "
            "kernel_initializer is Ones"
        },
    ),
    "redteam_constant_scalars": (
        _redteam.cells(A6, "constant_scalars"),
        4.0,
        {"test_regularized": "kernel_initializer is Constant: a weight that multiplies"},
    ),  # fmt: skip
    # a fourth reviewer's: the same as boolean masks in Rescaling layers
    "redteam_bool_masks": (
        _redteam.cells(A6, "bool_masks"),
        4.0,
        {"test_accuracy": "scale holds 625 numbers"},
    ),  # fmt: skip
    # a fifth reviewer's: the same as index lists of keras.ops.take calls, for both models:
    # the head point and part 6 only
    "redteam_ops_gather": (
        _redteam.cells(A6, "ops_gather"),
        4.0,
        {"test_accuracy": "the model carries numbers of its own (layer 'take_"},
    ),  # fmt: skip
    # The given overfitting network handed in as the fix: no points for the fix
    "sweep_last_epoch": (
        {"read_sweep": _LAST_EPOCH},
        A6_MAX - 2,
        {"test_read_sweep_random": "the lowest validation loss is"},
    ),
    # part 6 through the kit's own reading of a sweep, which the room does not have
    "rule_kit_sweep": (
        {"read_sweep": "from cnnwidgets.core import read_sweep"},
        A6_MAX - 3,
        {"test_read_sweep": "uses cnnwidgets, which this task does not allow"},
    ),
    "unchanged_fix": (
        {"build_regularized_model": _UNCHANGED},
        A6_MAX - 3,
        {
            "test_regularized": "the model still learns the 40 training images by heart",
        },
    ),
}

_FREEZE = "base.trainable = False  # conv_1 and conv_2 keep their weights"

# The tests build the network themselves: a notebook that replaces the test images before
# computing its activations loses the activations point only; one that replaces `model`
# loses it too, and the parameter counts, since the notebook's own `transfer` cell then
# fails on a model without pool_2.
_OTHER_MODEL = """
image = X_test[:1]
model = keras.Sequential([keras.Input(shape=(8, 8, 1)),
                          layers.Conv2D(16, 3, padding="same", name="conv_1")])
activations = feature_extractor(model, "conv_1").predict(image, verbose=0)
"""
_OTHER_IMAGES = """
X_test = np.zeros_like(X_test)
image = X_test[:1]
activations = feature_extractor(model, "conv_1").predict(image, verbose=0)
"""
# A head that starts from weights trained beforehand, through Keras initialisers: refused,
# with a message, by both tests that train (3 points).
_TRAINED_HEAD = """
def build_transfer_model(trained):
    base = feature_extractor(trained, "pool_2")
    base.trainable = False
    inputs = keras.Input(shape=(8, 8, 1))
    x = layers.Flatten()(base(inputs, training=False))
    start = keras.initializers.Constant(np.full((128, 1), 0.01))
    outputs = layers.Dense(1, activation="sigmoid", kernel_initializer=start)(x)
    new_model = keras.Model(inputs, outputs)
    new_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return new_model
"""

_A7_CASES: Cases = {
    "correct": ({}, A7_MAX, {}),
    "released": (None, 0.0, {}),
    "rule_other_model": (
        {"activations": _OTHER_MODEL},
        A7_MAX - 2,
        {"test_activations": "activations are not conv_1's output"},
    ),  # fmt: skip
    "rule_other_images": ({"activations": _OTHER_IMAGES}, A7_MAX - 1, {}),
    "rule_trained_head": (
        {"build_transfer_model": _TRAINED_HEAD},
        A7_MAX - 3,
        {"test_head_accuracy": "a Constant that holds an array of numbers"},
    ),
    # Forgets to freeze: the hidden test trains the model and finds the base's weights moved;
    # the counts describe the student's own model and its head learns, so they still count
    "not_frozen": (
        {"build_transfer_model": (_FREEZE, "")},
        A7_MAX - 2,
        {
            "test_base_frozen": (
                "training the transfer model for 5 epochs changed the base's weights (conv_1's "
                "kernel, conv_1's bias, conv_2's kernel, conv_2's bias): freeze the base "
                "(base.trainable = False) before compile"
            ),
        },
    ),
    # Fine-tuning (part 3) on the grader's own transfer model: the whole base unfrozen, or
    # the head's learning rate kept, costs the form point and the 2 points of the run
    "fine_tune_all": (
        {
            "prepare_fine_tuning": (
                'layer.trainable = layer.name == "conv_2"  # the upper block; conv_1 stays frozen',
                "layer.trainable = True",
            )
        },
        A7_MAX - 3,
        {
            "test_fine_tuning_form": "conv_1 is trainable: keep the lower block frozen",
            "test_fine_tuning": "conv_1 is trainable",
        },
    ),
    # a rate low at the first step only (the form once read it there): the same 3 points
    "fine_tune_rate_jump": (
        {
            "prepare_fine_tuning": (
                "learning_rate=1e-4",
                "learning_rate=keras.optimizers.schedules.PiecewiseConstantDecay([1], [1e-4, 0.5])",
            )
        },
        A7_MAX - 3,
        {"test_fine_tuning_form": "the learning rate is 0.5: fine-tuning needs a low one"},
    ),
    "fine_tune_fast": (
        {"prepare_fine_tuning": ("learning_rate=1e-4", "learning_rate=3e-3")},
        A7_MAX - 3,
        {"test_fine_tuning": "the learning rate is 0.003: fine-tuning needs a low one"},
    ),
}


def _check(graded: Graded, assignment: str, cases: Cases) -> None:
    assert graded.run.returncode == 0, graded.run.stdout + graded.run.stderr
    assert scores(graded.root, assignment) == graded.expected
    for student, (_, _, wanted) in cases.items():
        notebook = graded.root / "autograded" / student / assignment / f"{assignment}.ipynb"
        for grade_id, text in wanted.items():
            shown = cell_outputs(notebook, grade_id)
            assert text in shown, f"{student}, {grade_id}: {shown!r}"
    assert tree_hashes(graded.root / "submitted") == graded.before


def test_a6_samples(tmp_path):
    graded = grade(tmp_path, A6, _A6_CASES)
    _check(graded, A6, _A6_CASES)
    # the student sees the gap the grader measured for the unchanged network
    shown = cell_outputs(
        graded.root / "autograded" / "unchanged_fix" / A6 / f"{A6}.ipynb", "test_regularized"
    )
    assert "median gap 0." in shown and "seed 1: gap 0." in shown, shown


def test_a7_samples(tmp_path):
    _check(grade(tmp_path, A7, _A7_CASES), A7, _A7_CASES)
