"""Generate student versions with nbgrader, compare them with exercises/, and look for leaks."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat

from .course import Course, check

__all__ = [
    "MARKERS",
    "generate",
    "leaks",
    "notebook_differences",
    "release",
    "scratch_course",
    "source_problems",
]

# Text that must never reach a student's notebook.
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

# nbgrader stamps these itself; the rest of a cell's metadata is the author's and may vary.
_NBGRADER_KEYS = ("grade", "grade_id", "locked", "points", "solution", "task", "checksum")


@contextmanager
def scratch_course(course: Course, assignments: list[str] | None = None) -> Iterator[Course]:
    """A throw-away copy of ``course`` with the assignments' sources and a gradebook of its own.

    Everything nbgrader writes (release, submitted, autograded, gradebook)
    lands in a temporary folder, so the real course is only ever read.
    """
    names = assignments if assignments is not None else course.assignments()
    with tempfile.TemporaryDirectory(prefix="cnnkit-") as tmp:
        root = Path(tmp) / "course"
        for name in names:
            shutil.copytree(
                course.source_dir / name,
                root / course.source_dir.relative_to(course.root) / name,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
        config_file = course.config_file or course.root / "nbgrader_config.py"
        yield Course(
            root,
            db_url=f"sqlite:///{root / 'gradebook.db'}",
            config_file=config_file,
        )


def generate(course: Course, assignment: str) -> Path:
    """Run nbgrader's ``generate_assignment`` on ``course``; return the student version's folder.

    Records the assignment (notebooks, grade cells, source of every locked
    cell) in the course's gradebook, which autograding needs.
    """
    check(
        course.api().generate_assignment(assignment, force=True, create=True),
        f"nbgrader generate_assignment {assignment}",
    )
    return course.release_dir / assignment


def release(course: Course, assignment: str) -> Path:
    """Regenerate ``exercises/<assignment>`` from ``solutions/<assignment>``.

    The gradebook written on the way is a temporary one: releasing is a pure
    transformation of the source, and ``cnnkit grade`` records the assignment
    in the real gradebook itself, from the same source, when it grades.
    """
    with tempfile.TemporaryDirectory(prefix="cnnkit-release-") as tmp:
        temp = Course(course.root, f"sqlite:///{Path(tmp) / 'gradebook.db'}", course.config_file)
        return generate(temp, assignment)


# --- comparing notebooks -----------------------------------------------------------
def _normal_source(source: str) -> str:
    lines = [line.rstrip() for line in source.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _normal_cell(cell) -> dict:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return {
        "cell_type": cell.cell_type,
        "source": _normal_source(cell.source),
        "nbgrader": {k: nbgrader[k] for k in _NBGRADER_KEYS if k in nbgrader},
        "outputs": len(cell.get("outputs", [])),
    }


def notebook_differences(expected: Path, actual: Path) -> list[str]:
    """How notebook ``actual`` differs from ``expected``, cell by cell; ``[]`` when equal.

    Compares cell types, sources (trailing whitespace ignored), nbgrader's cell
    metadata (ids, points, checksums) and output counts; ignores cell ids and
    editor metadata (collapsed, scrolled, execution timings) that vary by tool.
    """
    if not actual.is_file():
        return [f"{actual.name} is missing"]
    a = nbformat.read(expected, as_version=4)
    b = nbformat.read(actual, as_version=4)
    problems = []
    if len(a.cells) != len(b.cells):
        problems.append(f"{actual.name}: {len(b.cells)} cells, expected {len(a.cells)}")
    for index, (ca, cb) in enumerate(zip(a.cells, b.cells, strict=False)):
        na, nb_ = _normal_cell(ca), _normal_cell(cb)
        for key in na:
            if na[key] != nb_[key]:
                problems.append(f"{actual.name} cell {index}: {key} differs")
    if a.metadata.get("kernelspec") != b.metadata.get("kernelspec"):
        problems.append(f"{actual.name}: kernelspec differs")
    return problems


def folder_differences(expected: Path, actual: Path) -> list[str]:
    """Differences between two released assignment folders (notebooks and other files)."""
    if not actual.is_dir():
        return [f"{actual} does not exist: run `cnnkit release`"]

    def files(folder: Path) -> set[Path]:
        return {
            p.relative_to(folder)
            for p in folder.rglob("*")
            if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts
        }

    want, have = files(expected), files(actual)
    problems = [f"{p} is missing" for p in sorted(want - have)]
    problems += [f"{p} is not in a fresh generation" for p in sorted(have - want)]
    for rel in sorted(want & have):
        if rel.suffix == ".ipynb":
            problems += notebook_differences(expected / rel, actual / rel)
        elif (expected / rel).read_bytes() != (actual / rel).read_bytes():
            problems.append(f"{rel} differs")
    return problems


# --- leaks -------------------------------------------------------------------------
_REGION = re.compile(r"BEGIN (SOLUTION|HIDDEN TESTS)(.*?)END \1", re.DOTALL)
_TRIVIAL = re.compile(r"^[\W_]*$|^(else|try|finally|pass|break|continue|return|def|for)\b\W*$")


def _region_lines(source: str) -> set[str]:
    found = set()
    for match in _REGION.finditer(source):
        for line in match.group(2).split("\n")[1:-1]:
            found.add(line.strip())
    return found


def _outside_lines(source: str) -> set[str]:
    return {line.strip() for line in _REGION.sub("", source).split("\n")}


def leaks(source_nb: Path, release_nb: Path) -> list[str]:
    """Solution or hidden-test text of ``source_nb`` that reaches ``release_nb``.

    Flags nbgrader's markers anywhere, and any line written inside a solution
    or hidden-test region that appears verbatim in the student version — unless
    the source also has that line outside every region (``import numpy as np``
    may be both) or it is trivial punctuation or a lone keyword.
    """
    src = nbformat.read(source_nb, as_version=4)
    rel = nbformat.read(release_nb, as_version=4)
    secret: set[str] = set()
    public: set[str] = set()
    for cell in src.cells:
        secret |= _region_lines(cell.source)
        public |= _outside_lines(cell.source)
    secret = {s for s in secret - public if len(s) >= 4 and not _TRIVIAL.match(s)}
    found = []
    for index, cell in enumerate(rel.cells):
        texts = [cell.source] + [
            str(out.get("text", "")) + str(out.get("data", "")) for out in cell.get("outputs", [])
        ]
        blob = "\n".join(texts)
        for marker in MARKERS:
            if marker in blob:
                found.append(f"{release_nb.name} cell {index}: contains '{marker}'")
        lines = {line.strip() for line in blob.split("\n")}
        for line in sorted(secret & lines):
            found.append(f"{release_nb.name} cell {index}: solution/hidden line {line!r}")
    return found


def source_problems(source_nb: Path) -> list[str]:
    """Outputs stored in a committed source notebook (it must carry none)."""
    nb = nbformat.read(source_nb, as_version=4)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    return [f"{source_nb.name}: cells {dirty} carry outputs"] if dirty else []
