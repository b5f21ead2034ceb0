"""cnnwidgets: the math, data sets, widgets and grading checks of a course on CNNs."""

from .core import *  # noqa: F403
from .core import __all__ as _core_all

__version__ = "0.1.0"

__all__ = [*_core_all]
