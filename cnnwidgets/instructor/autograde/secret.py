"""The course's grading secret: hidden tests draw their random inputs from it.

Hidden tests that try a student's function on random inputs draw them from
:func:`cnnwidgets.grading.hidden_rng`, which the grader's verifier seeds from this
secret. A student who prints what their function receives learns this course's
inputs, never the next course's: a table of this year's answers passes nothing there.

The secret is a file next to the gradebook (``grading.secret``; git-ignored), made
with mode 0600 on the first grading run and read by every later one, so re-grading
draws the same inputs. ``cnnkit grade`` hands it to its workers in their job (a pipe)
and each worker to its verifier on the command line; it is never copied into a
worker's private course, a submission's sandbox or a rule's room.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from ..course import Course

__all__ = ["SECRET_FILE", "course_secret", "secret_path"]

SECRET_FILE = "grading.secret"
_FORMAT = re.compile(r"[0-9a-f]{64}")


def secret_path(course: Course) -> Path:
    """Where ``course`` keeps its secret: next to a SQLite gradebook, else in the course root."""
    url = course.gradebook_url
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).parent / SECRET_FILE
    return course.root / SECRET_FILE


def course_secret(course: Course) -> str:
    """The course's grading secret (64 hex digits), made (mode 0600) if it has none yet."""
    path = secret_path(course)
    if not path.exists():
        _make(path)
    if path.stat().st_mode & 0o077:  # readable by others (copied, restored from a backup)
        os.chmod(path, 0o600)
    text = path.read_text().strip()
    if not _FORMAT.fullmatch(text):
        raise ValueError(
            f"{path} is not a grading secret (64 hex digits). Delete it to make a new one: "
            "the hidden tests of assignments graded before then will draw other inputs."
        )
    return text


def _make(path: Path) -> None:
    """Write a new secret to ``path`` unless another run got there first (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # atomic; the first of two runs at once wins
        except FileExistsError:
            pass
    finally:
        draft.unlink(missing_ok=True)
