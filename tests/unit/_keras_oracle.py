"""Shared helpers of the core tests: Keras as the oracle, hypothesis settings, doctests.

Keras layers are built one at a time and called eagerly on a one-image numpy
batch, which costs a few milliseconds; models are built symbolically from an
``Input``. Test data are small whole numbers stored as float32, so every product
and sum is exact and the kit's numbers must equal Keras's bit for bit.
"""

from __future__ import annotations

import doctest
import functools
import os
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# --- hypothesis -----------------------------------------------------------------------------

# "ci" is reproducible (derandomize) and moderate; "dev" explores more, with fresh seeds.
# Choose with CNNWIDGETS_HYPOTHESIS_PROFILE=dev; the profiles only apply to these tests.
settings.register_profile(
    "cnnwidgets-core-ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "cnnwidgets-core-dev",
    parent=settings.get_profile("cnnwidgets-core-ci"),
    max_examples=300,
    derandomize=False,
)
_PROFILE = "cnnwidgets-core-" + os.environ.get("CNNWIDGETS_HYPOTHESIS_PROFILE", "ci")
ORACLE = settings(settings.get_profile(_PROFILE))
"""Settings for the property tests that call Keras."""

FAST = settings(ORACLE, max_examples=max(ORACLE.max_examples, 100))
"""Settings for pure-NumPy properties, which are cheap enough for more examples."""


def oracle(max_examples: int) -> settings:
    """ORACLE with fewer examples, for tests whose Keras side is expensive."""
    return settings(ORACLE, max_examples=min(ORACLE.max_examples, max_examples))


# --- Keras ----------------------------------------------------------------------------------


@functools.cache
def keras() -> Any:
    """The keras module, imported quietly the way the kit imports it."""
    from cnnwidgets.keras_helpers import quiet_keras

    return quiet_keras()


def _run(layer: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(layer(x[None]))[0]


def keras_conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    strides=1,
    padding="valid",
    dilation_rate=1,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """Keras's Conv2D output for one ``(H, W, C)`` image and a ``(kh, kw, C, F)`` kernel."""
    layers = keras().layers
    kh, kw, c, f = kernel.shape
    dtype = "float64" if x.dtype == np.float64 else "float32"
    conv = layers.Conv2D(
        f,
        (kh, kw),
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        use_bias=bias is not None,
        dtype=dtype,
    )
    conv.build((1, *x.shape))
    conv.set_weights([kernel] if bias is None else [kernel, bias])
    return _run(conv, x.astype(dtype))


def keras_zero_padding(x: np.ndarray, padding) -> tuple[np.ndarray, Any]:
    """Explicit int padding the Keras way: a ZeroPadding2D layer, then a 'valid' layer.

    Returns the (padded) image and the padding for the next layer; a string
    padding passes through untouched.
    """
    if isinstance(padding, str):
        return x, padding
    dtype = "float64" if x.dtype == np.float64 else "float32"
    layer = keras().layers.ZeroPadding2D(padding, dtype=dtype)
    return _run(layer, x.astype(dtype)), "valid"


def keras_depthwise(
    x: np.ndarray, kernel2d: np.ndarray, strides=1, padding="valid", dilation_rate=1
):
    """DepthwiseConv2D with the same 2-D kernel on every channel of an ``(H, W, C)`` image.

    TensorFlow's depthwise kernel only takes equal row and column strides; for
    others, each channel goes through its own one-channel Conv2D, which is the
    same computation.
    """
    c = x.shape[2]
    sh, sw = as_pair(strides)
    if sh != sw:
        k4 = kernel2d[:, :, None, None].astype(np.float32)
        maps = [
            keras_conv2d(x[:, :, i : i + 1], k4, strides, padding, dilation_rate) for i in range(c)
        ]
        return np.concatenate(maps, axis=2)
    layer = keras().layers.DepthwiseConv2D(
        kernel2d.shape,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        use_bias=False,
    )
    layer.build((1, *x.shape))
    layer.set_weights([np.repeat(kernel2d[:, :, None, None], c, axis=2).astype(np.float32)])
    return _run(layer, x.astype(np.float32))


def keras_pool2d(x: np.ndarray, pool_size=2, strides=None, padding="valid", mode="max"):
    """MaxPooling2D or AveragePooling2D on one ``(H, W, C)`` image."""
    layers = keras().layers
    cls = layers.MaxPooling2D if mode == "max" else layers.AveragePooling2D
    return _run(cls(pool_size, strides=strides, padding=padding), x.astype(np.float32))


def keras_shape_or_none(layer: Any, input_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Output shape (no batch axis) of ``layer`` called on zeros; None if Keras refuses.

    An eager call that yields an empty axis counts as a refusal too: there is no
    position to place the window, which the kit reports as an error.
    """
    try:
        out = np.asarray(layer(np.zeros((1, *input_shape), dtype=np.float32)))
    except Exception:  # ValueError from Keras, InvalidArgumentError from TF
        return None
    return None if 0 in out.shape else tuple(out.shape[1:])


def keras_layer(spec: dict[str, Any]) -> Any:
    """A Keras layer from a stack_table spec: the spec's keys are Keras's arguments."""
    kwargs = {k: v for k, v in spec.items() if k != "layer"}
    return getattr(keras().layers, spec["layer"])(**kwargs)


def keras_model(input_shape: tuple[int, ...], specs: list[dict[str, Any]], *, fresh=False):
    """A Sequential model from specs; ``fresh`` resets Keras's automatic names first."""
    k = keras()
    if fresh:
        k.backend.clear_session()
    return k.Sequential([k.Input(input_shape), *(keras_layer(s) for s in specs)])


def summary_rows(model: Any) -> tuple[str, list[tuple[str, str, str]]]:
    """The text of ``model.summary()`` and its table rows as (name (type), shape, params).

    Rich wraps a long cell onto the next line of the same row (e.g.
    "global_average_pooling2d" then "(GlobalAveragePooling2D)"); the pieces of a
    cell are joined with a space, as they read.
    """
    chunks: list[str] = []
    model.summary(print_fn=lambda text, line_break=True: chunks.append(text))
    text = "\n".join(chunks)
    rows: list[tuple[str, str, str]] = []
    cells: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("│"):
            parts = [p.strip() for p in line.strip().strip("│").split("│")]
            cells = cells or [[] for _ in parts]
            for acc, part in zip(cells, parts, strict=True):
                if part:
                    acc.append(part)
        elif cells is not None:  # a rule (├─ or └─) closes the row
            name, shape, params = (" ".join(acc) for acc in cells[:3])
            rows.append((name, shape, params))
            cells = None
    return text, rows


# --- data -----------------------------------------------------------------------------------


def small_ints(shape: tuple[int, ...], seed: int, low: int = -4, high: int = 4) -> np.ndarray:
    """Whole numbers in [low, high] as float32: sums of their products are exact."""
    rng = np.random.default_rng(seed)
    return rng.integers(low, high, size=shape, endpoint=True).astype(np.float32)


seeds = st.integers(0, 2**32 - 1)


def one_or_pair(values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """``3`` or ``(3, 2)``: Keras accepts both for every size argument."""
    return st.one_of(values, st.tuples(values, values))


def as_pair(value: Any) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)  # type: ignore[return-value]


@st.composite
def stride_or_dilation(draw, max_stride: int = 3, max_dilation: int = 3):
    """(strides, dilation_rate): Keras refuses strides > 1 together with dilation > 1."""
    if draw(st.booleans()):
        return draw(one_or_pair(st.integers(1, max_stride))), 1
    return 1, draw(one_or_pair(st.integers(1, max_dilation)))


# --- doctests -------------------------------------------------------------------------------


def run_doctests(module: Any) -> doctest.TestResults:
    """Run the docstring examples of ``module``; the report goes to captured stdout."""
    return doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
