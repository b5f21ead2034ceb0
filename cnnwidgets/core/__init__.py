"""Pure NumPy math of the course: sizes, convolution, pooling, parameters, tables, kernels."""

from . import (
    activations,
    architectures,
    arithmetic,
    augmentation,
    batchnorm,
    colour,
    conv,
    curves,
    deeper,
    display,
    featuremaps,
    gradients,
    keras3,
    kernels,
    metrics,
    params,
    pooling,
    receptive,
    shapes,
    sizes,
)
from .activations import *  # noqa: F403
from .architectures import *  # noqa: F403
from .arithmetic import *  # noqa: F403
from .augmentation import *  # noqa: F403
from .batchnorm import *  # noqa: F403
from .colour import *  # noqa: F403
from .conv import *  # noqa: F403
from .curves import *  # noqa: F403
from .deeper import *  # noqa: F403
from .display import *  # noqa: F403
from .featuremaps import *  # noqa: F403
from .gradients import *  # noqa: F403
from .keras3 import *  # noqa: F403
from .kernels import *  # noqa: F403
from .metrics import *  # noqa: F403
from .params import *  # noqa: F403
from .pooling import *  # noqa: F403
from .receptive import *  # noqa: F403
from .shapes import *  # noqa: F403
from .sizes import *  # noqa: F403

_MODULES = (
    activations,
    architectures,
    arithmetic,
    augmentation,
    batchnorm,
    colour,
    conv,
    curves,
    deeper,
    display,
    featuremaps,
    gradients,
    keras3,
    kernels,
    metrics,
    params,
    pooling,
    receptive,
    shapes,
    sizes,
)
__all__ = sorted(name for module in _MODULES for name in module.__all__)
