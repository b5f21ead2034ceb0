"""What an answer may use: a task's rule, declared with it, checked where the forbidden is absent.

A rule is declared by the test under the answer, in the source notebook::

    assert_follows_rule("numpy_only", "conv2d", example="conv2d(np.ones((5, 5)), np.eye(3))")

and stated in the task's text with the rule's :attr:`Rule.sentence`. Two things follow:

- **when grading**, the grader reads these declarations from its own copy of the
  tests, runs the student's cells a second time in a *room* (:mod:`.room`) whose
  Python has only the packages the rule allows, and takes the declared names from
  there for every test; the student's kernel is never asked for them. A library
  the rule forbids does not exist in the room, so no disguise can call it;
- **in the student's notebook**, the same call replays the kernel's cells in a
  local room and raises :class:`RuleViolation` with the message the grader
  would give, before anything is submitted.

The message names the answer, the answer cell, the line and the package it needs.
"""

from __future__ import annotations

import ast
import atexit
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "RULES",
    "Rule",
    "RuleViolation",
    "assert_follows_rule",
    "declared_rules",
    "rule_violation",
]


@dataclass(frozen=True)
class Rule:
    """A task's rule on what its answer may use.

    Attributes
    ----------
    name : str
        How tests name it: ``assert_follows_rule(name, ...)``.
    allowed : tuple of str
        The packages (import names) the answer may use besides Python's standard library.
    sentence : str
        The rule in one sentence, as the task states it to the student.
    """

    name: str
    allowed: tuple[str, ...]
    sentence: str

    @property
    def room(self) -> str:
        """The room that enforces it: one per set of allowed packages."""
        return "+".join(sorted(self.allowed)) or "python"


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "numpy_only",
            ("numpy",),
            "NumPy and Python only: no convolution, pooling or metrics from cnnwidgets, SciPy, "
            "scikit-image, scikit-learn, Keras/TensorFlow, PyTorch or OpenCV; the grader runs "
            "this answer in a Python that has NumPy and nothing else.",
        ),
        Rule(
            "by_hand",
            ("numpy",),
            "Work the numbers out yourself: arithmetic in Python (and NumPy) is fine, the kit's "
            "functions and tables, `model.summary()` and `count_params()` are not; the grader "
            "runs this answer in a Python that has NumPy and nothing else.",
        ),
    )
}


class RuleViolation(AssertionError):
    """An answer uses what its task's rule forbids (the message names what, and where)."""


# --- declarations, read from the tests ---------------------------------------------------------


def declared_rules(source: str) -> list[tuple[str, tuple[str, ...]]]:
    """The ``assert_follows_rule(rule, *names)`` calls in a test cell's code, as data.

    Only literal strings count; the grader reads its own copy of the tests, so
    these declarations are the instructor's.

    Examples
    --------
    >>> declared_rules('assert_follows_rule("numpy_only", "conv2d", example="conv2d(1, 2)")')
    [('numpy_only', ('conv2d',))]
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name != "assert_follows_rule" or not node.args:
            continue
        values = [a.value for a in node.args if isinstance(a, ast.Constant)]
        words = [v for v in values if isinstance(v, str)]
        if len(words) == len(node.args):
            found.append((words[0], tuple(words[1:])))
    return found


# --- the message ---------------------------------------------------------------------------------


def cell_name(cell: object) -> str:
    """How a message names a cell: the answer cell's grade id, its position, or its prompt."""
    text = str(cell)
    if text.startswith("In ["):  # the student's own kernel: the cell's prompt number
        return f"the cell {text}"
    return text if text.startswith("cell ") else f"answer cell {text!r}"


def _where(cell: object, error: dict) -> str:
    line = error.get("line")
    at = f", line {error['lineno']} (`{line}`)" if line and error.get("lineno") else ""
    return f"{cell_name(cell)}{at}"


def _forbidden(rule: Rule, module: object) -> bool:
    if not isinstance(module, str) or not module:
        return False
    top = module.split(".", 1)[0]
    return top not in rule.allowed and top not in sys.stdlib_module_names


_PLAIN = (
    "An answer under a rule is plain Python and NumPy: imports of NumPy and the math modules "
    "of Python only, no exec or eval, no files, no other process, and no copy of a library's "
    "code."
)


def _against(rule: Rule, error: dict) -> bool:
    """Whether a statement stopped because of the rule: an import of a module it does not
    allow, or something the room refused to run (exec, a copied library, a reach outside)."""
    return error.get("refused") is True or _forbidden(rule, error.get("module"))


def _stated(rule: Rule) -> str:
    return f"The rule of this task: {rule.sentence}"


def explain(
    rule: Rule,
    name: str,
    error: dict,
    where: str,
    cells: list[dict],
    depth: int = 0,
    first: tuple[str, str, dict] | None = None,
) -> str | None:
    """Why ``error`` (raised ``where``) breaks ``rule``, or ``None`` if it does not.

    It does when it is an import of a module the rule does not allow, or a
    ``NameError`` (``AttributeError``) for a name (an attribute) that a cell
    stopped on such an import was to define (a helper, ``keras = ...`` in a cell
    that imports Keras, ``np.conv = ...`` in a cell that imports SciPy).
    """
    if error.get("refused") is True:
        return (
            f"{name} uses {error.get('module')}, which this task does not allow: {where} was "
            f"not run. {_PLAIN} {_stated(rule)}"
        )
    if _against(rule, error):
        return (
            f"{name} uses {error['module']}, which this task does not allow: {where} needs it "
            f"({error.get('type', 'ImportError')}: {error.get('message', '')}). {_stated(rule)}"
        )
    kind = error.get("type")
    missing = error.get("name") if kind in ("NameError", "AttributeError") else None
    if not isinstance(missing, str) or depth > 5:
        return None
    first = first or (missing, where, error)  # what the message is about: the answer's own stop
    for cell in reversed(cells):  # the latest statement that was to define it, and why it did not
        stop = cell.get("error")
        if not isinstance(stop, dict) or stop is error:
            continue
        if missing not in (cell.get("source_names") or []):
            continue
        if _against(rule, stop):
            wanted, at, own = first
            return (
                f"{name} needs {wanted}, which comes from {_where(cell.get('id'), stop)}: that "
                f"uses {stop['module']}, which this task does not allow; {at} stops with "
                f"{own.get('type')}: {own.get('message', '')}. {_stated(rule)}"
            )
        if stop.get("type") in ("NameError", "AttributeError"):  # a chain: keras = quiet_keras()
            deeper = explain(rule, name, stop, where, cells, depth + 1, first)
            if deeper is not None:
                return deeper
    return None


def rule_violation(rule: Rule, names: Iterable[str], report: dict) -> str | None:
    """What breaks ``rule`` in a room's report on ``names``; ``None`` if nothing does.

    A name breaks the rule when the last statement that bound it, or was to,
    stopped on a module the rule does not allow (or on a name such a statement
    was to define), or when the example call does. A statement that only uses
    the name (comparing the answer with SciPy's in a scratch cell) is not the
    answer, nor is a failed one that a later definition replaced. An answer
    that is simply wrong or missing is not a rule's business: its tests say so.
    """
    if not isinstance(report, dict):
        return None
    names = list(names)
    label = ", ".join(names) or "the answer"
    if isinstance(report.get("dead"), str):
        dead = report["dead"]
        return f"{label} could not be checked under this task's rule: {dead}. {_stated(rule)}"
    cells = [c for c in report.get("cells") or [] if isinstance(c, dict)]
    for name in names:
        for cell in cells:
            error = cell.get("error")
            if isinstance(error, dict) and name in (cell.get("binds") or []):
                problem = explain(rule, name, error, _where(cell.get("id"), error), cells)
                if problem is not None:
                    return problem
    example = report.get("example")
    error = example.get("error") if isinstance(example, dict) else None
    if isinstance(error, dict):
        trace = [t for t in error.get("trace") or [] if isinstance(t, list) and len(t) == 3]
        where = "the example call"
        if trace:
            cell, number, line = trace[-1]
            where = f"the call, at {cell_name(cell)}, line {number} (`{line}`)"
        name = names[0] if names else "the answer"
        problem = explain(rule, name, error, where, cells)
        return problem if problem is not None else _helper_stopped(rule, names, report, where,
                                                                    error, cells)  # fmt: skip
    return None


def _helper_stopped(
    rule: Rule, names: list[str], report: dict, where: str, error: dict, cells: list[dict]
) -> str | None:
    """The example failed in a way no name explains (a ``KeyError`` in a table the answer
    reads): does a name the answer uses come last from a statement stopped by the rule?"""
    found = report.get("names")
    for name in names:
        entry = found.get(name) if isinstance(found, dict) else None
        uses = entry.get("uses") if isinstance(entry, dict) else None
        for helper in uses if isinstance(uses, list) else []:
            for cell in cells:
                stop = cell.get("error")
                if not isinstance(stop, dict) or helper not in (cell.get("binds") or []):
                    continue
                if _against(rule, stop):
                    return (
                        f"{name} needs {helper}, which was to be set by "
                        f"{_where(cell.get('id'), stop)}: that uses {stop['module']}, which "
                        f"this task does not allow; {where} stops with {error.get('type')}: "
                        f"{error.get('message', '')}. {_stated(rule)}"
                    )
    # Nothing binds it, but a statement of the answer's own cell was not run under the rule
    # (the one that was to fill the table the answer reads, through names of its own).
    for name in names:
        entry = found.get(name) if isinstance(found, dict) else None
        home = entry.get("cell") if isinstance(entry, dict) else None
        for cell in cells:
            stop = cell.get("error")
            if home is None or cell.get("id") != home or not isinstance(stop, dict):
                continue
            if _against(rule, stop):
                return (
                    f"{name} uses {stop['module']}, which this task does not allow: "
                    f"{_where(cell.get('id'), stop)} was not run, and {where} stops with "
                    f"{error.get('type')}: {error.get('message', '')}. {_stated(rule)}"
                )
    return None


# --- the check -----------------------------------------------------------------------------------

# Set by the grader's verifier: (rule, names, example) -> the grading room's report.
_grader_check: Callable[[Rule, tuple[str, ...], str | None], dict] | None = None


def assert_follows_rule(rule: str, *names: str, example: str | None = None) -> None:
    """Raise :class:`RuleViolation` unless ``names`` follow the task's ``rule``.

    ``example``, code that uses the names (``"conv2d(np.ones((4, 4)), np.eye(2))"``),
    is run in the room too: a function may reach for a library only when called.

    In a student's notebook the kernel's cells are replayed, in the order they
    ran, in a local Python that has only what the rule allows; when grading, the
    grader's own room answers. The message is the same in both.

    Examples
    --------
    >>> assert_follows_rule("numpy_only", "conv2d")  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    RuleViolation: conv2d uses scipy, which this task does not allow: answer cell 'conv2d', ...
    """
    __tracebackhide__ = True
    if rule not in RULES:
        raise ValueError(f"no rule named {rule!r}; the rules are {', '.join(sorted(RULES))}")
    spec = RULES[rule]
    if _grader_check is not None:
        report = _grader_check(spec, names, example)
    else:
        report = _local_check(spec, names, example)
    problem = rule_violation(spec, names, report)
    if problem is not None:
        raise RuleViolation(problem)


# The student's own check: one local room per rule's packages, fed with the kernel's history.
_LOCAL: dict[str, tuple[Any, int]] = {}


def _history() -> list[str]:
    try:
        shell = get_ipython()  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        raise RuntimeError(
            "assert_follows_rule checks a notebook's cells: run it in a Jupyter notebook"
        ) from None
    history = list(shell.history_manager.input_hist_raw)
    return history[1:-1]  # [0] is empty; the last one is the cell running this check


def _is_check(source: str) -> bool:
    """A cell that itself checks a rule (a test cell): the grader's room never runs those."""
    return bool(declared_rules(source))


def _local_check(rule: Rule, names: tuple[str, ...], example: str | None) -> dict:
    from . import room as rooms

    cells = _history()
    entry = _LOCAL.get(rule.room)
    if entry is not None and (entry[0].dead or entry[1] > len(cells)):
        entry[0].kill()
        entry = None
    if entry is None:
        site = rooms.local_site(rule.allowed, Path(tempfile.mkdtemp(prefix="cnnkit-room-")))
        room = rooms.Room(rooms.command(rule.allowed, str(site)), cwd=str(site.parent))
        entry = (room, 0)
        atexit.register(room.kill)
    room, done = entry
    for number, source in enumerate(cells[done:], start=done + 1):
        if not _is_check(source):  # as when grading: test cells do not run under the rule
            room.run_cell(f"In [{number}]", source, timeout=60)
    _LOCAL[rule.room] = (room, len(cells))
    try:
        return room.check(names, example, timeout=120)
    except rooms.RoomDead as exc:
        _LOCAL.pop(rule.room, None)
        return {"cells": [], "names": {}, "example": None, "dead": str(exc)}
