"""Confusion matrix and scores: COURSE.md's worked examples, and scikit-learn as the oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import assume, given
from hypothesis import strategies as st

import cnnwidgets.core.metrics as metrics_module
from cnnwidgets.core.metrics import (
    binary_counts,
    binary_formulas,
    cell_indices,
    class_probabilities,
    classification_metrics,
    confusion_matrix,
    normalize_confusion,
    worst_mistakes,
)

from ._keras_oracle import FAST, ORACLE, run_doctests

# scikit-learn warns when a random draw has a single label, even with labels= given.
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")

# --- COURSE.md's numbers ----------------------------------------------------------------------


def test_lecture_worked_example_f1_is_0_40_not_0_39():
    cm = binary_counts(tp=10, fp=22, fn=8, tn=60)
    m = classification_metrics(cm)
    assert round(m["accuracy"], 4) == 0.70
    assert round(float(m["recall"][1]), 4) == 0.5556
    assert round(float(m["precision"][1]), 4) == 0.3125
    f1 = float(m["f1"][1])
    assert f"{f1:.4f}" == "0.4000"
    assert f1 == pytest.approx(0.4, abs=1e-12)
    assert round(f1, 2) != 0.39  # the lecture's slip
    p, r = float(m["precision"][1]), float(m["recall"][1])
    assert 2 * p * r / (p + r) == pytest.approx(f1)


def test_sick_and_healthy_table():
    m = classification_metrics(binary_counts(tp=100, fn=30, fp=70, tn=800))
    assert round(m["accuracy"], 2) == 0.90
    assert round(float(m["precision"][1]), 3) == 0.588
    assert round(float(m["recall"][1]), 3) == 0.769
    assert m["support"].tolist() == [870, 130]


def test_binary_counts_layout_is_scikit_learns():
    cm = binary_counts(tp=1, fp=2, fn=3, tn=4)
    assert cm.tolist() == [[4, 2], [3, 1]]
    y_true = [0] * 4 + [0] * 2 + [1] * 3 + [1]
    y_pred = [0] * 4 + [1] * 2 + [0] * 3 + [1]
    assert skm.confusion_matrix(y_true, y_pred).tolist() == cm.tolist()
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred).ravel()
    assert (tp, fp, fn, tn) == (1, 2, 3, 4)
    m = classification_metrics(cm)
    assert (m["tp"][1], m["fp"][1], m["fn"][1], m["tn"][1]) == (1, 2, 3, 4)


def test_binary_formulas_substitute_the_numbers():
    f = binary_formulas(binary_counts(tp=10, fp=22, fn=8, tn=60))
    assert f["accuracy"].endswith("(10 + 60) / (10 + 60 + 22 + 8) = 70 / 100 = 0.7000")
    assert f["precision"] == "precision = TP / (TP + FP) = 10 / (10 + 22) = 10 / 32 = 0.3125"
    assert f["recall"] == "recall = TP / (TP + FN) = 10 / (10 + 8) = 10 / 18 = 0.5556"
    assert f["f1"] == "F1 = 2·P·R / (P + R) = 2·0.3125·0.5556 / (0.3125 + 0.5556) = 0.4000"


def test_binary_formulas_say_when_a_share_is_undefined():
    f = binary_formulas(binary_counts(tp=0, fp=0, fn=5, tn=20))
    assert "0 / 0 is undefined (no sample is predicted positive), shown as 0" in f["precision"]
    assert f["recall"].endswith("= 0 / 5 = 0.0000")
    assert f["f1"] == "F1 = 2·TP / (2·TP + FP + FN) = 0 / (0 + 0 + 5) = 0.0000"
    f = binary_formulas(binary_counts(tp=0, fp=0, fn=0, tn=20))
    assert "no positive sample, none predicted" in f["f1"]
    with pytest.raises(ValueError, match="yes/no"):
        binary_formulas(np.eye(3, dtype=int))


# --- scikit-learn as the oracle ------------------------------------------------------------------


@st.composite
def labelled(draw, max_classes: int = 7, max_samples: int = 60):
    """Random (y_true, y_pred, K): some classes never predicted, some never present."""
    k = draw(st.integers(1, max_classes))
    n = draw(st.integers(1, max_samples))
    # Drawing from subsets of the classes makes absent and never-predicted classes common.
    true_pool = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    pred_pool = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    y_true = draw(st.lists(st.sampled_from(true_pool), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from(pred_pool), min_size=n, max_size=n))
    return np.array(y_true), np.array(y_pred), k


def _sklearn(y_true, y_pred, k):
    labels = list(range(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning: we flag those classes instead
        per_class = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division="warn"
        )
        report = skm.classification_report(
            y_true, y_pred, labels=labels, output_dict=True, zero_division="warn"
        )
    return per_class, report


@ORACLE  # classification_report costs a few milliseconds per call
@given(labelled())
def test_matches_scikit_learn_on_random_labels(case):
    y_true, y_pred, k = case
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=range(k)))
    assert np.array_equal(cm, confusion_matrix(y_true, y_pred, labels=list(range(k))))
    m = classification_metrics(cm)
    (precision, recall, f1, support), report = _sklearn(y_true, y_pred, k)
    np.testing.assert_allclose(m["precision"], precision, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m["recall"], recall, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m["f1"], f1, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(m["support"], support)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-15)
    for ours, theirs in (("macro", "macro avg"), ("weighted", "weighted avg")):
        for name, key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert m[ours][name] == pytest.approx(report[theirs][key], abs=1e-12), (ours, name)
    # Every 0/0 is flagged, and only those.
    undefined = m["undefined"]
    assert undefined["precision"] == tuple(c for c in range(k) if c not in set(y_pred))
    assert undefined["recall"] == tuple(c for c in range(k) if c not in set(y_true))
    assert undefined["f1"] == tuple(sorted(set(undefined["precision"]) & set(undefined["recall"])))


@FAST
@given(labelled())
def test_default_classes_are_zero_to_the_largest_label(case):
    y_true, y_pred, _ = case
    top = int(max(y_true.max(), y_pred.max()))
    cm = confusion_matrix(y_true, y_pred)
    assert cm.shape == (top + 1, top + 1)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=range(top + 1)))
    assert cm.sum() == len(y_true)


@FAST
@given(labelled(), st.sampled_from(["true", "pred", "all"]))
def test_normalize_matches_scikit_learn(case, over):
    y_true, y_pred, k = case
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = skm.confusion_matrix(y_true, y_pred, labels=range(k), normalize=over)
    np.testing.assert_allclose(normalize_confusion(cm, over), expected, rtol=1e-12, atol=1e-15)


@FAST
@given(labelled(), st.sampled_from(["true", "pred"]))
def test_normalised_diagonal_is_recall_or_precision(case, over):
    y_true, y_pred, k = case
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    m = classification_metrics(cm)
    expected = m["recall"] if over == "true" else m["precision"]
    np.testing.assert_allclose(np.diag(normalize_confusion(cm, over)), expected)


def test_labels_order_the_rows_and_columns_as_in_scikit_learn():
    y_true, y_pred = [2, 0, 2, 1], [2, 2, 0, 1]
    order = [2, 0, 1]
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, labels=order),
        skm.confusion_matrix(y_true, y_pred, labels=order),
    )


def test_accepts_whole_floats_booleans_and_column_vectors():
    assert confusion_matrix([0.0, 1.0], [1.0, 1.0]).tolist() == [[0, 1], [0, 1]]
    assert confusion_matrix(np.array([True, False]), [1, 0]).tolist() == [[1, 0], [0, 1]]
    assert confusion_matrix(np.array([[0], [1]]), [0, 1]).tolist() == [[1, 0], [0, 1]]
    assert confusion_matrix([], [], num_classes=2).tolist() == [[0, 0], [0, 0]]


def test_normalize_none_gives_the_counts_and_empty_rows_stay_zero():
    cm = [[2, 0, 0], [0, 0, 0], [1, 0, 1]]
    assert normalize_confusion(cm, None).tolist() == [[2.0, 0, 0], [0, 0, 0], [1, 0, 1]]
    assert normalize_confusion(cm, "true")[1].tolist() == [0, 0, 0]
    assert normalize_confusion(cm, "pred")[:, 1].tolist() == [0, 0, 0]
    assert normalize_confusion(cm, "all").sum() == pytest.approx(1.0)


# --- the samples behind the numbers --------------------------------------------------------------


@FAST
@given(labelled())
def test_cell_indices_are_exactly_the_samples_of_each_cell(case):
    y_true, y_pred, k = case
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    seen = []
    for i in range(k):
        for j in range(k):
            idx = cell_indices(y_true, y_pred, i, j)
            assert len(idx) == cm[i, j]
            assert np.all(y_true[idx] == i) and np.all(y_pred[idx] == j)
            seen.extend(idx.tolist())
    assert sorted(seen) == list(range(len(y_true)))


@FAST
@given(labelled(max_classes=5), st.integers(0, 2**32 - 1))
def test_worst_mistakes_are_every_error_by_falling_confidence(case, seed):
    y_true, _, k = case
    assume(k >= 2)
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(k), size=len(y_true))
    y_pred = proba.argmax(axis=1)
    order = worst_mistakes(y_true, None, proba)
    assert sorted(order.tolist()) == np.flatnonzero(y_true != y_pred).tolist()
    confidence = proba[order, y_pred[order]]
    assert np.all(np.diff(confidence) <= 0)
    np.testing.assert_array_equal(worst_mistakes(y_true, y_pred, proba), order)
    np.testing.assert_array_equal(worst_mistakes(y_true, y_pred, proba, k=3), order[:3])


def test_worst_mistakes_use_the_confidence_in_the_wrong_class():
    proba = np.array(
        [[0.1, 0.9, 0.0], [0.2, 0.5, 0.3], [0.97, 0.02, 0.01], [0.6, 0.4, 0.0], [0.0, 0.1, 0.9]]
    )
    y_true = [1, 2, 1, 1, 0]
    assert worst_mistakes(y_true, None, proba).tolist() == [2, 4, 3, 1]
    assert worst_mistakes(y_true, None, proba, k=2).tolist() == [2, 4]
    assert worst_mistakes(y_true, None, proba, k=0).tolist() == []
    # A prediction made another way (a threshold) is judged by its own class's probability.
    assert worst_mistakes([0, 0], [1, 1], [[0.7, 0.3], [0.4, 0.6]]).tolist() == [1, 0]


def test_sigmoid_outputs_become_two_columns():
    p = np.array([[0.9], [0.5], [0.2]], dtype=np.float32)
    probs = class_probabilities(p)
    assert probs.shape == (3, 2)
    assert probs.argmax(axis=1).tolist() == [1, 0, 0]  # p > 0.5, as Keras's binary accuracy
    assert worst_mistakes([0, 1, 1], None, p).tolist() == [0, 2, 1]


# --- bad input: one sentence a student understands --------------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: confusion_matrix([0, 1, 1], [0, 1]), "got 3 true labels and 2 predictions"),
        (lambda: confusion_matrix([0, -1], [0, 1]), "y_true holds -1 at position 1: class indices"),
        (
            lambda: confusion_matrix([0, 10], [0, 1], num_classes=10),
            r"y_true holds 10 at position 1, but num_classes=10 allows only the classes 0\.\.9",
        ),
        (
            lambda: confusion_matrix([0, 1], [0, 5], labels=[0, 1]),
            r"y_pred holds 5 at position 1, which is not one of labels \[0, 1\]",
        ),
        (lambda: confusion_matrix([0, 0.7], [0, 1]), "got 0.7 at position 1. Probabilities?"),
        (lambda: confusion_matrix(["cat"], ["dog"]), "class indices .* got 'cat'. Class names"),
        (lambda: confusion_matrix([0, 1], np.eye(2)), r"argmax\(axis=1\)"),
        (lambda: confusion_matrix([], []), "nothing to count"),
        (lambda: confusion_matrix([0], [0], labels=[0], num_classes=1), "not both"),
        (lambda: confusion_matrix([0], [0], labels=[0, 0]), "must not repeat"),
        (lambda: confusion_matrix([0], [0], num_classes=0), "at least 1"),
        (lambda: binary_counts(tp=10, fp=-3, fn=8, tn=60), "fp must be a count .* got -3"),
        (lambda: binary_counts(tp=1.5, fp=0, fn=0, tn=0), "tp must be a count"),
        (lambda: classification_metrics([[1, 2, 3]]), "square"),
        (lambda: classification_metrics([[1, -2], [0, 1]]), "cannot be negative"),
        (lambda: classification_metrics([[0.5, 0.5], [0, 1]]), "whole numbers"),
        (lambda: classification_metrics([[0, 0], [0, 0]]), "counts no samples"),
        (lambda: normalize_confusion([[1]], "rows"), "over must be"),
        (lambda: worst_mistakes([0], None, [[2.0, -1.0]]), "look like logits"),
        (lambda: worst_mistakes([0, 3], None, [[0.5, 0.5], [1, 0]]), "with 2 column"),
        (lambda: worst_mistakes([0, 1], None, [[0.5, 0.5]]), "one row per sample"),
        (lambda: worst_mistakes([0], None, [[0.5, 0.5]], k=-1), "k must be"),
        (lambda: cell_indices([0], [0], 0, -1), "pred_label must be a class index"),
    ],
)
def test_bad_input_raises_a_sentence(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_docstring_examples():
    result = run_doctests(metrics_module)
    assert result.failed == 0
    assert result.attempted >= 12
