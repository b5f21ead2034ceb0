"""Helpers the widgets share: loading a picture, number grids in HTML, image panels, markers."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from contextlib import contextmanager

import ipywidgets as W
import numpy as np

from ..core.arithmetic import kernel_positions
from ..core.sizes import padding_amounts
from ._png import encode_png

# Pictures redrawn at every control move are sent uncompressed above this many
# bytes: Huffman coding a 512x512 RGB map costs 6-9 ms (half the time budget of
# a recompute) for 1.3-1.7x fewer bytes; at 256x256 it costs about 2 ms.
_LIVE_COMPRESS_LIMIT = 256 * 256 * 3

# A photo redrawn at every move goes as JPEG above this many bytes: a 5x5 grid of
# 160 px photos is 1.9 MB as PNG (2.6 MB of base64 in a notebook saved with its
# widget state) and 0.15 MB as JPEG, which also encodes faster (3.5 ms against 23 ms).
_JPEG_LIMIT = 512 * 1024
_JPEG_QUALITY = 90

PIXELATED = "cnnw-pixelated"
# Browsers smooth images drawn larger than their pixels (zoom, HiDPI screens);
# "pixelated" keeps grid cells and pooled pixels as crisp squares.
STYLE = f"<style>.{PIXELATED} {{ image-rendering: pixelated; }}</style>"

# Marker around the selected window: a yellow ring inside a black one, so it
# shows on dark photos, light photos and the white of the diverging scale.
_RING_COLOURS = ((255, 215, 0), (0, 0, 0))

# Cell colours of the HTML grids.
PAD_STYLE = "background:#eeeeee;color:#999999;"
UNCOVERED_STYLE = "background:#d9d9d9;color:#8c8c8c;text-decoration:line-through;"
SELECTED_STYLE = "background:#ffe680;"
ERROR_STYLE = "color:#b2182b;"


def load_picture(image: object, *, photo: str, size: int | None) -> np.ndarray:
    """The picture a widget works on: RGB ``float32`` values in 0..255, shape ``(H, W, 3)``.

    ``image`` may be an array ``(H, W)``, ``(H, W, 1|3|4)`` (uint8, or floats in
    0..1 which are scaled to 0..255, used as they are), a path to an image file,
    or None for the sample photo ``photo``; files and photos are loaded with
    :func:`cnnwidgets.data.load_photo` at ``size`` x ``size`` pixels.
    """
    if image is None or isinstance(image, (str, os.PathLike)):
        from ..data import load_photo  # lazy: only the photo views need the data sets

        arr = np.asarray(load_photo(photo if image is None else image, size=size))
    else:
        arr = np.asarray(image)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"image must hold numbers, got an array of {arr.dtype}.")
    if arr.ndim == 3 and arr.shape[2] in (1, 4):
        arr = arr[:, :, :1] if arr.shape[2] == 1 else arr[:, :, :3]
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3) or 0 in arr.shape:
        raise ValueError(
            f"image must be (height, width) or (height, width, 3), got shape {np.shape(image)}."
        )
    x = arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.floating) and x.size and float(x.max()) <= 1.0:
        x *= 255.0  # skimage-style floats in 0..1
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    return np.ascontiguousarray(x)


def fmt_number(value: object) -> str:
    """A number for a grid cell: whole numbers without decimals, others rounded to 2 places."""
    v = float(value)
    if v.is_integer():
        return str(int(v))
    if abs(v) < 0.1:
        return f"{v:.3g}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def matrix_html(
    values: np.ndarray,
    styles: list[list[str]] | None = None,
    *,
    fmt=fmt_number,
) -> str:
    """A small bordered table of numbers; ``styles[i][j]`` adds CSS to cell ``(i, j)``."""
    rows = []
    for i, row in enumerate(np.asarray(values)):
        cells = []
        for j, v in enumerate(row):
            extra = styles[i][j] if styles is not None else ""
            cells.append(
                '<td style="border:1px solid #bbbbbb;padding:2px 6px;min-width:2em;'
                f'text-align:right;font-family:monospace;{extra}">{fmt(v)}</td>'
            )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table style="border-collapse:collapse;margin:2px">{"".join(rows)}</table>'


def pre_html(text: str) -> str:
    """Code in a ``<pre>`` block, escaped."""
    return (
        '<pre style="font-size:12px;line-height:1.35;background:#f7f7f7;padding:6px;'
        f'margin:0">{html.escape(text)}</pre>'
    )


def image_panel() -> W.Image:
    """An empty PNG ``Image`` drawn at its pixel size, without smoothing."""
    img = W.Image(format="png")
    img.add_class(PIXELATED)
    return img


def png_live(pixels: np.ndarray) -> bytes:
    """PNG bytes of a picture that is redrawn at every move (see ``_LIVE_COMPRESS_LIMIT``)."""
    return encode_png(pixels, compress=pixels.size <= _LIVE_COMPRESS_LIMIT)


def show_live_photo(image: W.Image, pixels: np.ndarray) -> None:
    """Draw a photo that is redrawn at every move: PNG up to ``_JPEG_LIMIT`` bytes, else JPEG.

    JPEG only for photos: enlarged pixels (small data-set images) must stay crisp PNG.
    """
    if pixels.nbytes <= _JPEG_LIMIT:
        value, fmt = png_live(pixels), "png"
    else:
        import io

        from PIL import Image  # lazy: only big photos need it

        buffer = io.BytesIO()
        flat = pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
        Image.fromarray(flat).save(buffer, format="jpeg", quality=_JPEG_QUALITY)
        value, fmt = buffer.getvalue(), "jpeg"
    with image.hold_sync():
        image.format = fmt
        image.value = value


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """``uint8`` ``(H, W)`` → ``(H, W, 3)``, so a coloured marker can be drawn on it."""
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    return pixels


def fit_factor(shape: tuple[int, ...], target: int) -> int:
    """The whole-number enlargement that brings the longer side closest to ``target`` from below."""
    return max(1, target // max(1, max(shape[:2])))


def mark_box(rgb: np.ndarray, top: int, left: int, height: int, width: int) -> None:
    """Draw, in place, two rings just outside the box ``[top, top+height) x [left, left+width)``.

    Parts outside the picture are clipped, so a window in the padding still shows.
    """
    h, w = rgb.shape[:2]
    for gap, colour in enumerate(_RING_COLOURS, start=1):
        t, b = top - gap, top + height - 1 + gap
        lft, rgt = left - gap, left + width - 1 + gap
        c0, c1 = max(lft, 0), min(rgt, w - 1)
        r0, r1 = max(t, 0), min(b, h - 1)
        for r in (t, b):
            if 0 <= r < h and c0 <= c1:
                rgb[r, c0 : c1 + 1] = colour
        for c in (lft, rgt):
            if 0 <= c < w and r0 <= r1:
                rgb[r0 : r1 + 1, c] = colour


def shape_text(shape: tuple[int, ...]) -> str:
    """``(28, 28, 3)`` → ``'28×28×3'``."""
    return "×".join(str(n) for n in shape)


def position_slider(owner: W.Widget, name: str, description: str) -> W.IntSlider:
    """A slider that sets ``owner.<name>`` (an output row or column); see :func:`follow_output`."""
    slider = W.IntSlider(description=description, min=0, max=0, style={"description_width": "80px"})
    # Not a traitlets link: a slider clamps a value above its max, after which a
    # link leaves slider and trait disagreeing. follow_output sets max first.
    slider.observe(lambda change: setattr(owner, name, change["new"]), "value")
    return slider


def follow_output(owner: W.Widget, sliders: dict[str, W.IntSlider], shape: tuple[int, int]) -> None:
    """Clamp ``owner.row`` / ``owner.col`` into an output of ``shape``; set the sliders to match."""
    for (name, slider), n in zip(sliders.items(), shape, strict=True):
        if getattr(owner, name) > n - 1:
            setattr(owner, name, n - 1)
        slider.max = n - 1
        slider.value = getattr(owner, name)


def window_start(input_size: int, kernel_size: int, strides: int, padding: str, index: int) -> int:
    """Input index where window ``index`` starts along one axis; negative inside the padding."""
    before, _ = padding_amounts(input_size, kernel_size, strides, padding)
    return kernel_positions(input_size, kernel_size, strides, padding)[index] - before


YOUR_IMAGE = "your image"


def link_photo_choice(owner: W.Widget, dropdown: W.Dropdown, own_image: object) -> None:
    """Fill the photo dropdown and link it to ``owner.photo``; disable it for the user's image."""
    if own_image is None:
        from ..data import PHOTO_NAMES  # lazy: views of numbers alone need no data sets

        dropdown.options = list(PHOTO_NAMES)
        W.link((owner, "photo"), (dropdown, "value"))
    else:
        dropdown.options = [YOUR_IMAGE]
        dropdown.disabled = True


@contextmanager
def quiet_updates(owner: W.Widget) -> Iterator[None]:
    """Within this block ``owner._busy`` is set, so control/trait echoes do not recompute."""
    owner._busy = True
    try:
        yield
    finally:
        owner._busy = False
