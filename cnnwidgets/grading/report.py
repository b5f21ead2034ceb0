"""Result objects of the checkers: passed, messages, score, and a readable str()."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Report", "ModelReport", "HeadReport"]

PASS = "✔"
FAIL = "✘"
SKIP = "–"


@dataclass
class Report:
    """What a checker found: did it pass, what is wrong, and which share of checks passed.

    ``str(report)`` is a short summary line and one line per message; that text is
    what a student sees in a failing nbgrader cell. A report is truthy only when it
    passed, so ``assert report`` cannot pass by accident.

    Parameters
    ----------
    passed : bool
        True when every check passed.
    messages : list of str
        One sentence per problem, the first root cause first.
    score : float
        Fraction of checks passed, from 0 to 1.
    checks : int
        How many checks ran (0 when the input could not be checked at all).
    title : str
        What a pass means, as a clause ("the model matches the reference"); also
        the name :func:`~cnnwidgets.grading.self_check` prints.
    failure : str
        What a failure means ("the model does not match the reference").

    Examples
    --------
    >>> print(Report(True, [], 1.0, 3, "the answer is right", "the answer is wrong"))
    ✔ All 3 checks passed: the answer is right.
    >>> r = Report(False, ["layer 2 (Dense): units 8, expected 10"], 0.5, 2)
    >>> bool(r)
    False
    >>> print(r)
    ✘ 1 of 2 checks passed: the check failed.
      - layer 2 (Dense): units 8, expected 10
    """

    passed: bool
    messages: list[str] = field(default_factory=list)
    score: float = 0.0
    checks: int = 0
    title: str = "the check passed"
    failure: str = "the check failed"

    def __bool__(self) -> bool:
        return self.passed

    @property
    def summary(self) -> str:
        """The first line of ``str(report)``."""
        if self.passed:
            return f"{PASS} All {self.checks} checks passed: {self.title}."
        if not self.checks:
            return f"{FAIL} Nothing could be checked: {self.failure}."
        ok = round(self.score * self.checks)
        return f"{FAIL} {ok} of {self.checks} checks passed: {self.failure}."

    def __str__(self) -> str:
        return "\n".join([self.summary, *(f"  - {m}" for m in self.messages)])

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython shows str(), not fields
        printer.text(str(self))


@dataclass
class ModelReport(Report):
    """A :class:`Report` from :func:`~cnnwidgets.grading.check_model`."""

    title: str = "the model matches the reference"
    failure: str = "the model does not match the reference"


@dataclass
class HeadReport(Report):
    """A :class:`Report` from :func:`~cnnwidgets.grading.check_head`."""

    title: str = "the output layer, the loss and the labels agree"
    failure: str = "the output layer, the loss and the labels do not agree"


def fmt_int(n: int) -> str:
    """``1234567`` → ``'1,234,567'``."""
    return f"{n:,}"


def fmt_params(n: int) -> str:
    """``1`` → ``'1 parameter'``, ``2000`` → ``'2,000 parameters'``."""
    return f"{n:,} parameter" + ("" if n == 1 else "s")


def fmt_value(value: object) -> str:
    """A config value as a student would type it: strings quoted, tuples as tuples."""
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def join_words(items: list[str]) -> str:
    """``['a', 'b', 'c']`` → ``'a, b and c'``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
