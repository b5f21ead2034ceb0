"""Hand-made image kernels: blur, sharpen, edges, emboss, outline."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["KERNEL_PRESETS", "preset_kernel"]

_THREE = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    # Sobel: "horizontal edges" responds to a change from top to bottom.
    "horizontal edges": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}

KERNEL_PRESETS: tuple[str, ...] = (
    "identity",
    "box blur",
    "gaussian blur",
    "sharpen",
    "horizontal edges",
    "vertical edges",
    "emboss",
    "outline",
)


def preset_kernel(name: str, size: int = 3) -> np.ndarray:
    """A named image kernel of size 3 or 5, as a float array.

    The blurs sum to 1 (brightness kept); the edge and outline kernels sum to 0
    (flat areas go to 0). For kernels defined at 3x3, the 5x5 version pads the
    3x3 one with zeros, which computes the same thing.

    Examples
    --------
    >>> preset_kernel("box blur").sum()
    np.float64(1.0)
    >>> preset_kernel("gaussian blur", 5)[2, 2] == preset_kernel("gaussian blur", 5).max()
    np.True_
    """
    # 3.0 passes ``size in (3, 5)`` and would then break np.full for the box blur.
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size not in (3, 5):
        raise ValueError(f"size must be 3 or 5, got {size!r}.")
    if not isinstance(name, str):
        raise ValueError(
            f"name must be one of the preset names ({', '.join(KERNEL_PRESETS)}), got {name!r}."
        )
    key = name.lower().replace("_", " ")
    if key == "box blur":
        return np.full((size, size), 1.0 / size**2)
    if key == "gaussian blur":
        row = np.array([1.0, 2.0, 1.0]) if size == 3 else np.array([1.0, 4.0, 6.0, 4.0, 1.0])
        k = np.outer(row, row)
        return k / k.sum()
    if key not in _THREE:
        raise ValueError(f"Unknown kernel {name!r}; choose one of: {', '.join(KERNEL_PRESETS)}.")
    k = np.array(_THREE[key], dtype=float)
    return k if size == 3 else np.pad(k, 1)
