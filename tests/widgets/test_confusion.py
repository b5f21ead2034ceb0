"""ConfusionMatrixWidget: edit counts, toggle the view, click cells as a student would."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import traitlets

from cnnwidgets.core.metrics import (
    binary_formulas,
    classification_metrics,
    confusion_matrix,
    normalize_confusion,
)
from cnnwidgets.data import load_dataset
from cnnwidgets.widgets.confusion import MAX_CLICKABLE, MAX_IMAGES, ConfusionMatrixWidget


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The 1,797 offline digits, (n, 8, 8, 1) floats in 0..1."""
    X, y, names = load_dataset("digits")
    return X, y, list(names)


@functools.cache
def _template_weights() -> np.ndarray:
    # Class means minus their average: a fixed linear classifier that gets most digits
    # right and makes a few dozen confident mistakes, with no training to wait for.
    X, y, _ = digits()
    flat = X.reshape(len(X), -1)
    means = np.stack([flat[y == c].mean(axis=0) for c in range(10)])
    return ((means - means.mean(axis=0)).T * 4.0).astype(np.float32)


@functools.cache
def digit_predictions() -> tuple[np.ndarray, np.ndarray]:
    """``(proba, y_pred)`` of the fixed classifier, in NumPy: no Keras needed."""
    X, _, _ = digits()
    logits = X.reshape(len(X), -1).astype(np.float64) @ _template_weights()
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    return proba, proba.argmax(axis=1)


@functools.cache
def tiny_digits_model():
    """The same classifier as a Keras model, Flatten + Dense(10, softmax), fixed weights.

    The only Keras model of the widget tests (test_mistakes uses it too).
    """
    from cnnwidgets._keras import quiet_keras

    keras = quiet_keras()
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.layers[-1].set_weights([_template_weights(), np.zeros(10, np.float32)])
    return model


def digits_widget(**kwargs) -> ConfusionMatrixWidget:
    X, y, names = digits()
    proba, y_pred = digit_predictions()
    return ConfusionMatrixWidget.from_predictions(
        y, y_pred, labels=names, images=X, proba=proba, **kwargs
    )


# --- from counts: the lecture's example -----------------------------------------------------


def test_from_counts_gives_the_course_numbers_and_f1_0_40():
    w = ConfusionMatrixWidget.from_counts(tp=10, fp=22, fn=8, tn=60)
    assert w.counts.tolist() == [[60, 22], [8, 10]]
    m = w.metrics
    assert round(m["accuracy"], 2) == 0.70
    assert (round(float(m["recall"][1]), 4), round(float(m["precision"][1]), 4)) == (
        0.5556,
        0.3125,
    )
    assert f"{float(m['f1'][1]):.4f}" == "0.4000"
    assert w.formulas["f1"].endswith("= 0.4000")
    assert "2·0.3125·0.5556 / (0.3125 + 0.5556) = 0.4000" in w._formulas.value
    assert "0.39" not in w._formulas.value
    assert "70 / 100 = <b>0.7000</b>" in w._summary.value
    assert w.message == ""
    # The boxes are labelled where scikit-learn puts each count.
    names = [[box.description for box in row] for row in w.cell_inputs]
    assert names == [["TN", "FP"], ["FN", "TP"]]


def test_sick_and_healthy_table():
    w = ConfusionMatrixWidget.from_counts(tp=100, fn=30, fp=70, tn=800, labels=["healthy", "sick"])
    assert round(w.metrics["accuracy"], 2) == 0.90
    assert round(float(w.metrics["precision"][1]), 3) == 0.588
    assert round(float(w.metrics["recall"][1]), 3) == 0.769
    assert "positive class: sick" in w._formulas.value


def test_default_widget_is_the_lecture_example():
    w = ConfusionMatrixWidget()
    assert w.counts.tolist() == [[60, 22], [8, 10]]
    assert w.cell_inputs == []  # not editable unless asked
    assert w._names() == ["negative", "positive"]


def test_editing_tp_updates_f1_and_the_formulas():
    w = ConfusionMatrixWidget.from_counts(tp=10, fp=22, fn=8, tn=60)
    w.cell_inputs[1][1].value = 20  # the student types TP = 20
    assert w.cm == [[60, 22], [8, 20]]
    expected = classification_metrics([[60, 22], [8, 20]])
    assert float(w.metrics["f1"][1]) == pytest.approx(40 / 70)
    assert w.metrics["accuracy"] == expected["accuracy"] == 80 / 110
    assert w.formulas == binary_formulas([[60, 22], [8, 20]])
    assert "20 / (20 + 22) = 20 / 42 = 0.4762" in w._formulas.value
    assert "0.5714" in w._table.value
    assert w.cell_buttons[1][1].description == "20"
    # Setting the trait does the same, and the boxes follow.
    w.cm = [[60, 22], [8, 10]]
    assert w.cell_inputs[1][1].value == 10
    assert float(w.metrics["f1"][1]) == pytest.approx(0.4)


def test_a_negative_count_is_refused_with_a_sentence():
    w = ConfusionMatrixWidget.from_counts(tp=10, fp=22, fn=8, tn=60)
    w.cell_inputs[0][1].value = -3
    assert w.cm == [[60, 22], [8, 10]]
    assert w.cell_inputs[0][1].value == 22
    assert w.message == "A count cannot be negative: you typed -3 for FP; it stays 22."
    assert "cannot be negative" in w._message.value
    w.cell_inputs[0][1].value = 5
    assert w.message == ""
    with pytest.raises(traitlets.TraitError, match="Counts cannot be negative"):
        w.cm = [[1, -1], [0, 1]]


def test_zero_division_is_flagged_not_hidden():
    w = ConfusionMatrixWidget.from_counts(tp=0, fp=0, fn=8, tn=60)
    assert w.metrics["undefined"]["precision"] == (1,)
    assert w.message.startswith(
        "No sample is predicted as class positive: its precision, TP / (TP + FP) = 0/0, is "
        "undefined and shown as 0"
    )
    assert "0.0000*" in w._table.value
    assert "0 / 0 is undefined" in w._formulas.value


def test_no_samples_at_all():
    w = ConfusionMatrixWidget.from_counts(tp=0, fp=0, fn=0, tn=0)
    assert w.metrics is None and w.formulas is None
    assert "counts no samples" in w.message
    assert w._table.value == ""
    w.cell_inputs[0][0].value = 3
    assert w.message.startswith("Class positive never occurs and is never predicted")
    assert w.metrics["accuracy"] == 1.0


def test_editable_square_matrix_of_any_size():
    cm = [[5, 1, 0], [2, 7, 1], [0, 0, 4]]
    w = ConfusionMatrixWidget(cm, labels=["cat", "dog", "bird"], editable=True)
    assert [len(row) for row in w.cell_inputs] == [3, 3, 3]
    assert w.formulas is None  # TP/FP/FN/TN formulas are for yes/no matrices
    w.cell_inputs[2][0].value = 3
    assert w.cm == [[5, 1, 0], [2, 7, 1], [3, 0, 4]]
    expected = classification_metrics(w.cm)
    np.testing.assert_allclose(w.metrics["f1"], expected["f1"])
    assert w.metrics["macro"] == expected["macro"]
    assert "bird" in w._table.value
    # A bigger matrix set by code gets new boxes and drops a selection that no longer fits.
    w.selected = (2, 2)
    w.cm = np.eye(2, dtype=int) * 3
    assert w.selected is None and len(w.cell_inputs) == 2
    assert "labels has 3 names for 2 classes" in w.message


# --- from predictions: the normalise toggle and clicked cells ---------------------------------


def test_normalise_changes_the_shown_values_but_not_the_counts():
    w = digits_widget()
    counts = w.counts.copy()
    metrics = w.metrics
    shown = {}
    for mode in ("true", "pred", "all", "none"):
        w.normalize = mode  # what the toggle buttons do
        assert w._normalize_tb.value == mode
        np.testing.assert_array_equal(w.counts, counts)
        assert w.cm == counts.tolist()
        over = None if mode == "none" else mode
        np.testing.assert_allclose(w.displayed, normalize_confusion(counts, over))
        shown[mode] = [[b.description for b in row] for row in w.cell_buttons]
        np.testing.assert_allclose(w.metrics["f1"], metrics["f1"])
    assert shown["none"][0][0] == str(counts[0, 0])
    assert shown["true"][3][3] == f"{metrics['recall'][3]:.2f}"
    assert shown["pred"][3][3] == f"{metrics['precision'][3]:.2f}"
    assert len({str(v) for v in shown.values()}) == 4
    w._normalize_tb.value = "true"  # clicking the toggle itself
    assert w.normalize == "true"
    assert "recall" in w._normalize_note.value


def test_clicking_a_cell_gives_exactly_its_samples():
    X, y, _ = digits()
    proba, y_pred = digit_predictions()
    w = digits_widget()
    assert w.selected is None and w.selected_indices is None
    for i, j in [(1, 9), (9, 8), (5, 9), (0, 0), (0, 5)]:
        w.cell_buttons[i][j].click()
        assert w.selected == (i, j)
        expected = np.flatnonzero((y == i) & (y_pred == j))
        np.testing.assert_array_equal(w.selected_indices, expected)
        assert len(expected) == w.counts[i, j]
        shown = w.shown_indices
        assert len(shown) == min(len(expected), MAX_IMAGES)
        assert set(shown.tolist()) <= set(expected.tolist())
        confidence = proba[shown, j]
        assert np.all(np.diff(confidence) <= 0)  # the most confident first
        visible = [box for _, _, box in w._gallery_cells if box.layout.display != "none"]
        assert len(visible) == len(shown)
        if len(shown):
            assert w._gallery_cells[0][0].value[:4] == b"\x89PNG"
            assert f"#{shown[0]} · {confidence[0]:.2f}" in w._gallery_cells[0][1].value
    w.cell_buttons[0][5].click()  # clicking the selected cell again closes it
    assert w.selected is None and w.selected_indices is None
    assert all(box.layout.display == "none" for _, _, box in w._gallery_cells)


def test_a_full_cell_says_how_many_more():
    w = digits_widget()
    w.selected = (0, 0)
    count = int(w.counts[0, 0])
    assert count > MAX_IMAGES
    assert f"{count:,} sample(s)" in w._selection.value
    assert f"showing {MAX_IMAGES}, most confident first; {count - MAX_IMAGES} more" in (
        w._selection.value
    )
    assert w.cell_buttons[0][0].layout.border.startswith("3px")
    assert "background:#fff7d6" in w._table.value  # the true class's row


def test_the_heat_map_colours_right_blue_and_wrong_red():
    w = digits_widget()
    diagonal = w.cell_buttons[0][0].style.button_color
    empty = w.cell_buttons[0][1]
    assert w.counts[0, 1] == 0 and empty.style.button_color == "#ffffff"
    r, g, b = (int(diagonal[k : k + 2], 16) for k in (1, 3, 5))
    assert b > r  # blue
    i, j = np.unravel_index(np.argmax(w.counts - np.diag(np.diag(w.counts))), w.counts.shape)
    wrong = w.cell_buttons[i][j].style.button_color
    r, g, b = (int(wrong[k : k + 2], 16) for k in (1, 3, 5))
    assert r > b  # red
    assert "true 1 → predicted 9" in w.cell_buttons[1][9].tooltip


def test_cells_typed_in_have_no_images_and_say_so():
    w = ConfusionMatrixWidget.from_counts(tp=10, fp=22, fn=8, tn=60)
    w.cell_buttons[1][0].click()
    assert w.selected == (1, 0) and w.selected_indices is None
    assert "<b>FN</b>, false negatives" in w._selection.value
    assert "no images stand behind them" in w._selection.value


def test_predictions_without_images_list_the_sample_indices():
    w = ConfusionMatrixWidget.from_predictions([2, 2, 9, 2], [9, 2, 9, 9])
    assert w.counts.shape == (10, 10)  # classes 0..9: the largest label is 9
    w.selected = (2, 9)
    assert w.selected_indices.tolist() == [0, 3]
    assert "samples 0, 3 (pass images= to see them)" in w._selection.value
    assert "Classes 0, 1, 3, 4, 5, 6, 7 and 8 never occur and are never predicted" in w.message


def test_undefined_precision_of_a_class_never_predicted():
    w = ConfusionMatrixWidget.from_predictions([0, 1, 2, 3], [0, 1, 2, 2])
    assert w.metrics["undefined"]["precision"] == (3,)
    assert w.message.startswith("No sample is predicted as class 3: its precision")
    assert "0.0000*" in w._table.value


def test_a_matrix_of_predictions_is_not_edited_by_hand():
    w = digits_widget()
    with pytest.raises(traitlets.TraitError, match="counts the predictions it was built from"):
        w.cm = np.eye(10, dtype=int).tolist()
    with pytest.raises(ValueError, match="cannot be edited"):
        ConfusionMatrixWidget(np.eye(2, dtype=int), editable=True, _samples=w._samples)


def test_sigmoid_outputs_and_labels():
    X = np.zeros((4, 5, 5))
    w = ConfusionMatrixWidget.from_predictions(
        [0, 1, 1, 0],
        [0, 1, 0, 1],
        labels=["non-face", "face"],
        images=X,
        proba=[0.1, 0.9, 0.4, 0.7],
    )
    assert w.counts.tolist() == [[1, 1], [1, 1]]
    w.selected = (0, 1)
    assert w.selected_indices.tolist() == [3]
    assert "#3 · 0.70" in w._gallery_cells[0][1].value
    assert "positive class: face" in w._formulas.value


def test_many_classes_use_one_table_and_two_menus():
    rng = np.random.default_rng(0)
    k = MAX_CLICKABLE + 5
    y_true = rng.integers(0, k, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, k, 300))
    w = ConfusionMatrixWidget.from_predictions(y_true, y_pred)
    assert w.cell_buttons == []
    assert w._matrix_html.value.count("<td") == k * k
    w._pick_true.value = 3
    w._pick_pred.value = 3
    assert w.selected == (3, 3)
    np.testing.assert_array_equal(w.selected_indices, np.flatnonzero((y_true == 3) & (y_pred == 3)))
    assert "outline:3px" in w._matrix_html.value
    w.selected = None
    assert w._pick_true.value == -1


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: ConfusionMatrixWidget.from_predictions([0, 1], [0]), "got 2 true labels and 1"),
        (
            lambda: ConfusionMatrixWidget.from_predictions([0, 3], [0, 1], labels=["a", "b"]),
            "y_true holds 3 at position 1, but 2 labels allows only the classes 0..1",
        ),
        (
            lambda: ConfusionMatrixWidget.from_predictions([0, 1], [0, 1], images=np.zeros((3, 4))),
            "images must be one picture per sample",
        ),
        (
            lambda: ConfusionMatrixWidget.from_predictions(
                [0, 1], [0, 1], proba=np.ones((2, 1)) * 3
            ),
            "look like logits",
        ),
        (lambda: ConfusionMatrixWidget.from_counts(tp=1, fp=-1, fn=0, tn=0), "fp must be a count"),
        (lambda: ConfusionMatrixWidget([[1, 2, 3]]), "square"),
    ],
)
def test_bad_input_raises_a_sentence(call, pattern):
    with pytest.raises((ValueError, traitlets.TraitError), match=pattern):
        call()


def test_selected_must_be_a_cell():
    w = ConfusionMatrixWidget()
    with pytest.raises(traitlets.TraitError, match=r"both in 0\.\.1"):
        w.selected = (2, 0)


# --- from a Keras model -----------------------------------------------------------------------


def test_from_model_counts_the_argmax_of_the_model():
    X, y, names = digits()
    model = tiny_digits_model()
    w = ConfusionMatrixWidget.from_model(model, X, y, labels=names, batch_size=500)
    # The same batches as the widget's: one call on all of X sums in another order, and
    # differs from them in the seventh digit.
    outputs = np.concatenate(
        [np.asarray(model(X[i : i + 500], training=False)) for i in range(0, len(X), 500)]
    )
    expected = confusion_matrix(y, outputs.argmax(axis=1), num_classes=10)
    np.testing.assert_array_equal(w.counts, expected)
    np.testing.assert_allclose(w.proba, outputs, rtol=1e-6)
    assert w.images is not None and w.images.shape == X.shape
    assert 0.8 < w.metrics["accuracy"] < 0.95  # a real classifier with real mistakes
    w.selected = (1, 9)
    np.testing.assert_array_equal(
        w.selected_indices, np.flatnonzero((y == 1) & (outputs.argmax(axis=1) == 9))
    )


def test_from_model_calls_the_model_in_batches_without_training():
    # Any callable with Keras's call signature will do: no second model to build.
    calls = []

    def sigmoid_model(X_batch, training=None):
        calls.append((len(X_batch), training))
        return X_batch.reshape(len(X_batch), -1).mean(axis=1, keepdims=True)  # (n, 1)

    X = np.linspace(0, 1, 10 * 4).reshape(10, 2, 2).astype(np.float32)
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1, 1, 0])
    w = ConfusionMatrixWidget.from_model(sigmoid_model, X, y, labels=["no", "yes"], batch_size=4)
    assert calls == [(4, False), (4, False), (2, False)]
    p = X.reshape(10, -1).mean(axis=1)
    np.testing.assert_array_equal(w.y_pred, (p > 0.5).astype(int))  # Keras's threshold
    np.testing.assert_array_equal(w.counts, confusion_matrix(y, p > 0.5))
    np.testing.assert_allclose(w.proba[:, 1], p)


def test_from_model_refuses_an_empty_set():
    model = tiny_digits_model()
    with pytest.raises(ValueError, match="X holds no samples"):
        ConfusionMatrixWidget.from_model(model, np.zeros((0, 8, 8, 1)), [])


def test_docstring_examples():
    import doctest

    import cnnwidgets.widgets.confusion as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 8


def test_a_clicked_cells_images_sit_next_to_the_matrix():
    """The images of a click sit beside the matrix (or right under it when the notebook is
    narrow), in the matrix's own row: never below the metrics table, off-screen."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    y_pred = np.where(rng.random(200) < 0.2, rng.integers(0, 10, 200), y)
    w = ConfusionMatrixWidget.from_predictions(y, y_pred, images=rng.random((200, 8, 8)))
    top = next(c for c in w.children if w._matrix_box in getattr(c, "children", ()))
    assert w._selection_box in top.children
    assert w.children.index(top) < w.children.index(w._table)
    i, j = next((i, j) for i in range(10) for j in range(10) if i != j and w.counts[i, j])
    w.cell_buttons[i][j].click()
    assert w.selected == (i, j)
    shown = [box for _, _, box in w._gallery_cells if box.layout.display is None]
    assert len(shown) == min(int(w.counts[i, j]), 24)
