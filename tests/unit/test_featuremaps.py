"""tile_maps, normalize_maps, grid_shape and filter_grid: one picture of many maps or filters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.featuremaps as featuremaps_module
from cnnwidgets.core.featuremaps import filter_grid, grid_shape, normalize_maps, tile_maps

from ._keras_oracle import FAST, run_doctests


@pytest.mark.parametrize(
    ("n", "shape"),
    [
        (1, (1, 1)),
        (2, (1, 2)),
        (3, (2, 2)),
        (8, (2, 4)),
        (10, (3, 4)),
        (16, (4, 4)),
        (32, (4, 8)),
        (64, (8, 8)),
        (128, (8, 16)),
    ],
)
def test_default_grid_is_near_square_with_power_of_two_columns(n, shape):
    assert grid_shape(n) == shape


def test_grid_shape_with_chosen_columns():
    assert grid_shape(10, columns=5) == (2, 5)
    assert grid_shape(3, columns=8) == (1, 3)  # never wider than the maps
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="columns"):
            grid_shape(4, columns=bad)
    with pytest.raises(ValueError, match="n must be"):
        grid_shape(0)


@FAST
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    c=st.integers(1, 20),
    columns=st.none() | st.integers(1, 8),
    separator=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_every_map_lands_in_its_cell_and_the_rest_is_fill(h, w, c, columns, separator, seed):
    maps = np.random.default_rng(seed).normal(size=(h, w, c)).astype(np.float32)
    tile = tile_maps(maps, columns, None, separator=separator, fill=-7.0)
    rows, cols = grid_shape(c, columns)
    assert tile.shape == (rows * (h + separator) - separator, cols * (w + separator) - separator)
    seen = np.zeros(tile.shape, dtype=bool)
    for k in range(rows * cols):
        r, q = divmod(k, cols)
        top, left = r * (h + separator), q * (w + separator)
        cell = tile[top : top + h, left : left + w]
        expected = maps[:, :, k] if k < c else np.full((h, w), -7.0)
        np.testing.assert_array_equal(cell, expected)
        seen[top : top + h, left : left + w] = True
    assert (tile[~seen] == -7.0).all()  # the separators


def test_normalize_each_stretches_every_map_all_keeps_them_comparable():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(5, 4, 3)).astype(np.float32)
    maps[:, :, 1] *= 10
    each = normalize_maps(maps, "each")
    assert each.dtype == np.float32
    np.testing.assert_allclose(each.min(axis=(0, 1)), 0.0)
    np.testing.assert_allclose(each.max(axis=(0, 1)), 1.0)
    together = normalize_maps(maps, "all")
    assert together.min() == 0.0 and together.max() == pytest.approx(1.0)
    np.testing.assert_allclose(
        together, (maps - maps.min()) / (maps.max() - maps.min()), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_array_equal(normalize_maps(maps, None), maps)


def test_flat_and_dead_maps_are_black_and_not_nan():
    maps = np.zeros((3, 3, 2), dtype=np.float32)
    maps[:, :, 1] = 4.0
    maps[0, 0, 1] = np.nan
    for mode in ("each", "all"):
        out = normalize_maps(maps, mode)
        assert np.isfinite(out).all()
    assert (normalize_maps(maps, "each")[:, :, 0] == 0).all()


def test_maps_may_come_as_a_batch_of_one_or_a_single_map():
    maps = np.random.default_rng(1).random((6, 6, 4))
    np.testing.assert_array_equal(tile_maps(maps[None]), tile_maps(maps))
    assert tile_maps(maps[:, :, 0]).shape == (6, 6)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 4, 4, 3)), np.zeros(5), np.zeros((0, 4, 3)), np.array([["a"]], dtype=object)],
)
def test_wrong_maps_are_explained(bad):
    with pytest.raises(ValueError, match="maps must"):
        tile_maps(bad)


def test_normalize_must_be_a_known_mode():
    with pytest.raises(ValueError, match="'each', 'all' or None"):
        normalize_maps(np.zeros((2, 2, 1)), "max")


def test_gray_filters_are_signed_and_scaled_together():
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(3, 3, 1, 32)).astype(np.float32)
    grid = filter_grid(kernel)
    assert grid.shape == (4 * 4 - 1, 8 * 4 - 1)
    limit = np.abs(kernel).max()
    np.testing.assert_allclose(grid[:3, :3], kernel[:, :, 0, 0] / limit, rtol=1e-6)
    np.testing.assert_allclose(grid[4:7, 4:7], kernel[:, :, 0, 9] / limit, rtol=1e-6)
    assert np.abs(grid).max() == pytest.approx(1.0)
    assert grid[3, 0] == 0.0  # separators are 0: white on a diverging scale


def test_filters_of_a_deeper_layer_are_averaged_over_input_channels():
    kernel = np.random.default_rng(3).normal(size=(3, 3, 8, 4))
    mean = kernel.mean(axis=2)
    grid = filter_grid(kernel, columns=4)
    np.testing.assert_allclose(grid[:, 4:7], mean[:, :, 1] / np.abs(mean).max(), rtol=1e-5)


def test_colour_filters_are_rgb_tiles():
    kernel = np.random.default_rng(4).normal(size=(5, 5, 3, 16))
    grid = filter_grid(kernel, separator=2, fill=0.5)
    assert grid.shape == (4 * 7 - 2, 4 * 7 - 2, 3)
    lo, hi = kernel.min(), kernel.max()
    np.testing.assert_allclose(grid[:5, 7:12], (kernel[:, :, :, 1] - lo) / (hi - lo), rtol=1e-5)
    assert grid[5, 0].tolist() == [0.5, 0.5, 0.5]
    assert 0.0 <= grid.min() and grid.max() <= 1.0


def test_a_constant_kernel_does_not_divide_by_zero():
    assert (filter_grid(np.zeros((3, 3, 1, 2))) == 0).all()
    assert np.isfinite(filter_grid(np.ones((3, 3, 3, 2)))).all()
    with pytest.raises(ValueError, match="Conv2D kernel"):
        filter_grid(np.zeros((3, 3, 4)))


def test_docstring_examples():
    result = run_doctests(featuremaps_module)
    assert result.failed == 0 and result.attempted > 0
