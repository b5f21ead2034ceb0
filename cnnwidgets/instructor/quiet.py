"""Keep framework noise off stderr in grading kernels, where nbgrader scores stderr as a failure."""

from __future__ import annotations

import logging
import os
import re
import warnings

__all__ = ["KERNEL_ENV", "NOISE_LINE_PATTERNS", "install", "strip_noise"]

# TensorFlow reads these once, when it is first imported: they must be in the
# kernel's environment before the student's first `import keras`.
KERNEL_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # oneDNN prints a notice and reorders float sums between runs; off, grading is reproducible.
    "TF_ENABLE_ONEDNN_OPTS": "0",
}

# Modules whose Python warnings are framework chatter, never a verdict on an answer.
_NOISY_MODULES = (
    r"(keras|tensorflow|tf_keras|absl|google\.protobuf|h5py|ml_dtypes|jax|optree)(\.|$)"
)

# Lines that frameworks write to stderr on their own. A grading kernel runs
# `install()` so most never appear; these patterns clean what still gets through
# (a TF build that ignores TF_CPP_MIN_LOG_LEVEL, a kernel started without
# `install()`, a warning issued before the filters).
NOISE_LINE_PATTERNS = (
    # absl / TF C++ log lines: "I0000 00:00:1795295742.625444    5535 port.cc:153] ..."
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\] ",
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler",
    # Python logging of TF and absl: "WARNING:tensorflow:...", "WARNING:absl:..."
    r"^(DEBUG|INFO|WARNING|ERROR):(tensorflow|absl|keras)\b",
    # Python warnings raised inside a framework:
    # "/.../site-packages/keras/src/x.py:113: UserWarning: ..."
    r"^.*[/\\](site|dist)-packages[/\\](keras|tensorflow|tf_keras|absl|google[/\\]protobuf|h5py|"
    r"ml_dtypes|jax|optree)[/\\].*:\d+: \w*Warning: ",
)
_NOISE = re.compile("|".join(f"(?:{p})" for p in NOISE_LINE_PATTERNS))
_WARNING_LINE = re.compile(r":\d+: \w*Warning: ")


def strip_noise(text: str) -> str:
    """Remove known framework noise lines from stderr ``text``; keep everything else.

    A Python warning is printed as its message line followed by indented source
    lines; those continuation lines go with their warning.

    Examples
    --------
    >>> strip_noise("W0000 00:00:17.5  55 port.cc:153] oneDNN on\\nreal problem\\n")
    'real problem\\n'
    """
    kept: list[str] = []
    dropping_warning = False
    for line in text.splitlines(keepends=True):
        if dropping_warning and line.startswith((" ", "\t")):
            continue
        dropping_warning = False
        if _NOISE.search(line):
            dropping_warning = bool(_WARNING_LINE.search(line))
            continue
        kept.append(line)
    return "".join(kept)


def install() -> None:
    """Silence framework warnings and logs in the current process (a grading kernel).

    nbgrader starts each kernel with ``IPKernelApp.exec_lines`` calling this
    (see ``nbgrader_config.py``), so the filters are in place before any cell runs.
    It does not import TensorFlow.
    """
    for name, value in KERNEL_ENV.items():
        os.environ[name] = value
    warnings.filterwarnings("ignore", module=_NOISY_MODULES)
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
