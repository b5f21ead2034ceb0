"""A class roster from CSV into nbgrader's gradebook, with every bad row reported by line."""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course

__all__ = ["FIELDS", "Roster", "RosterEntry", "RosterError", "import_roster", "read_roster"]

# nbgrader's Student columns (as `nbgrader db student import` reads them).
FIELDS = ("id", "first_name", "last_name", "email", "lms_user_id")
# Other names for the same columns: `cnnkit export` and `nbgrader export` write student_id.
_ALIASES = {"student_id": "id", "username": "id"}
_MAX_LENGTH = 128  # nbgrader's String(128) columns
# A student id names folders and exchange hand-ins (<id>+<assignment>+<time>): no
# path separators, no spaces, and neither '+' nor '*' (nbgrader refuses both).
_BAD_ID = re.compile(r"[\s/\\+*]|^\.")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RosterError(ValueError):
    """The roster cannot be read; ``problems`` lists each one, by line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{source}: {len(problems)} problem(s), nothing imported:\n  " + "\n  ".join(problems)
        )


@dataclass(frozen=True)
class RosterEntry:
    """One roster row; ``line`` is where it starts in the file."""

    id: str
    line: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    lms_user_id: str | None = None


@dataclass
class Roster:
    """The students of a roster file and what was read from it."""

    students: list[RosterEntry]
    columns: list[str]  # nbgrader fields present in the header
    ignored: list[str] = field(default_factory=list)  # other header columns, left out


def read_roster(source: str | os.PathLike | io.TextIOBase, name: str | None = None) -> Roster:
    """Read a roster: a CSV file with a header row and one student per row.

    Columns: ``id`` (required; ``student_id`` or ``username`` also work),
    ``first_name``, ``last_name``, ``email``, ``lms_user_id``; other columns are
    ignored. Every problem is collected and reported with its line number, and
    nothing is returned unless the whole file is good.

    Examples
    --------
    >>> import io
    >>> roster = read_roster(io.StringIO("id,first_name\\nada,Ada\\n"))
    >>> roster.students[0].id, roster.students[0].line
    ('ada', 2)
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = name or str(path)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise RosterError(
                name, [f"line {line}: not UTF-8 text; save the sheet as 'CSV UTF-8'"]
            ) from exc
    else:
        name = name or getattr(source, "name", "roster")
        text = source.read().removeprefix("\ufeff")
    return _parse(text, name)


def _parse(text: str, name: str) -> Roster:
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header, header_line = [c.strip().lower() for c in row], start
            else:
                rows.append((start, row))
    except csv.Error as exc:
        raise RosterError(name, [f"line {reader.line_num}: {exc}"]) from exc
    if header is None:
        raise RosterError(name, ["the file is empty: the first line must name the columns"])

    columns = [_ALIASES.get(c, c) for c in header]
    if "id" not in columns:
        hint = ""
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            hint = " (columns are separated by ';' or tabs here: use commas)"
        raise RosterError(
            name, [f"line {header_line}: no 'id' column in the header {header}{hint}"]
        )
    seen: dict[str, int] = {}
    for index, column in enumerate(columns):
        if column in seen:
            problems.append(
                f"line {header_line}: column {header[index]!r} repeats "
                f"column {seen[column] + 1} ({header[seen[column]]!r})"
            )
        seen.setdefault(column, index)
    ignored = [header[i] for i, c in enumerate(columns) if c not in FIELDS]

    students: list[RosterEntry] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        if len(row) != len(header):
            problems.append(
                f"line {line}: {len(row)} field(s), the header has {len(header)} "
                "(a value with a comma needs quotes)"
            )
            continue
        values = {c: row[i].strip() for i, c in enumerate(columns) if c in FIELDS}
        sid = values["id"]
        if not sid:
            problems.append(f"line {line}: no student id")
            continue
        if _BAD_ID.search(sid):
            problems.append(
                f"line {line}: student id {sid!r} cannot contain spaces, '/', '\\', '+' or '*' "
                "or start with '.' (it names folders and exchange hand-ins)"
            )
        for column, value in values.items():
            if len(value) > _MAX_LENGTH:
                problems.append(
                    f"line {line}: {column} is {len(value)} characters, the gradebook "
                    f"keeps at most {_MAX_LENGTH}"
                )
        email = values.get("email")
        if email and not _EMAIL.match(email):
            problems.append(f"line {line}: {email!r} is not an e-mail address")
        if sid in first_line:
            problems.append(f"line {line}: student id {sid!r} is already on line {first_line[sid]}")
        first_line.setdefault(sid, line)
        optional = {k: v or None for k, v in values.items() if k != "id"}
        students.append(RosterEntry(id=sid, line=line, **optional))
    if problems:
        raise RosterError(name, problems)
    present = [c for c in FIELDS if c in columns]
    return Roster(students, present, ignored)


def import_roster(course: Course, roster: Roster) -> tuple[list[str], list[str]]:
    """Add or update ``roster``'s students in ``course``'s gradebook.

    Only the columns the file has are written: a roster without an ``email``
    column leaves the e-mail addresses in the gradebook alone. Returns the ids
    (added, updated).
    """
    from nbgrader.api import MissingEntry

    added, updated = [], []
    with course.gradebook() as gb:
        for student in roster.students:
            values = {c: getattr(student, c) for c in roster.columns if c != "id"}
            try:
                gb.find_student(student.id)
            except MissingEntry:
                added.append(student.id)
            else:
                updated.append(student.id)
            gb.update_or_create_student(student.id, **values)
    return added, updated
