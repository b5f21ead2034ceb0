"""The old home of ``quiet_keras``, kept while the widgets still import it from here.

Use :mod:`cnnwidgets.keras_helpers`; this alias goes once nothing imports it.
"""

from __future__ import annotations

from .keras_helpers import quiet_keras

__all__ = ["quiet_keras"]
