"""Output sizes and padding amounts of convolution and pooling layers (Keras semantics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from ._validate import Padding, padding_mode, pair, positive_int

__all__ = ["conv_output_size", "pool_output_size", "padding_amounts", "effective_kernel_size"]

_Size = int | Sequence[int]  # one number for both axes, or a pair (rows, columns)
_Pair = Sequence[int]
_Output = int | tuple[int, int]


def effective_kernel_size(kernel_size: int, dilation_rate: int = 1) -> int:
    """Span of a dilated kernel: ``k + (k - 1)(d - 1)``.

    Examples
    --------
    >>> effective_kernel_size(3, dilation_rate=2)
    5
    """
    k = positive_int("kernel_size", kernel_size)
    d = positive_int("dilation_rate", dilation_rate)
    return k + (k - 1) * (d - 1)


def _one_conv_size(i: int, k: int, s: int, padding: Padding, d: int, what: str) -> int:
    k_eff = k + (k - 1) * (d - 1)
    if padding == "same":
        # Keras/TF "same": ceil(i / s), whatever the kernel; the padding adapts.
        return -(-i // s)
    p = padding if isinstance(padding, int) else 0  # "valid"
    if i + 2 * p < k_eff:
        span = f"{k}" if d == 1 else f"{k} dilated by {d}, which spans {k_eff}"
        fix = (
            "use padding='same', a smaller kernel, or a larger input"
            if padding == "valid"
            else "add more padding, use a smaller kernel, or a larger input"
        )
        raise ValueError(
            f"The {what} ({span}) is larger than the padded input "
            f"({i} + 2*{p} = {i + 2 * p}): there is no position to place it; {fix}."
        )
    return (i + 2 * p - k_eff) // s + 1


# For a type checker: ints give an int, a pair of input sizes a pair (a pair for any other
# argument gives a pair too, which the last overload can only call "int or pair").
# fmt: off
@overload
def conv_output_size(input_size: int, kernel_size: int, strides: int = ...,
                     padding: Padding = ..., dilation_rate: int = ...) -> int: ...
@overload
def conv_output_size(input_size: _Pair, kernel_size: _Size, strides: _Size = ...,
                     padding: Padding = ..., dilation_rate: _Size = ...) -> tuple[int, int]: ...
@overload
def conv_output_size(input_size: _Size, kernel_size: _Size, strides: _Size = ...,
                     padding: Padding = ..., dilation_rate: _Size = ...) -> _Output: ...
# fmt: on
def conv_output_size(
    input_size: _Size,
    kernel_size: _Size,
    strides: _Size = 1,
    padding: Padding = "valid",
    dilation_rate: _Size = 1,
) -> _Output:
    """Spatial output size of a convolution, ``floor((i + 2p - k - (k-1)(d-1)) / s) + 1``.

    ``padding`` is ``"valid"`` (p = 0), ``"same"`` (Keras: output ``ceil(i / s)``)
    or a non-negative int ``p`` of zeros added on each side. Give ints for a
    square case; give pairs ``(rows, cols)`` for any argument to get a pair back.

    Examples
    --------
    >>> conv_output_size(28, 3)
    26
    >>> conv_output_size(28, 3, padding="same")
    28
    >>> conv_output_size(5, 3, strides=2, padding=1)
    3
    """
    pad = padding_mode(padding)
    as_pair = any(
        isinstance(a, (tuple, list)) for a in (input_size, kernel_size, strides, dilation_rate)
    )
    ih, iw = pair("input_size", input_size)
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    oh = _one_conv_size(ih, kh, sh, pad, dh, "kernel")
    ow = _one_conv_size(iw, kw, sw, pad, dw, "kernel")
    return (oh, ow) if as_pair else oh


# fmt: off
@overload
def pool_output_size(input_size: int, pool_size: int = ..., strides: int | None = ...,
                     padding: str = ...) -> int: ...
@overload
def pool_output_size(input_size: _Pair, pool_size: _Size = ..., strides: _Size | None = ...,
                     padding: str = ...) -> tuple[int, int]: ...
@overload
def pool_output_size(input_size: _Size, pool_size: _Size = ..., strides: _Size | None = ...,
                     padding: str = ...) -> _Output: ...
# fmt: on
def pool_output_size(
    input_size: _Size,
    pool_size: _Size = 2,
    strides: _Size | None = None,
    padding: str = "valid",
) -> _Output:
    """Spatial output size of a Keras pooling layer; ``strides`` defaults to ``pool_size``.

    With ``"valid"`` padding an odd size drops the last row/column:

    Examples
    --------
    >>> pool_output_size(28)
    14
    >>> pool_output_size(7)
    3
    >>> pool_output_size(7, padding="same")
    4
    """
    pad = padding_mode(padding)
    if not isinstance(pad, str):
        raise ValueError(
            "Keras pooling layers take padding='valid' or 'same'; to add explicit zeros, "
            "put a ZeroPadding2D layer before the pooling layer."
        )
    as_pair = any(isinstance(a, (tuple, list)) for a in (input_size, pool_size, strides))
    ih, iw = pair("input_size", input_size)
    kh, kw = pair("pool_size", pool_size)
    sh, sw = (kh, kw) if strides is None else pair("strides", strides)
    oh = _one_conv_size(ih, kh, sh, pad, 1, "pooling window")
    ow = _one_conv_size(iw, kw, sw, pad, 1, "pooling window")
    return (oh, ow) if as_pair else oh


def padding_amounts(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    dilation_rate: int = 1,
) -> tuple[int, int]:
    """Zeros added (before, after) along one axis.

    Keras's ``"same"`` pads ``total = max((o - 1)s + k_eff - i, 0)`` and puts the
    odd one at the end (bottom/right).

    Examples
    --------
    >>> padding_amounts(5, 2, padding="same")
    (0, 1)
    >>> padding_amounts(5, 3, padding=2)
    (2, 2)
    """
    pad = padding_mode(padding)
    i = positive_int("input_size", input_size)
    s = positive_int("strides", strides)
    k_eff = effective_kernel_size(kernel_size, dilation_rate)
    if isinstance(pad, int):
        return pad, pad
    if pad == "valid":
        return 0, 0
    o = -(-i // s)  # "same"
    total = max((o - 1) * s + k_eff - i, 0)
    return total // 2, total - total // 2
