"""Environments of the grading processes, and framework noise kept off their stderr.

One place for what a kernel, the verifier and a room see: :func:`kernel_env` inside the
sandbox, :func:`unconfined_env` without one (``--unsafe``), :func:`prepare_grading_kernel`
run first in each grading kernel. nbgrader scores a test cell that wrote to stderr as
failed, so what TensorFlow and Keras print on their own is silenced (:func:`install`) or
removed afterwards (:func:`strip_noise`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings

from ...environment import FRAMEWORK_ENV, GRADING_ENV, quiet_framework

__all__ = [
    "NOISE_LINE_PATTERNS",
    "install",
    "kernel_env",
    "prepare_grading_kernel",
    "strip_noise",
    "unconfined_env",
]

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

    Grading kernels run it first (:func:`prepare_grading_kernel`), so the filters are in
    place before any cell runs; the verifier runs it too. It does not import TensorFlow.
    """
    quiet_framework(force=True)
    warnings.filterwarnings("ignore", module=_NOISY_MODULES)
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


def prepare_grading_kernel() -> None:
    """Run first in every grading kernel (``nbgrader_config.py``'s ``exec_lines``).

    Silences framework noise (:func:`install`) and marks the kernel as grading, so
    students' self-check training runs are skipped (:func:`cnnwidgets.grading.grading`);
    hidden tests still train. Binds no name in the student's namespace and does not
    import TensorFlow.
    """
    install()
    # nbgrader's Validate reads the same configuration: a learner's check of their own work
    # is not grading, and their self-check must still train.
    if os.environ.get("NBGRADER_EXECUTION") != "validate":
        os.environ[GRADING_ENV] = "1"


# What a grading process keeps of the grader's environment; everything else (tokens,
# database URLs, the instructor's paths) stays outside.
_KEEP_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED")


def kernel_env(env: dict[str, str]) -> dict[str, str]:
    """The environment inside the sandbox: minimal, plus the kit's settings and the grading flag."""
    kept = {k: env[k] for k in _KEEP_ENV if k in env}
    kept.update(FRAMEWORK_ENV)
    kept.update(
        {
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            GRADING_ENV: "1",
            # Its parent inside the sandbox is bwrap's init, PID 1: ipykernel then neither
            # polls for a parent that never changes nor prints its stand-alone notice.
            "JPY_PARENT_PID": "1",
        }
    )
    return kept


def unconfined_env() -> dict[str, str]:
    """The environment of a verifier or room without a sandbox (``cnnkit --unsafe``)."""
    return {**os.environ, **FRAMEWORK_ENV, GRADING_ENV: "1", "PYTHONHASHSEED": "0"}
