"""Hand-made image kernels: every preset, what it sums to, and what it does to an image."""

from __future__ import annotations

import numpy as np
import pytest

import cnnwidgets.core.kernels as kernels_module
from cnnwidgets.core import KERNEL_PRESETS, conv2d, preset_kernel

from ._keras_oracle import keras_depthwise, run_doctests, small_ints

BLURS = ("box blur", "gaussian blur")
ZERO_SUM = ("horizontal edges", "vertical edges", "outline")
PADDED_FROM_3X3 = tuple(p for p in KERNEL_PRESETS if p not in BLURS)


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("name", KERNEL_PRESETS)
def test_every_preset_exists_in_both_sizes(name, size):
    k = preset_kernel(name, size)
    assert k.shape == (size, size)
    assert k.dtype == np.float64
    assert np.isfinite(k).all()
    assert np.abs(k).sum() > 0


def test_the_course_presets_are_all_there():
    assert set(KERNEL_PRESETS) == {
        "identity",
        "box blur",
        "gaussian blur",
        "sharpen",
        "horizontal edges",
        "vertical edges",
        "emboss",
        "outline",
    }


@pytest.mark.parametrize("size", [3, 5])
def test_what_each_kernel_sums_to(size):
    # The sum is what a flat (constant) area is multiplied by.
    for name in BLURS:
        assert preset_kernel(name, size).sum() == pytest.approx(1.0)
        assert (preset_kernel(name, size) > 0).all()
    for name in ZERO_SUM:
        assert preset_kernel(name, size).sum() == 0
    for name in ("sharpen", "identity", "emboss"):
        assert preset_kernel(name, size).sum() == 1


def test_blurs_are_symmetric_and_the_gaussian_peaks_in_the_middle():
    for size in (3, 5):
        for name in BLURS:
            k = preset_kernel(name, size)
            np.testing.assert_allclose(k, k.T)
            np.testing.assert_allclose(k, k[::-1, ::-1])
        g = preset_kernel("gaussian blur", size)
        assert g[size // 2, size // 2] == g.max()
        assert g[0, 0] == g.min()
    np.testing.assert_allclose(preset_kernel("gaussian blur"), np.outer([1, 2, 1], [1, 2, 1]) / 16)
    np.testing.assert_allclose(preset_kernel("box blur", 5), np.full((5, 5), 1 / 25))


def test_known_values():
    assert preset_kernel("sharpen").tolist() == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    assert preset_kernel("outline").tolist() == [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    np.testing.assert_array_equal(
        preset_kernel("vertical edges"), preset_kernel("horizontal edges").T
    )


@pytest.mark.parametrize("name", PADDED_FROM_3X3)
def test_5x5_version_computes_the_same_as_the_3x3_one(name):
    small, big = preset_kernel(name, 3), preset_kernel(name, 5)
    np.testing.assert_array_equal(big[1:4, 1:4], small)
    assert np.count_nonzero(big) == np.count_nonzero(small)  # only a ring of zeros added
    image = np.random.default_rng(0).uniform(0, 255, size=(17, 12, 3))
    np.testing.assert_allclose(
        conv2d(image, big, padding="same"), conv2d(image, small, padding="same"), atol=1e-9
    )


def test_identity_leaves_an_image_unchanged():
    image = np.random.default_rng(1).integers(0, 256, size=(9, 7, 3)).astype(float)
    for size in (3, 5):
        np.testing.assert_array_equal(
            conv2d(image, preset_kernel("identity", size), padding="same"), image
        )


def test_blur_keeps_a_flat_image_and_edge_kernels_zero_it():
    flat = np.full((8, 8), 100.0)
    for size in (3, 5):
        for name in BLURS:
            np.testing.assert_allclose(conv2d(flat, preset_kernel(name, size)), 100.0)
        for name in ZERO_SUM:
            np.testing.assert_array_equal(conv2d(flat, preset_kernel(name, size)), 0.0)
        np.testing.assert_allclose(conv2d(flat, preset_kernel("sharpen", size)), 100.0)


def test_sobel_horizontal_responds_to_a_horizontal_edge_only():
    # Dark top half, bright bottom half: a horizontal edge (brightness changes top to bottom).
    horizontal_edge = np.zeros((8, 8))
    horizontal_edge[4:] = 1.0
    vertical_edge = horizontal_edge.T.copy()  # dark left half, bright right half
    for size in (3, 5):
        h, v = preset_kernel("horizontal edges", size), preset_kernel("vertical edges", size)
        on_h = conv2d(horizontal_edge, h)
        assert np.abs(on_h).max() == 4.0  # 1 + 2 + 1 across the edge
        assert (on_h >= 0).all()  # dark to bright downwards is positive
        np.testing.assert_array_equal(conv2d(vertical_edge, h), 0.0)
        np.testing.assert_array_equal(conv2d(vertical_edge, v), on_h.T)
        np.testing.assert_array_equal(conv2d(horizontal_edge, v), 0.0)


def test_presets_on_a_colour_photo_match_keras_depthwise():
    image = small_ints((10, 9, 3), seed=3, low=0, high=9)
    for name in KERNEL_PRESETS:
        kernel = preset_kernel(name, 3)
        if name in BLURS:
            continue  # not whole numbers: compared with a tolerance below
        np.testing.assert_array_equal(
            conv2d(image, kernel, padding="same"), keras_depthwise(image, kernel, padding="same")
        )
    blur = preset_kernel("gaussian blur", 5)
    np.testing.assert_allclose(
        conv2d(image, blur, padding="same"),
        keras_depthwise(image, blur.astype(np.float32), padding="same"),
        rtol=1e-5,
    )


def test_names_are_forgiving_and_results_are_fresh_copies():
    np.testing.assert_array_equal(preset_kernel("Box_Blur"), preset_kernel("box blur"))
    np.testing.assert_array_equal(preset_kernel("SHARPEN"), preset_kernel("sharpen"))
    assert preset_kernel("outline", np.int64(5)).shape == (5, 5)
    k = preset_kernel("sharpen")
    k[:] = 0
    assert preset_kernel("sharpen")[1, 1] == 5


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("blurry",), "Unknown kernel 'blurry'; choose one of: identity, box blur"),
        (("sharpen", 4), "size must be 3 or 5, got 4"),
        (("sharpen", 7), "size must be 3 or 5"),
        (("box blur", 3.0), "size must be 3 or 5"),
        (("sharpen", True), "size must be 3 or 5"),
        ((3,), "name must be one of the preset names"),
        ((None,), "name must be one of the preset names"),
    ],
)
def test_bad_input_raises_a_readable_value_error(args, phrase):
    with pytest.raises(ValueError) as info:
        preset_kernel(*args)
    assert phrase in str(info.value)


def test_docstring_examples():
    result = run_doctests(kernels_module)
    assert result.failed == 0
    assert result.attempted >= 2
