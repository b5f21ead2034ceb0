"""Import Keras with TensorFlow's start-up noise switched off (nbgrader fails cells with stderr)."""

from __future__ import annotations

import os


def quiet_keras():
    """Return the ``keras`` module, imported with TensorFlow's C++ log silenced.

    The environment variables only work if set before TensorFlow is first
    imported, so every place in the kit that needs Keras goes through here.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN prints a notice at start-up and reorders float sums between runs;
    # without it results are reproducible, which grading needs.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras

    return keras
