"""cnnwidgets: the math, data sets, widgets and grading checks of a course on CNNs."""

from __future__ import annotations

import importlib

from ._public import WIDGETS
from .core import *  # noqa: F403
from .core import __all__ as _core_all
from .keras_helpers import *  # noqa: F403  (light: Keras loads on quiet_keras())
from .keras_helpers import __all__ as _keras_all

__version__ = "0.1.0"

# Widgets pull in ipywidgets and grading pulls in Keras; load them on first use so
# `import cnnwidgets` (and `cnnwidgets.core` above all) stays light and pure.
_LAZY = {name: "cnnwidgets.widgets" for name in WIDGETS}

__all__ = [*_core_all, *_keras_all, *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cnnwidgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
