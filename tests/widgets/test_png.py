"""Tests of the PNG writer: PIL must read back exactly the array that was written."""

import io

import numpy as np
import pytest
from PIL import Image

from cnnwidgets.widgets._png import encode_png, upscale


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return np.asarray(img)


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    "shape", [(1, 1), (5, 5), (7, 13), (64, 33), (1, 1, 3), (5, 5, 3), (31, 17, 3), (9, 4, 4)]
)
def test_round_trip(shape, compress):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    back = _decode(encode_png(a, compress=compress))
    assert back.dtype == np.uint8
    assert back.shape == a.shape
    assert np.array_equal(back, a)


def test_round_trip_photo_like_gradient():
    # Smooth rows are where the Up filter and uint8 wraparound matter.
    y, x = np.mgrid[0:50, 0:70]
    a = np.stack([(x * 4) % 256, (y * 5) % 256, (255 - x - y) % 256], axis=-1).astype(np.uint8)
    assert np.array_equal(_decode(encode_png(a)), a)
    assert np.array_equal(_decode(encode_png(a[:, :, 0])), a[:, :, 0])


def test_single_channel_axis_is_gray():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    assert np.array_equal(_decode(encode_png(a[:, :, 0])), a[:, :, 0])


def test_non_contiguous_input():
    a = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    view = a[::2, ::3]
    assert np.array_equal(_decode(encode_png(view)), view)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), dtype=np.float32),
        np.zeros((4, 4), dtype=np.int64),
        np.zeros((4, 4, 2), dtype=np.uint8),
        np.zeros((4,), dtype=np.uint8),
        np.zeros((2, 4, 4, 3), dtype=np.uint8),
        np.zeros((0, 4), dtype=np.uint8),
    ],
)
def test_rejects_bad_arrays(bad):
    with pytest.raises(ValueError):
        encode_png(bad)


def test_upscale_is_nearest_neighbour():
    a = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    big = upscale(a, 3)
    assert big.shape == (6, 6)
    assert np.array_equal(big[::3, ::3], a)
    assert np.array_equal(big[2::3, 2::3], a)
    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    assert upscale(rgb, 2).shape == (4, 6, 3)
    assert upscale(a, 1) is a
    with pytest.raises(ValueError):
        upscale(a, 0)
