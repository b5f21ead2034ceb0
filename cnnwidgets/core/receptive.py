"""Receptive fields: the input window one output pixel of a conv/pool stack depends on."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import padding_mode, pair
from .shapes import _snake
from .sizes import conv_output_size, padding_amounts, pool_output_size

__all__ = ["receptive_field_table", "receptive_window", "receptive_mask", "RECEPTIVE_LAYERS"]

RECEPTIVE_LAYERS = ("Conv2D", "MaxPooling2D", "AveragePooling2D")
# Layers that act on each position alone: the field passes through them unchanged.
_POINTWISE = ("Activation", "BatchNormalization", "Dropout", "Rescaling")


def _geometry(
    spec: dict[str, Any],
) -> tuple[tuple[int, int], tuple[int, int], str, tuple[int, int]]:
    kind = spec.get("layer")
    padding = padding_mode(spec.get("padding", "valid"))
    if not isinstance(padding, str):
        raise ValueError(f"{kind} takes padding='valid' or 'same', got {padding!r}.")
    if kind == "Conv2D":
        kernel = pair("kernel_size", spec["kernel_size"])
        return (
            kernel,
            pair("strides", spec.get("strides", 1)),
            padding,
            pair("dilation_rate", spec.get("dilation_rate", 1)),
        )
    pool = pair("pool_size", spec.get("pool_size", 2))
    strides = spec.get("strides")
    return pool, pool if strides is None else pair("strides", strides), padding, (1, 1)


def receptive_field_table(
    input_size: int | tuple[int, int], layers: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """How the receptive field grows through a stack, one row per layer.

    Each row has ``"name"``, ``"layer"``, ``"output_size"`` (rows, cols), ``"size"``
    (the field of one output pixel, in input pixels, rows and cols), ``"jump"`` (how far
    apart in the input two neighbouring outputs' fields start) and ``"start"`` (where
    output (0, 0)'s field starts; negative when it reaches into the padding).

    Going through a layer with kernel ``k`` (span ``k_eff = k + (k-1)(d-1)`` when
    dilated) and stride ``s``: ``size += (k_eff - 1) · jump`` and ``jump *= s``. So a
    3x3 convolution adds 2 pixels per layer, while every stride (a 2x2 pooling, above
    all) doubles what later layers add.

    Parameters
    ----------
    input_size : int or (rows, cols)
    layers : list of dict
        Specs as in :func:`cnnwidgets.stack_table`: ``{"layer": "Conv2D", "kernel_size":
        3, "strides": 1, "padding": "valid", "dilation_rate": 1}`` or ``{"layer":
        "MaxPooling2D", "pool_size": 2}``; activations, batch normalization and dropout
        pass the field through. Other keys (``filters``) are ignored.

    Examples
    --------
    >>> conv = {"layer": "Conv2D", "kernel_size": 3}
    >>> rows = receptive_field_table(28, [conv, conv, {"layer": "MaxPooling2D"}, conv])
    >>> [r["size"][0] for r in rows], [r["jump"][0] for r in rows]
    ([3, 5, 6, 10], [1, 1, 2, 2])
    """
    return [
        {k: v for k, v in row.items() if k != "_geometry"} for row in _trace(input_size, layers)
    ]


def _trace(input_size: int | tuple[int, int], layers: list[dict[str, Any]]) -> list[dict]:
    # receptive_field_table's rows, each with the per-axis geometry the mask traces back.
    size = list(pair("input_size", input_size))
    field, jump, start = [1, 1], [1, 1], [0, 0]
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for index, spec in enumerate(layers, start=1):
        if not isinstance(spec, dict):
            raise ValueError(f"Layer {index}: each layer is a dict, got {spec!r}.")
        kind = spec.get("layer")
        try:
            if kind in RECEPTIVE_LAYERS:
                kernel, strides, padding, dilation = _geometry(spec)
                if kind == "Conv2D":
                    out = conv_output_size(tuple(size), kernel, strides, padding, dilation)
                else:
                    out = pool_output_size(tuple(size), kernel, strides, padding)
                geometry = []
                for axis in (0, 1):
                    k_eff = kernel[axis] + (kernel[axis] - 1) * (dilation[axis] - 1)
                    before, _ = padding_amounts(
                        size[axis], kernel[axis], strides[axis], padding, dilation[axis]
                    )
                    geometry.append(
                        (size[axis], kernel[axis], strides[axis], dilation[axis], before)
                    )
                    start[axis] -= before * jump[axis]
                    field[axis] += (k_eff - 1) * jump[axis]
                    jump[axis] *= strides[axis]
                size = list(out)
            elif kind in _POINTWISE:
                geometry = []
            else:
                raise ValueError(
                    f"a receptive field is traced through {', '.join(RECEPTIVE_LAYERS)} "
                    f"(and {', '.join(_POINTWISE)}); after Flatten or Dense every output "
                    "depends on the whole input."
                )
        except ValueError as err:
            raise ValueError(f"Layer {index} ({kind}): {err}") from None
        n = counts.get(str(kind), 0)
        counts[str(kind)] = n + 1
        base = _snake(str(kind)) if n == 0 else f"{_snake(str(kind))}_{n}"  # Keras's names
        rows.append(
            {
                "name": spec.get("name", base),
                "layer": kind,
                "output_size": tuple(size),
                "size": tuple(field),
                "jump": tuple(jump),
                "start": tuple(start),
                "_geometry": geometry,
            }
        )
    return rows


def receptive_mask(
    input_size: int | tuple[int, int], layers: list[dict[str, Any]], row: int, col: int
) -> np.ndarray:
    """Which input pixels output pixel ``(row, col)`` of the stack depends on, as a bool grid.

    Traced back layer by layer: an output position reads the kernel's taps at its
    window, ``k`` of them ``d`` apart. A dilated kernel or a stride larger than the
    window leaves holes: pixels inside the field's span that no path reaches.

    Examples
    --------
    >>> dilated = [{"layer": "Conv2D", "kernel_size": 2, "dilation_rate": 2}]
    >>> receptive_mask(4, dilated, 0, 0).astype(int)
    array([[1, 0, 1, 0],
           [0, 0, 0, 0],
           [1, 0, 1, 0],
           [0, 0, 0, 0]])
    """
    size = pair("input_size", input_size)
    if not layers:
        raise ValueError("The stack has no layers: each pixel sees only itself.")
    table = _trace(size, layers)
    out = table[-1]["output_size"]
    if not (0 <= row < out[0] and 0 <= col < out[1]):
        raise ValueError(f"Output position ({row}, {col}) is outside the {out[0]}x{out[1]} output.")
    axes = []
    for axis, index in ((0, row), (1, col)):
        reached = {index}
        for entry in reversed(table):
            if not entry["_geometry"]:
                continue
            n, k, s, d, before = entry["_geometry"][axis]
            taps = {o * s - before + t * d for o in reached for t in range(k)}
            reached = {i for i in taps if 0 <= i < n}  # the padding's zeros are no input
        line = np.zeros(size[axis], dtype=bool)
        line[sorted(reached)] = True
        axes.append(line)
    return np.outer(axes[0], axes[1])


def receptive_window(
    input_size: int | tuple[int, int],
    layers: list[dict[str, Any]],
    row: int,
    col: int,
    *,
    clip: bool = True,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The input rows and columns that output pixel ``(row, col)`` of the stack depends on.

    Returns ``((top, bottom), (left, right))``, inclusive: the first and last input rows
    and columns it reads (see :func:`receptive_mask` for the holes a dilation leaves).
    With ``clip=False`` it is the field's full span from the formula, which may reach
    past the input's edges into the zeros of the padding.

    Examples
    --------
    >>> conv = {"layer": "Conv2D", "kernel_size": 3}
    >>> receptive_window(9, [conv, conv], 0, 2)  # 5x5, columns 2..6
    ((0, 4), (2, 6))
    >>> same = [{"layer": "Conv2D", "kernel_size": 3, "padding": "same"}]
    >>> receptive_window(4, same, 0, 0), receptive_window(4, same, 0, 0, clip=False)
    (((0, 1), (0, 1)), ((-1, 1), (-1, 1)))
    """
    if clip:
        mask = receptive_mask(input_size, layers, row, col)
        if not mask.any():
            raise ValueError(
                f"Output ({row}, {col}) reads only the padding's zeros: it depends on no "
                "input pixel."
            )
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))
    size = pair("input_size", input_size)
    if not layers:
        raise ValueError("The stack has no layers: each pixel sees only itself.")
    last = receptive_field_table(size, layers)[-1]
    out = last["output_size"]
    if not (0 <= row < out[0] and 0 <= col < out[1]):
        raise ValueError(f"Output position ({row}, {col}) is outside the {out[0]}x{out[1]} output.")
    window = []
    for axis, index in ((0, row), (1, col)):
        first = last["start"][axis] + index * last["jump"][axis]
        window.append((first, first + last["size"][axis] - 1))
    return window[0], window[1]
