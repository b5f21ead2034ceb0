"""Known framework noise, silenced only while the grader trains: nbgrader fails cells on stderr."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["framework_noise_silenced", "KNOWN_NOISE"]

# Warnings that say nothing about the student's answer. Matched by message start, so an
# unexpected warning still shows.
KNOWN_NOISE = (
    # keras.layers.Conv2D(..., input_shape=(28, 28, 1)) is how the lectures write it.
    r"Do not pass an `input_shape`/`input_dim` argument to a layer",
    # A functional model called with a list where it was built with a tensor (or back).
    r"The structure of `inputs` doesn't match the expected structure",
)


@contextmanager
def framework_noise_silenced() -> Iterator[None]:
    """Silence :data:`KNOWN_NOISE` warnings and TensorFlow's Python log inside the block.

    TensorFlow logs ``tf.function`` retracing notices through the ``tensorflow``
    logger when a grader builds several models in one process; they are raised
    to ERROR here and restored afterwards. TensorFlow's C++ log is silenced by
    ``cnnwidgets.keras_helpers.quiet_keras`` before TensorFlow is imported.

    Examples
    --------
    >>> import warnings
    >>> with framework_noise_silenced():
    ...     warnings.warn("Do not pass an `input_shape`/`input_dim` argument to a layer.")
    """
    loggers = [logging.getLogger(name) for name in ("tensorflow", "absl")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        for pattern in KNOWN_NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)
