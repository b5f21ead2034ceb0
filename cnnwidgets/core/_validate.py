"""Argument checks shared by the core functions, with messages a student understands."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

Padding = str | int


def positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if value <= 0:
        raise ValueError(f"{name} must be at least 1, got {value}.")
    return int(value)


def pair(name: str, value: object) -> tuple[int, int]:
    """Accept ``3`` or ``(3, 3)`` the way Keras does and return a checked pair."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name} must be one number or a pair (rows, columns), got {value!r}.")
        return positive_int(name, value[0]), positive_int(name, value[1])
    v = positive_int(name, value)
    return v, v


def padding_mode(padding: object) -> Padding:
    """Normalise ``padding`` to ``"valid"``, ``"same"`` or a non-negative int."""
    if isinstance(padding, str):
        p = padding.lower()
        if p not in ("valid", "same"):
            raise ValueError(
                f"padding must be 'valid', 'same' or a number of zeros per side, got {padding!r}."
            )
        return p
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral):
        raise ValueError(
            f"padding must be 'valid', 'same' or a number of zeros per side, got {padding!r}."
        )
    if padding < 0:
        raise ValueError(f"padding cannot be negative, got {padding}.")
    return int(padding)
