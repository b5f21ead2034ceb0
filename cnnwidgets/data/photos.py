"""Photos to convolve and augment: scikit-image's sample images, or any image file."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

__all__ = ["PHOTO_NAMES", "load_photo"]

PHOTO_NAMES: tuple[str, ...] = (
    "astronaut",  # 512x512 colour portrait: skin, fabric, a flag
    "chelsea",  # 300x451 colour: a cat
    "coffee",  # 400x600 colour: a cup of coffee
    "camera",  # 512x512 grayscale: the cameraman
    "rocket",  # 427x640 colour: a rocket on its launch pad
    "hubble_deep_field",  # 872x1000 colour: galaxies
    "coins",  # 303x384 grayscale: coins, good for edges
    "moon",  # 512x512 grayscale: lunar surface, low contrast
    "brick",  # 512x512 grayscale: a regular texture
    "text",  # 172x448 grayscale: hand-written text
)


def load_photo(
    name: str | os.PathLike,
    *,
    size: int | tuple[int, int] | None = None,
    gray: bool = False,
) -> np.ndarray:
    """A photo as a ``uint8`` array: ``(H, W, 3)`` in colour, ``(H, W)`` with ``gray=True``.

    Parameters
    ----------
    name : str or path
        One of `PHOTO_NAMES` (scikit-image's samples, no download needed) or the path
        of any image file Pillow reads (PNG, JPEG, ...). Grayscale sources come back
        with the gray copied into three channels unless ``gray=True``; colour sources
        with ``gray=True`` are converted with the ITU-R 601 luma weights.
    size : int or (height, width), optional
        Resize to this size. The largest centred region with the target's aspect ratio
        is cut out first, so nothing is stretched; resampling uses Lanczos filtering.
        ``None`` (default) keeps the original size.
    gray : bool
        Return a 2-D grayscale image.

    Returns
    -------
    numpy.ndarray
        A fresh ``uint8`` array in 0..255 (changing it does not change later loads).

    Examples
    --------
    >>> load_photo("chelsea").shape
    (300, 451, 3)
    >>> load_photo("astronaut", size=64, gray=True).shape
    (64, 64)
    """
    image = _load(*_source(name))
    if gray and image.mode != "L":
        image = image.convert("L")
    elif not gray and image.mode != "RGB":
        image = image.convert("RGB")
    if size is not None:
        image = _fit(image, _target(size))
    return np.array(image, dtype=np.uint8)


def _source(name: str | os.PathLike) -> tuple[str, str, int]:
    """``(kind, what, stamp)``: a hashable key for the cache; the stamp sees edited files."""
    if isinstance(name, str) and name.strip().lower() in PHOTO_NAMES:
        return "sample", name.strip().lower(), 0
    path = Path(name).expanduser() if isinstance(name, (str, os.PathLike)) else None
    if path is not None and path.is_file():
        stat = path.stat()
        return "file", str(path.resolve()), stat.st_mtime_ns ^ stat.st_size
    raise ValueError(
        f"Unknown photo {name!r}; choose one of: {', '.join(PHOTO_NAMES)}, or give the path "
        "of an image file."
    )


@functools.lru_cache(maxsize=16)
def _load(kind: str, what: str, stamp: int):
    from PIL import Image

    if kind == "sample":
        import skimage.data

        array = getattr(skimage.data, what)()
        image = Image.fromarray(array)
    else:
        with Image.open(what) as opened:  # closing would free the pixels: copy them out
            image = opened.copy()
    # Modes such as "P" (palette), "RGBA" or "1" are not photos yet: make them L or RGB.
    if image.mode not in ("L", "RGB"):
        colour = image.mode in ("P", "PA") or len(image.getbands()) >= 3
        image = image.convert("RGB" if colour else "L")
    return image  # cached and shared: load_photo only ever hands out new arrays


def _target(size: int | tuple[int, int]) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in pair):
        raise ValueError(f"size must be a positive int or a (height, width) pair, got {size!r}.")
    return int(pair[0]), int(pair[1])


def _fit(image, target: tuple[int, int]):
    """Centre-crop ``image`` to the aspect ratio of ``target`` (h, w), then resize to it."""
    from PIL import Image

    height, width = target
    w, h = image.size
    if w * height > h * width:  # too wide: trim the sides
        crop_w, crop_h = max(1, round(h * width / height)), h
    else:  # too tall: trim top and bottom
        crop_w, crop_h = w, max(1, round(w * height / width))
    left, top = (w - crop_w) // 2, (h - crop_h) // 2
    # Crop first: resizing with a box would let the filter reach outside the box.
    image = image.crop((left, top, left + crop_w, top + crop_h))
    return image.resize((width, height), Image.Resampling.LANCZOS)
