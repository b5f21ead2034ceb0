"""Predict-then-check questions: the learner types a prediction and the notebook checks it."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

import ipywidgets as W
import traitlets

__all__ = ["Question"]

_NUMBER = re.compile(r"[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:e[-+]?\d+)?%?", re.IGNORECASE)


def _parse(text: str) -> float | tuple[float, ...] | str | None:
    """Read ``"220,234"``, ``"0.4"``, ``"40%"``, ``"(28, 28, 32)"`` or ``"28x28x32"``."""
    t = text.strip()
    if not t:
        return None
    # Shapes: several numbers separated by x, ×, commas with spaces, or in brackets.
    if re.search(r"[x×*(\[]", t, re.IGNORECASE) or re.search(r",\s", t):
        parts = re.findall(r"[-+]?\d+(?:\.\d+)?", t.replace("None", ""))
        if len(parts) > 1:
            return tuple(float(p) for p in parts)
    m = _NUMBER.fullmatch(t.replace(" ", ""))
    if m:
        raw = t.replace(" ", "").replace(",", "").replace("_", "")
        return float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    return t.lower()


def _same(given, expected, tolerance: float) -> bool:
    if isinstance(expected, str):
        return isinstance(given, str) and given == expected.strip().lower()
    if isinstance(expected, Sequence):
        exp = [float(e) for e in expected if e is not None]
        return isinstance(given, tuple) and len(given) == len(exp) and all(
            math.isclose(g, e, abs_tol=tolerance) for g, e in zip(given, exp, strict=True)
        )
    return isinstance(given, float) and math.isclose(given, float(expected), abs_tol=tolerance)


class Question(W.VBox):
    """A question with a typed answer, checked on the spot.

    Compute ``answer`` with the kit's own functions so the question can never
    disagree with the widgets. Numbers accept ``220,234``, ``0.4`` or ``40%``;
    shapes accept ``(28, 28, 32)`` or ``28x28x32``; ``choices`` shows buttons.

    Examples
    --------
    >>> from cnnwidgets import conv_output_size
    >>> q = Question("Output height of a 3x3 valid conv on 28x28?", conv_output_size(28, 3))
    >>> q.check("26")
    True
    """

    response = traitlets.Unicode("", help="What the learner typed or chose.")
    correct = traitlets.Bool(None, allow_none=True, help="None until checked, then the verdict.")

    def __init__(
        self,
        prompt: str,
        answer: float | int | str | Sequence[int | None],
        *,
        tolerance: float = 0.0,
        hint: str = "",
        explanation: str = "",
        choices: Sequence[str] | None = None,
    ) -> None:
        self.prompt, self.answer, self.tolerance = prompt, answer, tolerance
        self.hint, self.explanation = hint, explanation
        if choices is not None:
            self._entry = W.RadioButtons(options=list(choices), value=None)
        else:
            self._entry = W.Text(placeholder="your prediction", continuous_update=False)
        self._button = W.Button(description="Check", button_style="primary")
        self._feedback = W.HTML()
        self._button.on_click(lambda _: self.check(self._entry.value or ""))
        super().__init__(
            [W.HTML(f"<b>{html.escape(prompt)}</b>"), W.HBox([self._entry, self._button]),
             self._feedback]
        )

    def check(self, response: object) -> bool:
        """Check ``response`` (a string as typed, or a number/tuple) and show the verdict."""
        self.response = str(response)
        given = _parse(response) if isinstance(response, str) else response
        if isinstance(given, (int, float)) and not isinstance(given, bool):
            given = float(given)
        elif isinstance(given, Sequence) and not isinstance(given, str):
            given = tuple(float(g) for g in given if g is not None)
        self.correct = given is not None and _same(given, self.answer, self.tolerance)
        self._update()
        return bool(self.correct)

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
