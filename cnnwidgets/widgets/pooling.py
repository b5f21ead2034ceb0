"""Max and average pooling on a grid of numbers and on a photo: which cell wins, what is kept."""

from __future__ import annotations

import html
from fractions import Fraction

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.arithmetic import coverage, first_window, window_start
from ..core.display import to_rgb8
from ..core.pooling import pool2d, pool_winners
from ..core.sizes import padding_amounts, pool_output_size
from ._base import _Widget
from ._common import (
    ERROR_STYLE,
    PAD_STYLE,
    STYLE,
    UNCOVERED_STYLE,
    fit_factor,
    fmt_number,
    follow_output,
    image_panel,
    link_photo_choice,
    load_picture,
    matrix_html,
    png_live,
    position_slider,
    row,
    shape_text,
)
from ._png import encode_png, upscale

__all__ = ["PoolingExplorer"]

SOURCES = ("grid", "photo")
_GRID_SIZES = (4, 10)  # smallest and largest random grid
_POOL_SIZES = (1, 2, 3, 4, 5)
_STRIDES = (1, 2, 3, 4, 5)
# Light colours of neighbouring windows: a window's colour depends on the parity
# of its row and column, so windows side by side or diagonal never share one.
_WINDOW_COLOURS = ("#cfe2f3", "#fce5cd", "#d9ead3", "#ead1dc")
_SELECTED_BORDER = "box-shadow:inset 0 0 0 2px #333333;"
_WINNER_STYLE = "font-weight:bold;text-decoration:underline;"


def _random_grid(seed: int, shape: tuple[int, int]) -> list[list[int]]:
    # Digits 0..9, so a max or a mean can be checked by eye.
    return np.random.default_rng(seed).integers(0, 10, shape).tolist()


def _window_colour(i: int, j: int) -> str:
    return f"background:{_WINDOW_COLOURS[(i % 2) * 2 + (j % 2)]};"


def _count(n: int) -> str:
    return f"{n:,}"


class PoolingExplorer(_Widget):
    """Max vs average pooling on a small grid of numbers and on a photo.

    The grid view colours each pooling window, underlines the cell that wins
    each max window (:func:`cnnwidgets.pool_winners`) and greys out the rows
    and columns no window reaches (an odd size with ``padding="valid"``); with
    ``padding="same"`` the grey "·" cells are the padding, which pooling ignores.
    The photo view shows the pooled photo beside the original, at its true size
    and enlarged. A summary line gives the output size
    (:func:`cnnwidgets.pool_output_size`), the fraction of values kept, and the
    parameter count: 0, pooling has no weights.

    Changing a trait (``w.pool_size = 3``, ``w.mode = "avg"``) recomputes
    synchronously, before the assignment returns.

    Parameters
    ----------
    grid : array, optional
        The grid of numbers; by default ``grid_size`` x ``grid_size`` digits from ``seed``.
    image : array or path, optional
        Your own picture for the photo view (``(H, W)`` or ``(H, W, 3)``, 0..255, or a file).
    mode : {"max", "avg"}
    pool_size : int
    strides : int or None
        None (Keras's default) moves by ``pool_size``: windows side by side.
    padding : {"valid", "same"}
    source : {"grid", "photo"}
    photo : str
        Sample photo (``cnnwidgets.data.PHOTO_NAMES``) when ``image`` is None.
    size : int
        Size in pixels of the photo.
    grid_size, seed : int
        Shape and seed of the random grid.
    row, col : int
        Output cell whose window is worked out in words.

    Attributes
    ----------
    input : ndarray
        The grid, or the photo as float32 RGB.
    output : ndarray or None
        ``pool2d(input, pool_size, strides, padding, mode)``; None when the settings are invalid.
    winners : ndarray or None
        ``pool_winners(grid, ...)``: ``(oh, ow, 2)`` input cell that wins each max window
        (grid view, max mode only).
    output_size : tuple of int or None
        ``pool_output_size((H, W), pool_size, strides, padding)``.
    kept : float or None
        Output positions per input position, ``oh * ow / (H * W)``.
    covered_rows, covered_cols : ndarray of bool or None
        Input rows / columns that at least one window reaches.
    message : str
        Why there is no output (a student-facing sentence), or ``""``.

    Examples
    --------
    >>> w = PoolingExplorer(grid=[[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]])
    >>> w.output.tolist()
    [[4, 2], [2, 8]]
    >>> w.mode = "avg"  # recomputes before returning
    >>> w.output.tolist()
    [[2.5, 1.0], [1.25, 6.5]]
    """

    mode = T.Enum(("max", "avg"), "max", help="'max' keeps the largest value, 'avg' the mean.")
    pool_size = T.Int(2, help="Side of the square pooling window (1-5).")
    strides = T.Int(
        None, allow_none=True, help="Step between windows (1-5); None means pool_size (Keras)."
    )
    padding = T.Enum(("valid", "same"), "valid", help="Keras padding: 'valid' or 'same'.")
    source = T.Enum(SOURCES, "grid", help="Pool the grid of numbers or the photo.")
    grid = T.Any(help="The grid of numbers: rows of numbers.")
    grid_size = T.Int(7, help="Rows and columns of the random grid (4-10).")
    seed = T.Int(0, help="Seed of the random grid.")
    photo = T.Unicode("chelsea", help="Sample photo (cnnwidgets.data.PHOTO_NAMES).")
    size = T.Int(256, help="Size in pixels of the photo.")
    row = T.Int(0, help="Output row whose window is worked out.")
    col = T.Int(0, help="Output column whose window is worked out.")

    def __init__(
        self,
        grid: object = None,
        *,
        image: object = None,
        mode: str = "max",
        pool_size: int = 2,
        strides: int | None = None,
        padding: str = "valid",
        source: str = "grid",
        photo: str = "chelsea",
        size: int = 256,
        grid_size: int = 7,
        seed: int = 0,
        row: int = 0,
        col: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._image = image
        self.input: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.winners: np.ndarray | None = None
        self.output_size: tuple[int, int] | None = None
        self.kept: float | None = None
        self.covered_rows: np.ndarray | None = None
        self.covered_cols: np.ndarray | None = None
        self.message = ""
        self._rgb: np.ndarray | None = None
        self._rgb_version = 0
        self._build_controls()

        self.mode, self.pool_size, self.strides, self.padding = mode, pool_size, strides, padding
        self.source, self.photo, self.size, self.seed = source, photo, size, seed
        self.grid_size = grid_size
        self.grid = _random_grid(seed, (grid_size, grid_size)) if grid is None else grid
        self.row, self.col = row, col
        self._link_controls()
        self._start()

    # ---- validation -------------------------------------------------------------------

    @T.validate("grid")
    def _valid_grid(self, proposal):
        g = np.asarray(proposal["value"])
        if g.dtype == object or not (np.issubdtype(g.dtype, np.number) or g.dtype == np.bool_):
            raise T.TraitError(f"grid must be rows of numbers, got {proposal['value']!r}.")
        if g.ndim != 2 or 0 in g.shape or max(g.shape) > 16:
            raise T.TraitError(f"grid must be 2-D and at most 16x16, got shape {g.shape}.")
        if np.all(np.mod(g, 1) == 0):
            return g.astype(np.int64).tolist()
        return g.astype(float).tolist()

    @T.validate("pool_size", "strides", "grid_size", "size", "row", "col")
    def _valid_ints(self, proposal):
        name, value = proposal["trait"].name, proposal["value"]
        limits = {
            "pool_size": (1, max(_POOL_SIZES)),
            "strides": (1, max(_STRIDES)),
            "grid_size": _GRID_SIZES,
            "size": (8, 4096),
            "row": (0, None),
            "col": (0, None),
        }
        low, high = limits[name]
        if value is None:  # only strides allows it
            return value
        if value < low or (high is not None and value > high):
            span = f"at least {low}" if high is None else f"between {low} and {high}"
            raise T.TraitError(f"{name} must be {span}, got {value}.")
        return value

    # ---- reactions ----------------------------------------------------------------------

    @T.observe("grid_size")
    def _grid_size_changed(self, change):
        if not self._busy:
            self.grid = _random_grid(self.seed, (change["new"], change["new"]))

    @T.observe("seed")
    def _seed_changed(self, change):
        if not self._busy:
            self.grid = _random_grid(change["new"], np.shape(self.grid))

    @T.observe("grid")
    def _grid_changed(self, change):
        # The slider follows a grid set by hand, without drawing a new one.
        with self._quiet():
            self.grid_size = min(max(len(change["new"]), _GRID_SIZES[0]), _GRID_SIZES[1])
        self._refresh()

    @T.observe("photo", "size")
    def _photo_changed(self, change):
        self._rgb = None
        self._refresh()

    @T.observe("mode", "pool_size", "strides", "padding", "source", "row", "col")
    def _setting_changed(self, change):
        self._refresh()

    # ---- the one recompute --------------------------------------------------------------

    def _update(self) -> None:
        """Pool the current input with core, then redraw the views."""
        on_grid = self.source == "grid"
        if on_grid:
            x = np.array(self.grid)
        else:
            if self._rgb is None:
                self._rgb = load_picture(self._image, photo=self.photo, size=self.size)
                self._rgb_version += 1
            x = self._rgb
        self.input = x
        strides = self.pool_size if self.strides is None else self.strides
        try:
            oh, ow = pool_output_size(x.shape[:2], self.pool_size, self.strides, self.padding)
        except ValueError as err:
            self._show_error(str(err), x)
            return
        self.message = ""
        self.output_size = (oh, ow)
        self.kept = oh * ow / (x.shape[0] * x.shape[1])
        self.covered_rows, self.covered_cols = (
            coverage(n, self.pool_size, strides, self.padding) > 0 for n in x.shape[:2]
        )
        first_r = first_window(x.shape[0], self.pool_size, strides, self.padding)
        first_c = first_window(x.shape[1], self.pool_size, strides, self.padding)
        self.output = pool2d(x, self.pool_size, self.strides, self.padding, self.mode)
        self.winners = (
            pool_winners(x, self.pool_size, self.strides, self.padding)
            if on_grid and self.mode == "max"
            else None
        )
        follow_output(self, self._sliders, (oh, ow))

        if on_grid:
            self._draw_grid(x, first_r, first_c, strides)
        else:
            self._draw_photo(x)
        self._summary_html.value = self._summary_text(x, oh, ow)
        self._show(on_grid, error=False)

    # ---- helpers of _update -------------------------------------------------------------

    def _draw_grid(self, x, first_r, first_c, strides: int) -> None:
        k, row, col = self.pool_size, self.row, self.col
        top, bottom = padding_amounts(x.shape[0], k, strides, self.padding)
        left, right = padding_amounts(x.shape[1], k, strides, self.padding)
        winners = set()
        if self.winners is not None:
            winners = {(int(r), int(c)) for r, c in self.winners.reshape(-1, 2)}
        r0 = window_start(x.shape[0], k, strides, self.padding, row)
        c0 = window_start(x.shape[1], k, strides, self.padding, col)
        values, styles = [], []
        for i in range(-top, x.shape[0] + bottom):
            line_v, line_s = [], []
            for j in range(-left, x.shape[1] + right):
                inside = 0 <= i < x.shape[0] and 0 <= j < x.shape[1]
                if not inside:
                    css, value = PAD_STYLE, "·"
                elif first_r[i] < 0 or first_c[j] < 0:
                    css, value = UNCOVERED_STYLE, fmt_number(x[i, j])
                else:
                    css = _window_colour(first_r[i], first_c[j])
                    if (i, j) in winners:
                        css += _WINNER_STYLE
                    value = fmt_number(x[i, j])
                if r0 <= i < r0 + k and c0 <= j < c0 + k:
                    css += _SELECTED_BORDER
                line_v.append(value)
                line_s.append(css)
            values.append(line_v)
            styles.append(line_s)
        self._grid_html.value = matrix_html(values, styles, fmt=str, inline=False)
        out_styles = [
            [
                _window_colour(i, j) + (_SELECTED_BORDER if (i, j) == (row, col) else "")
                for j in range(self.output.shape[1])
            ]
            for i in range(self.output.shape[0])
        ]
        self._out_grid_html.value = matrix_html(self.output, out_styles, inline=False)
        self._in_caption.value = f"<b>input</b> {shape_text(x.shape)}"
        self._out_grid_caption.value = f"<b>output</b> {shape_text(self.output.shape)}"

        # The selected window in words; pooling ignores padding, so only real cells count.
        rows = slice(max(r0, 0), min(r0 + k, x.shape[0]))
        cols = slice(max(c0, 0), min(c0 + k, x.shape[1]))
        cells = x[rows, cols].ravel()
        how = "max" if self.mode == "max" else "mean"
        note = ""
        if cells.size < k * k:
            note = f" (the {k * k - cells.size} padding cell(s) of this window are ignored)"
        self._window_html.value = (
            f"output ({row}, {col}) = {how}({', '.join(fmt_number(v) for v in cells)}) = "
            f"<b>{fmt_number(self.output[row, col])}</b>{note}"
        )

    def _draw_photo(self, x: np.ndarray) -> None:
        # The photo itself is encoded (and compressed) only when it changes.
        if self._stale("in_png", self._rgb_version):
            self._in_image.value = encode_png(to_rgb8(x))
        pooled = to_rgb8(self.output)
        self._out_image.value = png_live(pooled)
        factor = fit_factor(pooled.shape, max(x.shape[:2]))
        self._big_image.value = png_live(upscale(pooled, factor))
        self._photo_caption.value = f"<b>input</b> {shape_text(x.shape)}"
        self._out_caption.value = f"<b>output</b> {shape_text(self.output.shape)}"
        self._big_caption.value = f"<b>output drawn ×{factor}</b>: each pixel is one window"

    def _summary_text(self, x: np.ndarray, oh: int, ow: int) -> str:
        layer = "MaxPooling2D" if self.mode == "max" else "AveragePooling2D"
        strides = "" if self.strides is None else f", strides={self.strides}"
        code = (
            f'keras.layers.{layer}(pool_size={self.pool_size}{strides}, padding="{self.padding}")'
        )
        n_in, n_out = x.shape[0] * x.shape[1], oh * ow
        share = Fraction(n_out, n_in)
        share_text = f"{share.numerator}/{share.denominator} = " if share.denominator <= 100 else ""
        per_channel = " per channel" if x.ndim == 3 else ""
        lines = [
            f"<code>{html.escape(code)}</code>",
            f"{shape_text(x.shape)} → {shape_text(self.output.shape)}: keeps "
            f"{_count(n_out)} of {_count(n_in)} values{per_channel} "
            f"({share_text}{100 * self.kept:.1f} %)",
        ]
        dropped_r = int((~self.covered_rows).sum())
        dropped_c = int((~self.covered_cols).sum())
        if dropped_r or dropped_c:
            lines.append(
                f"{dropped_r} row(s) and {dropped_c} column(s) are in no window (greyed out): "
                "they cannot change the output"
            )
        strides = self.pool_size if self.strides is None else self.strides
        (top, bottom), (left, right) = (
            padding_amounts(n, self.pool_size, strides, self.padding) for n in x.shape[:2]
        )
        if top + bottom + left + right:
            lines.append(
                f"padding='same' pads {top} row(s) above, {bottom} below, {left} column(s) "
                f"left and {right} right (·; Keras puts an odd one at the bottom/right), so "
                "that every cell is used; pooling ignores them: they never win and are "
                "not averaged"
            )
        lines.append("<b>0 parameters</b>: pooling has no weights")
        return "<br>".join(lines)

    def _show_error(self, text: str, x: np.ndarray) -> None:
        self.message = text
        if self.source == "grid":  # the grid without windows, which no longer fit
            self._grid_html.value = matrix_html(x, inline=False)
            self._in_caption.value = f"<b>input</b> {shape_text(x.shape)}"
        self.output = self.winners = self.output_size = self.kept = None
        self.covered_rows = self.covered_cols = None
        self._summary_html.value = f'<span style="{ERROR_STYLE}">{html.escape(text)}</span>'
        self._show(self.source == "grid", error=True)

    def _show(self, on_grid: bool, *, error: bool) -> None:
        def display(widget, visible):
            widget.layout.display = None if visible else "none"

        display(self._grid_panel, on_grid)
        display(self._photo_panel, not on_grid)
        display(self._photo_dd, not on_grid)
        display(self._grid_controls, on_grid)
        for widget in (self._out_grid_box, self._window_html, self._position):
            display(widget, on_grid and not error)
        for widget in (self._out_box, self._big_box):
            display(widget, not error)

    # ---- controls -------------------------------------------------------------------------

    def _build_controls(self) -> None:
        narrow = {"description_width": "70px"}
        self._source_tb = W.ToggleButtons(options=list(SOURCES), style={"button_width": "auto"})
        self._mode_tb = W.ToggleButtons(
            options=[("max", "max"), ("average", "avg")], style={"button_width": "auto"}
        )
        self._pool_tb = W.ToggleButtons(
            options=list(_POOL_SIZES),
            description="pool_size",
            style={"button_width": "auto", **narrow},
        )
        self._strides_dd = W.Dropdown(
            options=[("None (= pool_size)", 0)] + [(str(s), s) for s in _STRIDES],
            description="strides",
            style=narrow,
            layout=W.Layout(width="230px"),
        )
        self._padding_tb = W.ToggleButtons(
            options=["valid", "same"],
            description="padding",
            style={"button_width": "auto", **narrow},
        )
        self._photo_dd = W.Dropdown(
            description="photo", style=narrow, layout=W.Layout(width="220px")
        )
        self._size_slider = W.IntSlider(
            min=_GRID_SIZES[0], max=_GRID_SIZES[1], description="grid size", style=narrow
        )
        self._seed_btn = W.Button(description="new numbers", icon="refresh")
        self._seed_btn.on_click(lambda _: setattr(self, "seed", self.seed + 1))
        self._grid_controls = row(self._size_slider, self._seed_btn)
        self._sliders = {
            "row": position_slider(self, "row", "output row"),
            "col": position_slider(self, "col", "output col"),
        }
        self._position = row(*self._sliders.values())

        self._in_caption, self._out_grid_caption = W.HTML(), W.HTML()
        self._photo_caption, self._out_caption, self._big_caption = W.HTML(), W.HTML(), W.HTML()
        self._grid_html, self._out_grid_html, self._window_html = W.HTML(), W.HTML(), W.HTML()
        self._in_image, self._out_image, self._big_image = (
            image_panel(),
            image_panel(),
            image_panel(),
        )
        self._out_grid_box = W.VBox([self._out_grid_caption, self._out_grid_html])
        self._grid_panel = W.VBox(
            [
                W.HBox(
                    [
                        W.VBox([self._in_caption, self._grid_html]),
                        W.HTML("<b>&nbsp;→&nbsp;</b>"),
                        self._out_grid_box,
                    ],
                    layout=W.Layout(align_items="center"),
                ),
                self._window_html,
                self._position,
            ]
        )
        self._out_box = W.VBox([self._out_caption, self._out_image])
        self._big_box = W.VBox([self._big_caption, self._big_image])
        self._photo_panel = W.HBox(
            [W.VBox([self._photo_caption, self._in_image]), self._out_box, self._big_box],
            layout=W.Layout(flex_flow="row wrap", align_items="flex-start"),
        )
        self._summary_html = W.HTML()
        self.children = [
            W.HTML(STYLE),
            row(self._source_tb, self._mode_tb, self._photo_dd, self._grid_controls),
            row(self._pool_tb, self._strides_dd, self._padding_tb),
            self._grid_panel,
            self._photo_panel,
            self._summary_html,
        ]

    def _link_controls(self) -> None:
        link_photo_choice(self, self._photo_dd, self._image)
        W.link((self, "source"), (self._source_tb, "value"))
        W.link((self, "mode"), (self._mode_tb, "value"))
        W.link((self, "pool_size"), (self._pool_tb, "value"))
        W.link(
            (self, "strides"),
            (self._strides_dd, "value"),
            transform=(lambda s: 0 if s is None else s, lambda v: None if v == 0 else v),
        )
        W.link((self, "padding"), (self._padding_tb, "value"))
        W.link((self, "grid_size"), (self._size_slider, "value"))
