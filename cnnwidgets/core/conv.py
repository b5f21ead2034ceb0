"""2-D convolution as Keras computes it: cross-correlation, no kernel flip."""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import Padding, padding_mode, pair
from .sizes import conv_output_size, padding_amounts

__all__ = ["conv2d", "pad2d", "conv_window"]

# Values per band of output rows (see conv2d): about 100 KB of float32, fits in L2.
_BAND_VALUES = 1 << 15


def _as_array(name: str, x: object) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must hold numbers, got an array of {arr.dtype}.")
    return arr


def _as_image(x: object) -> np.ndarray:
    arr = _as_array("image", x)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"image must be (height, width) or (height, width, channels), got shape {arr.shape}; "
            "drop the batch axis (image[0]) if there is one."
        )
    return arr


def _work_dtype(*arrays: np.ndarray) -> np.dtype:
    # Integers stay exact (hand-worked examples give whole numbers); floats are
    # computed in float32 or better, like Keras.
    if all(np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_ for a in arrays):
        return np.dtype(np.int64)
    return np.result_type(*arrays, np.float32)


def pad2d(
    image: np.ndarray,
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | tuple[int, int] = 1,
    value: float = 0,
) -> np.ndarray:
    """Pad an ``(H, W)`` or ``(H, W, C)`` array the way a conv layer would.

    Examples
    --------
    >>> pad2d(np.ones((2, 3)), 2, padding="same").shape  # odd extra at the bottom/right
    (3, 4)
    """
    # A batch (1, H, W, C) would otherwise be padded along its batch and row axes.
    x = _as_image(image)
    pad = padding_mode(padding)
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    top, bottom = padding_amounts(x.shape[0], kh, sh, pad, dh)
    left, right = padding_amounts(x.shape[1], kw, sw, pad, dw)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (x.ndim - 2)
    if not any(a or b for a, b in widths):
        return x
    return np.pad(x, widths, constant_values=value)


def conv2d(
    image: np.ndarray,
    kernel: np.ndarray,
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Slide ``kernel`` over ``image``, multiply element-wise and sum (Keras's Conv2D, no bias).

    Parameters
    ----------
    image : array, shape ``(H, W)`` or ``(H, W, C)``
    kernel : array, shape ``(kh, kw)``, ``(kh, kw, C)`` or ``(kh, kw, C, filters)``
        A ``(kh, kw)`` kernel on a colour image is applied to each channel on its
        own (what photo filters do) and gives ``(oh, ow, C)``; a ``(kh, kw, C)``
        kernel sums over the channels and gives one map ``(oh, ow)``; a 4-D Keras
        kernel gives ``(oh, ow, filters)``.
    strides, padding, dilation_rate
        As in ``keras.layers.Conv2D``; ``padding`` may also be an int of zeros per side.

    Examples
    --------
    >>> image = np.array([[0, 0, 0], [0, 0, 2], [0, 1, 2]])
    >>> kernel = np.array([[1, -1, 0], [1, 1, 0], [0, 1, -1]])
    >>> conv2d(image, kernel)
    array([[-1]])
    """
    x = _as_image(image)
    k = _as_array("kernel", kernel)
    if k.ndim not in (2, 3, 4):
        raise ValueError(
            f"kernel must be (kh, kw), (kh, kw, channels) or (kh, kw, channels, filters), "
            f"got shape {k.shape}."
        )
    if 0 in x.shape or 0 in k.shape:
        raise ValueError(f"image {x.shape} and kernel {k.shape} must not be empty.")
    squeeze_channels = x.ndim == 2
    if squeeze_channels:
        x = x[:, :, None]
    channels = x.shape[2]
    if k.ndim >= 3 and k.shape[2] != channels:
        raise ValueError(
            f"The kernel has depth {k.shape[2]} but the image has {channels} channel(s): "
            "a kernel must be as deep as its input."
        )
    kh, kw = k.shape[:2]
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    oh, ow = conv_output_size(x.shape[:2], (kh, kw), (sh, sw), padding, (dh, dw))
    dtype = _work_dtype(x, k)
    xp = pad2d(x, (kh, kw), (sh, sw), padding, (dh, dw)).astype(dtype, copy=False)
    k = k.astype(dtype, copy=False)

    # Each kernel weight scales one shifted, strided copy of the input; the
    # output is the sum of those copies (kh * kw vectorised steps). Working in
    # bands of output rows keeps each step's data in the CPU cache, which makes
    # a 512x512 photo about 1.5x faster than one pass over the whole image.
    depthwise = k.ndim == 2
    out_channels = channels if depthwise else (1 if k.ndim == 3 else k.shape[3])
    out = np.zeros((oh, ow, out_channels), dtype=dtype)
    band = max(1, _BAND_VALUES // max(1, ow * channels))
    for top in range(0, oh, band):
        rows = min(band, oh - top)
        dest = out[top : top + rows]
        scratch = np.empty((rows, ow, channels), dtype=dtype) if depthwise else None
        for i in range(kh):
            for j in range(kw):
                r0, c0 = top * sh + i * dh, j * dw
                window = xp[r0 : r0 + (rows - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw]
                if depthwise:
                    np.multiply(window, k[i, j], out=scratch)
                    dest += scratch
                elif k.ndim == 3:
                    dest[:, :, 0] += window @ k[i, j]
                else:
                    dest += window @ k[i, j]
    if depthwise:
        return out[:, :, 0] if squeeze_channels else out
    return out[:, :, 0] if k.ndim == 3 else out


def conv_window(
    image: np.ndarray,
    row: int,
    col: int,
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | tuple[int, int] = 1,
) -> np.ndarray:
    """The input values under the kernel for output position ``(row, col)``, zeros included.

    ``(conv_window(x, r, c, k.shape[:2], ...) * k).sum()`` equals ``conv2d(x, k, ...)[r, c]``,
    which is how a lesson shows the element-wise products and their sum.

    Examples
    --------
    >>> x = np.arange(16).reshape(4, 4)
    >>> conv_window(x, 0, 1, 3).tolist()
    [[1, 2, 3], [5, 6, 7], [9, 10, 11]]
    """
    # Without this check a batch (1, H, W, C) gave a window of the wrong axes.
    x = _as_image(image)
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    oh, ow = conv_output_size(x.shape[:2], (kh, kw), (sh, sw), padding, (dh, dw))
    for name, value in (("row", row), ("col", col)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if not (0 <= row < oh and 0 <= col < ow):
        raise ValueError(f"Output position ({row}, {col}) is outside the {oh}x{ow} output.")
    xp = pad2d(x, (kh, kw), (sh, sw), padding, (dh, dw))
    r0, c0 = row * sh, col * sw
    return xp[r0 : r0 + (kh - 1) * dh + 1 : dh, c0 : c0 + (kw - 1) * dw + 1 : dw]
