"""Student self-checks: run several named checks, print ✔/✘ per check, raise only when asked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .report import FAIL, PASS, SKIP

__all__ = ["CheckResult", "SelfCheckResults", "self_check"]


@dataclass
class CheckResult:
    """One named check: did it pass, and what it said.

    Examples
    --------
    >>> print(CheckResult("the shapes agree", False, "expected (None, 10)"))
    ✘ the shapes agree
        expected (None, 10)
    """

    name: str
    passed: bool
    message: str = ""
    skipped: bool = False  # not run (a training self-check while grading); counts as passed

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.skipped:
            return f"{SKIP} {self.name}: skipped" + (f" ({self.message})" if self.message else "")
        line = f"{PASS if self.passed else FAIL} {self.name}"
        if self.message and not self.passed:
            line += "\n" + "\n".join(f"    {m}" for m in self.message.splitlines())
        return line


class SelfCheckResults(list):
    """The :class:`CheckResult` list :func:`self_check` returns; ``passed`` if all passed."""

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(r.passed for r in self)

    @property
    def summary(self) -> str:
        """``'All 3 checks passed.'`` or ``'2 of 3 checks passed.'``."""
        ok = sum(r.passed for r in self)
        skipped = sum(r.skipped for r in self)
        note = f" ({skipped} skipped)" if skipped else ""
        if ok == len(self):
            head = f"All {ok} checks passed" if ok != 1 else "The check passed"
            return f"{head}{note}."
        return f"{ok} of {len(self)} checks passed{note}."

    def __str__(self) -> str:
        return "\n".join([*(str(r) for r in self), self.summary])

    def __repr__(self) -> str:  # the results were just printed: echo only the summary
        return f"<{self.summary}>"


Check = Any  # a callable, a result with .passed, a bool, or a (name, any of those) pair


def self_check(*checks: Check, strict: bool = False, show: bool = True) -> SelfCheckResults:
    """Run named checks, print one ✔/✘ line per check (with the reason), return the results.

    Each check is a ``(name, check)`` pair or a bare check, where a check is:

    - a function with no arguments; it fails if it raises (an ``AssertionError``'s
      text is the reason) or returns something falsy, such as a failing report;
    - a result object with ``passed`` and ``messages`` (from ``check_model``,
      ``check_head``, ``train_and_evaluate``) or a bool.

    A bare function is named after its docstring's first line or its name; a
    bare result after its ``title``. Nothing raises unless ``strict=True``, which
    raises ``AssertionError`` after the summary if any check failed, so that
    nbgrader counts the cell as failed.

    Parameters
    ----------
    *checks
        The checks, run in order; one failing does not stop the others.
    strict : bool
        Raise ``AssertionError`` at the end if any check failed.
    show : bool
        Print the summary (to stdout).

    Returns
    -------
    SelfCheckResults
        A list of :class:`CheckResult` with a ``passed`` property.

    Examples
    --------
    >>> def shapes_agree():
    ...     assert (2, 3) == (2, 3)
    >>> results = self_check(shapes_agree, ("the answer is 42", lambda: 6 * 7 == 42))
    ✔ shapes agree
    ✔ the answer is 42
    All 2 checks passed.
    >>> results = self_check(("a failing check", False))
    ✘ a failing check
    0 of 1 checks passed.
    """
    __tracebackhide__ = True
    results = SelfCheckResults(_run(check) for check in checks)
    if show:
        print(results)
    if strict and not results.passed:
        failed = [r for r in results if not r.passed]
        lines = [f"{FAIL} {r.name}" + (f": {r.message}" if r.message else "") for r in failed]
        raise AssertionError("\n".join([results.summary, *lines])) from None
    return results


def _run(check: Check) -> CheckResult:
    name = None
    if isinstance(check, tuple) and len(check) == 2 and isinstance(check[0], str):
        name, check = check
    reason = ""
    if callable(check) and not hasattr(check, "passed"):
        name = name or _name_of(check)
        try:
            check = check()
        except AssertionError as err:
            return CheckResult(name, False, str(err) or "an assertion failed")
        except Exception as err:  # a student's bug must not hide the other checks
            return CheckResult(name, False, f"{type(err).__name__}: {err}")
        if check is None:
            return CheckResult(name, True)
        reason = f"returned {check!r}"
    if hasattr(check, "passed"):
        name = name or str(getattr(check, "title", "check")).capitalize()
        messages = getattr(check, "messages", None) or []
        skipped = bool(getattr(check, "skipped", False))
        return CheckResult(name, bool(check.passed) or skipped, "\n".join(messages), skipped)
    return CheckResult(name or "check", bool(check), "" if check else reason)


def _name_of(fn: Callable[..., Any]) -> str:
    doc = (fn.__doc__ or "").strip()
    if doc:
        return doc.splitlines()[0].rstrip(".")
    name = getattr(fn, "__name__", "check")
    if name == "<lambda>":
        return "check"
    return name.removeprefix("check_").removeprefix("test_").replace("_", " ")
