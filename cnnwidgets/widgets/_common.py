"""Helpers the widgets share: loading a picture, number grids in HTML, image panels, markers."""

from __future__ import annotations

import html
import os

import ipywidgets as W
import numpy as np

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
ROW = "cnnw-row"
ROOT = "cnnw"  # every widget of the kit (see _base._Widget)
GRID = "cnnw-grid"
# One style sheet for every widget, in a <style> child of each (the same rules each time):
# - browsers smooth images drawn larger than their pixels (zoom, HiDPI screens);
#   "pixelated" keeps grid cells and pooled pixels as crisp squares;
# - a row of controls wraps a control to the next line whole, never squeezing it (a slider
#   squashed to a dot, a button whose label is cut to "graysc…");
# - number grids share their cell style, so a grid redrawn at every move is short HTML.
STYLE = (
    "<style>"
    f".{PIXELATED} {{ image-rendering: pixelated; }}"
    f".{ROW} {{ flex-wrap: wrap; align-items: center; gap: 2px 12px; }}"
    f".{ROW} > * {{ flex: 0 0 auto; margin-left: 0; margin-right: 0; }}"
    # A slider's readout keeps its text ("−0.20 – 0.20"); the track gives way instead.
    f".{ROOT} .widget-readout {{ flex-shrink: 0; }}"
    # ipywidgets 8 puts toggle buttons on the line under their description: beside it.
    f".{ROOT} .widget-toggle-buttons {{ display: flex; align-items: center; }}"
    f"table.{GRID} {{ border-collapse: collapse; margin: 2px; }}"
    f"table.{GRID} td {{ border: 1px solid #bbbbbb; padding: 2px 6px; min-width: 2em; "
    "text-align: right; font-family: monospace; }"
    "</style>"
)

# Marker around the selected window: a yellow ring inside a black one, so it
# shows on dark photos, light photos and the white of the diverging scale.
_RING_COLOURS = ((255, 215, 0), (0, 0, 0))

# The look of a number grid's cell (see matrix_html), and the cell colours.
_CELL_CSS = (
    "border:1px solid #bbbbbb;padding:2px 6px;min-width:2em;text-align:right;font-family:monospace;"
)
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
    inline: bool = True,
) -> str:
    """A small bordered table of numbers; ``styles[i][j]`` adds CSS to cell ``(i, j)``.

    With ``inline=False`` the cells' common look comes from :data:`STYLE` (which the
    widget must show): a grid redrawn at every move is then a third of the HTML.
    """
    base = "" if not inline else _CELL_CSS
    rows = []
    for i, row_values in enumerate(np.asarray(values)):
        cells = []
        for j, v in enumerate(row_values):
            css = base + (styles[i][j] if styles is not None else "")
            cells.append(f'<td style="{css}">{fmt(v)}</td>' if css else f"<td>{fmt(v)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    table = 'style="border-collapse:collapse;margin:2px"' if inline else f'class="{GRID}"'
    return f"<table {table}>{''.join(rows)}</table>"


def row(*children: W.Widget, **layout: str) -> W.HBox:
    """Controls side by side that wrap, each whole, to the next line when the notebook is narrow."""
    box = W.HBox(list(children), layout=W.Layout(**layout))
    box.add_class(ROW)
    return box


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


def marker_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(ring, reach)`` of a window marker on a picture of ``shape``: ring thickness and the
    length of the ticks that point at it, both growing with the picture.

    A 3x3 window on a 256-pixel photo is 3 pixels wide: rings of 2 pixels and ticks of 16
    make it a target the eye finds at once (one-pixel rings alone were a dot).
    """
    side = max(shape[:2])
    return max(1, round(side / 128)), side // 16 if side >= 64 else 0


def _fill(rgb: np.ndarray, top: int, left: int, bottom: int, right: int, colour) -> None:
    # The rectangle [top, bottom] x [left, right], clipped to the picture.
    h, w = rgb.shape[:2]
    t, b, lft, rgt = max(top, 0), min(bottom, h - 1), max(left, 0), min(right, w - 1)
    if t <= b and lft <= rgt:
        rgb[t : b + 1, lft : rgt + 1] = colour


def mark_box(
    rgb: np.ndarray,
    top: int,
    left: int,
    height: int,
    width: int,
    *,
    ring: int = 1,
    reach: int = 0,
) -> None:
    """Draw, in place, a marker around the box ``[top, top+height) x [left, left+width)``.

    A yellow ring ``ring`` pixels thick just outside the box, a black one outside that
    (so it shows on dark photos, light photos and the white of the diverging scale),
    and, with ``reach``, four black-edged yellow ticks of that length pointing at the box
    from its sides. The box's own pixels are left as they are. Parts outside the picture
    are clipped, so a window in the padding still shows.
    """
    yellow, black = _RING_COLOURS
    h, w = rgb.shape[:2]
    bottom, right = top + height - 1, left + width - 1
    r0, r1, c0, c1 = max(top, 0), min(bottom + 1, h), max(left, 0), min(right + 1, w)
    inside = rgb[r0:r1, c0:c1].copy() if r0 < r1 and c0 < c1 else None
    outer = 2 * ring
    _fill(rgb, top - outer, left - outer, bottom + outer, right + outer, black)
    _fill(rgb, top - ring, left - ring, bottom + ring, right + ring, yellow)
    if inside is not None:
        rgb[r0:r1, c0:c1] = inside
    if reach:
        gap = outer + ring  # between the black ring and a tick
        mid_r = (top + bottom) // 2 - (ring - 1) // 2
        mid_c = (left + right) // 2 - (ring - 1) // 2
        ticks = [
            (top - gap - reach, mid_c, top - gap - 1, mid_c + ring - 1),  # above
            (bottom + gap + 1, mid_c, bottom + gap + reach, mid_c + ring - 1),  # below
            (mid_r, left - gap - reach, mid_r + ring - 1, left - gap - 1),  # left
            (mid_r, right + gap + 1, mid_r + ring - 1, right + gap + reach),  # right
        ]
        for t, lft, b, rgt in ticks:
            _fill(rgb, t - 1, lft - 1, b + 1, rgt + 1, black)
        for t, lft, b, rgt in ticks:
            _fill(rgb, t, lft, b, rgt, yellow)


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


YOUR_IMAGE = "your image"


def link_photo_choice(owner: W.Widget, dropdown: W.Dropdown, own_image: object) -> None:
    """Fill the photo dropdown and link it to ``owner.photo``; disable it for the user's image.

    An owner with ``_bind`` (a widget on the shared base) gets a one-way binding: its
    ``_update`` shows ``owner.photo`` on the dropdown.
    """
    if own_image is None:
        from ..data import PHOTO_NAMES  # lazy: views of numbers alone need no data sets

        dropdown.options = list(PHOTO_NAMES)
        if hasattr(owner, "_bind"):
            dropdown.value = owner.photo
            owner._bind(dropdown, "photo")
        else:
            W.link((owner, "photo"), (dropdown, "value"))
    else:
        dropdown.options = [YOUR_IMAGE]
        dropdown.disabled = True
