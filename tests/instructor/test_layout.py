"""The instructor package's rooms: imports only run down, and the map names what exists."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import cnnwidgets.instructor as instructor

PACKAGE = Path(instructor.__file__).parent
# Lower ranks first; a module may import from its own rank or a lower one, never higher.
RANKS = {"course": 0, "release": 0, "table": 0, "isolation": 1, "autograde": 2,
         "classroom": 3, "validate": 4, "cli": 5}  # fmt: skip


def _room(module: str) -> str | None:
    """``cnnwidgets.instructor.autograde.grade`` -> ``autograde``; outside the package: None."""
    prefix = "cnnwidgets.instructor."
    return module[len(prefix) :].split(".")[0] if module.startswith(prefix) else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, at any depth (lazy ones too)."""
    rel = path.relative_to(PACKAGE.parent.parent).with_suffix("")
    parts = list(rel.parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def test_no_import_runs_back_up():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        own = _room(f"cnnwidgets.{module}")
        if own is None or own == "__init__":
            continue
        for line, module in _imports(path):
            theirs = _room(module)
            if theirs is not None and theirs in RANKS and RANKS[theirs] > RANKS[own]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({own}) imports {module}")
    assert not wrong, "imports that run back up:\n" + "\n".join(wrong)


def test_every_module_has_a_room():
    for path in sorted(PACKAGE.rglob("*.py")):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert top in RANKS or top == "__init__", f"{path.relative_to(PACKAGE)} is in no room"


def _resolve(dotted: str):
    """``autograde.steps.autograde_steps`` (relative to the package) -> the object."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module("cnnwidgets.instructor." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise LookupError(dotted)


def test_the_map_names_what_exists():
    names = re.findall(r"\b((?:isolation|autograde|classroom)\.[\w.]*\w)", instructor.__doc__)
    assert len(names) >= 8, names
    for dotted in names:
        assert _resolve(dotted) is not None, dotted


def test_a_newcomer_reaches_the_call_of_a_student_function_in_three_steps():
    """From the map: the test cell's verifier, its stand-in for the student's function, and
    the kernel's side that runs it are named on one line of the map."""
    line = next(line for line in instructor.__doc__.splitlines() if "StudentFunction" in line)
    steps = re.findall(r"\b(isolation\.[\w.]+)", line)
    assert steps == ["isolation.verifier.StudentFunction", "isolation.bridge.serve"]
    stand_in, serve = (_resolve(s) for s in steps)
    # the stand-in sends a "call" request, which serve answers in the kernel
    assert '"op": "call"' in inspect.getsource(stand_in.__call__)
    assert 'request["op"] == "call"' in inspect.getsource(serve)


@pytest.mark.parametrize("room", ["isolation", "autograde", "classroom"])
def test_each_room_says_what_it_holds(room):
    doc = importlib.import_module(f"cnnwidgets.instructor.{room}").__doc__
    assert doc and len(doc.strip().splitlines()[0]) > 20
