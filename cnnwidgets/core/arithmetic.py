"""Convolution arithmetic: where the kernel lands, which cells it never reads, the size formula.

Also the geometry of one window, shared by every widget that draws one: where it starts
in the input (:func:`window_start`, :func:`window_box`), which of its taps fall on padding
(:func:`padding_mask`), which window first reads each cell (:func:`first_window`), and
the products and sum that make one output value (:func:`window_products`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import Padding, padding_mode, pair, positive_int
from .params import conv_params
from .sizes import conv_output_size, effective_kernel_size, padding_amounts

__all__ = [
    "AxisArithmetic",
    "ConvArithmetic",
    "conv_arithmetic",
    "conv_params_formula",
    "coverage",
    "first_window",
    "kernel_positions",
    "kernel_taps",
    "output_size_formula",
    "padding_mask",
    "uncovered",
    "window_box",
    "window_products",
    "window_start",
]

# How the formula names the two ends of an axis for Keras's uneven 'same' padding.
_ENDS = {None: ("top/left", "bottom/right"), "rows": ("top", "bottom"), "cols": ("left", "right")}


def _axis(
    input_size: int, kernel_size: int, strides: int, padding: Padding, dilation_rate: int
) -> tuple[int, int, int, int, int, int]:
    # One axis takes ints only; conv_output_size (which returns a pair for pairs) then
    # checks the rest and raises the sentence a student sees for impossible settings.
    for name, value in (
        ("input_size", input_size),
        ("kernel_size", kernel_size),
        ("strides", strides),
        ("dilation_rate", dilation_rate),
    ):
        positive_int(name, value)
    o = conv_output_size(input_size, kernel_size, strides, padding, dilation_rate)
    before, after = padding_amounts(input_size, kernel_size, strides, padding, dilation_rate)
    return o, int(strides), int(kernel_size), int(dilation_rate), before, after


def kernel_positions(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    dilation_rate: int = 1,
) -> list[int]:
    """Start index of every kernel position along one axis, in padded coordinates.

    Index 0 is the first padding cell if there is padding before the input, else
    the first input cell. There is one position per output cell.

    Examples
    --------
    >>> kernel_positions(6, 3, strides=2)
    [0, 2]
    >>> kernel_positions(5, 3, padding="same")
    [0, 1, 2, 3, 4]
    """
    o, s, *_ = _axis(input_size, kernel_size, strides, padding, dilation_rate)
    return [j * s for j in range(o)]


def kernel_taps(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    dilation_rate: int = 1,
) -> list[list[int]]:
    """Padded indices each kernel position reads along one axis: ``start + t * dilation_rate``.

    Examples
    --------
    >>> kernel_taps(5, 2, strides=2, dilation_rate=2)
    [[0, 2], [2, 4]]
    """
    o, s, k, d, _, _ = _axis(input_size, kernel_size, strides, padding, dilation_rate)
    return [[j * s + t * d for t in range(k)] for j in range(o)]


def coverage(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    dilation_rate: int = 1,
) -> np.ndarray:
    """How many kernel taps read each input index along one axis (padding not included).

    Examples
    --------
    >>> coverage(5, 3).tolist()
    [1, 2, 3, 2, 1]
    """
    o, s, k, d, before, after = _axis(input_size, kernel_size, strides, padding, dilation_rate)
    counts = np.zeros(input_size + before + after, dtype=np.int64)
    taps = (np.arange(o) * s)[:, None] + np.arange(k) * d
    # add.at, not fancy-index +=, because overlapping windows read the same cell twice.
    np.add.at(counts, taps.ravel(), 1)
    return counts[before : before + input_size]


def uncovered(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    dilation_rate: int = 1,
) -> list[int]:
    """Input indices along one axis that no tap of any kernel position reads.

    "Uncovered" means *never read*: the value there cannot change the output. With
    ``"valid"`` padding these are the last rows/columns that the floor in the size
    formula leaves out. With dilation a cell can also sit inside a window's span
    yet fall between its taps at every position; such cells count as uncovered
    too, while a cell read by at least one tap of one position does not.

    Examples
    --------
    >>> uncovered(6, 3, strides=2)
    [5]
    >>> uncovered(5, 2, strides=2, dilation_rate=2)  # between the taps of both windows
    [1, 3]
    >>> uncovered(6, 3, strides=2, padding="same")
    []
    """
    counts = coverage(input_size, kernel_size, strides, padding, dilation_rate)
    return np.flatnonzero(counts == 0).tolist()


def window_start(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    index: int = 0,
    dilation_rate: int = 1,
) -> int:
    """Input index where window ``index`` starts along one axis; negative inside the padding.

    The same start as :func:`kernel_positions` gives, counted from the first input
    cell instead of the first padding cell.

    Examples
    --------
    >>> window_start(5, 3, padding="same", index=0)  # one zero above the first row
    -1
    >>> window_start(7, 3, strides=2, index=2)
    4
    """
    o, s, _, _, before, _ = _axis(input_size, kernel_size, strides, padding, dilation_rate)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < o:
        raise ValueError(f"Output index {index!r} is outside the output of size {o}.")
    return int(index) * s - before


def window_box(
    input_shape: tuple[int, ...],
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    row: int = 0,
    col: int = 0,
    dilation_rate: int | tuple[int, int] = 1,
) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the input span the window at ``(row, col)`` covers.

    ``top`` and ``left`` are input indices (negative inside the padding); height and
    width are the (dilated) kernel's span, ``k + (k−1)(d−1)``. Only the first two
    numbers of ``input_shape`` are read, so an image's ``x.shape`` will do.

    Examples
    --------
    >>> window_box((28, 28), 3, padding="same", row=0, col=5)
    (-1, 4, 3, 3)
    >>> window_box((9, 9, 3), 3, dilation_rate=2, row=1, col=2)
    (1, 2, 5, 5)
    """
    ih, iw = (int(n) for n in tuple(input_shape)[:2])
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    pad = padding_mode(padding)
    return (
        window_start(ih, kh, sh, pad, row, dh),
        window_start(iw, kw, sw, pad, col, dw),
        effective_kernel_size(kh, dh),
        effective_kernel_size(kw, dw),
    )


def padding_mask(
    input_shape: tuple[int, ...],
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    row: int = 0,
    col: int = 0,
    dilation_rate: int | tuple[int, int] = 1,
) -> np.ndarray:
    """``(kh, kw)`` booleans: True where a tap of the window at ``(row, col)`` reads a padding zero.

    Examples
    --------
    >>> padding_mask((4, 4), 3, padding="same", row=0, col=3).astype(int).tolist()
    [[1, 1, 1], [0, 0, 1], [0, 0, 1]]
    """
    ih, iw = (int(n) for n in tuple(input_shape)[:2])
    kh, kw = pair("kernel_size", kernel_size)
    dh, dw = pair("dilation_rate", dilation_rate)
    top, left, _, _ = window_box(input_shape, (kh, kw), strides, padding, row, col, (dh, dw))
    rows = top + np.arange(kh) * dh
    cols = left + np.arange(kw) * dw
    inside_r = (rows >= 0) & (rows < ih)
    inside_c = (cols >= 0) & (cols < iw)
    return ~(inside_r[:, None] & inside_c[None, :])


def first_window(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    dilation_rate: int = 1,
) -> np.ndarray:
    """For each input index along one axis, the first window (in order) that reads it; -1 if none.

    A picture of pooling colours each cell by the window it belongs to: with
    overlapping windows, the first one that reads it.

    Examples
    --------
    >>> first_window(7, 2, strides=2).tolist()  # the last row is never read
    [0, 0, 1, 1, 2, 2, -1]
    >>> first_window(5, 3, padding="same").tolist()
    [0, 0, 1, 2, 3]
    """
    o, s, k, d, before, _ = _axis(input_size, kernel_size, strides, padding, dilation_rate)
    first = np.full(input_size, -1, dtype=np.int64)
    taps = (np.arange(o) * s)[:, None] + np.arange(k) * d - before
    # Later windows first, so an earlier window overwrites a cell they share.
    for w in range(o - 1, -1, -1):
        read = taps[w][(taps[w] >= 0) & (taps[w] < input_size)]
        first[read] = w
    return first


def window_products(window: object, kernel: object) -> tuple[np.ndarray, np.ndarray]:
    """``window ⊙ kernel`` and its sum: how one output value of a convolution is made.

    ``window`` is ``(kh, kw)`` or ``(kh, kw, C)`` (from :func:`cnnwidgets.core.conv.conv_window`)
    and ``kernel`` ``(kh, kw)``; with channels, each channel is multiplied by the same
    kernel and summed on its own, as a depthwise convolution does. Whole numbers stay
    whole (int64), so a hand-worked example shows no decimals; anything else is float64.

    Returns
    -------
    products : ndarray
        The shape of ``window``.
    total : ndarray
        The sum over the window: a 0-d array, or one value per channel.

    Examples
    --------
    >>> products, total = window_products([[1, 2], [3, 4]], [[0, 1], [1, 0]])
    >>> products.tolist(), int(total)
    ([[0, 2], [3, 0]], 5)
    """
    w = np.asarray(window)
    k = np.asarray(kernel)
    if w.ndim not in (2, 3) or k.ndim != 2 or w.shape[:2] != k.shape:
        raise ValueError(
            f"window must be (kh, kw) or (kh, kw, C) and kernel (kh, kw) of the same size, "
            f"got {w.shape} and {k.shape}."
        )
    exact = w.dtype.kind in "iub" and k.dtype.kind in "iub"
    kk = k[:, :, None] if w.ndim == 3 else k
    products = np.multiply(w, kk, dtype=np.int64 if exact else np.float64)
    return products, np.asarray(products.sum(axis=(0, 1)))


def output_size_formula(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: Padding = "valid",
    dilation_rate: int = 1,
    *,
    axis: str | None = None,
) -> str:
    """The output-size formula along one axis with the numbers substituted.

    ``"valid"`` and explicit padding show ``floor((i + 2p − k − (k−1)(d−1)) / s) + 1``;
    ``"same"`` shows ``ceil(i / s)`` and where Keras puts the zeros. ``axis`` is
    ``"rows"`` or ``"cols"`` to name the sides (top/bottom or left/right). The
    final number is :func:`~cnnwidgets.core.sizes.conv_output_size`'s; impossible
    settings raise its ``ValueError``.

    Examples
    --------
    >>> output_size_formula(28, 3)
    'o = floor((28 + 2·0 − 3 − (3−1)(1−1)) / 1) + 1 = 26'
    >>> output_size_formula(28, 3, strides=2, padding="same")
    "o = ceil(28 / 2) = 14 (Keras 'same' pads 0 top/left and 1 bottom/right)"
    """
    if axis not in _ENDS:
        raise ValueError(f"axis must be None, 'rows' or 'cols', got {axis!r}.")
    o, s, k, d, before, after = _axis(input_size, kernel_size, strides, padding, dilation_rate)
    pad = padding_mode(padding)
    if pad == "same":
        first, last = _ENDS[axis]
        return (
            f"o = ceil({input_size} / {s}) = {o} "
            f"(Keras 'same' pads {before} {first} and {after} {last})"
        )
    p = 0 if pad == "valid" else pad
    return f"o = floor(({input_size} + 2·{p} − {k} − ({k}−1)({d}−1)) / {s}) + 1 = {o}"


def conv_params_formula(
    kernel_size: int | tuple[int, int], in_channels: int, filters: int, use_bias: bool = True
) -> str:
    """``filters·kh·kw·in_channels + filters`` with the numbers substituted.

    The final number is :func:`~cnnwidgets.core.params.conv_params`'s.

    Examples
    --------
    >>> conv_params_formula(3, 32, 64)
    '64·3·3·32 + 64 = 18496'
    """
    total = conv_params(kernel_size, in_channels, filters, use_bias)
    kh, kw = pair("kernel_size", kernel_size)
    bias = f" + {filters}" if use_bias else ""
    return f"{filters}·{kh}·{kw}·{in_channels}{bias} = {total}"


@dataclass(frozen=True)
class AxisArithmetic:
    """Everything about one axis of a convolution; built by :func:`conv_arithmetic`.

    Indices in ``positions`` are padded coordinates; ``coverage`` and ``uncovered``
    index the input itself.

    Examples
    --------
    >>> rows = conv_arithmetic(6, 3, strides=2).rows
    >>> rows.positions, rows.uncovered, rows.taps(1)
    ((0, 2), (5,), (2, 3, 4))
    """

    input_size: int
    kernel_size: int
    strides: int
    padding: Padding
    dilation_rate: int
    pad_before: int
    pad_after: int
    output_size: int
    positions: tuple[int, ...]
    coverage: tuple[int, ...]
    uncovered: tuple[int, ...]
    formula: str

    @property
    def padded_size(self) -> int:
        """Input size plus the zeros on both sides."""
        return self.input_size + self.pad_before + self.pad_after

    @property
    def effective_kernel_size(self) -> int:
        """Span of the (dilated) kernel, ``k + (k−1)(d−1)``."""
        return effective_kernel_size(self.kernel_size, self.dilation_rate)

    def taps(self, index: int) -> tuple[int, ...]:
        """Padded indices read for output index ``index`` (0-based)."""
        if not 0 <= index < self.output_size:
            raise ValueError(
                f"Output index {index} is outside the output of size {self.output_size}."
            )
        start = self.positions[index]
        return tuple(start + t * self.dilation_rate for t in range(self.kernel_size))


@dataclass(frozen=True)
class ConvArithmetic:
    """The arithmetic of a 2-D convolution: one :class:`AxisArithmetic` per axis.

    Examples
    --------
    >>> geo = conv_arithmetic((6, 7), 3, strides=2)
    >>> geo.output_size, geo.rows.uncovered, geo.cols.uncovered
    ((2, 3), (5,), ())
    """

    rows: AxisArithmetic
    cols: AxisArithmetic

    @property
    def output_size(self) -> tuple[int, int]:
        """Spatial output size ``(height, width)``."""
        return self.rows.output_size, self.cols.output_size

    @property
    def padded_size(self) -> tuple[int, int]:
        """Padded input size ``(height, width)``."""
        return self.rows.padded_size, self.cols.padded_size

    @property
    def coverage(self) -> np.ndarray:
        """Reads per input cell, ``(H, W)``: the axes are independent, so an outer product."""
        return np.outer(self.rows.coverage, self.cols.coverage)

    @property
    def formula(self) -> str:
        """The size formula: one line if both axes do the same sums, else one per axis."""
        r, c = self.rows, self.cols
        settings = (r.input_size, r.kernel_size, r.strides, r.padding, r.dilation_rate)
        if settings == (c.input_size, c.kernel_size, c.strides, c.padding, c.dilation_rate):
            return output_size_formula(*settings)
        return f"rows: {r.formula}\ncols: {c.formula}"


def _axis_arithmetic(i: int, k: int, s: int, padding: Padding, d: int, axis: str) -> AxisArithmetic:
    counts = coverage(i, k, s, padding, d)
    before, after = padding_amounts(i, k, s, padding, d)
    return AxisArithmetic(
        input_size=i,
        kernel_size=k,
        strides=s,
        padding=padding,
        dilation_rate=d,
        pad_before=before,
        pad_after=after,
        output_size=conv_output_size(i, k, s, padding, d),
        positions=tuple(kernel_positions(i, k, s, padding, d)),
        coverage=tuple(counts.tolist()),
        uncovered=tuple(np.flatnonzero(counts == 0).tolist()),
        formula=output_size_formula(i, k, s, padding, d, axis=axis),
    )


def conv_arithmetic(
    input_size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | tuple[int, int] = 1,
) -> ConvArithmetic:
    """Positions, padding, unread cells and size formulas of a conv layer, per axis.

    Arguments are Keras's; ints mean the same value for rows and columns.
    Impossible settings raise the ``ValueError`` of
    :func:`~cnnwidgets.core.sizes.conv_output_size`.

    Examples
    --------
    >>> geo = conv_arithmetic(28, 3, padding="same")
    >>> geo.output_size, (geo.rows.pad_before, geo.rows.pad_after)
    ((28, 28), (1, 1))
    >>> print(conv_arithmetic((6, 7), 3, strides=2).formula)
    rows: o = floor((6 + 2·0 − 3 − (3−1)(1−1)) / 2) + 1 = 2
    cols: o = floor((7 + 2·0 − 3 − (3−1)(1−1)) / 2) + 1 = 3
    """
    pad = padding_mode(padding)
    ih, iw = pair("input_size", input_size)
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    # Check both axes together first so the message is conv_output_size's, whichever axis fails.
    conv_output_size((ih, iw), (kh, kw), (sh, sw), pad, (dh, dw))
    return ConvArithmetic(
        rows=_axis_arithmetic(ih, kh, sh, pad, dh, "rows"),
        cols=_axis_arithmetic(iw, kw, sw, pad, dw, "cols"),
    )
