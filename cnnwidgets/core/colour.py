"""Colour convolution: a kernel as deep as its input and one bias per filter, or per channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import Padding, pair, positive_int
from .conv import conv2d

__all__ = [
    "WORKED_WINDOW",
    "WORKED_KERNEL",
    "WORKED_COLOUR_WINDOW",
    "WORKED_COLOUR_KERNEL",
    "ColourStep",
    "colour_conv",
    "colour_conv_step",
    "depthwise_params",
]

# Lecture 004's worked problem: one channel, the answer is -1.
WORKED_WINDOW = np.array([[0, 0, 0], [0, 0, 2], [0, 1, 2]])
WORKED_KERNEL = np.array([[1, -1, 0], [1, 1, 0], [0, 1, -1]])
# The same problem as the red channel of an RGB window, with green and blue channels
# (lesson 01's example): per-channel sums -1, -1 and 1, plus the bias of 1, give 0.
WORKED_COLOUR_WINDOW = np.stack(
    [WORKED_WINDOW, [[1, 0, 0], [0, 2, 0], [1, 0, 1]], [[2, 1, 0], [0, 0, 0], [1, 1, 1]]],
    axis=-1,
)
WORKED_COLOUR_KERNEL = np.stack(
    [WORKED_KERNEL, [[0, 1, 0], [0, -1, 0], [1, 0, 0]], [[1, 0, 1], [0, 0, 0], [0, -1, 0]]],
    axis=-1,
)


def _colour(name: str, x: object) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must hold numbers, got an array of {arr.dtype}.")
    if arr.ndim != 3:
        raise ValueError(f"{name} must be (height, width, channels), got shape {arr.shape}.")
    return arr


def _biases(bias: float | np.ndarray, channels: int, depthwise: bool) -> np.ndarray:
    # np.isscalar narrows to its own broad guard (str, bytes, memoryview), not to float.
    b = np.asarray(bias, dtype=np.float64) if not np.isscalar(bias) else np.array(float(bias))  # type: ignore[arg-type]
    if not depthwise:
        if b.ndim != 0:
            raise ValueError(
                f"A Conv2D filter has ONE bias, however deep its input; got {b.shape[0]} values."
            )
        return b
    if b.ndim == 0:
        return np.full(channels, float(b))
    if b.shape != (channels,):
        raise ValueError(f"A depthwise layer has one bias per channel ({channels}), got {b.shape}.")
    return b


def colour_conv(
    image: np.ndarray,
    kernel: np.ndarray,
    bias: float | np.ndarray = 0.0,
    *,
    depthwise: bool = False,
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | tuple[int, int] = 1,
) -> np.ndarray:
    """One filter on a colour image: ``Conv2D(1, k)``, or ``DepthwiseConv2D(k)`` when ``depthwise``.

    ``kernel`` is ``(kh, kw, C)``, as deep as the image. A Conv2D filter multiplies each
    channel of the window by the matching channel of the kernel, sums **all** the
    products into one number and adds its **one** bias: one map ``(oh, ow)``. A depthwise
    layer keeps the channels apart: channel ``c`` of the kernel filters channel ``c`` of
    the image, with a bias of its own (``bias`` may be one number or ``C``): ``C`` maps.

    Examples
    --------
    >>> colour_conv(WORKED_COLOUR_WINDOW, WORKED_COLOUR_KERNEL, 1)
    array([[0.]])
    >>> colour_conv(WORKED_COLOUR_WINDOW, WORKED_COLOUR_KERNEL, 1, depthwise=True)
    array([[[0., 0., 2.]]])
    """
    x, k = _colour("image", image), _colour("kernel", kernel)
    if k.shape[2] != x.shape[2]:
        raise ValueError(
            f"The kernel has depth {k.shape[2]} but the image has {x.shape[2]} channel(s): "
            "a kernel must be as deep as its input."
        )
    geometry: dict[str, Any] = {
        "strides": strides,
        "padding": padding,
        "dilation_rate": dilation_rate,
    }
    b = _biases(bias, x.shape[2], depthwise)
    if depthwise:
        maps = [conv2d(x[:, :, c], k[:, :, c], **geometry) for c in range(x.shape[2])]
        return np.stack(maps, axis=-1).astype(np.float64) + b
    return conv2d(x, k, **geometry).astype(np.float64) + b


@dataclass
class ColourStep:
    """One output position of a colour convolution, worked out.

    ``products`` is ``window * kernel`` ``(kh, kw, C)``; ``channel_sums[c]`` adds up
    channel ``c``'s products; ``outputs`` is one value (Conv2D: all channel sums plus one
    bias) or ``C`` values (depthwise: each channel's sum plus its own bias).
    """

    window: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    bias: np.ndarray
    outputs: np.ndarray
    depthwise: bool


def colour_conv_step(
    window: np.ndarray, kernel: np.ndarray, bias: float | np.ndarray = 0.0, *, depthwise=False
) -> ColourStep:
    """The products, per-channel sums and output(s) of one ``(kh, kw, C)`` window.

    Examples
    --------
    >>> step = colour_conv_step(WORKED_COLOUR_WINDOW, WORKED_COLOUR_KERNEL, 1)
    >>> step.channel_sums.tolist(), step.outputs.tolist()
    ([-1.0, -1.0, 1.0], [0.0])
    """
    w, k = _colour("window", window), _colour("kernel", kernel)
    if w.shape != k.shape:
        raise ValueError(f"window {w.shape} and kernel {k.shape} must have the same shape.")
    products = w.astype(np.float64) * k
    sums = products.sum(axis=(0, 1))
    b = _biases(bias, w.shape[2], depthwise)
    outputs = sums + b if depthwise else np.array([sums.sum() + b])
    return ColourStep(w, k, products, sums, np.atleast_1d(b), outputs, depthwise)


def depthwise_params(
    kernel_size: int | tuple[int, int], channels: int, depth_multiplier: int = 1
) -> int:
    """Parameters of ``DepthwiseConv2D``: one ``kh × kw`` kernel and one bias per output map.

    Compare ``conv_params(k, C, filters)``: a Conv2D filter spans every channel.

    Examples
    --------
    >>> depthwise_params(3, 3)  # 3 maps from an RGB image: 27 weights + 3 biases
    30
    """
    kh, kw = pair("kernel_size", kernel_size)
    maps = positive_int("channels", channels) * positive_int("depth_multiplier", depth_multiplier)
    return maps * (kh * kw + 1)
