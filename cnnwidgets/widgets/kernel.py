"""Slide an image kernel over a photo or a grid of numbers; see one output value being made."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.arithmetic import kernel_positions, padding_mask, window_box, window_products
from ..core.conv import conv2d, conv_window, pad2d
from ..core.display import to_grayscale, to_rgb8
from ..core.kernels import KERNEL_PRESETS, preset_kernel
from ..core.sizes import conv_output_size, padding_amounts
from ._base import _Widget
from ._common import (
    ERROR_STYLE,
    PAD_STYLE,
    SELECTED_STYLE,
    STYLE,
    as_rgb,
    fmt_number,
    follow_output,
    image_panel,
    link_photo_choice,
    load_picture,
    mark_box,
    marker_size,
    matrix_html,
    png_live,
    position_slider,
    pre_html,
    row,
    shape_text,
)
from ._png import upscale

__all__ = ["KernelPlayground"]

CUSTOM = "custom"
MODES = ("colour", "grayscale", "numbers")
KERNEL_SIZES = (3, 5)
_GRID_SHAPE = (6, 6)
_GRID_MAX = 12
_WINDOW_STYLE = "background:#fff2b3;"
_CHANNELS = ("R", "G", "B")
_STRIDES = (1, 2, 3, 4)


def _random_grid(seed: int, shape: tuple[int, int]) -> list[list[int]]:
    # Digits 0..9 keep every product small enough to check by hand.
    return np.random.default_rng(seed).integers(0, 10, shape).tolist()


def _numbers(value: object, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise T.TraitError(f"{what} must be a grid of numbers, got {value!r}.")
    if arr.ndim != 2 or 0 in arr.shape:
        raise T.TraitError(f"{what} must be 2-D (rows of numbers), got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise T.TraitError(f"{what} must hold finite numbers.")
    return arr


def _small_grid(image: object) -> list[list[float | int]] | None:
    if image is None or isinstance(image, str):
        return None
    arr = np.asarray(image)
    if arr.ndim == 2 and 0 < max(arr.shape) <= _GRID_MAX and np.issubdtype(arr.dtype, np.number):
        return _as_lists(arr)
    return None


def _as_lists(arr: np.ndarray) -> list[list[float | int]]:
    if np.all(np.mod(arr, 1) == 0):
        return arr.astype(np.int64).tolist()
    return arr.astype(float).tolist()


def _resize_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    # A 3x3 kernel inside a 5x5 of zeros computes the same thing; going back
    # keeps the centre 3x3.
    n = kernel.shape[0]
    if size > n:
        return np.pad(kernel, (size - n) // 2)
    cut = (n - size) // 2
    return kernel[cut : cut + size, cut : cut + size]


class KernelPlayground(_Widget):
    """Slide a kernel over a photo (or a grid of numbers) and see one output value being made.

    Input, editable kernel and output sit side by side; the window of the
    selected output position is marked on both pictures and worked out below
    them (window ⊙ kernel = products, summed), followed by the NumPy and Keras
    code that computes the same output. Every number comes from
    :func:`cnnwidgets.conv2d` and :func:`cnnwidgets.conv_window`.

    Changing a trait (``w.kernel = ...``, ``w.row = 3``, ``w.preset = "emboss"``)
    recomputes synchronously, before the assignment returns: that is what the
    controls do, and what tests and benchmarks time. Each view that changed is
    sent to the browser in one message; the code below is written only while
    its panel is open.

    Parameters
    ----------
    image : array or path, optional
        Your own picture, ``(H, W)`` or ``(H, W, 3)``, 0..255 (floats in 0..1 are
        scaled), or an image file. By default a sample photo is used.
    photo : str
        Sample photo from ``cnnwidgets.data.PHOTO_NAMES`` when ``image`` is None.
    kernel : str or array
        A name from ``KERNEL_PRESETS`` or a square 3x3 / 5x5 array.
    kernel_size : {3, 5}, optional
        Size of a preset kernel; defaults to 3, or to the size of a ``kernel`` array.
    mode : {"colour", "grayscale", "numbers"}, optional
        Defaults to ``"numbers"`` when ``image`` is a small 2-D grid (at most
        12x12), else ``"colour"``. ``"colour"`` filters each RGB channel on its
        own (what a photo editor does); ``"grayscale"`` filters the luma and
        shows signed results on a blue–white–red scale; ``"numbers"`` works on
        ``grid`` and shows every value.
    padding : {"same", "valid"}
    strides : int
    size : int
        Size in pixels of the sample photo (256; 512 for a sharper, slower view).
    grid : array, optional
        The small input of the numbers mode; by default 6x6 digits drawn from ``seed``.
    seed : int
    row, col : int, optional
        Output position worked out in detail; the centre by default.

    Attributes
    ----------
    input : ndarray
        What the kernel slides over: ``(H, W, 3)`` or ``(H, W)`` float32, or the grid.
    output : ndarray or None
        ``conv2d(input, kernel, strides, padding)``; None when the settings are invalid.
    window, products : ndarray
        The input values under the kernel at ``(row, col)`` (padding zeros
        included) and ``window * kernel``; ``(k, k, 3)`` in colour mode.
    window_sum : number or ndarray
        ``products`` summed, per channel in colour mode: equals ``output[row, col]``.
    message : str
        Why there is no output (a student-facing sentence), or ``""``.

    Examples
    --------
    >>> w = KernelPlayground(np.arange(36).reshape(6, 6), kernel="identity", mode="grayscale")
    >>> bool((w.output == w.input).all())
    True
    >>> w.kernel = [[0, 0, 0], [0, 2, 0], [0, 0, 0]]  # recomputes before returning
    >>> (w.row, w.col), float(w.window_sum), float(w.output[w.row, w.col])
    ((3, 3), 42.0, 42.0)
    """

    # What the learner looks at goes first: the output of an edit, then the worked sum.
    _SEND_FIRST = ("_out_image", "_out_grid_html", "_in_image", "_in_grid_html")

    photo = T.Unicode("chelsea", help="Sample photo (cnnwidgets.data.PHOTO_NAMES).")
    mode = T.Enum(MODES, "colour", help="'colour' per channel, 'grayscale', or 'numbers'.")
    preset = T.Unicode(
        "sharpen", help="Kernel preset from KERNEL_PRESETS; 'custom' once a cell is edited."
    )
    kernel = T.Any(help="The kernel: rows of numbers (a list of lists; arrays are accepted).")
    kernel_size = T.Int(3, help="Kernel size: 3 or 5.")
    padding = T.Enum(("same", "valid"), "same", help="Keras padding: 'same' or 'valid'.")
    strides = T.Int(1, help="Step of the kernel, in input pixels (1-4).")
    row = T.Int(0, help="Output row whose window is worked out.")
    col = T.Int(0, help="Output column whose window is worked out.")
    size = T.Int(256, help="Size in pixels of the sample photo.")
    grid = T.Any(help="Input of the numbers mode: rows of numbers.")
    seed = T.Int(0, help="Seed of the random grid of the numbers mode.")

    def __init__(
        self,
        image: object = None,
        *,
        photo: str = "chelsea",
        kernel: str | np.ndarray = "sharpen",
        kernel_size: int | None = None,
        mode: str | None = None,
        padding: str = "same",
        strides: int = 1,
        size: int = 256,
        grid: object = None,
        seed: int = 0,
        row: int | None = None,
        col: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode is None:
            # A small grid of numbers (a hand-worked example) is meant to be read
            # number by number, not looked at as a 5x5-pixel picture.
            small = _small_grid(image)
            mode = "numbers" if small is not None else "colour"
            if small is not None and grid is None:
                image, grid = None, small
        self._image = image
        self.input: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.window: np.ndarray | None = None
        self.products: np.ndarray | None = None
        self.window_sum: np.ndarray | float | None = None
        self.message = ""
        self._rgb: np.ndarray | None = None  # the picture, float32 RGB, loaded once
        self._rgb_version = 0
        self._build_controls()

        self.photo, self.size = photo, size
        self.mode, self.padding, self.strides = mode, padding, strides
        self.seed = seed
        self.grid = _random_grid(seed, _GRID_SHAPE) if grid is None else grid
        if isinstance(kernel, str):
            self.kernel_size = kernel_size or 3
            self.preset = kernel
            self.kernel = preset_kernel(kernel, self.kernel_size)
        else:
            self.kernel = kernel
            self.preset = CUSTOM
            if kernel_size is not None and kernel_size != self.kernel_size:
                self.kernel_size = kernel_size
        self._link_controls()
        if self.mode != "numbers":
            self._load_picture()
        self._centre(row, col)
        self._start()

    # ---- validation -------------------------------------------------------------------

    @T.validate("kernel")
    def _valid_kernel(self, proposal):
        k = _numbers(proposal["value"], "kernel")
        if k.shape[0] != k.shape[1] or k.shape[0] not in KERNEL_SIZES:
            raise T.TraitError(f"kernel must be 3x3 or 5x5, got shape {k.shape}.")
        return k.astype(float).tolist()

    @T.validate("grid")
    def _valid_grid(self, proposal):
        g = _numbers(proposal["value"], "grid")
        if max(g.shape) > _GRID_MAX:
            raise T.TraitError(
                f"grid is for small inputs (at most {_GRID_MAX}x{_GRID_MAX}); "
                "pass a bigger array as image instead."
            )
        return _as_lists(g)

    @T.validate("preset")
    def _valid_preset(self, proposal):
        name = proposal["value"]
        if name != CUSTOM and name not in KERNEL_PRESETS:
            choices = ", ".join(KERNEL_PRESETS)
            raise T.TraitError(f"Unknown preset {name!r}; choose one of {choices}.")
        return name

    @T.validate("kernel_size")
    def _valid_kernel_size(self, proposal):
        if proposal["value"] not in KERNEL_SIZES:
            raise T.TraitError(f"kernel_size must be 3 or 5, got {proposal['value']!r}.")
        return proposal["value"]

    @T.validate("strides", "size", "row", "col")
    def _valid_ints(self, proposal):
        name, value = proposal["trait"].name, proposal["value"]
        low = 0 if name in ("row", "col") else 1
        high = max(_STRIDES) if name == "strides" else None
        if value < low or (high is not None and value > high):
            span = f"at least {low}" if high is None else f"between {low} and {high}"
            raise T.TraitError(f"{name} must be {span}, got {value}.")
        return value

    # ---- reactions ----------------------------------------------------------------------

    @T.observe("photo", "size")
    def _photo_changed(self, change):
        if not self._busy and self._image is None:
            self._load_picture()
            self._refresh()

    @T.observe("mode")
    def _mode_changed(self, change):
        if not self._busy and change["new"] != "numbers" and self._rgb is None:
            self._load_picture()
        self._refresh()

    @T.observe("padding", "strides", "row", "col", "grid")
    def _setting_changed(self, change):
        self._refresh()

    @T.observe("seed")
    def _seed_changed(self, change):
        if not self._busy:
            shape = np.shape(self.grid)
            self.grid = _random_grid(change["new"], shape)

    @T.observe("preset")
    def _preset_changed(self, change):
        if change["new"] != CUSTOM and self.kernel is not None:
            self.kernel = preset_kernel(change["new"], self.kernel_size)

    @T.observe("kernel_size")
    def _kernel_size_changed(self, change):
        if self.kernel is None or len(self.kernel) == change["new"]:
            return
        if self.preset != CUSTOM:
            self.kernel = preset_kernel(self.preset, change["new"])
        else:
            self.kernel = _resize_kernel(np.array(self.kernel), change["new"])

    @T.observe("kernel")
    def _kernel_changed(self, change):
        n = len(change["new"])
        if self.kernel_size != n:
            self.kernel_size = n
        if self.preset != CUSTOM and change["new"] != preset_kernel(self.preset, n).tolist():
            self.preset = CUSTOM
        self._refresh()

    def _cell_changed(self, i: int, j: int, value: float) -> None:
        if self._busy or self.kernel is None:
            return
        new = [list(r) for r in self.kernel]
        new[i][j] = float(value)
        self.kernel = new

    # ---- the one recompute --------------------------------------------------------------

    def _update(self) -> None:
        """Recompute the output and the worked window with core, then redraw what changed."""
        self._show_traits()
        self._sync_cells()
        numbers = self.mode == "numbers"
        x, x_key = self._input()
        k = self._kernel_array(numbers)
        self.input = x
        try:
            oh, ow = conv_output_size(x.shape[:2], k.shape, self.strides, self.padding)
        except ValueError as err:
            self._show_error(str(err), x)
            return
        self.message = ""
        self._clamp_position(oh, ow)
        row, col = self.row, self.col

        # Moving the position does not redo the convolution, nor a kernel change the window.
        out_key = (x_key, k.tobytes(), k.dtype.str, self.strides, self.padding)
        self.output = self._cached(
            "output", out_key, lambda: conv2d(x, k, self.strides, self.padding)
        )
        self.window = self._cached(
            "window",
            (x_key, k.shape, self.strides, self.padding, row, col),
            lambda: conv_window(x, row, col, k.shape, self.strides, self.padding),
        )
        self.products, self.window_sum = window_products(self.window, k)

        if numbers:
            self._draw_numbers(x, k.shape[0], row, col)
        else:
            self._draw_pictures(x_key, out_key, k.shape[0], row, col)
        self._products_html.value = self._products_text(x, k, row, col)
        self._show_code()
        self._status_html.value = self._status_text(x, oh, ow)
        self._show(numbers, error=False)

    # ---- helpers of _update -------------------------------------------------------------

    def _show_code(self) -> None:
        # Only while its panel is open: closed, it would cost a message and a page update
        # at every kernel edit for text nobody sees. Opening the panel fills it.
        if self._code_box.selected_index is not None and self.kernel is not None:
            self._code_html.value = pre_html(self._code_text())

    def _load_picture(self) -> None:
        self._rgb = load_picture(self._image, photo=self.photo, size=self.size)
        self._rgb_version += 1

    def _input(self) -> tuple[np.ndarray, tuple]:
        # The float32 picture is made once per photo and mode, not at every kernel
        # change: conversion costs as much as a fifth of a recompute at 512x512.
        if self.mode == "numbers":
            key: tuple = ("numbers", str(self.grid))
            return self._cached("input", key, lambda: np.array(self.grid)), key
        key = (self.mode, self._rgb_version)
        gray = self.mode == "grayscale"
        return self._cached(
            "input", key, lambda: to_grayscale(self._rgb) if gray else self._rgb
        ), key

    def _kernel_array(self, numbers: bool) -> np.ndarray:
        k = np.array(self.kernel, dtype=np.float64)
        if numbers:
            # Whole-number kernels on the integer grid give exact integer outputs.
            return k.astype(np.int64) if np.all(np.mod(k, 1) == 0) else k
        # float32 like Keras, and a float64 kernel would make conv2d work in float64.
        return k.astype(np.float32)

    def _centre(self, row: int | None, col: int | None) -> None:
        x, _ = self._input()
        try:
            oh, ow = conv_output_size(x.shape[:2], self.kernel_size, self.strides, self.padding)
        except ValueError:
            oh = ow = 1
        self.row = oh // 2 if row is None else row
        self.col = ow // 2 if col is None else col

    def _clamp_position(self, oh: int, ow: int) -> None:
        follow_output(self, self._sliders, (oh, ow))

    def _draw_pictures(self, x_key, out_key, k: int, row: int, col: int) -> None:
        # Only pictures whose content changed are encoded again: the input when the
        # photo, mode or marked window moves; the output when it or its marker does.
        x = self.input
        top, left, height, width = window_box(x.shape, k, self.strides, self.padding, row, col)
        ring, reach = marker_size(x.shape)
        if self._stale("in_png", (x_key, top, left, k)):
            pixels = self._cached("in_pixels", x_key, lambda: as_rgb(to_rgb8(x))).copy()
            mark_box(pixels, top, left, height, width, ring=ring, reach=reach)
            self._in_image.value = png_live(pixels)
        # A strided output is smaller: enlarge it to the input's size to compare them.
        factor = max(1, x.shape[0] // self.output.shape[0])
        if self._stale("out_png", (out_key, row, col, k)):
            pixels = self._cached(
                "out_pixels", out_key, lambda: as_rgb(upscale(to_rgb8(self.output), factor))
            ).copy()
            # The output cell, drawn as big as the window it comes from.
            half = k // 2
            span = factor + 2 * half
            mark_box(
                pixels, row * factor - half, col * factor - half, span, span, ring=ring, reach=reach
            )
            self._out_image.value = png_live(pixels)
        shape = shape_text(x.shape)
        self._in_caption.value = f"<b>input</b> {shape}"
        out = shape_text(self.output.shape)
        zoom = f" (drawn ×{factor})" if factor > 1 else ""
        self._out_caption.value = f"<b>output</b> {out}{zoom}"

    def _draw_numbers(self, x: np.ndarray, k: int, row: int, col: int) -> None:
        padded = pad2d(x, k, self.strides, self.padding)
        top, _ = padding_amounts(x.shape[0], k, self.strides, self.padding)
        left, _ = padding_amounts(x.shape[1], k, self.strides, self.padding)
        # The window's corner in padded coordinates.
        r0 = kernel_positions(x.shape[0], k, self.strides, self.padding)[row]
        c0 = kernel_positions(x.shape[1], k, self.strides, self.padding)[col]
        styles = []
        for i in range(padded.shape[0]):
            line = []
            for j in range(padded.shape[1]):
                css = ""
                if not (top <= i < top + x.shape[0] and left <= j < left + x.shape[1]):
                    css += PAD_STYLE
                if r0 <= i < r0 + k and c0 <= j < c0 + k:
                    css += _WINDOW_STYLE + "font-weight:bold;"
                line.append(css)
            styles.append(line)
        pad_note = " (grey: zero padding)" if padded.shape != x.shape else ""
        self._in_grid_html.value = matrix_html(padded, styles, inline=False)
        self._in_caption.value = f"<b>input</b> {shape_text(x.shape)}{pad_note}"
        out_styles = [
            [
                SELECTED_STYLE + "font-weight:bold;" if (i, j) == (row, col) else ""
                for j in range(self.output.shape[1])
            ]
            for i in range(self.output.shape[0])
        ]
        self._out_grid_html.value = matrix_html(self.output, out_styles, inline=False)
        self._out_caption.value = f"<b>output</b> {shape_text(self.output.shape)}"

    def _products_text(self, x: np.ndarray, k: np.ndarray, row: int, col: int) -> str:
        n = k.shape[0]
        pad = padding_mask(x.shape, n, self.strides, self.padding, row, col)
        win_styles = [
            [PAD_STYLE if pad[i, j] else _WINDOW_STYLE for j in range(n)] for i in range(n)
        ]
        colour = self.window.ndim == 3
        lines = []
        for c in range(3 if colour else 1):
            window = self.window[:, :, c] if colour else self.window
            products = self.products[:, :, c] if colour else self.products
            total = self.window_sum[c] if colour else self.window_sum
            label = f"<b>{_CHANNELS[c]}</b>" if colour else ""
            window_grid = matrix_html(window, win_styles, inline=False)
            kernel_grid = matrix_html(k, inline=False)
            lines.append(
                '<div style="display:flex;align-items:center;gap:6px;flex-wrap:wrap">'
                f"{label}{window_grid}<span>⊙</span>{kernel_grid}"
                f"<span>=</span>{matrix_html(products, inline=False)}"
                f"<span>→ sum = <b>{fmt_number(total)}</b></span></div>"
            )
        value = self.output[row, col]
        shown = (
            "(" + ", ".join(fmt_number(v) for v in value) + ")"
            if np.ndim(value)
            else fmt_number(value)
        )
        head = (
            f"<b>Output ({row}, {col})</b>: the window of the input under the kernel "
            "(grey cells are padding zeros), multiplied cell by cell, then summed"
            + (", in each colour channel on its own" if colour else "")
            + ":"
        )
        tail = f"<div>conv2d output at ({row}, {col}) = <b>{shown}</b></div>"
        return f"<div>{head}</div>{''.join(lines)}{tail}"

    def _code_text(self) -> str:
        n = len(self.kernel)
        # The trait's float64 values: float32 ones would print as 0.1111111119389534.
        rows = ",\n    ".join("[" + ", ".join(repr(float(v)) for v in r) + "]" for r in self.kernel)
        args = f'padding="{self.padding}"' + (
            f", strides={self.strides}" if self.strides != 1 else ""
        )
        head = (
            "import numpy as np\nimport keras\nimport cnnwidgets\n\n"
            f'kernel = np.array([\n    {rows},\n], dtype="float32")\n'
        )
        if self.mode == "colour":
            return head + (
                "# image: (height, width, 3) photo as float32\n"
                f"out = cnnwidgets.conv2d(image, kernel, {args})  # each channel on its own\n\n"
                "# Keras: DepthwiseConv2D filters each channel on its own; Conv2D would\n"
                "# sum the three channels into ONE map (its kernel is 3 deep).\n"
                f"layer = keras.layers.DepthwiseConv2D(({n}, {n}), {args}, use_bias=False)\n"
                "layer.build((None, None, None, 3))\n"
                "layer.set_weights([np.repeat(kernel[:, :, None, None], 3, axis=2)])\n"
                "out_keras = layer(image[None])[0]\n"
            )
        return head + (
            "# image: (height, width) array\n"
            f"out = cnnwidgets.conv2d(image, kernel, {args})\n\n"
            "# Keras: one filter, no bias; weights are (kh, kw, in_channels, filters)\n"
            f"layer = keras.layers.Conv2D(1, ({n}, {n}), {args}, use_bias=False)\n"
            "layer.build((None, None, None, 1))\n"
            "layer.set_weights([kernel[:, :, None, None]])\n"
            'out_keras = layer(image[None, :, :, None].astype("float32"))[0, :, :, 0]\n'
        )

    def _status_text(self, x: np.ndarray, oh: int, ow: int) -> str:
        text = (
            f"input {shape_text(x.shape[:2])} → output {shape_text((oh, ow))} "
            f"(padding='{self.padding}', strides={self.strides})"
        )
        if self.mode == "colour":
            text += "; the kernel runs over each channel on its own; outside 0..255 is clipped"
        elif self.mode == "grayscale" and float(self.output.min()) < 0:
            text += (
                f"; values from {fmt_number(self.output.min())} to "
                f"{fmt_number(self.output.max())}: negative blue, 0 white, positive red"
            )
        return text

    def _show_error(self, text: str, x: np.ndarray) -> None:
        self.message = text
        if self.mode == "numbers":  # the grid without windows, which no longer fit
            self._in_grid_html.value = matrix_html(x, inline=False)
            self._in_caption.value = f"<b>input</b> {shape_text(x.shape)}"
        self.output = self.window = self.products = self.window_sum = None
        self._status_html.value = f'<span style="{ERROR_STYLE}">{html.escape(text)}</span>'
        self._show(self.mode == "numbers", error=True)

    def _show(self, numbers: bool, *, error: bool) -> None:
        def display(widget, visible):
            widget.layout.display = None if visible else "none"

        display(self._photo_dd, not numbers)
        display(self._seed_btn, numbers)
        display(self._in_image, not numbers)
        display(self._in_grid_html, numbers)
        display(self._out_image, not numbers and not error)
        display(self._out_grid_html, numbers and not error)
        display(self._out_caption, not error)
        display(self._products_html, not error)
        display(self._position, not error)

    # ---- controls -------------------------------------------------------------------------

    def _build_controls(self) -> None:
        narrow = {"description_width": "60px"}
        self._photo_dd = W.Dropdown(
            description="photo", style=narrow, layout=W.Layout(width="200px")
        )
        self._mode_tb = W.ToggleButtons(options=list(MODES), style={"button_width": "auto"})
        self._preset_dd = W.Dropdown(
            options=[*KERNEL_PRESETS, CUSTOM],
            description="kernel",
            style=narrow,
            layout=W.Layout(width="220px"),
        )
        self._size_tb = W.ToggleButtons(
            options=[("3×3", 3), ("5×5", 5)], style={"button_width": "auto"}
        )
        self._padding_tb = W.ToggleButtons(
            options=["same", "valid"],
            description="padding",
            style={"button_width": "auto", **narrow},
        )
        self._strides_dd = W.Dropdown(
            options=list(_STRIDES),
            description="strides",
            style=narrow,
            layout=W.Layout(width="130px"),
        )
        self._seed_btn = W.Button(description="new numbers", icon="refresh")
        self._seed_btn.on_click(lambda _: setattr(self, "seed", self.seed + 1))
        self._sliders = {
            "row": position_slider(self, "row", "output row"),
            "col": position_slider(self, "col", "output col"),
        }
        self._position = row(*self._sliders.values())

        self._in_image, self._out_image = image_panel(), image_panel()
        self._in_grid_html, self._out_grid_html = W.HTML(), W.HTML()
        self._in_caption, self._out_caption = W.HTML(), W.HTML()
        self._cells = []
        for i in range(max(KERNEL_SIZES)):
            line = []
            for j in range(max(KERNEL_SIZES)):
                cell = W.FloatText(layout=W.Layout(width="64px", margin="0"))
                cell.observe(lambda ch, i=i, j=j: self._cell_changed(i, j, ch["new"]), "value")
                line.append(cell)
            self._cells.append(line)
        self._cell_box = W.GridBox(layout=W.Layout(grid_gap="2px"))
        kernel_panel = W.VBox(
            [W.HTML("<b>kernel</b> (edit any cell)"), self._cell_box, self._size_tb],
            layout=W.Layout(align_items="center", margin="0 12px"),
        )
        self._products_html, self._code_html, self._status_html = W.HTML(), W.HTML(), W.HTML()
        self._code_box = W.Accordion(
            [self._code_html], titles=["NumPy and Keras code for this kernel"]
        )
        self._code_box.observe(lambda _: self._show_code(), "selected_index")
        panels = W.HBox(
            [
                W.VBox([self._in_caption, self._in_image, self._in_grid_html, self._seed_btn]),
                kernel_panel,
                W.VBox([self._out_caption, self._out_image, self._out_grid_html]),
            ],
            layout=W.Layout(flex_flow="row wrap", align_items="flex-start"),
        )
        self.children = [
            W.HTML(STYLE),
            row(self._photo_dd, self._mode_tb),
            row(self._preset_dd, self._padding_tb, self._strides_dd),
            panels,
            self._status_html,
            self._position,
            self._products_html,
            self._code_box,
        ]

    def _link_controls(self) -> None:
        link_photo_choice(self, self._photo_dd, self._image)
        for name, control in self._controls().items():
            self._bind(control, name)

    def _controls(self) -> dict[str, W.Widget]:
        return {
            "mode": self._mode_tb,
            "preset": self._preset_dd,
            "kernel_size": self._size_tb,
            "padding": self._padding_tb,
            "strides": self._strides_dd,
        }

    def _show_traits(self) -> None:
        # The controls show the traits (set by a control, or by code in a lesson).
        for name, control in self._controls().items():
            control.value = getattr(self, name)
        if self._image is None:
            self._photo_dd.value = self.photo

    def _sync_cells(self) -> None:
        n = len(self.kernel)
        for i, r in enumerate(self.kernel):
            for j, v in enumerate(r):
                if self._cells[i][j].value != v:
                    self._cells[i][j].value = v
        if len(self._cell_box.children) != n * n:
            self._cell_box.children = [self._cells[i][j] for i in range(n) for j in range(n)]
            self._cell_box.layout.grid_template_columns = f"repeat({n}, 70px)"
