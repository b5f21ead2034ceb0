"""Predict-then-check questions: the learner types a prediction and the notebook checks it."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

import ipywidgets as W
import traitlets

__all__ = ["Question"]

_NUM = r"[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:e[-+]?\d+)?"
_NUMBER = re.compile(rf"{_NUM}%?", re.IGNORECASE)
_RATIO = re.compile(rf"({_NUM})/({_NUM})", re.IGNORECASE)
# Units a person adds to a number of degrees; "±36°" and "+/-36" mean "up to 36 either way".
_DEGREES = re.compile(r"\s*(?:°|degrees?|deg)\s*$", re.IGNORECASE)
_EITHER_WAY = re.compile(r"^\s*(?:±|\+/-|\+-)\s*")


class _Typed(float):
    """A number as typed, remembering whether it was written as a percentage."""

    percent = False


def _number(raw: str) -> _Typed:
    raw = raw.replace(",", "").replace("_", "")
    if raw.endswith("%"):
        value = _Typed(float(raw[:-1]) / 100)
        value.percent = True
        return value
    return _Typed(float(raw))


def _parse(text: str) -> float | tuple[float, ...] | str | None:
    """Read what a person writes: ``220,234``, ``0.4``, ``40 %``, ``100/170``, ``36°``,
    ``(28, 28, 32)``, ``28x28x32``; anything else is text, in lower case."""
    t = text.strip().replace("−", "-").replace("×", "x")
    if not t:
        return None
    t = _DEGREES.sub("", _EITHER_WAY.sub("", t))
    squeezed = t.replace(" ", "")
    ratio = _RATIO.fullmatch(squeezed)
    if ratio:
        top, bottom = _number(ratio.group(1)), _number(ratio.group(2))
        return _Typed(top / bottom) if bottom else t.lower()
    # Shapes: several numbers separated by x or *, commas with spaces, or in brackets.
    if re.search(r"[x*(\[]", t, re.IGNORECASE) or re.search(r",\s", t):
        parts = re.findall(r"[-+]?\d+(?:\.\d+)?", t.replace("None", ""))
        if len(parts) > 1:
            return tuple(float(p) for p in parts)
    if _NUMBER.fullmatch(squeezed):
        return _number(squeezed)
    return t.lower()


def _whole(x: float) -> bool:
    return float(x).is_integer()


def _default_tolerance(answer) -> float:
    """0 for whole numbers; otherwise half a unit in the third significant place, at least
    0.005 for a proportion (0.588 for 100/170, 58.8 %)."""
    if isinstance(answer, str) or isinstance(answer, Sequence):
        return 0.0
    a = abs(float(answer))
    return 0.0 if _whole(a) else 0.005 * max(1.0, a)


def _is_proportion(answer) -> bool:
    """Answers read as a share (accuracy 0.9): a person may write 90 %, or 90."""
    if isinstance(answer, (str, Sequence)) or isinstance(answer, bool):
        return False
    return 0.0 < float(answer) < 1.0


def _same(given, expected, tolerance: float, percent: bool) -> bool:
    if isinstance(expected, str):
        return isinstance(given, str) and given == expected.strip().lower()
    if isinstance(expected, Sequence):
        exp = [float(e) for e in expected if e is not None]
        if isinstance(given, float) and len(set(exp)) == 1:
            given = (given,) * len(exp)  # "7" for a 7×7 output: the same size each way
        return (
            isinstance(given, tuple)
            and len(given) == len(exp)
            and all(math.isclose(g, e, abs_tol=tolerance) for g, e in zip(given, exp, strict=True))
        )
    if not isinstance(given, float):
        return False
    if math.isclose(given, float(expected), abs_tol=tolerance):
        return True
    # "90" for 90 %: a number over 1 where a share is asked, read as a percentage
    written_as_percent = getattr(given, "percent", False)
    return (
        percent
        and not written_as_percent
        and 1.0 < given <= 100.0
        and math.isclose(given / 100, float(expected), abs_tol=tolerance)
    )


def _format(x: float) -> str:
    return f"{x:g}"


class Question(W.VBox):
    """A question with a typed answer, checked on the spot (Enter or the Check button).

    Compute ``answer`` with the kit's own functions so the question can never disagree
    with the widgets; lessons take theirs from the kit's bank, :meth:`from_bank`, so the
    answer is not printed above its box. Accepted: numbers as ``220,234``, ``0.4``,
    ``40 %`` or ``100/170``; degrees as ``36°``; shapes as ``(28, 28, 32)`` or
    ``28x28x32``, and one number for a square size (``7`` for ``(7, 7)``); for a share
    between 0 and 1, ``90`` means 90 %. ``choices`` shows buttons instead of a box.

    Parameters
    ----------
    prompt : str
        The question.
    answer : number, str or sequence
        The right answer; ``None`` entries of a shape (the batch axis) are skipped.
    tolerance : float, optional
        How far a number may be from ``answer``; by default 0 for whole numbers and half a
        unit in the third significant place otherwise. Stated under the box when not 0.
    percent : bool, optional
        Whether ``90`` may mean 90 %; by default when ``answer`` is between 0 and 1.
    hint, explanation : str
        Shown after a wrong and a right answer.
    choices : sequence of str, optional
        The options, as buttons.

    Examples
    --------
    >>> from cnnwidgets import conv_output_size
    >>> q = Question("Output height of a 3x3 valid conv on 28x28?", conv_output_size(28, 3))
    >>> q.check("26")
    True
    >>> Question("Precision?", 100 / 170).check("58.8 %")
    True
    """

    response = traitlets.Unicode("", help="What the learner typed or chose, as last checked.")
    correct = traitlets.Bool(
        None, allow_none=True, help="None until checked (and after an edit), then the verdict."
    )

    def __init__(
        self,
        prompt: str,
        answer: float | int | str | Sequence[int | None],
        *,
        tolerance: float | None = None,
        hint: str = "",
        explanation: str = "",
        choices: Sequence[str] | None = None,
        percent: bool | None = None,
    ) -> None:
        self.prompt, self.answer = prompt, answer
        self.tolerance = _default_tolerance(answer) if tolerance is None else float(tolerance)
        self.percent = _is_proportion(answer) if percent is None else bool(percent)
        self.hint, self.explanation = hint, explanation
        if choices is not None:
            self._entry = W.RadioButtons(options=list(choices), value=None)
        else:
            # Every keystroke reaches the kernel before Enter's "submit" does (one channel,
            # in order), so a check always judges what is in the box.
            self._entry = W.Text(placeholder="your prediction", continuous_update=True)
            self._entry.on_msg(self._on_entry_msg)
        self._entry.observe(self._on_edit, "value")
        self._button = W.Button(description="Check", button_style="primary")
        self._button.on_click(lambda _: self.check(self._entry.value or ""))
        self._feedback = W.HTML()
        children = [W.HTML(f"<b>{html.escape(prompt)}</b>"), W.HBox([self._entry, self._button])]
        note = self.note()
        if note:
            children.append(W.HTML(f"<small style='color:#57606a'>{html.escape(note)}</small>"))
        super().__init__([*children, self._feedback])

    @classmethod
    def from_bank(cls, key: str) -> Question:
        """A lesson's question by its key (``"01-valid-size"``), from the kit's bank."""
        from ._questions import question

        return cls(**question(key))

    def note(self) -> str:
        """What the box accepts and how close is close enough, in one line ("" if exact)."""
        if isinstance(self.answer, str):
            return ""
        if isinstance(self.answer, Sequence):
            if len({a for a in self.answer if a is not None}) == 1:  # square: "7" will do
                return "A size, such as 12, 12x12 or (12, 12)."
            return "A shape, such as 12x12x3 or (12, 12, 3)."
        if self.percent:
            return (
                "A share: 0.25, 25 % or 1/4 (a number above 1 is read as a percentage); "
                f"answers within ±{_format(self.tolerance)} count."
            )
        if self.tolerance:
            return f"Answers within ±{_format(self.tolerance)} count."
        return ""

    def check(self, response: object) -> bool:
        """Check ``response`` (a string as typed, or a number/tuple) and show the verdict."""
        self.response = str(response)
        given = _parse(response) if isinstance(response, str) else response
        if isinstance(given, (int, float)) and not isinstance(given, bool):
            given = given if isinstance(given, _Typed) else float(given)
        elif isinstance(given, Sequence) and not isinstance(given, str):
            given = tuple(float(g) for g in given if g is not None)
        self.correct = given is not None and _same(given, self.answer, self.tolerance, self.percent)
        self._update()
        return bool(self.correct)

    def _on_entry_msg(self, _widget, content, _buffers) -> None:
        if content.get("event") == "submit":  # Enter in the box
            self.check(self._entry.value or "")

    def _on_edit(self, _change) -> None:
        if self.correct is not None:  # an old verdict never stands next to a new answer
            self.correct = None
            self._update()

    def _update(self) -> None:
        if self.correct is None:
            self._feedback.value = ""
        elif self.correct:
            extra = f" {html.escape(self.explanation)}" if self.explanation else ""
            self._feedback.value = f"<span style='color:#1a7f37'>✔ Right.</span>{extra}"
        else:
            hint = f" Hint: {html.escape(self.hint)}" if self.hint else " Try again."
            self._feedback.value = (
                f"<span style='color:#b42318'>✘ Not quite: you said "
                f"{html.escape(self.response)}.</span>{hint}"
            )
