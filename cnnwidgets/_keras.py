"""Import Keras with TensorFlow's start-up noise switched off (nbgrader fails cells with stderr)."""

from __future__ import annotations

from .environment import quiet_framework


def quiet_keras():
    """Return the ``keras`` module, imported with TensorFlow's C++ log silenced.

    The environment variables only work if set before TensorFlow is first
    imported, so every place in the kit that needs Keras goes through here.
    """
    quiet_framework()
    import keras

    return keras
