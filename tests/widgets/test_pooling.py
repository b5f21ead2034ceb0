"""PoolingExplorer: move the controls as a student would and check what the widget computed."""

import numpy as np
import pytest

from cnnwidgets.core import first_window, pool2d, pool_output_size, pool_winners
from cnnwidgets.widgets.pooling import PoolingExplorer

LECTURE_GRID = [[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]]


def test_lecture_example_max_then_average():
    w = PoolingExplorer(LECTURE_GRID)
    assert w.output.tolist() == [[4, 2], [2, 8]]
    assert w.winners.tolist() == [[[1, 0], [0, 2]], [[3, 0], [3, 3]]]
    w.mode = "avg"
    assert w.output.tolist() == [[2.5, 1.0], [1.25, 6.5]]
    assert w.winners is None  # every cell counts in an average
    assert "mean(1, 3, 4, 2) = <b>2.5</b>" in w._window_html.value


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("pool_size", "strides", "padding"),
    [(2, None, "valid"), (2, None, "same"), (3, None, "valid"), (3, 1, "same"), (2, 3, "valid")],
)
def test_output_is_core_pool2d(mode, pool_size, strides, padding):
    w = PoolingExplorer(seed=5, grid_size=7)
    w.mode, w.pool_size, w.strides, w.padding = mode, pool_size, strides, padding
    x = np.array(w.grid)
    assert np.array_equal(w.output, pool2d(x, pool_size, strides, padding, mode))
    assert w.output_size == pool_output_size((7, 7), pool_size, strides, padding)
    assert w.kept == pytest.approx(w.output_size[0] * w.output_size[1] / 49)
    if mode == "max":
        assert np.array_equal(w.winners, pool_winners(x, pool_size, strides, padding))


def test_winners_are_underlined_in_the_grid():
    w = PoolingExplorer(seed=1, grid_size=6)
    cells = w._grid_html.value.split("<td")[1:]
    marked = {i for i, cell in enumerate(cells) if "text-decoration:underline" in cell}
    expected = {int(r) * 6 + int(c) for r, c in w.winners.reshape(-1, 2)}
    assert marked == expected
    w.mode = "avg"
    assert "text-decoration:underline" not in w._grid_html.value


def test_odd_size_with_valid_padding_greys_out_the_last_row_and_column():
    w = PoolingExplorer(grid_size=7)
    assert w.output_size == (3, 3)
    assert w.covered_rows.tolist() == [True] * 6 + [False]
    assert w.covered_cols.tolist() == [True] * 6 + [False]
    assert w._grid_html.value.count("line-through") == 13  # row 6 and column 6
    assert "1 row(s) and 1 column(s) are in no window" in w._summary_html.value
    assert "keeps 9 of 49 values (9/49 = 18.4 %)" in w._summary_html.value
    assert "0 parameters</b>: pooling has no weights" in w._summary_html.value


def test_same_padding_pads_bottom_right_and_covers_everything():
    w = PoolingExplorer(grid_size=7, padding="same")
    assert w.output_size == (4, 4)
    assert w.covered_rows.all() and w.covered_cols.all()
    assert "line-through" not in w._grid_html.value
    assert w._grid_html.value.count(">·</td>") == 8 * 8 - 7 * 7
    assert "0 row(s) above, 1 below" in w._summary_html.value
    w.row, w.col = 3, 3  # the corner window: 1 real cell, 3 padding cells
    assert w._window_html.value.endswith("(the 3 padding cell(s) of this window are ignored)")
    assert f"max({w.grid[6][6]}) = <b>{w.grid[6][6]}</b>" in w._window_html.value


def test_pool_bigger_than_the_grid_shows_a_message():
    w = PoolingExplorer(grid_size=4)
    w.pool_size = 5
    assert w.output is None and w.output_size is None
    assert "larger than the padded input" in w.message
    assert "larger than the padded input" in w._summary_html.value
    assert "background:" not in w._grid_html.value  # no window blocks any more
    w.padding = "same"
    assert w.message == "" and w.output.shape == (1, 1)
    assert w.output[0, 0] == np.max(w.grid)


def test_grid_controls():
    w = PoolingExplorer(seed=2, grid_size=6)
    assert w.grid == np.random.default_rng(2).integers(0, 10, (6, 6)).tolist()
    w._size_slider.value = 9  # the student drags "grid size"
    assert np.shape(w.grid) == (9, 9) and w.output_size == (4, 4)
    w._seed_btn.click()
    assert w.seed == 3 and np.shape(w.grid) == (9, 9)
    w.grid = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]  # by hand: kept, not replaced by random numbers
    assert w.grid == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert w.output.tolist() == [[5]]


def test_strides_control_none_means_pool_size():
    w = PoolingExplorer(grid_size=6)
    assert w._strides_dd.value == 0
    w._strides_dd.value = 1
    assert w.strides == 1 and w.output_size == (5, 5)
    w.strides = None
    assert w._strides_dd.value == 0 and w.output_size == (3, 3)


def test_selected_window_and_clamping():
    w = PoolingExplorer(LECTURE_GRID, row=1, col=1)
    assert "max(5, 6, 7, 8) = <b>8</b>" in w._window_html.value
    assert w._sliders["row"].value == 1
    w.pool_size = 3
    assert (w.row, w.col) == (0, 0) and w.output_size == (1, 1)
    assert (w._sliders["row"].max, w._sliders["row"].value) == (0, 0)


def test_photo_view_keeps_a_quarter():
    img = np.random.default_rng(0).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    w = PoolingExplorer(image=img, source="photo")
    assert w.output.shape == (16, 20, 3)
    assert np.array_equal(w.output, pool2d(np.float32(img), 2))
    assert w.kept == 0.25
    assert "keeps 320 of 1,280 values per channel (1/4 = 25.0 %)" in w._summary_html.value
    assert w._out_image.value and w._big_image.value
    first = w._in_image.value
    w.mode = "avg"
    assert w._in_image.value is first  # the photo itself did not change
    np.testing.assert_allclose(w.output, pool2d(np.float32(img), 2, mode="avg"))
    w.source = "grid"
    assert w.output.shape == (3, 3)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((7, 2, 2, "valid"), [0, 0, 1, 1, 2, 2, -1]),
        ((5, 2, 2, "same"), [0, 0, 1, 1, 2]),
        ((7, 3, 2, "valid"), [0, 0, 0, 1, 1, 2, 2]),
        ((4, 3, 1, "same"), [0, 0, 1, 2]),
        ((8, 2, 3, "valid"), [0, 0, -1, 1, 1, -1, 2, 2]),
    ],
)
def test_first_window_picks_the_block_colour(args, expected):
    assert first_window(*args).tolist() == expected
