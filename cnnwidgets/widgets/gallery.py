"""Show arrays as pictures: one image, or a captioned row/grid of them."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as W
import numpy as np

from ..core.display import to_rgb8
from ._png import encode_png

__all__ = ["show_image", "show_images"]


def _enlarge(pixels: np.ndarray, width: int) -> np.ndarray:
    # Browsers smooth small images when they scale them up, which blurs an 8x8
    # digit into a smudge; repeating pixels here keeps every cell crisp.
    factor = max(1, width // max(pixels.shape[:2]))
    if factor == 1:
        return pixels
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)


def show_image(image: np.ndarray, *, width: int = 160, signed: bool | None = None) -> W.Image:
    """A picture of a 2-D map or an RGB image; signed maps use a blue–white–red scale.

    Examples
    --------
    >>> show_image(np.eye(8) * 255).format
    'png'
    """
    pixels = _enlarge(to_rgb8(np.asarray(image), signed=signed), width)
    return W.Image(value=encode_png(pixels), format="png", layout=W.Layout(width=f"{width}px"))


def show_images(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    columns: int = 8,
    width: int = 96,
    signed: bool | None = None,
) -> W.GridBox:
    """A grid of captioned pictures, ``columns`` per row.

    Examples
    --------
    >>> grid = show_images([np.zeros((4, 4)), np.ones((4, 4))], ["zeros", "ones"])
    >>> len(grid.children)
    2
    """
    items = list(images)
    names = list(titles) if titles is not None else [""] * len(items)
    if len(names) != len(items):
        raise ValueError(f"Got {len(items)} images but {len(names)} titles.")
    cells = [
        W.VBox(
            [show_image(img, width=width, signed=signed), W.HTML(f"<small>{name}</small>")],
            layout=W.Layout(align_items="center"),
        )
        for img, name in zip(items, names, strict=True)
    ]
    return W.GridBox(
        cells,
        layout=W.Layout(grid_template_columns=f"repeat({columns}, {width + 8}px)", grid_gap="4px"),
    )
