"""Feature maps and filters as one picture: an (H, W, C) block tiled into a grid."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["filter_grid", "grid_shape", "normalize_maps", "tile_maps"]

NORMALIZE = ("each", "all")


def grid_shape(n: int, columns: int | None = None) -> tuple[int, int]:
    """``(rows, columns)`` of a grid holding ``n`` pictures, filled row by row.

    By default the columns are the smallest power of two whose square holds
    ``n``: 32 maps → 8 x 4, 64 → 8 x 8, 10 → 4 x 3. Conv layers have 16, 32,
    64 ... filters, so their grids come out full and nearly square.

    Examples
    --------
    >>> grid_shape(32), grid_shape(64), grid_shape(10), grid_shape(10, columns=5)
    ((4, 8), (8, 8), (3, 4), (2, 5))
    """
    n = _count("n", n, low=1)
    if columns is None:
        cols = 1
        while cols * cols < n:
            cols *= 2
        cols = min(cols, n)
    else:
        cols = min(_count("columns", columns, low=1), n)
    return -(-n // cols), cols


def _count(name: str, value: object, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}.")
    return int(value)


def _as_maps(maps: object) -> np.ndarray:
    m = np.asarray(maps)
    given = m.shape
    if m.ndim == 4 and m.shape[0] == 1:  # what a model returns for a batch of one image
        m = m[0]
    if m.ndim == 2:
        m = m[:, :, None]
    if m.ndim != 3 or 0 in m.shape:
        raise ValueError(
            "maps must be one layer's activations (height, width, channels), or a batch of "
            f"one image (1, height, width, channels); got shape {given}."
        )
    if not (np.issubdtype(m.dtype, np.number) or m.dtype == np.bool_):
        raise ValueError(f"maps must hold numbers, got an array of {m.dtype}.")
    return m


def normalize_maps(maps: np.ndarray, normalize: str | None = "each") -> np.ndarray:
    """Scale feature maps to 0..1 for display: float32 ``(H, W, C)``.

    - ``"each"``: every map stretched over its own range, so even a weak map shows its pattern;
    - ``"all"``: one range for the whole block, so weak and strong maps can be compared
      (a map that is 0 everywhere, a "dead" ReLU, stays black);
    - ``None``: the values as they are.

    A map with a single value has no pattern and comes out 0. Values that are
    not numbers (``nan``, ``inf``) count as 0.

    Examples
    --------
    >>> m = np.stack([np.array([[0.0, 2.0]]), np.array([[0.0, 1.0]])], axis=-1)
    >>> normalize_maps(m, "each")[0].T.tolist(), normalize_maps(m, "all")[0].T.tolist()
    ([[0.0, 1.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 0.5]])
    """
    m = _as_maps(maps).astype(np.float32)
    if not np.isfinite(m).all():
        m = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0)
    if normalize is None:
        return m
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be 'each', 'all' or None, got {normalize!r}.")
    axes = (0, 1) if normalize == "each" else None
    lo = m.min(axis=axes, keepdims=True)
    span = m.max(axis=axes, keepdims=True) - lo
    # A flat map would divide by zero; its pixels are all at the low end anyway.
    return (m - lo) / np.where(span > 0, span, 1.0)


def _tile(cells: np.ndarray, columns: int | None, separator: int, fill: float) -> np.ndarray:
    # cells: (n, h, w) or (n, h, w, 3). Each cell gets `separator` pixels of fill
    # below and to its right, the grid is made with one reshape, then the
    # separator after the last row and column is cut off.
    n, h, w = cells.shape[:3]
    rows, cols = grid_shape(n, columns)
    sep = _count("separator", separator, low=0)
    extra = cells.shape[3:]
    padded = np.full((rows * cols, h + sep, w + sep, *extra), fill, dtype=np.float32)
    padded[:n, :h, :w] = cells
    grid = padded.reshape(rows, cols, h + sep, w + sep, *extra).swapaxes(1, 2)
    grid = grid.reshape(rows * (h + sep), cols * (w + sep), *extra)
    return grid[: rows * (h + sep) - sep, : cols * (w + sep) - sep]


def tile_maps(
    maps: np.ndarray,
    columns: int | None = None,
    normalize: str | None = "each",
    *,
    separator: int = 1,
    fill: float = 1.0,
) -> np.ndarray:
    """All feature maps of one layer as one 2-D picture: a grid of maps, row by row.

    ``maps`` is a layer's output for one image, ``(H, W, C)`` (a batch of one,
    ``(1, H, W, C)``, is accepted too). Each map is scaled to 0..1 by
    :func:`normalize_maps`; maps are ``separator`` pixels apart, and the
    separators and empty cells hold ``fill`` (1.0: white lines on a gray picture;
    ``np.nan`` lets a display colour them apart). The grid is
    :func:`grid_shape` ``(C, columns)``.

    Examples
    --------
    >>> tile = tile_maps(np.ones((14, 14, 32)))
    >>> tile.shape  # 4 rows and 8 columns of 14x14 maps, 1 pixel apart
    (59, 119)
    >>> two = np.array([[[0.0, 0.0], [4.0, 2.0]]])  # one row of 2 pixels, 2 maps
    >>> tile_maps(two).tolist(), tile_maps(two, normalize="all").tolist()
    ([[0.0, 1.0, 1.0, 0.0, 1.0]], [[0.0, 1.0, 1.0, 0.0, 0.5]])
    """
    m = normalize_maps(maps, normalize)
    return _tile(np.moveaxis(m, 2, 0), columns, separator, fill)


def filter_grid(
    kernel: np.ndarray,
    columns: int | None = None,
    *,
    separator: int = 1,
    fill: float | None = None,
) -> np.ndarray:
    """A conv layer's filters as one picture: ``kernel`` is ``(kh, kw, in_channels, filters)``.

    That is the shape of ``layer.get_weights()[0]`` for a Keras ``Conv2D``.

    - With 3 input channels (a first layer on colour images) each filter is an
      RGB tile: the result is ``(H, W, 3)`` in 0..1, all filters scaled together
      (their lowest weight black, highest white). ``fill`` defaults to 1.0.
    - Otherwise each filter is one signed tile, averaged over its input channels
      (a first layer on grayscale images has only one): the result is ``(H, W)``
      in -1..1, divided by the largest absolute weight so that 0 stays 0 — show
      it on a diverging scale (blue < 0 < red). ``fill`` defaults to 0.0.

    Examples
    --------
    >>> kernel = np.zeros((3, 3, 1, 32))
    >>> kernel[1, 1, 0, 0] = -2.0
    >>> grid = filter_grid(kernel)
    >>> grid.shape, float(grid.min())
    ((15, 31), -1.0)
    >>> filter_grid(np.ones((5, 5, 3, 16))).shape
    (23, 23, 3)
    """
    k = np.asarray(kernel, dtype=np.float32)
    if k.ndim != 4 or 0 in k.shape:
        raise ValueError(
            "kernel must be a Conv2D kernel (kernel_height, kernel_width, in_channels, filters), "
            f"got shape {np.shape(kernel)}."
        )
    k = np.nan_to_num(k, nan=0.0, posinf=0.0, neginf=0.0)
    if k.shape[2] == 3:
        lo, hi = float(k.min()), float(k.max())
        rgb = (k - lo) / (hi - lo) if hi > lo else np.zeros_like(k)
        cells = np.moveaxis(rgb, 3, 0)  # (filters, kh, kw, 3)
        return _tile(cells, columns, separator, 1.0 if fill is None else fill)
    mean = k.mean(axis=2)
    limit = float(np.abs(mean).max())
    signed = mean / limit if limit > 0 else mean
    return _tile(np.moveaxis(signed, 2, 0), columns, separator, 0.0 if fill is None else fill)
