"""Look at a submission before grading it: say plainly what is wrong with the files.

nbgrader meets a broken notebook with a traceback ("KeyError: 'grade_id'",
"NbGraderException: Please see the above traceback"). :func:`inspect` reads the
submitted notebooks first and puts what it finds in words an instructor can
forward to the student; :func:`repair_copy` fixes, in the grader's private copy
only, what can be fixed without guessing (a duplicated graded cell).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Intake", "changed_locked_cells", "inspect", "repair_copy"]


@dataclass
class Intake:
    """What :func:`inspect` found in one submission folder."""

    fatal: str | None = None  # the submission cannot be graded, and why
    notes: list[str] = field(default_factory=list)  # fixed or worth knowing; grading goes on


def _read(path: Path) -> tuple[dict | None, str | None]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, (
            f"{path.name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position "
            f"{exc.start}); it was damaged or saved by another program"
        )
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, (
            f"{path.name} is not a valid notebook: its JSON breaks at line {exc.lineno}, "
            f"column {exc.colno} ({exc.msg}); was it cut off while saving?"
        )
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", nb.get("worksheets")), list):
        return None, f"{path.name} is JSON but not a notebook (no list of cells)"
    return nb, None


def _grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata") or {}
    return ((meta.get("nbgrader") or {}) if isinstance(meta, dict) else {}).get("grade_id")


def inspect(folder: Path, expected: list[str]) -> Intake:
    """Check the notebooks ``expected`` (names without ``.ipynb``) in a submission ``folder``."""
    found = Intake()
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [name for name in expected if f"{name}.ipynb" not in present]
    if missing and len(missing) == len(expected):
        others = ", ".join(present) or "no notebook at all"
        found.fatal = (
            f"expected {', '.join(f'{m}.ipynb' for m in missing)} but the submission holds "
            f"{others}: the wrong assignment, or a renamed notebook?"
        )
        return found
    for name in missing:
        found.notes.append(f"{name}.ipynb is missing from the submission; it scores 0")
    for name in expected:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            continue
        _, problem = _read(path)
        if problem:
            found.fatal = problem
            return found
    return found


def repair_copy(folder: Path, expected: list[str]) -> list[str]:
    """Drop later cells that repeat a graded cell's grade id, in ``folder`` (a copy!).

    nbgrader stops on a repeated grade id; the first cell with the id is the one
    nbgrader released, so it stays. Returns what was changed.
    """
    changed = []
    for name in expected:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            continue
        nb, problem = _read(path)
        if problem or "cells" not in nb:
            continue
        seen: set[str] = set()
        kept = []
        for cell in nb["cells"]:
            grade_id = _grade_id(cell)
            if grade_id is not None and grade_id in seen:
                changed.append(
                    f"{name}.ipynb: a second cell with grade id {grade_id!r} (a copied cell) "
                    "was ignored"
                )
                continue
            if grade_id is not None:
                seen.add(grade_id)
            kept.append(cell)
        if len(kept) != len(nb["cells"]):
            nb["cells"] = kept
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    return changed


def _locked(cell: dict) -> bool:
    meta = ((cell.get("metadata") or {}).get("nbgrader") or {}) if isinstance(cell, dict) else {}
    return bool(meta.get("locked") or (meta.get("grade") and not meta.get("solution")))


def _text(source: object) -> str:
    text = "".join(source) if isinstance(source, list) else str(source or "")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def changed_locked_cells(folder: Path, release: Path, expected: list[str]) -> dict[str, str]:
    """Grade id -> what the student did to that locked cell (deleted, retyped or edited).

    nbgrader quietly runs the gradebook's copy of a locked cell in any of these
    cases; this says so, in words the feedback can carry next to the cell.
    """
    found: dict[str, str] = {}
    for name in expected:
        original, problem = _read(release / f"{name}.ipynb") if (
            release / f"{name}.ipynb").is_file() else (None, "no release")  # fmt: skip
        submitted, broken = _read(folder / f"{name}.ipynb") if (
            folder / f"{name}.ipynb").is_file() else (None, "missing")  # fmt: skip
        if problem or broken or "cells" not in original or "cells" not in submitted:
            continue
        theirs: dict[str, dict] = {}
        for cell in submitted["cells"]:
            if isinstance(cell, dict) and _grade_id(cell) is not None:
                theirs.setdefault(_grade_id(cell), cell)
        for cell in original["cells"]:
            grade_id = _grade_id(cell)
            if grade_id is None or not _locked(cell):
                continue
            kind = "test cell" if cell.get("cell_type") == "code" else "locked cell"
            mine = theirs.get(grade_id)
            if mine is None:
                found[grade_id] = (
                    f"the {kind} {grade_id!r} was deleted from the submission; the grader put "
                    "the original back and ran it"
                )
            elif mine.get("cell_type") != cell.get("cell_type"):
                found[grade_id] = (
                    f"the {kind} {grade_id!r} was turned into {mine.get('cell_type')}; the "
                    "grader ran the original instead"
                )
            elif _text(mine.get("source")) != _text(cell.get("source")):
                found[grade_id] = (
                    f"the {kind} {grade_id!r} was edited; the grader ran the original instead"
                )
    return found
