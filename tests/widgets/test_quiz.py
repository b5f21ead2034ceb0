"""Predict-then-check questions accept the ways people write numbers and shapes, check on
Enter, clear an old verdict on an edit; the lessons take theirs from the kit's bank."""

import json
import re
from pathlib import Path

import pytest

from cnnwidgets import conv_output_size, conv_params
from cnnwidgets.widgets._questions import keys
from cnnwidgets.widgets.quiz import Question

REPO = Path(__file__).resolve().parents[2]


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


# ---- answers as people write them (issue 16) ------------------------------------------------


@pytest.mark.parametrize("typed", ["7", "7x7", "7 x 7", "7×7", "(7, 7)", "[7, 7]"])
def test_a_square_size_in_any_form(typed):
    assert Question("size?", conv_output_size((9, 9), 3)).check(typed)


@pytest.mark.parametrize("typed", ["8", "49", "7x8", "(7, 7, 1)"])
def test_a_wrong_size_stays_wrong(typed):
    assert not Question("size?", (7, 7)).check(typed)


def test_one_number_is_not_a_shape_that_is_not_square():
    assert not Question("shape?", (28, 28, 1)).check("28")


@pytest.mark.parametrize("typed", ["36", "36°", "36 °", "±36°", "+/-36", "36 degrees", "36 deg"])
def test_degrees(typed):
    assert Question("degrees?", 36.0).check(typed)


@pytest.mark.parametrize("typed", ["100/170", "0.588", "0.59", "58.8 %", "58.8%", "58.8", "59 %"])
def test_a_share_as_a_fraction_a_percentage_or_a_ratio(typed):
    assert Question("precision?", 100 / 170).check(typed)


@pytest.mark.parametrize("typed", ["0.6", "60 %", "57", "10/17.5", "0.5882%"])
def test_a_share_outside_the_stated_tolerance(typed):
    assert not Question("precision?", 100 / 170).check(typed)


def test_ninety_means_ninety_percent_only_for_a_share():
    assert Question("accuracy?", 0.9).check("90")
    assert not Question("how many?", 1).check("100")  # a count of 1 is not 100 %
    assert not Question("accuracy?", 0.9, percent=False).check("90")


def test_the_tolerance_is_stated():
    share = Question("precision?", 100 / 170)
    assert share.tolerance == 0.005
    assert "within ±0.005" in share.note() and "25 %" in share.note() and "1/4" in share.note()
    assert "within ±0.005" in share.children[2].value  # shown under the box
    assert Question("loss?", 2.5).note() == "Answers within ±0.0125 count."
    assert Question("count?", 784).note() == "" and Question("count?", 784).tolerance == 0
    assert Question("shape?", (4, 4, 32)).note() == "A shape, such as 12x12x3 or (12, 12, 3)."
    assert Question("size?", (7, 7)).note() == "A size, such as 12, 12x12 or (12, 12)."


def _submit(q: Question) -> None:
    """What the browser sends when Enter is pressed in the box."""
    q._entry._handle_custom_msg({"event": "submit"}, [])


def test_enter_checks_what_is_in_the_box():
    q = Question("size?", (7, 7))
    q._entry.value = "8"
    _submit(q)
    assert q.correct is False and "8" in q._feedback.value
    q._entry.value = "7"  # an edit, then Enter at once: the new value is judged
    _submit(q)
    assert q.correct is True and q.response == "7" and "Right" in q._feedback.value


def test_an_edit_clears_the_old_verdict():
    q = Question("size?", (7, 7))
    q._entry.value = "7"
    _submit(q)
    assert "Right" in q._feedback.value
    q._entry.value = "78"
    assert q.correct is None and q._feedback.value == ""
    choice = Question("Which loss?", "mse", choices=["mse", "mae"])
    choice._entry.value = "mse"
    choice._button.click()
    assert choice.correct is True
    choice._entry.value = "mae"
    assert choice.correct is None and choice._feedback.value == ""


def test_other_messages_from_the_box_check_nothing():
    q = Question("size?", (7, 7))
    q._entry.value = "7"
    q._entry._handle_custom_msg({"event": "something else"}, [])
    assert q.correct is None


# ---- the lessons' questions come from the bank ------------------------------------------------


def _typed_answer(answer) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, tuple):
        return "x".join(str(a) for a in answer)
    return str(int(answer)) if float(answer).is_integer() else f"{answer:.4g}"


@pytest.mark.parametrize("key", keys())
def test_every_bank_question_knows_its_answer(key):
    q = Question.from_bank(key)
    assert q.check(_typed_answer(q.answer)), (key, q.answer)
    if isinstance(q.answer, str):
        wrong = "something else"
    elif isinstance(q.answer, tuple):
        wrong = "x".join(str(a + 1) for a in q.answer)
    else:
        wrong = _typed_answer(q.answer + 0.1 if 0 < q.answer < 1 else q.answer + 1)
    assert not q.check(wrong), (key, wrong)


def test_an_unknown_key_names_the_known_ones():
    with pytest.raises(KeyError, match="01-valid-size"):
        Question.from_bank("01-no-such-question")


def test_lessons_ask_the_bank_with_no_answer_in_their_source():
    """Every question in course/ is ``Question.from_bank(key)`` and each key is asked once."""
    asked = []
    for path in sorted((REPO / "course").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or not re.search(r"\bQuestion\s*[(.]", source):
                continue
            match = re.fullmatch(r'Question\.from_bank\("([\w-]+)"\)', source.strip())
            assert match, f"{path.name} cell {i} builds a question with its answer: {source!r}"
            assert match.group(1).startswith(path.name[:2]), (path.name, match.group(1))
            asked.append(match.group(1))
    assert sorted(asked) == sorted(keys())
