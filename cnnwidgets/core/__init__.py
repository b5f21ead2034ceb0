"""Pure NumPy math of the course: sizes, convolution, pooling, parameters, tables, kernels."""

from . import (
    architectures,
    arithmetic,
    augmentation,
    conv,
    curves,
    display,
    featuremaps,
    gradients,
    kernels,
    metrics,
    params,
    pooling,
    shapes,
    sizes,
)
from .architectures import *  # noqa: F403
from .arithmetic import *  # noqa: F403
from .augmentation import *  # noqa: F403
from .conv import *  # noqa: F403
from .curves import *  # noqa: F403
from .display import *  # noqa: F403
from .featuremaps import *  # noqa: F403
from .gradients import *  # noqa: F403
from .kernels import *  # noqa: F403
from .metrics import *  # noqa: F403
from .params import *  # noqa: F403
from .pooling import *  # noqa: F403
from .shapes import *  # noqa: F403
from .sizes import *  # noqa: F403

_MODULES = (
    architectures,
    arithmetic,
    augmentation,
    conv,
    curves,
    display,
    featuremaps,
    gradients,
    kernels,
    metrics,
    params,
    pooling,
    shapes,
    sizes,
)
__all__ = sorted(name for module in _MODULES for name in module.__all__)
