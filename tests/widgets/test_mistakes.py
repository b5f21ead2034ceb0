"""MistakesGallery: the most confident wrong predictions, filtered and counted as a student asks."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from cnnwidgets.core.metrics import worst_mistakes
from cnnwidgets.widgets.mistakes import MAX_SHOWN, MistakesGallery

from .test_confusion import digit_predictions, digits, tiny_digits_model


def gallery(**kwargs) -> MistakesGallery:
    X, y, names = digits()
    proba, _ = digit_predictions()
    return MistakesGallery.from_predictions(X, y, proba, labels=names, **kwargs)


def test_orders_by_confidence_in_the_wrong_class():
    _, y, _ = digits()
    proba, y_pred = digit_predictions()
    g = gallery()
    wrong = np.flatnonzero(y != y_pred)
    assert sorted(g.mistakes.tolist()) == wrong.tolist()
    confidence = proba[g.mistakes, y_pred[g.mistakes]]
    assert np.all(np.diff(confidence) <= 0)
    np.testing.assert_array_equal(g.shown_indices, worst_mistakes(y, y_pred, proba, k=16))
    np.testing.assert_allclose(g.confidence, proba[np.arange(len(y)), y_pred])
    first = int(g.shown_indices[0])
    assert g.captions[0] == f"true {y[first]} → predicted {y_pred[first]} ({confidence[0]:.2f})"
    assert y[first] != y_pred[first]
    assert f"<b>{len(wrong):,}</b> of 1,797 samples misclassified" in g._summary.value
    assert g.accuracy == pytest.approx(1 - len(wrong) / len(y))
    assert g.message == ""


def test_the_slider_sets_how_many_are_shown():
    g = gallery()
    visible = sum(box.layout.display != "none" for _, _, box in g._cells)
    assert visible == len(g.shown_indices) == 16
    g._k_slider.value = 40  # the student drags the slider
    assert g.k == 40
    np.testing.assert_array_equal(g.shown_indices, g.mistakes[:40])
    assert len(g.captions) == 40
    assert sum(box.layout.display != "none" for _, _, box in g._cells) == 40
    assert g._cells[0][0].value[:4] == b"\x89PNG"
    assert f"X[{g.shown_indices[0]}]" in g._cells[0][1].value
    with pytest.raises(traitlets.TraitError, match=f"between 1 and {MAX_SHOWN}"):
        g.k = 0


def test_filter_by_true_class_keeps_the_order():
    _, y, _ = digits()
    g = gallery(k=64)
    everything = g.mistakes.tolist()
    g._class_menu.value = 9  # the student picks "9" in the menu
    assert g.true_class == 9
    assert all(y[i] == 9 for i in g.mistakes)
    assert g.mistakes.tolist() == [i for i in everything if y[i] == 9]
    assert all(c.startswith("true 9 → ") for c in g.captions)
    assert "True class 9: <b>" in g._summary.value
    g.true_class = None
    assert g._class_menu.value == -1
    assert g.mistakes.tolist() == everything


def test_a_class_without_mistakes_says_so():
    X = np.zeros((3, 4, 4))
    proba = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]
    g = MistakesGallery(X, [0, 1, 1], proba, labels=["cat", "dog"])
    assert g.captions == ["true dog → predicted cat (0.70)"]
    g.true_class = 0
    assert g.shown_indices.tolist() == []
    assert g.message == "The model makes no mistake on class cat."
    assert all(box.layout.display == "none" for _, _, box in g._cells)
    perfect = MistakesGallery(X, [0, 1, 0], proba)
    assert perfect.message.startswith("The model makes no mistake on these samples")


def test_the_menu_counts_mistakes_per_class():
    _, y, _ = digits()
    g = gallery()
    counts = np.bincount(y[g.mistakes], minlength=10)
    labels = [label for label, _ in g._class_menu.options]
    assert labels[0] == f"every class ({len(g.mistakes)} mistakes)"
    assert labels[10] == f"9 ({counts[9]} mistakes)"


def test_from_model_equals_from_predictions_on_the_model_outputs():
    X, y, names = digits()
    model = tiny_digits_model()
    g = MistakesGallery.from_model(model, X, y, labels=names, k=24)
    outputs = np.asarray(model(X, training=False))
    np.testing.assert_array_equal(g.shown_indices, worst_mistakes(y, None, outputs, k=24))
    np.testing.assert_array_equal(g.y_pred, outputs.argmax(axis=1))


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: MistakesGallery(np.zeros((2, 4, 4)), [0, 1, 1], [[1, 0]] * 3), "one picture"),
        (lambda: MistakesGallery(np.zeros((2, 4, 4)), [0, 1], [[1, 0]] * 3), "one row per sample"),
        (lambda: MistakesGallery(np.zeros((1, 4, 4)), [5], [[1, 0]]), "y_true holds 5"),
        (lambda: MistakesGallery(np.zeros((1, 4, 4)), [0], [[1, 0]], labels=["a"]), "2 classes"),
    ],
)
def test_bad_input_raises_a_sentence(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_docstring_examples():
    import doctest

    import cnnwidgets.widgets.mistakes as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 6
