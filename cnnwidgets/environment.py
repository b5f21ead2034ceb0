"""The process environment the kit relies on: TensorFlow kept quiet, and the grading flag.

TensorFlow reads its settings once, when it is first imported, so they must be in a
process's environment before any ``import keras``. Every place in the kit that starts
a process or imports Keras takes them from here (the Makefile exports the same two for
the shell, before Python runs).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["FRAMEWORK_ENV", "GRADING_ENV", "grading", "quiet_framework"]

FRAMEWORK_ENV = {
    # TensorFlow's C++ start-up log goes to stderr, and nbgrader fails a test cell that
    # wrote to stderr.
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # oneDNN prints a notice at start-up and reorders float sums between runs; without it
    # results are reproducible, which grading needs.
    "TF_ENABLE_ONEDNN_OPTS": "0",
}

# Set to "1" in the processes that grade a submission (its kernel, the verifier, a room).
GRADING_ENV = "CNNKIT_GRADING"


def quiet_framework(
    environ: MutableMapping[str, str] | None = None, *, force: bool = False
) -> None:
    """Put :data:`FRAMEWORK_ENV` into ``environ`` (this process's by default).

    Values already set are kept unless ``force``: a user who wants TensorFlow's log
    can still ask for it, except in grading processes, which force it.

    Examples
    --------
    >>> env = {}
    >>> quiet_framework(env)
    >>> env["TF_CPP_MIN_LOG_LEVEL"]
    '3'
    """
    target = os.environ if environ is None else environ
    for key, value in FRAMEWORK_ENV.items():
        if force:
            target[key] = value
        else:
            target.setdefault(key, value)


def grading() -> bool:
    """True inside a process that is grading a submission (``CNNKIT_GRADING=1``).

    Examples
    --------
    >>> grading()
    False
    """
    return os.environ.get(GRADING_ENV) == "1"
