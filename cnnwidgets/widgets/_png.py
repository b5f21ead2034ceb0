"""A fast PNG writer for uint8 arrays, so widgets can send pictures through ipywidgets.Image."""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png", "upscale"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types by number of channels: gray, RGB, RGBA.
_COLOUR_TYPE = {1: 0, 3: 2, 4: 6}
_FILTER_NONE, _FILTER_UP = 0, 2


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(array: np.ndarray, *, compress: bool = True) -> bytes:
    """Encode a ``uint8`` array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` as PNG bytes.

    Tuned for speed over size, because a widget re-encodes at every slider move:
    every row uses PNG's "Up" filter (the difference to the row above, which is
    mostly small numbers on photos and zeros on flat areas) and zlib compresses
    with Huffman coding only, skipping the slow search for repeated strings. A
    512x512 RGB photo takes about 6-9 ms, against about 20 ms with PIL.

    ``compress=False`` stores the rows as they are (about 1 ms at 512x512 RGB,
    for 1.3-1.7 times the bytes): for big pictures redrawn at every move, where
    the time matters more than the size.

    Examples
    --------
    >>> encode_png(np.zeros((2, 3), dtype=np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"encode_png takes a uint8 array, got {a.dtype}; convert with to_rgb8.")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOUR_TYPE:
        raise ValueError(
            f"encode_png takes a (H, W), (H, W, 3) or (H, W, 4) array, got shape {np.shape(array)}."
        )
    height, width, channels = a.shape
    if height == 0 or width == 0:
        raise ValueError(f"Cannot encode an empty image of shape {np.shape(array)}.")
    rows = np.empty((height, 1 + width * channels), dtype=np.uint8)
    flat = a.reshape(height, width * channels)
    if compress:
        rows[:, 0] = _FILTER_UP
        rows[0, 1:] = flat[0]  # the row above the first row counts as zeros
        # uint8 arithmetic wraps modulo 256, which is exactly what the Up filter stores.
        np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])
        compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_HUFFMAN_ONLY)
    else:
        rows[:, 0] = _FILTER_NONE
        rows[:, 1:] = flat
        compressor = zlib.compressobj(0)
    idat = compressor.compress(rows.data) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPE[channels], 0, 0, 0)
    return b"".join(
        (_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", idat), _chunk(b"IEND", b""))
    )


def upscale(array: np.ndarray, factor: int) -> np.ndarray:
    """Repeat every pixel ``factor`` times along both axes (nearest neighbour).

    Browsers smooth an image drawn larger than its size, which blurs a 5x5 grid
    or a pooled map into a smear; sending the enlarged pixels keeps them crisp.

    Examples
    --------
    >>> upscale(np.array([[1, 2]], dtype=np.uint8), 2).tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2]]
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a whole number >= 1, got {factor!r}.")
    a = np.asarray(array)
    if factor == 1:
        return a
    return np.repeat(np.repeat(a, factor, axis=0), factor, axis=1)
