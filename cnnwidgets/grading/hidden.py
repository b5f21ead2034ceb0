"""hidden_rng: the random inputs of hidden tests, drawn from the course's grading secret."""

from __future__ import annotations

import hashlib
import operator

import numpy as np

__all__ = ["hidden_rng"]

# The course's grading secret, set by the grader's verifier only (it gets it on its command
# line, see cnnwidgets.instructor.autograde.secret); None everywhere else.
_course_secret: str | None = None


def hidden_rng(n: int) -> np.random.Generator:
    """The random generator of hidden test ``n``: secret inputs while grading.

    A hidden test that tries a student's function on random inputs draws them from
    ``hidden_rng(n)``, with ``n`` a number no other hidden test of the course uses (the
    kit's: 101-505 in a1, 4404-4606 in a4, 7007 in a7). While ``cnnkit grade`` grades,
    the generator is seeded from ``n`` and the course's grading secret: re-grading
    draws the same inputs (grades are idempotent), another course other ones, and a
    student who sees this year's inputs (printed by their function) learns nothing
    about the next course's. Elsewhere (a notebook run, ``nbgrader autograde`` without
    the secret) it is ``np.random.default_rng(n)``.

    For hidden tests only: a visible test's inputs are public anyway.

    Examples
    --------
    >>> rng = hidden_rng(101)
    >>> image = rng.normal(size=(5, 7))  # a random image for the student's conv2d
    >>> int(hidden_rng(101).integers(1000)) == int(np.random.default_rng(101).integers(1000))
    True
    """
    n = operator.index(n)
    if _course_secret is None:
        return np.random.default_rng(n)
    digest = hashlib.sha256(f"cnnkit hidden inputs\0{_course_secret}\0{n}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def _use_course_secret(secret: str | None) -> None:
    """Seed every later :func:`hidden_rng` from ``secret`` (the verifier, at its start)."""
    global _course_secret
    _course_secret = secret or None
