"""The rule's room: a Python where only the packages a task allows exist.

A task's rule ("NumPy only", "work the numbers out yourself") is enforced by
running the student's cells a second time in a process whose import path holds
the standard library and the allowed packages, and nothing else. What a task
forbids is then not hidden or blocked: it is absent, so no disguise (an alias,
``getattr``/``__import__``/``importlib``, ``exec`` of a built string, a helper
in another cell, ``functools.partial``, a patched module attribute) can reach
it. The grader reads the answers under a rule from the room, never from the
student's kernel.

This file is two things:

- **the runner**, executed by path as ``python -I -S room.py --site DIR ...``:
  it imports nothing but the standard library (the kit itself is not on its
  path, which is the point), runs cells it is sent, answers checks, and, when
  given the bridge's codec (``--codec bridge.py``), serves the verifier's
  requests for names and calls exactly as the student's kernel does;
- **the client**, :class:`Room`, which starts and talks to one runner: the
  grader's (in its own sandbox, see :mod:`cnnwidgets.instructor.isolation.sandbox`) and
  the student's self-check (:func:`cnnwidgets.grading.rules.assert_follows_rule`).

Protocol (JSON lines; the runner answers every message, in order)::

    {"op": "cell", "id", "source", "timeout"}     -> {"op": "ran", "id", "error"}
    {"op": "check", "names", "example", "timeout"} -> {"op": "checked", ...report...}
    {"op": "serve", "request"}                     -> {"op": "served", "imports"}

The runner keeps the student's print-outs, input and exceptions to itself:
cells run with ``/dev/null`` as stdin and stdout.
"""

from __future__ import annotations

import functools
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["Room", "RoomDead", "allowed_paths", "local_site", "runner_path"]

# How long a cell may go on after its alarm (KeyboardInterrupt) before it counts as stuck.
_GRACE_SECONDS = 5.0


# --- the runner: executed by path, standard library only --------------------------------------


# Python's own, kept before the room makes them refuse (see _LibraryGuard).
_EXEC, _COMPILE = exec, compile
# Modules that run text they write themselves from names they check are identifiers
# (namedtuple's class, a dataclass's __init__), as modules NumPy imports on first use do.
_WRITES_ITS_OWN = frozenset({"collections", "dataclasses"})


class _LibraryGuard:
    """While the student's code runs (a cell, a call from the tests), ``exec`` and ``eval``
    refuse, in the whole room: the student's code has neither, and this is for a library that
    would run text for it with its own (``np.testing.runstring``, ``typing.get_type_hints``).
    ``compile`` stays: a code object runs only through them (libraries compile annotations
    and array headers on import). The room itself runs cells with the ones kept above."""

    active = False

    @classmethod
    def install(cls) -> None:
        import builtins

        for name in ("exec", "eval"):
            setattr(builtins, name, cls._refusing(name, getattr(builtins, name)))

    @classmethod
    def _refusing(cls, name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            # Python's import system compiles and runs a module's file with them (NumPy
            # imports parts of itself on first use): files the room has, not text of the
            # student's, who can neither write a file nor put a folder on the path here.
            caller = sys._getframe(1)
            module = caller.f_globals.get("__name__")
            own = module in _WRITES_ITS_OWN and (
                getattr(sys.modules.get(module), "__dict__", None) is caller.f_globals
            )  # that module itself, not code that took its name
            if (
                cls.active
                and not own
                and not caller.f_code.co_filename.startswith("<frozen importlib._bootstrap")
            ):
                where = caller.f_globals.get("__name__", "?")
                raise _Refused(f"{name}() through a library ({where})", 0)
            return real(*args, **kwargs)

        call.__name__ = call.__qualname__ = name
        return call

    def __enter__(self) -> None:
        type(self).active = True

    def __exit__(self, *exc: object) -> None:
        type(self).active = False


def _stdlib() -> frozenset[str]:
    return frozenset(sys.stdlib_module_names)


class _ImportLog:
    """A finder last on ``sys.meta_path``: notes each module that could not be found.

    It finds nothing itself; it only remembers what the student's code tried to
    import and the room does not have (the student may remove it: then only the
    note is lost, never the rule, since the module is absent anyway).
    """

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(allowed) | _stdlib()
        self.tried: list[dict[str, str]] = []
        self.where: str | None = None  # set while the student's code runs

    def find_spec(self, name, path=None, target=None):
        top = name.split(".", 1)[0]
        if self.where is not None and top not in self.allowed and not top.startswith("_"):
            entry = {"module": top, "where": self.where}
            if entry not in self.tried:
                self.tried.append(entry)
        return None

    def take(self, since: int) -> list[dict[str, str]]:
        return self.tried[since:]


_MAGIC = re.compile(r"^(\s*)(%|!|\?)")


def _python_source(source: str) -> tuple[str | None, str | None]:
    """The cell as plain Python: IPython's ``%magic``, ``!shell`` and ``?help`` lines become
    ``pass``. ``(None, why)`` for a cell that is not Python at all (a ``%%`` cell magic)."""
    if source.lstrip().startswith("%%"):
        return None, "a cell magic (%%...): not run in the rule's Python"
    try:
        compile(source, "<cell>", "exec")
        return source, None
    except SyntaxError:
        pass
    lines = []
    for line in source.split("\n"):
        match = _MAGIC.match(line)
        if match or line.rstrip().endswith("?"):
            indent = match.group(1) if match else line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}pass")
        else:
            lines.append(line)
    return "\n".join(lines), None


def _error_report(exc: BaseException, filename: str, source: str) -> dict[str, Any]:
    """What went wrong in a cell, as data: type, message, missing module, the cell's line."""
    import traceback

    report: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
    if isinstance(exc, _Refused):
        lines = source.split("\n")
        report.update(type="RuleRefused", module=exc.what, refused=True, lineno=exc.lineno)
        if 0 < exc.lineno <= len(lines):
            report["line"] = lines[exc.lineno - 1].strip()[:200]
        return report
    if isinstance(exc, ImportError) and isinstance(getattr(exc, "name", None), str):
        report["module"] = exc.name
    if isinstance(exc, (NameError, AttributeError)) and isinstance(getattr(exc, "name", None), str):
        report["name"] = exc.name  # a name, or an attribute, that was never set
    lines = source.split("\n")
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == filename and frame.lineno and frame.lineno <= len(lines):
            report["lineno"] = frame.lineno
            report["line"] = lines[frame.lineno - 1].strip()[:200]
            break
    return report


def _statements(code: str, filename: str) -> list[tuple[str, Any, Any]]:
    """The cell's top-level statements: (source, its syntax tree, compiled on its own, line
    numbers kept)."""
    import ast

    tree = ast.parse(code, filename)
    return [
        (ast.get_source_segment(code, node) or "", node,
         _COMPILE(ast.Module(body=[node], type_ignores=[]), filename, "exec"))
        for node in tree.body
    ]  # fmt: skip


# --- what an answer under a rule may be written with -------------------------------------------
# The room has only the packages a rule allows, so no library it forbids can be imported. What
# is left is Python itself: code carried in as data (a compressed copy of a library run with
# exec, an import hook, a pickle), a reach into the room's own machinery (frames, a module's
# globals) or a relay to another process. None of these is needed to write conv2d or a
# confusion matrix, so a statement that uses one is not run; the message names it. Checked on
# each statement's syntax before it runs, so no earlier statement can switch the check off.

# Standard-library modules an answer may import besides the rule's packages. Not typing:
# typing.get_type_hints() evaluates annotations written as text with eval(), where a check of
# the syntax cannot see (nor dataclasses, which builds methods with exec()).
_PLAIN_MODULES = frozenset(
    {
        "math", "cmath", "itertools", "functools", "operator", "collections", "numbers",
        "fractions", "decimal", "statistics", "copy", "heapq", "bisect", "enum", "abc",
        "random", "warnings", "re", "array", "__future__",
    }
)  # fmt: skip
# Parts of NumPy that load code or pickles, or reach outside the process.
_NUMPY_SUBMODULES = frozenset(
    {"numpy", "numpy.linalg", "numpy.fft", "numpy.random", "numpy.lib", "numpy.lib.stride_tricks"}
)
_REFUSED_NAMES = frozenset(
    {
        "exec", "eval", "compile", "__import__", "open", "breakpoint", "globals", "locals",
        "vars", "memoryview", "__builtins__", "__loader__", "__spec__", "attrgetter",
        "methodcaller",
    }
)  # fmt: skip
# Built-ins the student's code runs without (a path to one that the check above missed finds
# nothing): code from text, files, the terminal, the room's own namespaces.
_ABSENT_BUILTINS = frozenset(
    {
        "exec", "eval", "compile", "open", "input", "breakpoint", "globals", "locals", "vars",
        "memoryview", "help", "copyright", "credits", "license", "exit", "quit",
    }
)  # fmt: skip
# Modules whose every name an answer may take at once (``from math import *``); a star import
# of anything else binds names nobody wrote (operator's attrgetter, NumPy's load).
_STAR_MODULES = frozenset({"math", "cmath"})
# Attribute names that reach frames, code, modules of the machine or NumPy's loaders.
_REFUSED_ATTRIBUTES = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame",
        "ag_code", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace",
        "tb_frame", "tb_next", "co_code", "co_consts", "co_names", "cell_contents",
        "attrgetter", "methodcaller", "builtins", "sys", "os", "io", "subprocess",
        "importlib", "ctypes", "pickle", "marshal", "shutil", "socket", "signal", "threading",
        "multiprocessing", "fcntl", "mmap", "gc", "inspect", "types", "runpy", "pathlib",
        "load", "loads", "dump", "dumps", "save", "savez", "savez_compressed", "savetxt",
        "fromfile", "tofile", "memmap", "open_memmap", "read_array", "write_array",
        "ctypeslib", "f2py", "distutils", "DataSource", "safe_eval", "setrecursionlimit",
        "_datasource", "_open", "open", "loadtxt", "genfromtxt", "fromregex", "npyio",
    }
)  # fmt: skip
# Special names a plain answer may read (a class's __init__, a function's __name__).
_PLAIN_DUNDERS = frozenset({"__init__", "__name__", "__doc__", "__qualname__", "__len__"})
_MAX_LITERAL = 2000  # characters of one text literal; a library's source is many thousands
_MAX_ITEMS = 500  # items of one list, tuple, set or dict literal
_SMALLEST_PRINT = 40  # syntax nodes: shorter functions are too plain to call copied
# Share of a function's shape (Jaccard, over runs of 4 node kinds) in common with a forbidden
# one: a renamed copy is 1.0, a copy with a junk line after every statement 0.82 or more; the
# kit's solutions to a1, a2 and a4 are 0.27 or less from every forbidden function.
_ALIKE = 0.6
# Share of a forbidden function's runs found in one function, or in one cell, of the answer
# (containment: code added around a copy, dead or alive, cannot lower it). Measured on
# forbidden functions of 60 runs or more: copies of the kit padded with dead library code
# 0.93 to 0.97; the kit's solutions and honest answers of the red-team corpus 0.66 or less.
_CONTAINED = 0.8
_SMALLEST_CONTAINED = 60  # runs of a forbidden function: shorter ones are too plain
# The same, statement by statement (runs that do not cross from one statement to the next, so
# that cutting a copy into helpers of a line each keeps them all): a copy cut up or padded
# 1.0; the kit's solutions' cells and honest answers of the corpus 0.52 or less from any
# forbidden function of 100 such runs or more (shorter ones come closer: 0.78).
_STATEMENTS_CONTAINED = 0.85
_SMALLEST_STATEMENTS = 100


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _shape(node: Any) -> list[str]:
    """A function's shape: the kinds of its syntax nodes, depth first (names, numbers and
    layout left out, so renaming or reformatting leaves it as it is, and a statement slipped
    in between changes only the runs around it)."""
    import ast

    kinds, todo = [], [node]
    while todo:
        current = todo.pop()
        kinds.append(type(current).__name__)
        todo.extend(reversed(list(ast.iter_child_nodes(current))))
    return kinds


def shape_print(node: Any, n: int = 4) -> frozenset[int]:
    """The runs of ``n`` consecutive node kinds of a function's shape (:func:`_shape`), each
    as a number that is the same in every process (a CRC, not Python's salted hash)."""
    import zlib

    kinds = _shape(node)
    return frozenset(
        zlib.crc32("|".join(kinds[i : i + n]).encode()) for i in range(len(kinds) - n + 1)
    )


def statement_print(node: Any) -> frozenset[int]:
    """The runs of :func:`shape_print` inside each statement of ``node`` (at any depth, a
    function or class definition itself left out): what stays when code is cut into
    pieces, moved apart or padded."""
    import ast

    found: set[int] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.stmt) and not isinstance(
            sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ):
            found |= shape_print(sub)
    return frozenset(found)


def _alike(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _contained(a: frozenset, b: frozenset) -> float:
    """The share of forbidden print ``b`` found in ``a``."""
    return len(a & b) / len(b) if a and b else 0.0


def copied_from(shape: frozenset, prints: Any) -> str | None:
    """Which forbidden function ``shape`` (a :func:`shape_print`) copies, and how much of it:
    alike as a whole, or contained in it; None if none."""
    for name, print_ in prints if shape else ():
        share = _alike(shape, print_)
        if share >= _ALIKE:
            return f"{name} ({share:.0%} alike)"
        if len(print_) >= _SMALLEST_CONTAINED:
            share = _contained(shape, print_)
            if share >= _CONTAINED:
                return f"{name} ({share:.0%} of it in this function)"
    return None


def _constant_names(node: Any) -> list[str] | None:
    """Every name ``node`` can give getattr(): a string written out, or a choice between
    such (``"max" if mode == "max" else "mean"``); None when it is computed."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, other = _constant_names(node.body), _constant_names(node.orelse)
        return None if body is None or other is None else body + other
    return None


def module_attributes(allowed: Any) -> frozenset[str]:
    """Names under which a module the room may import holds another module that it may not
    (``collections._sys``, ``enum.bltns``, ``random._os``): read off the loaded modules before
    any of the student's code runs."""
    import types

    allowed = frozenset(allowed)
    for name in sorted(_PLAIN_MODULES):
        try:
            __import__(name)
        except ImportError:
            pass

    def fine(module: types.ModuleType) -> bool:
        top = module.__name__.split(".")[0]
        return top in allowed or top in _PLAIN_MODULES

    found = set()
    for module in list(sys.modules.values()):
        if not isinstance(module, types.ModuleType) or not fine(module):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) and not fine(value) and not _dunder(attr):
                found.add(attr)
    return frozenset(found)


def refusal(
    node: Any, allowed: Any, prints: Any = (), module_attrs: frozenset[str] = frozenset()
) -> tuple[str, int] | None:
    """Why a statement (its syntax tree) may not run in a rule's room, and the line; None if it
    may. ``allowed``: the rule's packages; ``prints``: ``(name, shape_print)`` of the
    functions the rule forbids (a copy of one is refused); ``module_attrs``: attribute names
    that lead to a module the room may not import (:func:`module_attributes`)."""
    import ast

    allowed = frozenset(allowed)
    refused_attrs = _REFUSED_ATTRIBUTES | module_attrs
    # getattr() and its kin only as calls with a plain name written out
    called = {
        id(sub.func) for sub in ast.walk(node)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
        and sub.func.id in ("getattr", "setattr", "delattr")
    }  # fmt: skip

    docstrings = {  # a docstring is text to read, however long
        id(sub.body[0].value) for sub in ast.walk(node)
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
        and sub.body and isinstance(sub.body[0], ast.Expr)
        and isinstance(sub.body[0].value, ast.Constant)
    }  # fmt: skip

    def module_ok(name: str) -> bool:
        top = name.split(".")[0]
        if top == "numpy":
            return "numpy" in allowed and name in _NUMPY_SUBMODULES
        return top in allowed or top in _PLAIN_MODULES

    def label(module: str) -> str:  # a library by its name, a part of NumPy in full
        return module if module.startswith("numpy.") else module.split(".")[0]

    for sub in ast.walk(node):
        line = getattr(sub, "lineno", getattr(node, "lineno", 0))
        if isinstance(sub, ast.Import):
            for alias in sub.names:
                if not module_ok(alias.name):
                    return label(alias.name), line
        elif isinstance(sub, ast.ImportFrom):
            base = sub.module or ""
            if sub.level or not module_ok(base):
                return label(base) if base else "a relative import", line
            for alias in sub.names:
                if alias.name == "*" and base not in _STAR_MODULES:
                    return f"from {base} import *", line
                if alias.name in refused_attrs or (
                    base == "numpy"
                    and f"numpy.{alias.name}" not in _NUMPY_SUBMODULES
                    and alias.name in ("lib", "ctypeslib", "f2py", "testing", "typing")
                ):
                    return f"{base}.{alias.name}", line
        elif isinstance(sub, ast.Name):
            if sub.id in ("getattr", "setattr", "delattr") and id(sub) not in called:
                return f"{sub.id} passed as a value", line
            if sub.id in _REFUSED_NAMES or (_dunder(sub.id) and sub.id not in _PLAIN_DUNDERS):
                return f"{sub.id}()" if sub.id in _REFUSED_NAMES and not _dunder(sub.id) else \
                    sub.id, line  # fmt: skip
        elif isinstance(sub, ast.Attribute):
            if sub.attr in refused_attrs or (_dunder(sub.attr) and sub.attr not in _PLAIN_DUNDERS):
                return f".{sub.attr}", line
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            if sub.func.id in ("getattr", "setattr", "delattr"):
                names = _constant_names(sub.args[1]) if len(sub.args) > 1 else None
                if names is None:
                    return f"{sub.func.id}() with a name computed at run time", line
                for name in names:
                    if _dunder(name) or name in refused_attrs:
                        return f"{sub.func.id}() of {name!r}", line
        elif isinstance(sub, ast.keyword) and sub.arg == "allow_pickle":
            return "allow_pickle", line
        elif isinstance(sub, ast.Constant):
            if (
                isinstance(sub.value, (str, bytes))
                and len(sub.value) > _MAX_LITERAL
                and id(sub) not in docstrings
            ):
                return f"a literal of {len(sub.value):,} characters", line
            if isinstance(sub.value, str) and _dunder(sub.value):
                return repr(sub.value), line
        elif isinstance(sub, (ast.List, ast.Tuple, ast.Set)) and len(sub.elts) > _MAX_ITEMS:
            return f"a literal of {len(sub.elts):,} items", line
        elif isinstance(sub, ast.Dict) and len(sub.keys) > _MAX_ITEMS:
            return f"a literal of {len(sub.keys):,} items", line
        elif isinstance(sub, ast.MatchClass):  # case object(attr=x) reads x = object.attr
            for attr in sub.kwd_attrs:
                if attr in refused_attrs | _REFUSED_NAMES or (
                    _dunder(attr) and attr not in _PLAIN_DUNDERS
                ):
                    return f"a class pattern reading .{attr}", line
        elif isinstance(sub, ast.MatchMapping):  # keys: literals, not names looked up
            for key in sub.keys:
                if not isinstance(key, ast.Constant):
                    return "a mapping pattern whose key is looked up", line
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            small = not prints or len(_shape(sub)) < _SMALLEST_PRINT
            copied = None if small else copied_from(shape_print(sub), prints)
            if copied is not None:
                return f"code copied from {copied}", line
    return None


def _cell_copy(
    statements: list[tuple[str, Any, Any]], prints: Any, statement_prints: Any = ()
) -> tuple[str, int] | None:
    """A forbidden function copied across a cell's statements (cut into helpers too short to
    compare one by one): why the cell may not run, at its first line; None if it may.
    ``statement_prints``: ``(name, statement_print)`` of the forbidden functions."""
    nodes = [node for _, node, _ in statements if node is not None]
    if not (prints or statement_prints) or sum(len(_shape(n)) for n in nodes) < _SMALLEST_PRINT:
        return None
    where = min(getattr(n, "lineno", 1) for n in nodes)
    shape = frozenset().union(*(shape_print(n) for n in nodes))
    for name, print_ in prints:
        if len(print_) >= _SMALLEST_CONTAINED:
            if (share := _contained(shape, print_)) >= _CONTAINED:
                return f"code copied from {name} ({share:.0%} of it in this cell)", where
    pieces = frozenset().union(*(statement_print(n) for n in nodes))
    for name, print_ in statement_prints:
        if len(print_) >= _SMALLEST_STATEMENTS:
            if (share := _contained(pieces, print_)) >= _STATEMENTS_CONTAINED:
                return f"code copied from {name} ({share:.0%} of its lines in this cell)", where
    return None


def _docstring(node: Any) -> bool:
    import ast

    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _operators() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    import ast

    binary = {
        "add": ast.Add, "sub": ast.Sub, "mul": ast.Mult, "truediv": ast.Div,
        "floordiv": ast.FloorDiv, "mod": ast.Mod, "pow": ast.Pow, "matmul": ast.MatMult,
        "and_": ast.BitAnd, "or_": ast.BitOr, "xor": ast.BitXor, "lshift": ast.LShift,
        "rshift": ast.RShift,
    }  # fmt: skip
    compare = {
        "eq": ast.Eq, "ne": ast.NotEq, "lt": ast.Lt, "le": ast.LtE, "gt": ast.Gt, "ge": ast.GtE,
        "is_": ast.Is, "is_not": ast.IsNot,
    }  # fmt: skip
    unary = {"neg": ast.USub, "pos": ast.UAdd, "not_": ast.Not, "invert": ast.Invert}
    return binary, compare, unary


# operator's functions as the syntax they stand for (Python's own spelling of the same code)
_BINARY, _COMPARE, _UNARY = _operators()
_OPERATOR_FUNCTIONS = frozenset({*_BINARY, *_COMPARE, *_UNARY, "getitem"})


def _callee(node: Any) -> str | None:
    """How a call names its function, as a key of :func:`_wrappers`: ``f``, ``C.f``, ``L[0]``
    (a name, an attribute of a name, a name indexed by a number); None otherwise."""
    import ast

    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    if (
        isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, (int, str))
    ):  # fmt: skip
        return f"{node.value.id}[{node.slice.value!r}]"
    return None


def _passes_through(args: Any, body: list[Any]) -> tuple[str, int] | None:
    """("identity", i) when a function's statements hand back its i-th parameter as it is
    (through plain copies ``w = v``, and choices whose branches are the same); ("apply", 0)
    when they return its first parameter called with the rest; None otherwise."""
    import ast

    params = [a.arg for a in args.posonlyargs + args.args]
    alias = {p: p for p in params}
    *copies, last = [b for b in body if not _docstring(b)] or [None]
    for statement in copies:
        if not (
            isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Name) and statement.value.id in alias
        ):  # fmt: skip
            return None
        alias[statement.targets[0].id] = alias[statement.value.id]
    value = last.value if isinstance(last, ast.Return) else last
    while isinstance(value, ast.IfExp) and ast.dump(value.body) == ast.dump(value.orelse):
        value = value.body
    if (
        args.vararg is not None and isinstance(value, ast.Subscript)
        and isinstance(value.value, ast.Name) and value.value.id == args.vararg.arg
        and isinstance(value.slice, ast.Constant) and value.slice.value == 0
    ):  # fmt: skip
        return ("identity", len(params))  # (*a): a[0], the first argument past the named
    if isinstance(value, ast.Lambda):  # a factory: it returns a pass-through helper
        made = _passes_through(value.args, [ast.Return(value.body)])
        return ("made:" + made[0], made[1]) if made else None
    if isinstance(value, ast.Name) and value.id in alias:
        return ("identity", params.index(alias[value.id]))
    if (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and params
        and alias.get(value.func.id) == params[0]
    ):  # fmt: skip
        return ("apply", 0)
    return None


def _wrappers(nodes: list[Any], known: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """``known`` and the pass-through helpers ``nodes`` define (:func:`_passes_through`), by
    how a call names them (:func:`_callee`): functions and lambdas bound to a name, kept in a
    class (``staticmethod`` or not) or in a list, tuple or dict, and names bound to a helper
    (``_j = _i``). A name bound again to something else is forgotten."""
    import ast

    found = dict(known)

    def helper(value: Any) -> tuple[str, int] | None:
        if isinstance(value, ast.Call) and _callee(value.func) in (
            "staticmethod", "classmethod", "partial", "functools.partial"
        ):  # fmt: skip
            value = value.args[0] if len(value.args) == 1 and not value.keywords else None
        if isinstance(value, ast.Call) and not value.args and not value.keywords:
            made = found.get(_callee(value.func) or "")  # a factory's helper: _i = make()
            return (made[0][5:], made[1]) if made and made[0].startswith("made:") else None
        if isinstance(value, ast.Lambda):
            return _passes_through(value.args, [ast.Return(value.body)])
        key = _callee(value) if value is not None else None
        return found.get(key) if key else None

    def bind(key: str, kind: tuple[str, int] | None) -> None:
        if kind is None:
            found.pop(key, None)
        else:
            found[key] = kind

    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bind(sub.name, _passes_through(sub.args, sub.body))
            elif isinstance(sub, ast.ClassDef):
                for item in sub.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        kind = _passes_through(item.args, item.body)
                        static = any(_callee(d) == "staticmethod" for d in item.decorator_list)
                        bind(f"{sub.name}.{item.name}", kind if static else None)
                    elif isinstance(item, ast.Assign):
                        for target in item.targets:
                            if isinstance(target, ast.Name):
                                bind(f"{sub.name}.{target.id}", helper(item.value))
            elif isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                target, value = sub.targets[0], sub.value
                if not isinstance(target, ast.Name):
                    continue
                if isinstance(value, (ast.List, ast.Tuple)):
                    for index, element in enumerate(value.elts):
                        bind(f"{target.id}[{index!r}]", helper(element))
                elif isinstance(value, ast.Dict):
                    for key, entry in zip(value.keys, value.values, strict=True):
                        if isinstance(key, ast.Constant) and isinstance(key.value, (int, str)):
                            bind(f"{target.id}[{key.value!r}]", helper(entry))
                else:
                    bind(target.id, helper(value))
    return found


def _peeled(
    nodes: list[Any], known: dict[str, tuple[str, int]]
) -> tuple[list[Any], dict[str, tuple[str, int]]]:
    """Copies of ``nodes`` with pass-through wrapping undone, for comparing shapes only: calls
    of the helpers :func:`_wrappers` finds (``_i(x)``, ``_i(v=x)``, ``H.i(x)``, ``L[0](x)`` ->
    ``x``; ``_call(f, x)`` -> ``f(x)``) and one-item containers indexed (``(x,)[0]`` -> ``x``).
    A copy of the kit with every name passed through such a helper has the kit's shape
    again. Returns the copies and the helpers known after them."""
    import ast
    import copy

    class Peel(ast.NodeTransformer):
        def __init__(self, helpers: dict[str, tuple[str, int]]) -> None:
            self.helpers = helpers

        def visit_Subscript(self, node: Any) -> Any:
            self.generic_visit(node)
            box, index = node.value, node.slice
            if (
                isinstance(box, (ast.Tuple, ast.List)) and len(box.elts) == 1
                and isinstance(index, ast.Constant) and index.value in (0, -1)
                and not isinstance(box.elts[0], ast.Starred)
            ):  # fmt: skip
                return box.elts[0]
            return node

        def visit_Call(self, node: Any) -> Any:
            self.generic_visit(node)
            key = _callee(node.func)
            kind = self.helpers.get(key) if key else None
            if not kind or any(isinstance(a, ast.Starred) for a in node.args):
                return node
            values = [*node.args, *(k.value for k in node.keywords if k.arg is not None)]
            if kind[0] == "identity" and len(values) == 1:
                return values[0]
            if kind[0] == "identity" and kind[1] < len(node.args) and not node.keywords:
                return node.args[kind[1]]
            if kind[0] == "apply" and node.args:
                return ast.Call(func=node.args[0], args=node.args[1:], keywords=node.keywords)
            return node

    class Spell(ast.NodeTransformer):
        """``operator.add(a, b)`` -> ``a + b`` (and kin), ``getattr(o, "x")`` -> ``o.x``."""

        def __init__(self, functions: dict[str, str]) -> None:
            self.functions = functions  # how the cell names operator's functions -> which

        def visit_Call(self, node: Any) -> Any:
            self.generic_visit(node)
            args = node.args
            if node.keywords or any(isinstance(a, ast.Starred) for a in args):
                return node
            key = _callee(node.func)
            if (
                key == "getattr" and len(args) == 2 and isinstance(args[1], ast.Constant)
                and isinstance(args[1].value, str)
            ):  # fmt: skip
                return ast.Attribute(value=args[0], attr=args[1].value, ctx=ast.Load())
            op = self.functions.get(key or "")
            if op in _BINARY and len(args) == 2:
                return ast.BinOp(left=args[0], op=_BINARY[op](), right=args[1])
            if op in _COMPARE and len(args) == 2:
                return ast.Compare(left=args[0], ops=[_COMPARE[op]()], comparators=[args[1]])
            if op in _UNARY and len(args) == 1:
                return ast.UnaryOp(op=_UNARY[op](), operand=args[0])
            if op == "getitem" and len(args) == 2:
                return ast.Subscript(value=args[0], slice=args[1], ctx=ast.Load())
            return node

    # operator's functions by the names this cell and the ones before it gave them
    functions = {k: v[0][3:] for k, v in known.items() if v[0].startswith("op:")}
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                for alias in sub.names:
                    if alias.name == "operator":
                        module = alias.asname or alias.name
                        functions.update({f"{module}.{f}": f for f in _OPERATOR_FUNCTIONS})
            elif isinstance(sub, ast.ImportFrom) and sub.module == "operator":
                for alias in sub.names:
                    functions[alias.asname or alias.name] = alias.name
    copies = [copy.deepcopy(n) for n in nodes]
    copies = [Spell(functions).visit(n) for n in copies]
    copies = [Peel({}).visit(n) for n in copies]  # one-item containers first: helpers built
    helpers = _wrappers(copies, known)  # of them (return (v,)[0]) are then found too
    helpers.update({k: (f"op:{f}", 0) for k, f in functions.items()})
    return ([Peel(helpers).visit(n) for n in copies] if helpers else copies), helpers


def _room_builtins(allowed: Iterable[str]) -> dict[str, Any]:
    """The built-ins the student's code sees: Python's, without :data:`_ABSENT_BUILTINS`, and
    an ``__import__`` that imports only what the rule allows (the syntax check refuses the
    rest first; this is for a path to it that the check missed)."""
    import builtins

    allowed = frozenset(allowed)
    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        top = name.split(".")[0]
        if level or not (top in allowed or top in _PLAIN_MODULES):
            raise ImportError(f"{name} is not allowed under this task's rule", name=name)
        return real_import(name, globals, locals, fromlist, level)

    table = {k: v for k, v in vars(builtins).items() if k not in _ABSENT_BUILTINS}
    table["__import__"] = guarded_import
    return table


class _Refused(Exception):
    """A statement the room did not run (see :func:`refusal`)."""

    def __init__(self, what: str, lineno: int) -> None:
        super().__init__(f"not run under this task's rule: it uses {what}")
        self.what, self.lineno = what, lineno


def _mentions(source: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", source) is not None


# Calls that can bind a name of the notebook without naming it in the code (``__import__``
# and ``importlib`` only return a module: the assignment around them is what binds).
_DYNAMIC = {"exec", "eval", "compile", "globals", "vars", "locals", "setattr"}
_RUNS_CODE = ("exec", "eval", "compile")  # of those, the ones whose code may be read here


def _binds(source: str, name: str, depth: int = 0) -> bool:
    """Whether a statement was to (re)define ``name``: ``def name``, ``name = ...``, an import
    as ``name``, ``x.name = ...``, the string ``"name"`` (``globals()["name"] = ...``), code in
    a literal string given to ``exec``, or code built at run time (``exec(built)``,
    ``setattr``, ``getattr(builtins, "exec")``...) that may. A statement that only uses the
    name (a scratch cell comparing an answer with SciPy's) does not.

    Used for statements that failed: what one that ran did bind is known exactly
    (:meth:`_Runner.cell` compares the namespace before and after it)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _mentions(source, name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            if node.id == name:
                return True
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
        elif isinstance(node, ast.alias):
            if (node.asname or node.name.split(".", 1)[0]) == name or node.name == "*":
                return True
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            if node.attr == name:
                return True
        elif isinstance(node, ast.Constant) and node.value == name:
            return True
        elif isinstance(node, ast.Constant) and node.value in _DYNAMIC:
            return True  # getattr(builtins, "exec"): a dynamic call by name
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _DYNAMIC:
                code = node.args[0] if node.args else None
                literal = code.value if isinstance(code, ast.Constant) else None
                if not isinstance(literal, str) or depth > 3 or node.func.id not in _RUNS_CODE:
                    return True  # code built at run time may bind anything
                if _binds(literal, name, depth + 1):
                    return True
        elif isinstance(node, ast.Global) and name in node.names:
            return True
    return False


class _Runner:
    def __init__(self, allowed: list[str], codec_path: str | None) -> None:
        import linecache
        import types

        self.linecache = linecache
        self.module = types.ModuleType("__main__")
        self.module.__dict__["__builtins__"] = _room_builtins(allowed)
        # bridge.serve looks for the student's names in __main__ (there is no IPython here).
        sys.modules["__main__"] = self.module
        self.log = _ImportLog(allowed)
        sys.meta_path.append(self.log)
        self.allowed = frozenset(allowed)
        # (name, shape print) of the functions the rule forbids: a copy of one is refused.
        self.prints: tuple[tuple[str, frozenset[int]], ...] = ()
        self.statement_prints: tuple[tuple[str, frozenset[int]], ...] = ()  # statement_print
        self.module_attrs: frozenset[str] = frozenset()  # set before the first cell
        # Pass-through helpers the cells so far defined (_wrappers): peeled off before shapes
        # are compared, in later cells too.
        self.wrappers: dict[str, tuple[str, int]] = {}
        self.cells: list[dict[str, Any]] = []  # id, source, first error
        self.failures: list[dict[str, Any]] = []  # every statement that failed: id, source, error
        # Every statement run, in order: the names it bound, and its failure (an index into
        # failures) if it failed. The last statement that bound a name, or was to bind it and
        # failed, is the one that answers for it.
        self.statements: list[dict[str, Any]] = []
        self.codec = None
        if codec_path:
            import importlib.util

            spec = importlib.util.spec_from_file_location("_cnnkit_bridge", codec_path)
            assert spec is not None and spec.loader is not None
            self.codec = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(self.codec)

    # Cells run under an alarm: a cell past its time gets a KeyboardInterrupt, as the
    # kernel does from nbgrader; one that goes on regardless is the client's to stop.
    def _timed(self, seconds: float, run) -> BaseException | None:
        def alarm(signum, frame):
            raise KeyboardInterrupt(f"the cell ran longer than {seconds:g} s")

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
        try:
            run()
            return None
        except BaseException as exc:  # noqa: BLE001  (the student's code: its error is data)
            return exc
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def cell(self, message: dict) -> dict:
        cell_id = str(message.get("id", "cell"))
        source = str(message.get("source", ""))
        timeout = float(message.get("timeout") or 120)
        self.log.where = cell_id
        code, skipped = _python_source(source)
        error: dict[str, Any] | None = None
        if code is None:
            error = {"type": "Skipped", "message": skipped}
        else:
            filename = f"<cell {cell_id}>"
            self.linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)

            failed: list[tuple[dict[str, Any], BaseException]] = []
            current: list[dict[str, Any]] = []

            def run() -> None:
                # Statement by statement, going on past an error: a line that needs what the
                # rule forbids costs that line, not the honest lines after it in the cell.
                namespace = self.module.__dict__
                statements = _statements(code, filename)
                peeled, self.wrappers = _peeled([n for _, n, _ in statements], self.wrappers)
                shapes = [("", node, None) for node in peeled]
                whole = _cell_copy(shapes, self.prints, self.statement_prints)
                for text, node, statement in statements:
                    entry: dict[str, Any] = {"source": text, "bound": (), "failure": None}
                    self._note(entry)
                    current[:] = [entry]
                    refused = whole or refusal(node, self.allowed, self.prints, self.module_attrs)
                    if refused is not None:
                        failed.append((entry, _Refused(*refused)))
                        continue
                    before = dict(namespace)
                    try:
                        with _LibraryGuard():
                            _EXEC(statement, namespace)
                    except _Refused as exc:  # a library asked to run text: this statement's
                        exc.lineno = exc.lineno or getattr(node, "lineno", 0)
                        failed.append((entry, exc))
                    except Exception as exc:  # noqa: BLE001  (the student's error is data)
                        failed.append((entry, exc))
                    finally:
                        entry["bound"] = _rebound(before, namespace)
                current.clear()

            exc = self._timed(timeout, run)
            if exc is not None:  # interrupted (in the statement running then), or unparsable
                if current:
                    entry = current[0]
                else:
                    entry = {"source": code, "bound": (), "failure": None}
                    self._note(entry)
                failed.append((entry, exc))
            for entry, problem in failed:
                entry["failure"] = len(self.failures)
                report = _error_report(problem, filename, code)
                self.failures.append({"id": cell_id, "source": entry["source"], "error": report})
            error = self.failures[-len(failed)]["error"] if failed else None
        self.cells.append({"id": cell_id, "source": source, "error": error})
        return {"op": "ran", "id": cell_id, "error": error}

    def check(self, message: dict) -> dict:
        names = [str(n) for n in message.get("names") or []]
        namespace = self.module.__dict__
        found: dict[str, dict[str, Any]] = {}
        for name in names:
            binder = None
            for cell in self.cells:
                if _mentions(cell["source"], name):
                    binder = cell["id"]
            uses = [g for g in _globals_used(namespace.get(name)) if g in namespace and g != name]
            found[name] = {"defined": name in namespace, "cell": binder,
                           "callable": callable(namespace.get(name)), "uses": uses}  # fmt: skip
        # The statement that answers for each name (and for each name of the notebook an
        # answer uses): the last one that bound it, or was to bind it and failed. A failed
        # statement before a later definition does not count.
        tracked = list(dict.fromkeys([*names, *(g for f in found.values() for g in f["uses"])]))
        last: dict[str, int] = {}
        for entry in self.statements:
            for name in tracked:
                if name in entry["bound"] or (
                    entry["failure"] is not None and _binds(entry["source"], name)
                ):
                    last[name] = entry["failure"] if entry["failure"] is not None else -1
        first = max(len(self.failures) - 2000, 0)
        cells = [  # one entry per statement that failed, with the names it was to define
            {"id": c["id"], "error": c["error"],
             "binds": [n for n in tracked if last.get(n) == first + i],
             "source_names": sorted(set(re.findall(r"[A-Za-z_]\w*", c["source"])))[:500]}
            for i, c in enumerate(self.failures[first:])
        ]  # fmt: skip
        example = None
        source = message.get("example")
        if isinstance(source, str) and source.strip():
            self.log.where = "example"
            filename = "<example>"
            self.linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            scope = dict(namespace)

            def run() -> None:
                code = _COMPILE(source, filename, "exec")
                with _LibraryGuard():
                    _EXEC(code, scope)

            exc = self._timed(float(message.get("timeout") or 60), run)
            error = None if exc is None else _error_report(exc, filename, source)
            if exc is not None and error is not None:
                error["trace"] = _student_lines(exc)
            example = {"error": error}
        return {"op": "checked", "names": found, "cells": cells, "example": example,
                "imports": self.log.tried}  # fmt: skip

    def _note(self, entry: dict[str, Any]) -> None:
        self.statements.append(entry)
        if len(self.statements) > _MAX_STATEMENTS:
            del self.statements[: len(self.statements) - _MAX_STATEMENTS]

    def serve(self, message: dict) -> dict:
        if self.codec is None:
            return {"op": "served", "imports": [], "error": "this room serves no requests"}
        since = len(self.log.tried)
        self.log.where = "a call from the tests"
        with _LibraryGuard():
            self.codec.serve(str(message.get("request")), callables_by_name=False)
        return {"op": "served", "imports": self.log.take(since)}


_MAX_STATEMENTS = 20_000  # statements remembered for the rule (a notebook has hundreds)


def _rebound(before: dict[str, Any], namespace: dict) -> tuple[str, ...]:
    """Names a statement bound, rebound or deleted (``before``: a copy of the namespace)."""
    missing = object()
    changed = [k for k, v in namespace.items() if before.get(k, missing) is not v]
    changed += [k for k in before if k not in namespace]
    return tuple(changed)


def _globals_used(value: Any, limit: int = 200) -> list[str]:
    """The names an answer's code looks up (a function's, a partial's, a method's): the
    helpers and tables it needs from the notebook, among attribute names."""
    import functools
    import types

    for _ in range(5):
        if isinstance(value, functools.partial):
            value = value.func
        elif isinstance(value, types.MethodType):
            value = value.__func__
        else:
            break
    if not isinstance(value, types.FunctionType):
        return []
    found: dict[str, None] = {}
    todo = [value.__code__]
    while todo and len(found) < limit:
        code = todo.pop()
        found.update(dict.fromkeys(code.co_names))
        todo.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return list(found)[:limit]


def _student_lines(exc: BaseException) -> list[list]:
    """The student's cells in a traceback: ``[cell, line number, line]``, innermost last."""
    import traceback

    out = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<cell ") and frame.filename.endswith(">"):
            out.append([frame.filename[6:-1], frame.lineno, (frame.line or "").strip()[:200]])
    return out[-5:]


def _main(argv: list[str]) -> None:
    sites = [argv[i + 1] for i, a in enumerate(argv) if a == "--site" and i + 1 < len(argv)]
    allowed = [argv[i + 1] for i, a in enumerate(argv) if a == "--allow" and i + 1 < len(argv)]
    codec = next((argv[i + 1] for i, a in enumerate(argv) if a == "--codec"), None)
    sys.path.extend(sites)
    # The protocol keeps copies of fds 0 and 1; the student's code gets /dev/null for both,
    # and its stderr goes to the room's log.
    inp = os.fdopen(os.dup(0), "r", buffering=1)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115  (for the process's lifetime)
    runner = _Runner(allowed, codec)
    for name in allowed:  # imported once, before the student's code can get in the way
        try:
            __import__(name)
        except ImportError:
            pass
    runner.module_attrs = module_attributes(allowed)
    _LibraryGuard.install()
    for line in inp:
        try:
            message = json.loads(line)
            op = message.get("op") if isinstance(message, dict) else None
            if op == "cell":
                reply = runner.cell(message)
            elif op == "check":
                reply = runner.check(message)
            elif op == "serve":
                reply = runner.serve(message)
            elif op == "prints" and not runner.cells:  # before the first cell only
                runner.prints = tuple(
                    (str(name), frozenset(int(run) for run in runs))
                    for name, runs in message.get("prints") or []
                )
                runner.statement_prints = tuple(
                    (str(name), frozenset(int(run) for run in runs))
                    for name, runs in message.get("statements") or []
                )
                reply = {"op": "printed", "count": len(runner.prints)}
            else:
                reply = {"op": "unknown", "error": f"unknown message {str(message)[:80]}"}
        except BaseException as exc:  # noqa: BLE001  (a broken request never ends the room)
            if isinstance(exc, SystemExit):
                raise
            reply = {"op": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]}
        out.write(json.dumps(reply, default=str) + "\n")
        out.flush()


# --- the client ------------------------------------------------------------------------------


class RoomDead(RuntimeError):
    """The room stopped, or did not answer in time (the message says which, and where)."""


def runner_path() -> str:
    """This file: what the room executes (by path: the kit itself is not on its import path)."""
    return str(Path(__file__).resolve())


def allowed_paths(packages: Iterable[str]) -> list[tuple[str, str]]:
    """``(path, name)`` of every top-level folder or file the allowed packages install.

    ``numpy`` gives ``numpy/`` and its bundled libraries ``numpy.libs/``; these are
    what the room's site folder holds, bound (sandbox) or linked (self-check).
    """
    import importlib.metadata as md
    import importlib.util

    found: dict[str, str] = {}
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.origin:
            raise ModuleNotFoundError(f"the rule allows {package!r}, which is not installed")
        here = Path(spec.origin).resolve()
        top = here.parent if here.name == "__init__.py" else here
        found[top.name] = str(top)
        for dist_name in md.packages_distributions().get(package, []):
            for file in md.distribution(dist_name).files or []:
                first = Path(str(file)).parts[0]
                if first.endswith(".libs") or first == package:
                    path = Path(str(md.distribution(dist_name).locate_file(first))).resolve()
                    if path.exists():
                        found[first] = str(path)
    return sorted((path, name) for name, path in found.items())


# Pure-Python code a rule forbids, whose copy a room refuses: the kit's own functions and the
# few library functions that are NumPy underneath (scikit-image's block pooling, scikit-learn's
# metrics), by package and file.
_FORBIDDEN_SOURCES = {
    "cnnwidgets": ("core/*.py",),
    "skimage": ("measure/block.py", "util/shape.py"),
    "sklearn": ("metrics/_classification.py",),
}


@functools.lru_cache(maxsize=2)
def forbidden_prints(statements: bool = False) -> tuple[tuple[str, list[int]], ...]:
    """``(name, shape print)`` of every function in :data:`_FORBIDDEN_SOURCES` long enough to
    tell apart, read from the installed packages' source files (nothing is imported); with
    ``statements``, ``(name, statement print)`` of those with :data:`_SMALLEST_STATEMENTS`
    such runs or more (:func:`statement_print`)."""
    import ast
    import importlib.util

    found = []
    for package, patterns in _FORBIDDEN_SOURCES.items():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.origin:
            continue
        root = Path(spec.origin).parent
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                try:
                    tree = ast.parse(path.read_text(), str(path))
                except (OSError, SyntaxError, ValueError):
                    continue
                module = ".".join([package, *path.relative_to(root).with_suffix("").parts])
                for node in ast.walk(tree):
                    if (
                        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and len(_shape(node)) >= _SMALLEST_PRINT
                    ):
                        runs = statement_print(node) if statements else shape_print(node)
                        if not statements or len(runs) >= _SMALLEST_STATEMENTS:
                            found.append((f"{module}.{node.name}", sorted(runs)))
    return tuple(found)


def local_site(packages: Iterable[str], folder: Path) -> Path:
    """A folder of links to the allowed packages, for a room without a sandbox."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, name in allowed_paths(packages):
        link = folder / name
        if not link.exists():
            link.symlink_to(path)
    return folder


def command(
    packages: Iterable[str], site: str, *, codec: str | None = None, python: str | None = None
) -> list[str]:
    """The room's command line (``python`` defaults to the interpreter behind any venv)."""
    python = python or getattr(sys, "_base_executable", None) or sys.executable
    argv = [python, "-I", "-S", runner_path(), "--site", site]
    for package in packages:
        argv += ["--allow", package]
    if codec:
        argv += ["--codec", codec]
    return argv


# Which process a message about a room speaks of, for the student and the instructor.
RULES_PYTHON = (
    "the rule's Python (the grader's process that runs answers under a task's rule, "
    "cnnwidgets/grading/room.py)"
)


class Room:
    """One runner process and the conversation with it.

    Cells are queued (:meth:`run_cell`) and run as they come, while the caller
    goes on; :meth:`check` and :meth:`serve` first wait for the cells before
    them, so the room's state matches the kernel's at that point of the notebook.
    """

    def __init__(
        self, argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
        log: Path | None = None,
    ) -> None:  # fmt: skip
        self.log = log
        self._log_start = log.stat().st_size if log is not None and log.exists() else 0
        err = open(log, "ab") if log is not None else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL if err is None else err, env=env, cwd=cwd,
            )  # fmt: skip
        finally:
            if err is not None:
                err.close()
        self._buffer = b""
        self._pending: list[tuple[str, float]] = []  # (cell id, seconds it may take)
        self._lock = threading.Lock()
        self._outbox: list[bytes] = []
        self._stopping = False  # the writer stops at its next wake-up, writing no more
        self._wakeup = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="room-writer", daemon=True)
        self._writer.start()
        self.cells: list[dict[str, Any]] = []  # the runner's "ran" replies, in order
        self.dead: str | None = None  # why it can answer no more
        self._heard = False  # it has answered once: it started
        # First of all, what the rule forbids copying (answered like a cell, in order).
        self._pending.append(("the forbidden code's prints", 60.0))
        self._send(
            {"op": "prints", "prints": forbidden_prints(), "statements": forbidden_prints(True)}
        )

    # Writing happens in a thread: a runner busy with a long cell must never block the
    # grader, which is driving the kernel at the same time.
    def _write_loop(self) -> None:
        while True:
            self._wakeup.wait()
            with self._lock:
                batch, self._outbox = self._outbox, []
                self._wakeup.clear()
                if self._stopping:
                    return
            for data in batch:
                try:
                    assert self.proc.stdin is not None
                    self.proc.stdin.write(data)
                    self.proc.stdin.flush()
                except (OSError, ValueError):
                    return

    def _send(self, message: dict) -> None:
        with self._lock:
            self._outbox.append((json.dumps(message) + "\n").encode())
            self._wakeup.set()

    def run_cell(self, cell_id: str, source: str, timeout: float) -> None:
        """Queue one cell of the notebook (it runs while the caller goes on)."""
        if self.dead:
            return
        self._pending.append((cell_id, timeout))
        self._send({"op": "cell", "id": cell_id, "source": source, "timeout": timeout})

    def _ended(self, cell: tuple[str, float] | None) -> str:
        """How the runner ended, once it has (so its log is complete), and where."""
        from ..processes import failure, log_since

        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # its output closed, yet it runs on: _die kills it
            pass
        if not self._heard:
            what = "could not start"
        else:
            where = f" in the cell {cell[0]!r}" if cell is not None else ""
            what = f"stopped{where} (os._exit, a signal or the memory limit?)"
        return failure(
            RULES_PYTHON, what, self.proc.returncode, log_since(self.log, self._log_start)
        )

    def _die(self, why: str) -> RoomDead:
        self.dead = why
        self.kill()
        return RoomDead(why)

    def _receive(self, deadline: float, cell: tuple[str, float] | None) -> dict:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        started = time.monotonic()
        while b"\n" not in self._buffer:
            now = time.monotonic()
            limit = deadline
            if cell is not None:
                limit = min(limit, started + cell[1] + _GRACE_SECONDS)
            if now >= limit:
                if cell is not None and now < deadline:
                    raise self._die(
                        f"the cell {cell[0]!r} went on past its {cell[1]:g} s in the rule's "
                        "Python (it ignored the interrupt)"
                    )
                raise self._die("the rule's Python did not answer in time")
            ready, _, _ = select.select([fd], [], [], limit - now)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self._die(self._ended(cell))
            self._buffer += chunk
        self._heard = True
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise self._die("the rule's Python sent something that is not an answer")
        return reply

    def _settle(self, deadline: float) -> None:
        """Wait until every queued cell has run (their reports go to :attr:`cells`)."""
        if self.dead:
            raise RoomDead(self.dead)
        while self._pending:
            cell = self._pending[0]
            reply = self._receive(deadline, cell)
            self._pending.pop(0)
            if reply.get("op") == "ran":
                self.cells.append(reply)

    def _ask(self, message: dict, deadline: float, want: str) -> dict:
        self._settle(deadline)
        self._send(message)
        reply = self._receive(deadline, None)
        if reply.get("op") != want:
            return {"op": want, "error": str(reply.get("error") or "no answer")[:500]}
        return reply

    def check(
        self, names: Iterable[str], example: str | None = None, *, timeout: float = 60
    ) -> dict:
        """The room's report on ``names`` (and on running ``example`` there)."""
        deadline = time.monotonic() + timeout
        return self._ask(
            {"op": "check", "names": list(names), "example": example, "timeout": timeout},
            deadline, "checked",
        )  # fmt: skip

    def serve(self, request: str, *, timeout: float) -> dict:
        """Answer one bridge request (a name, or a call) from the room's namespace."""
        deadline = time.monotonic() + timeout
        return self._ask({"op": "serve", "request": request}, deadline, "served")

    def _stop_writer(self) -> None:
        with self._lock:
            self._stopping = True
            self._wakeup.set()

    def kill(self) -> None:
        self._stop_writer()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self._stop_writer()
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.kill()


if __name__ == "__main__":
    _main(sys.argv[1:])
