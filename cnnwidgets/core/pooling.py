"""Max and average pooling as Keras computes them, and which cell wins each window."""

from __future__ import annotations

import numpy as np

from ._validate import padding_mode, pair
from .sizes import padding_amounts, pool_output_size

__all__ = ["pool2d", "pool_winners"]


def _prepare(
    x: object,
    pool_size: int | tuple[int, int],
    strides: int | tuple[int, int] | None,
    padding: str,
):
    arr = np.asarray(x)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"x must be (height, width) or (height, width, channels), got shape {arr.shape}."
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"x must hold numbers, got an array of {arr.dtype}.")
    pad = padding_mode(padding)
    kh, kw = pair("pool_size", pool_size)
    sh, sw = (kh, kw) if strides is None else pair("strides", strides)
    oh, ow = pool_output_size(arr.shape[:2], (kh, kw), (sh, sw), padding)
    top, bottom = padding_amounts(arr.shape[0], kh, sh, pad)
    left, right = padding_amounts(arr.shape[1], kw, sw, pad)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
    return arr, (kh, kw), (sh, sw), (oh, ow), widths


def _windows(xp: np.ndarray, pool, strides, out):
    (kh, kw), (sh, sw), (oh, ow) = pool, strides, out
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw]


def pool2d(
    x: np.ndarray,
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    mode: str = "max",
) -> np.ndarray:
    """Pool an ``(H, W)`` or ``(H, W, C)`` array channel by channel.

    ``mode="max"`` keeps the largest value of each window (nothing is averaged);
    ``mode="avg"`` takes the mean. With ``padding="same"`` the padded cells are
    ignored, as in Keras: they never win a max and do not count in an average.

    Examples
    --------
    >>> x = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]])
    >>> pool2d(x).tolist()
    [[4, 2], [2, 8]]
    >>> pool2d(x, mode="avg").tolist()
    [[2.5, 1.0], [1.25, 6.5]]
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}.")
    arr, pool, strides_, out_hw, widths = _prepare(x, pool_size, strides, padding)
    if mode == "max":
        fill = -np.inf if np.issubdtype(arr.dtype, np.floating) else np.iinfo(np.int64).min
        work = arr.astype(np.float64 if np.issubdtype(arr.dtype, np.floating) else np.int64)
        xp = np.pad(work, widths, constant_values=fill)
        windows = (w for _, _, w in _windows(xp, pool, strides_, out_hw))
        out = next(windows).copy()  # a window has at least one cell
        for w in windows:
            out = np.maximum(out, w)
        return out.astype(arr.dtype) if arr.dtype != np.bool_ else out.astype(bool)
    work = arr.astype(np.result_type(arr.dtype, np.float32))
    xp = np.pad(work, widths)
    ones = np.pad(np.ones(arr.shape[:2], dtype=work.dtype), widths[:2])
    total = np.zeros(out_hw + arr.shape[2:], dtype=work.dtype)
    count = np.zeros(out_hw, dtype=work.dtype)
    for (_, _, w), (_, _, c) in zip(
        _windows(xp, pool, strides_, out_hw), _windows(ones, pool, strides_, out_hw), strict=True
    ):
        total += w
        count += c
    if arr.ndim == 3:
        count = count[:, :, None]
    return total / count


def pool_winners(
    x: np.ndarray,
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """Input ``(row, col)`` of the cell that wins each max-pooling window of a 2-D array.

    Returns an int array of shape ``(oh, ow, 2)``; ties go to the first cell in
    reading order. Rows/columns that no window covers never win.

    Examples
    --------
    >>> x = np.array([[1, 3], [4, 2]])
    >>> pool_winners(x)[0, 0].tolist()
    [1, 0]
    """
    arr, pool, strides_, (oh, ow), widths = _prepare(x, pool_size, strides, padding)
    if arr.ndim != 2:
        raise ValueError("pool_winners takes one channel: pass x[:, :, c].")
    xp = np.pad(arr.astype(np.float64), widths, constant_values=-np.inf)
    best = np.full((oh, ow), -np.inf)
    where = np.zeros((oh, ow, 2), dtype=np.int64)
    top, left = widths[0][0], widths[1][0]
    rows = np.arange(oh)[:, None] * strides_[0]
    cols = np.arange(ow)[None, :] * strides_[1]
    for i, j, w in _windows(xp, pool, strides_, (oh, ow)):
        better = w > best
        best = np.where(better, w, best)
        where[..., 0] = np.where(better, rows + i - top, where[..., 0])
        where[..., 1] = np.where(better, cols + j - left, where[..., 1])
    return where
