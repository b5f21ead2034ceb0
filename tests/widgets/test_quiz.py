"""Predict-then-check questions accept the ways people write numbers and shapes."""

import pytest

from cnnwidgets import conv_output_size, conv_params
from cnnwidgets.widgets.quiz import Question


@pytest.mark.parametrize("typed", ["320", "320.0", " 320 ", "3_20"])
def test_numbers(typed):
    assert Question("params?", conv_params(3, 1, 32)).check(typed)


def test_thousands_separator_and_percent():
    assert Question("total?", 220234).check("220,234")
    assert Question("F1?", 0.4, tolerance=0.005).check("40%")
    assert not Question("F1?", 0.4, tolerance=0.005).check("39%")


@pytest.mark.parametrize(
    "typed", ["(None, 28, 28, 32)", "28x28x32", "28 × 28 × 32", "[28, 28, 32]"]
)
def test_shapes(typed):
    assert Question("shape?", (None, 28, 28, 32)).check(typed)


def test_wrong_answer_shows_hint_and_state():
    q = Question("height?", conv_output_size(28, 3), hint="valid padding shrinks by k - 1")
    assert q.correct is None
    assert not q.check("28")
    assert q.correct is False
    assert "valid padding shrinks" in q._feedback.value and "28" in q._feedback.value
    assert q.check(26) and q.correct is True and "Right" in q._feedback.value


def test_choices_and_button():
    q = Question("Which loss?", "binary_crossentropy", choices=["mse", "binary_crossentropy"])
    q._entry.value = "binary_crossentropy"
    q._button.click()
    assert q.correct is True


def test_empty_and_text_answers_are_wrong_not_errors():
    q = Question("size?", 7)
    assert not q.check("")
    assert not q.check("seven")
    assert q.correct is False
