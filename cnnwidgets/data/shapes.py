"""A generated colour image set: circles, squares, triangles and crosses on noisy backgrounds."""

from __future__ import annotations

import numpy as np

__all__: list[str] = []  # internal: use cnnwidgets.data.load_dataset("shapes")

SHAPE_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
IMAGE_SIZE = 32


def shapes_uint8(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` images ``uint8`` ``(n, 32, 32, 3)`` and labels ``int64`` ``(n,)``.

    Every draw comes from one generator seeded by ``seed``, so the same seed gives the
    same images. Classes are balanced (counts differ by at most one). Each image has a
    random dark background colour with a soft gradient and pixel noise, and one shape of
    a random light colour, size (about 10 to 25 pixels across), position and rotation;
    edges are anti-aliased so a network cannot key on jagged corners.

    Examples
    --------
    >>> X, y = shapes_uint8(8, seed=1)
    >>> X.shape, X.dtype, np.bincount(y).tolist()
    ((8, 32, 32, 3), dtype('uint8'), [2, 2, 2, 2])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of images, got {n!r}.")
    rng = np.random.default_rng(seed)
    k = len(SHAPE_NAMES)
    y = rng.permutation(np.arange(n) % k).astype(np.int64)

    r = rng.uniform(5.0, 10.0, n)  # the shape's "radius" in pixels
    reach = 1.25 * r  # farthest any shape reaches from its centre (the triangle's corners)
    cx = rng.uniform(reach + 0.5, IMAGE_SIZE - 0.5 - reach)
    cy = rng.uniform(reach + 0.5, IMAGE_SIZE - 0.5 - reach)
    theta = rng.uniform(0.0, 2 * np.pi, n)

    centres = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
    dx = centres[None, None, :] - cx[:, None, None].astype(np.float32)
    dy = centres[None, :, None] - cy[:, None, None].astype(np.float32)
    cos = np.cos(theta).astype(np.float32)[:, None, None]
    sin = np.sin(theta).astype(np.float32)[:, None, None]
    u, v = dx * cos + dy * sin, dy * cos - dx * sin  # pixel positions in the shape's frame
    rr = r.astype(np.float32)[:, None, None]
    dist = np.choose(y[:, None, None], _signed_distances(u, v, rr))  # < 0 inside the shape

    # Coverage of each pixel by the shape: a one-pixel linear ramp across the edge.
    alpha = np.clip(0.5 - dist, 0.0, 1.0)[..., None]

    # A light shape on a dark background, both of random hue. Every channel keeps the
    # same sign of contrast: with either sign allowed a small CNN needs many more
    # images to learn edge detectors for both, and learns the set far more slowly.
    background = rng.uniform(0.0, 0.4, (n, 3)).astype(np.float32)
    colour = rng.uniform(0.6, 1.0, (n, 3)).astype(np.float32)

    slope = rng.uniform(0.0, 2 * np.pi, n)
    strength = rng.uniform(0.0, 0.3, n) / IMAGE_SIZE
    ramp = (np.cos(slope) * strength).astype(np.float32)[:, None, None] * dx
    ramp = ramp + (np.sin(slope) * strength).astype(np.float32)[:, None, None] * dy
    # In-place from here: the arrays are n x 32 x 32 x 3 and temporaries cost time.
    image = np.broadcast_to(background[:, None, None, :], alpha.shape[:3] + (3,)).copy()
    image += ramp[..., None]
    image += alpha * (colour[:, None, None, :] - image)
    image += np.float32(0.04) * rng.standard_normal(image.shape, dtype=np.float32)
    np.clip(image, 0.0, 1.0, out=image)
    image *= 255
    X = np.rint(image, out=image).astype(np.uint8)
    return X, y


def _signed_distances(
    u: np.ndarray, v: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Approximate signed distance in pixels to each shape, in the order of SHAPE_NAMES."""
    au, av = np.abs(u), np.abs(v)
    circle = np.sqrt(u * u + v * v) - r
    square = np.maximum(au, av) - 0.85 * r  # half-side 0.85 r: about the circle's area
    # An equilateral triangle of circumradius 1.25 r is three half-planes at the inradius.
    angles = np.arange(3) * (2 * np.pi / 3)
    triangle = (
        np.max([np.cos(a) * u + np.sin(a) * v for a in angles.astype(np.float32)], axis=0)
        - 0.625 * r
    )
    arm, half_width = r, 0.35 * r
    cross = np.minimum(np.maximum(au - arm, av - half_width), np.maximum(au - half_width, av - arm))
    return circle, square, triangle, cross
