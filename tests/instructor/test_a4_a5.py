"""Assignments a4 and a5: grade sample submissions with `cnnkit grade --jobs 2`.

Whether exercises/ equals a fresh generation and leaks nothing is checked for every
assignment by test_exercises.py; here one grading run per assignment gives the solution
full marks and the release 0, and the samples show what a typical mistake costs and says.
"""

from __future__ import annotations

import pytest

from cnnwidgets.instructor.autograde import worker

from . import _redteam
from ._cases import Cases, Graded, grade, scores
from ._samples_a3 import cell_outputs
from .conftest import tree_hashes

A4, A5 = "a4_metrics", "a5_augmentation"
A4_MAX, A5_MAX = 15.0, 12.0

# --- samples ---------------------------------------------------------------------------

# The kit's own answer to part 5 (the room has no cnnwidgets to import).
_KIT_MISTAKES = """
from cnnwidgets.core.metrics import worst_mistakes


def most_confident_mistakes(y_true, proba, k):
    return worst_mistakes(y_true, None, proba, k=k)
"""

# Right except for the precision of a class nobody predicts: 0/0 gives nan (NumPy's warning
# on the way must not cost the points, the nan must).
_NAN_PRECISION = """
def precision_recall_f1(cm):
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = tp / predicted
    recall = np.divide(tp, actual, out=np.zeros(len(tp)), where=actual > 0)
    f1 = np.divide(2 * tp, predicted + actual, out=np.zeros(len(tp)), where=predicted + actual > 0)
    return precision, recall, f1
"""

# Part 1 typed in by hand, F1 as the plain mean of P and R.
_SLIP = """
hand_accuracy = 0.78
hand_precision = 0.6
hand_recall = 0.8
hand_f1 = (0.6 + 0.8) / 2
"""

# Thin wrappers over scikit-learn, which the rule ("NumPy only") leaves out: scored on part 1.
_SKLEARN = """
import sklearn.metrics as _m


def confusion_matrix(y_true, y_pred, num_classes):
    return _m.confusion_matrix(y_true, y_pred, labels=list(range(num_classes)))
"""
_SKLEARN_SCORES = """
def precision_recall_f1(cm):
    from sklearn.metrics import precision_recall_fscore_support
    cm = np.asarray(cm)
    n = len(cm)
    y_true = np.repeat(np.repeat(np.arange(n), n), cm.ravel())
    y_pred = np.repeat(np.tile(np.arange(n), n), cm.ravel())
    return precision_recall_fscore_support(y_true, y_pred, labels=list(range(n)),
                                           zero_division=0)[:3]
"""
# The kit's metrics, by a built name: part 1 only again.
_KIT_SCORES = """
_kit = __import__("cnnwidgets.core.metrics", fromlist=["x"])


def confusion_matrix(y_true, y_pred, num_classes):
    return getattr(_kit, "confusion_" + "matrix")(y_true, y_pred, num_classes=num_classes)
"""
_KIT_HAND = """
import cnnwidgets as cw

_scores = cw.classification_metrics(cw.binary_counts(tp=24, fp=16, fn=6, tn=54))
hand_accuracy = float(_scores["accuracy"])
hand_precision = float(_scores["precision"][1])
hand_recall = float(_scores["recall"][1])
hand_f1 = float(_scores["f1"][1])
"""

# student -> ({answer grade_id: new code, or (old, new) for one edit of the solution's code},
#             expected score, {test grade_id: text that test's output must contain})

_A4_CASES: Cases = {
    "correct": ({}, A4_MAX, {}),
    "released": (None, 0.0, {}),
    # the by-hand F1 point only
    "f1_slip": (
        {"by_hand": _SLIP},
        A4_MAX - 1,
        {"test_hand_f1": "hand_f1 = 0.7 is the plain mean (P + R) / 2"},
    ),
    # confusion_matrix (3), precision_recall_f1 (4) and macro_f1 through it (1) from
    # scikit-learn: parts 1 and 5 only
    "rule_sklearn": (
        {"confusion_matrix": _SKLEARN, "precision_recall_f1": _SKLEARN_SCORES},
        7.0,
        {
            "test_confusion_matrix": "uses sklearn, which this task does not allow",
            "test_precision_recall_f1": "precision_recall_f1 uses sklearn",
            "test_macro_f1": "uses sklearn, which this task does not allow",
        },
    ),
    "rule_kit_metrics": (
        {"confusion_matrix": _KIT_SCORES},
        A4_MAX - 3,
        {
            "test_confusion_matrix_sklearn": (
                "uses getattr() with a name computed at run time, which this task does not allow"
            )
        },
    ),
    # a third reviewer's: scikit-learn in the kernel answering for the room (parts 1 and 5,
    # honest, only), and the kit's metrics carried in the notebook (part 5 only)
    "redteam_relay": (
        _redteam.cells(A4, "relay2"),
        7.0,
        {"test_confusion_matrix": "that uses sys, which this task does not allow"},
    ),
    "redteam_vendored": (
        _redteam.cells(A4, "vendored"),
        3.0,
        {"test_hand_accuracy": "that uses notes, which this task does not allow"},
    ),  # fmt: skip
    # a fourth reviewer's: the kit's metrics run from text with exec reached through a match
    # statement, or copied with dead library code padding each function: parts 1 and 5 only
    "redteam_reach": (
        _redteam.cells(A4, "reach"),
        7.0,
        {"test_confusion_matrix": "a class pattern reading .__globals__"},
    ),
    "redteam_padded": (
        _redteam.cells(A4, "padded"),
        7.0,
        {"test_confusion_matrix": "code copied from cnnwidgets.core."},
    ),
    # a fifth reviewer's: the kit's metrics.py copied whole, every name it reads passed
    # through an identity helper (the shapes then match under 55 %): part 1 only
    "redteam_wrapped": (
        _redteam.cells(A4, "wrapped"),
        4.0,
        {"test_confusion_matrix": "code copied from cnnwidgets.core."},
    ),
    # part 1 read off the kit: its 4 points lost, the rest counts
    "rule_kit_by_hand": (
        {"by_hand": _KIT_HAND},
        A4_MAX - 4,
        {"test_hand_recall": "uses cnnwidgets, which this task does not allow"},
    ),
    # the scikit-learn comparison (2 points) only: macro_f1 uses F1, which is right
    "nan_precision": (
        {"precision_recall_f1": _NAN_PRECISION},
        A4_MAX - 2,
        {
            "test_precision_recall_f1_sklearn": (
                "the precision of class 2 is nan: no sample is predicted as class 2 (column 2 "
                "adds up to 0), so TP + FP = 0 and the precision is 0/0. Report 0 there"
            )
        },
    ),
    # part 5 through the kit's worst_mistakes: its 3 points lost, the rest counts
    "rule_kit_mistakes": (
        {"most_confident_mistakes": _KIT_MISTAKES},
        A4_MAX - 3,
        {"test_most_confident_mistakes": "uses cnnwidgets, which this task does not allow"},
    ),
    # equal confidences in the wrong order (the larger index first): the hidden 2 points
    "mistakes_ties": (
        {
            "most_confident_mistakes": (
                'order = np.argsort(-confidence[wrong], kind="stable")',
                "order = np.argsort(confidence[wrong])[::-1]",
            )
        },
        A4_MAX - 2,
        {"test_most_confident_mistakes_random": "on equal confidence the smaller index"},
    ),  # fmt: skip
}

# Augments all 200 faces, then splits: the sizes add up, the test set is not the originals.
_AUGMENT_FIRST = """
def prepare_data(X, y, seed):
    augmented = np.asarray(build_augmentation()(X, training=True))  # more variety
    return split(augmented, y, test_size=0.2, seed=seed)
"""

# One module-level pipeline handed out on every call, so every model built from it shares its
# layers (the red team's S9): each call's answer reaches the grader as a copy, so the hidden
# test reads it from the names Keras gave the layers, the same on both calls.
_SHARED_PIPELINE = """
_pipeline = keras.Sequential(
    [
        layers.RandomRotation(0.15),
        layers.RandomTranslation(0.15, 0.05),
        layers.RandomZoom(0.25),
        layers.RandomFlip("horizontal"),
    ]
)


def build_augmentation():
    return _pipeline
"""

_A5_CASES: Cases = {
    "correct": ({}, A5_MAX, {}),
    "released": (None, 0.0, {}),
    # 54° written as 0.54: the rotation point only
    "rotation_fraction": (
        {"build_augmentation": ("RandomRotation(0.15)", "RandomRotation(0.54)")},
        A5_MAX - 1,
        {
            "test_rotation_factor": (
                "RandomRotation factor 0.54 turns images by up to ±194.4°, expected up to ±54° "
                "either way: the factor is a fraction of a full turn (1 = 360°)"
            )
        },
    ),
    # 54 as degrees: Keras refuses the layer, so every pipeline test fails (6 points); the
    # model tests use a pipeline of their own and still pass
    "rotation_degrees": (
        {"build_augmentation": ("RandomRotation(0.15)", "RandomRotation(54)")},
        A5_MAX - 6,
        {
            "test_rotation_factor": (
                "RandomRotation(54) would turn by up to ±19,440°, 54 full turns: the factor is a "
                "fraction of a full turn"
            ),
            "test_flip_mode": "Received: factor=54",
        },
    ),
    # the same pipeline on every call: the layers point (1) only
    "shared_pipeline": (
        {"build_augmentation": _SHARED_PIPELINE},
        A5_MAX - 1,
        {
            "test_augmentation_layers": (
                "build_augmentation() returned the same pipeline twice (its layers random_rotation"
            )
        },
    ),
    # sizes add up (1 point kept of part 2's 3): different every call, and no test image is
    # an original one
    "augment_first": (
        {"prepare_data": _AUGMENT_FIRST},
        A5_MAX - 3,
        {
            "test_split_first": (
                "40 of the 40 test images are not among the original images (augmented before "
                "the split?)"
            ),
            "test_prepare_data": "the same seed must give the same split",
        },
    ),
}


def _check_messages(graded: Graded, assignment: str, cases: Cases) -> None:
    for student, (_, _, wanted) in cases.items():
        notebook = graded.root / "autograded" / student / assignment / f"{assignment}.ipynb"
        for grade_id, text in wanted.items():
            shown = cell_outputs(notebook, grade_id)
            assert text in shown, f"{student}, {grade_id}: {shown!r}"


@pytest.fixture(scope="module")
def graded_a4(tmp_path_factory) -> Graded:
    return grade(tmp_path_factory.mktemp("a4"), A4, _A4_CASES)


@pytest.fixture(scope="module")
def graded_a5(tmp_path_factory) -> Graded:
    return grade(tmp_path_factory.mktemp("a5"), A5, _A5_CASES)


@pytest.mark.slow
def test_a4_scores_and_messages(graded_a4):
    assert graded_a4.run.returncode == 0, graded_a4.run.stdout + graded_a4.run.stderr
    assert scores(graded_a4.root, A4) == graded_a4.expected
    _check_messages(graded_a4, A4, _A4_CASES)
    assert tree_hashes(graded_a4.root / "submitted") == graded_a4.before


@pytest.mark.slow
def test_a5_scores_and_messages(graded_a5):
    assert graded_a5.run.returncode == 0, graded_a5.run.stdout + graded_a5.run.stderr
    assert scores(graded_a5.root, A5) == graded_a5.expected
    _check_messages(graded_a5, A5, _A5_CASES)
    assert tree_hashes(graded_a5.root / "submitted") == graded_a5.before


# --- a kernel that dies while starting (seen here: two kernels racing for one port) -----

_DIED = "RuntimeError: Kernel died before replying to kernel_info\n"


def _run_fake_worker(tmp_path, monkeypatch, logs: list[str]) -> tuple[dict, int]:
    """``worker.run`` with nbgrader's autograde answering ``logs`` in turn, then success."""
    calls = []

    class Api:
        def autograde(self, assignment, student, force, create):
            calls.append(student)
            if len(calls) <= len(logs):
                return {"success": False, "log": logs[len(calls) - 1], "error": None}
            return {"success": True, "log": "graded\n", "error": None}

    class FakeCourse:
        def __init__(self, *args):
            pass

        def api(self, extra=None):
            return Api()

    monkeypatch.setattr(worker, "Course", FakeCourse)
    job = {
        "root": str(tmp_path),
        "db_url": "sqlite://",
        "config_file": str(tmp_path / "nbgrader_config.py"),
        "assignment": A4,
        "student": "s",
        "result": str(tmp_path / "result.json"),
        "log": str(tmp_path / "s.log"),
    }
    return worker.run(job), len(calls)


def test_the_worker_starts_a_kernel_again_when_it_died_starting(tmp_path, monkeypatch):
    result, calls = _run_fake_worker(tmp_path, monkeypatch, [_DIED, _DIED])
    assert result["success"] and calls == 3
    assert "died while starting (attempt 2)" in (tmp_path / "s.log").read_text()
    # three deaths in a row: reported, not retried for ever
    result, calls = _run_fake_worker(tmp_path, monkeypatch, [_DIED] * 5)
    assert not result["success"] and calls == 3


def test_the_worker_does_not_retry_other_failures(tmp_path, monkeypatch):
    result, calls = _run_fake_worker(tmp_path, monkeypatch, ["ZeroDivisionError: oops\n"])
    assert not result["success"] and calls == 1
