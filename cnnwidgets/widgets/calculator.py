"""The convolution calculator: output size, parameters and where the kernel lands."""

from __future__ import annotations

import html
import itertools

import ipywidgets as W
import traitlets

from ..core.arithmetic import ConvArithmetic, conv_arithmetic, conv_params_formula
from ..core.params import conv_params
from ..core.shapes import stack_table
from ._base import _Widget
from ._common import STYLE

__all__ = ["ConvCalculator"]

# Cells drawn per side of the padded input. Past this the picture shows the top-left
# corner only: cells get too small to read, and the readout lists every unread row anyway.
_MAX_CELLS = 32
_PICTURE_PX = 340

_PADDING, _UNREAD, _TAP, _OUTLINE = "#d1d5db", "#fca5a5", "#2563eb", "#1d4ed8"
_ids = itertools.count()


def _ranges(indices: list[int] | tuple[int, ...]) -> str:
    """``[1, 3, 4, 5]`` → ``"1, 3–5"``: long runs of unread rows stay readable."""
    parts = []
    for _, run in itertools.groupby(enumerate(indices), lambda t: t[1] - t[0]):
        values = [v for _, v in run]
        parts.append(f"{values[0]}" if len(values) == 1 else f"{values[0]}–{values[-1]}")
    return ", ".join(parts)


def _runs(indices: list[int] | tuple[int, ...]) -> list[tuple[int, int]]:
    """Contiguous runs as ``(start, length)``, so a band of unread rows is one SVG rect."""
    out = []
    for _, run in itertools.groupby(enumerate(indices), lambda t: t[1] - t[0]):
        values = [v for _, v in run]
        out.append((values[0], len(values)))
    return out


def _svg_picture(geo: ConvArithmetic, window: tuple[int, int], uid: str) -> tuple[str, bool]:
    """SVG of the padded input: zeros hatched, unread cells red, kernel starts dotted."""
    rows, cols = geo.rows, geo.cols
    n_r, n_c = min(rows.padded_size, _MAX_CELLS), min(cols.padded_size, _MAX_CELLS)
    truncated = (n_r, n_c) != geo.padded_size
    cs = max(10, min(28, _PICTURE_PX // max(n_r, n_c)))
    width, height = n_c * cs, n_r * cs
    top, left = rows.pad_before, cols.pad_before
    ih, iw = rows.input_size, cols.input_size

    def rect(r: float, c: float, h: float, w: float, style: str) -> str:
        return f'<rect x="{c * cs}" y="{r * cs}" width="{w * cs}" height="{h * cs}" {style}/>'

    # Patterns keep the SVG a few kilobytes whatever the size: one element each for the
    # grid, the hatching and the dots, instead of one per cell. The ids are unique per
    # calculator because several calculators can share a notebook page.
    s = rows.strides * cs, cols.strides * cs
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'style="overflow:hidden;font-family:sans-serif">',
        "<defs>",
        f'<pattern id="{uid}g" width="{cs}" height="{cs}" patternUnits="userSpaceOnUse">'
        f'<path d="M {cs} 0 L 0 0 0 {cs}" fill="none" stroke="#9ca3af" stroke-width="1"/>'
        "</pattern>",
        f'<pattern id="{uid}h" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{_PADDING}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="2"/></pattern>',
        f'<pattern id="{uid}d" width="{s[1]}" height="{s[0]}" patternUnits="userSpaceOnUse">'
        f'<circle cx="{cs / 2}" cy="{cs / 2}" r="{max(2, cs // 7)}" fill="#111827"/></pattern>',
        "</defs>",
        rect(0, 0, n_r, n_c, 'fill="white"'),
    ]
    hatch = f'fill="url(#{uid}h)"'
    for r, c, h, w in (
        (0, 0, top, cols.padded_size),
        (top + ih, 0, rows.pad_after, cols.padded_size),
        (top, 0, ih, left),
        (top, left + iw, ih, cols.pad_after),
    ):
        if h and w:
            parts.append(rect(r, c, h, w, hatch))
    unread = f'fill="{_UNREAD}"'
    parts += [rect(top + r, left, n, iw, unread) for r, n in _runs(rows.uncovered)]
    parts += [rect(top, left + c, ih, n, unread) for c, n in _runs(cols.uncovered)]
    parts.append(rect(0, 0, n_r, n_c, f'fill="url(#{uid}g)"'))
    parts.append(rect(top, left, ih, iw, 'fill="none" stroke="#111827" stroke-width="2"'))
    # Dots where the kernel's top-left tap lands, one per output cell.
    span_r = (rows.output_size - 1) * rows.strides + 1
    span_c = (cols.output_size - 1) * cols.strides + 1
    parts.append(rect(0, 0, span_r, span_c, f'fill="url(#{uid}d)" opacity="0.55"'))
    out_r, out_c = window
    tap_style = f'fill="{_TAP}" opacity="0.45"'
    for r in rows.taps(out_r):
        for c in cols.taps(out_c):
            parts.append(rect(r, c, 1, 1, tap_style))
    r0, c0 = rows.positions[out_r], cols.positions[out_c]
    parts.append(
        rect(
            r0,
            c0,
            rows.effective_kernel_size,
            cols.effective_kernel_size,
            f'fill="none" stroke="{_OUTLINE}" stroke-width="3"',
        )
    )
    parts.append("</svg>")
    return "".join(parts), truncated


def _svg_output(size: tuple[int, int], window: tuple[int, int]) -> str:
    """The output grid with the cell of the outlined kernel position filled."""
    oh, ow = size
    n_r, n_c = min(oh, _MAX_CELLS), min(ow, _MAX_CELLS)
    cs = max(4, min(20, 160 // max(n_r, n_c)))
    r, c = window
    cells = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{n_c * cs}" height="{n_r * cs}">',
        f'<rect width="{n_c * cs}" height="{n_r * cs}" fill="#f3f4f6" stroke="#6b7280"/>',
    ]
    if r < n_r and c < n_c:
        cells.append(
            f'<rect x="{c * cs}" y="{r * cs}" width="{cs}" height="{cs}" fill="{_TAP}" '
            'opacity="0.7"/>'
        )
    cells.append("</svg>")
    return "".join(cells)


def _swatch(style: str, label: str) -> str:
    return (
        f'<span style="display:inline-block;width:12px;height:12px;{style};'
        f'border:1px solid #9ca3af;vertical-align:middle;margin:0 4px 0 10px"></span>{label}'
    )


_LEGEND = (
    "<div style='font-size:12px'>"
    + _swatch(f"background:{_PADDING}", "padding (zeros)")
    + _swatch("background:white", "input cell")
    + _swatch(f"background:{_UNREAD}", "never read")
    + _swatch(f"background:{_TAP};opacity:.45", "taps of the outlined window")
    + _swatch("background:radial-gradient(#111827 30%, white 35%)", "kernel start positions")
    + "</div>"
)


class ConvCalculator(_Widget):
    """A Conv2D layer's arithmetic for any settings: output size, parameters, kernel positions.

    Move the controls (or set the traits) and the calculator shows the output
    shape, the size formula with the numbers in it, the parameter count, and a
    picture of the padded input with every kernel start position, one outlined
    window (step through them with ``position``) and the cells no window reads.
    Impossible settings show the sentence that explains them. Every number comes
    from :mod:`cnnwidgets.core.arithmetic` and :func:`cnnwidgets.core.params.conv_params`.

    Parameters
    ----------
    input_size : int or (int, int)
        Input height and width; an int for a square image.
    kernel_size, strides, padding, dilation_rate
        As in ``keras.layers.Conv2D``; ``padding`` may also be a number of zeros per side.
    in_channels : int
        Depth of the input (1 grayscale, 3 RGB).
    filters : int
        Number of filters, i.e. output depth.

    Examples
    --------
    >>> calc = ConvCalculator(input_size=6, kernel_size=3, strides=2)
    >>> calc.output_shape, calc.params, calc.uncovered_rows
    ((None, 2, 2, 32), 320, [5])
    >>> calc.kernel_size = 7
    >>> calc.output_size is None, "larger than the padded input" in calc.error
    (True, True)
    """

    input_size = traitlets.Union(
        [traitlets.Int(), traitlets.Tuple(traitlets.Int(), traitlets.Int())],
        default_value=28,
        help="Input height and width: an int for a square image, or (height, width).",
    )
    kernel_size = traitlets.Int(3, help="Kernel height and width (square kernels).")
    strides = traitlets.Int(1, help="Step between kernel positions, along rows and columns.")
    padding = traitlets.Union(
        [traitlets.Unicode(), traitlets.Int()],
        default_value="valid",
        help="'valid', 'same' (Keras), or a number of zeros added on every side.",
    )
    dilation_rate = traitlets.Int(1, help="Spacing between kernel taps (1 = no gaps).")
    in_channels = traitlets.Int(1, help="Depth of the input: 1 for grayscale, 3 for RGB.")
    filters = traitlets.Int(32, help="Number of filters = depth of the output.")
    position = traitlets.Int(
        0, help="Which kernel position to outline: output cells counted row by row from 0."
    )

    # The readout and pictures are what a change is for: their message goes first.
    _SEND_FIRST = ("_view",)

    _TRAITS = (
        "input_size",
        "kernel_size",
        "strides",
        "padding",
        "dilation_rate",
        "in_channels",
        "filters",
        "position",
    )

    def __init__(
        self,
        input_size: int | tuple[int, int] = 28,
        kernel_size: int = 3,
        strides: int = 1,
        padding: str | int = "valid",
        dilation_rate: int = 1,
        in_channels: int = 1,
        filters: int = 32,
        **kwargs,
    ) -> None:
        if isinstance(input_size, list):
            input_size = tuple(input_size)
        super().__init__(
            input_size=input_size,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
            in_channels=in_channels,
            filters=filters,
            **kwargs,
        )
        self._uid = f"cnnconv{next(_ids)}"
        self.arithmetic: ConvArithmetic | None = None
        style = {"description_width": "90px"}

        def box() -> W.Layout:  # one Layout per control: hiding one must not hide the others
            return W.Layout(width="200px")

        def wide() -> W.Layout:
            return W.Layout(width="300px")

        # IntText, not bounded boxes, for sizes: a learner who types 0 or 2 should see
        # the sentence explaining why it fails, not a box that silently snaps back.
        self.controls: dict[str, W.Widget] = {
            "height": W.IntText(description="height", layout=box(), style=style),
            "width": W.IntText(description="width", layout=box(), style=style),
            "square": W.Checkbox(description="square input", indent=False),
            "kernel_size": W.IntSlider(
                min=1, max=11, description="kernel_size", style=style, layout=wide()
            ),
            "strides": W.IntSlider(min=1, max=5, description="strides", style=style, layout=wide()),
            "padding": W.Dropdown(
                options=[("valid", "valid"), ("same", "same"), ("explicit p", "explicit")],
                description="padding",
                layout=box(),
                style=style,
            ),
            "p": W.IntText(description="p (zeros)", layout=box(), style=style),
            "dilation_rate": W.IntSlider(
                min=1, max=5, description="dilation_rate", style=style, layout=wide()
            ),
            "in_channels": W.IntText(description="in_channels", layout=box(), style=style),
            "filters": W.IntText(description="filters", layout=box(), style=style),
            "position": W.IntSlider(
                min=0, max=0, description="position", style=style, layout=wide()
            ),
        }
        c = self.controls
        # The Play buttons step the slider in the browser; the slider's range reaches them
        # there too (jslink), so a new output size is one message, the slider's.
        self._play = W.Play(interval=600, min=0, max=0, description="play the positions")
        W.jslink((self._play, "value"), (c["position"], "value"))
        W.jslink((c["position"], "max"), (self._play, "max"))
        # The zeros Keras adds, per side, as numbers (from core.arithmetic, as in the text).
        self._zeros = W.HTML(layout=W.Layout(margin="0 0 0 94px"))
        # Readout, pictures and legend in one view: one message per change.
        self._view = W.HTML(layout=W.Layout(flex="1 1 360px", min_width="0"))
        left = W.VBox(
            [
                W.HTML("<b>Input</b>"),
                c["square"],
                c["height"],
                c["width"],
                c["in_channels"],
                W.HTML("<b>Conv2D</b>"),
                c["filters"],
                c["kernel_size"],
                c["strides"],
                c["padding"],
                c["p"],
                self._zeros,
                c["dilation_rate"],
                W.HTML("<b>Step through the positions</b>"),
                c["position"],
                W.HBox([self._play], layout=W.Layout(margin="0 0 0 94px")),
            ],
            layout=W.Layout(flex="0 0 310px", margin="0 16px 0 0"),
        )
        self.children = [
            W.HTML(STYLE),
            W.HBox([left, self._view], layout=W.Layout(flex_flow="row wrap")),
        ]
        for control in c.values():
            control.observe(self._on_control, names="value")
        self.observe(self._on_trait, names=list(self._TRAITS))
        self._start()

    # --- state in both directions ---------------------------------------------------------

    def _on_trait(self, change) -> None:
        self._refresh()

    def _on_control(self, change) -> None:
        if self._busy:
            return
        c, owner = self.controls, change["owner"]
        # Only the trait behind the moved control changes: a value set in code that the
        # other controls cannot show (kernel_size=0) stays until the learner fixes it.
        with self._quiet():
            if owner in (c["height"], c["width"], c["square"]):
                square = c["square"].value
                if owner is c["square"]:
                    c["width"].value = c["height"].value  # a square's width, to start from
                h, w = c["height"].value, c["width"].value
                self.input_size = h if square else (h, w)
            elif owner in (c["padding"], c["p"]):
                mode = c["padding"].value
                self.padding = c["p"].value if mode == "explicit" else mode
            else:
                name = next(key for key, control in c.items() if control is owner)
                setattr(self, name, owner.value)
        self._refresh()

    def _show_traits(self) -> None:
        """Put the traits' values in the controls (a lesson may set the traits directly)."""
        c = self.controls
        size = self.input_size
        square = not isinstance(size, tuple)
        c["square"].value = square
        c["height"].value = size if square else size[0]
        # A square input has one size: the width box goes (and sends nothing while hidden).
        if not square:
            c["width"].value = size[1]
        c["width"].layout.display = "none" if square else None
        for name in ("kernel_size", "strides", "dilation_rate"):
            slider, value = c[name], getattr(self, name)
            # Widen the slider for a value set in code, even an impossible one (0): the
            # slider shows what the message talks about, and moving it back fixes it.
            slider.max, slider.min = max(slider.max, value), min(slider.min, value)
            slider.value = value
        pad = self.padding
        if isinstance(pad, str) and pad.lower() in ("valid", "same"):
            c["padding"].value = pad.lower()
        elif not isinstance(pad, str):
            c["padding"].value = "explicit"
            c["p"].value = pad
        # p is typed only for explicit padding; the zeros of every mode are shown below it.
        c["p"].layout.display = None if c["padding"].value == "explicit" else "none"
        c["p"].disabled = c["padding"].value != "explicit"
        c["in_channels"].value = self.in_channels
        c["filters"].value = self.filters

    # --- the one place that computes --------------------------------------------------------

    def _update(self) -> None:
        self._show_traits()
        errors: list[str] = []
        try:
            geo: ConvArithmetic | None = conv_arithmetic(
                self.input_size, self.kernel_size, self.strides, self.padding, self.dilation_rate
            )
        except ValueError as err:
            geo = None
            errors.append(str(err))
        try:
            params: int | None = conv_params(self.kernel_size, self.in_channels, self.filters)
            params_formula: str | None = conv_params_formula(
                self.kernel_size, self.in_channels, self.filters
            )
        except ValueError as err:
            params = params_formula = None
            if str(err) not in errors:
                errors.append(str(err))

        self.arithmetic = geo
        self.error: str | None = " ".join(errors) or None
        self.params = params
        self.params_formula = params_formula
        self.output_size: tuple[int, int] | None = geo.output_size if geo else None
        self.output_shape = (
            (None, *geo.output_size, self.filters) if geo and params is not None else None
        )
        self.formulas: tuple[str, str] | None = (
            (geo.rows.formula, geo.cols.formula) if geo else None
        )
        self.formula: str | None = geo.formula if geo else None
        self.uncovered_rows = list(geo.rows.uncovered) if geo else []
        self.uncovered_cols = list(geo.cols.uncovered) if geo else []
        self.positions_rows = list(geo.rows.positions) if geo else []
        self.positions_cols = list(geo.cols.positions) if geo else []
        self.padding_rows = (geo.rows.pad_before, geo.rows.pad_after) if geo else None
        self.padding_cols = (geo.cols.pad_before, geo.cols.pad_after) if geo else None
        self.n_positions = geo.output_size[0] * geo.output_size[1] if geo else 0
        self.note: str | None = self._keras_note() if geo and params is not None else None
        if geo:
            index = min(max(self.position, 0), self.n_positions - 1)
            self.window_output: tuple[int, int] | None = divmod(index, geo.output_size[1])
            self.window_rows: list[int] = list(geo.rows.taps(self.window_output[0]))
            self.window_cols: list[int] = list(geo.cols.taps(self.window_output[1]))
        else:
            self.window_output, self.window_rows, self.window_cols = None, [], []
        self._render()

    def _keras_note(self) -> str | None:
        """What Keras's Conv2D says about settings the arithmetic allows (stack_table knows)."""
        h, w = (self.input_size,) * 2 if isinstance(self.input_size, int) else self.input_size
        spec = {
            "layer": "Conv2D",
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
        }
        try:
            stack_table((h, w, self.in_channels), [spec])
        except ValueError as err:
            # The arithmetic holds either way; this says what Keras will refuse to build.
            note = str(err).removeprefix("Layer 1 (Conv2D): ")
            if not isinstance(self.padding, str):
                note += (
                    f" For explicit padding p = {self.padding}, put "
                    f"keras.layers.ZeroPadding2D({self.padding}) before a padding='valid' Conv2D."
                )
            return note
        return None

    # --- drawing -------------------------------------------------------------------------------

    def _lines(self) -> list[tuple[str, str]]:
        geo = self.arithmetic
        lines: list[tuple[str, str]] = []
        if geo:
            oh, ow = geo.output_size
            depth = f" × {self.filters}" if self.output_shape else ""
            shape = f" — Keras shape {self.output_shape}" if self.output_shape else ""
            lines.append(("Output", f"{oh} × {ow}{depth}{shape}"))
            if "\n" in self.formula:
                lines += [("Height", geo.rows.formula), ("Width", geo.cols.formula)]
            else:
                lines.append(("Size", self.formula))
        if self.params is not None:
            lines.append(
                (
                    "Parameters",
                    f"filters·kh·kw·in_channels + filters = {self.params_formula} "
                    "(the input size does not change it)",
                )
            )
        if geo:
            unread = []
            if self.uncovered_rows:
                unread.append(f"rows {_ranges(self.uncovered_rows)}")
            if self.uncovered_cols:
                unread.append(f"columns {_ranges(self.uncovered_cols)}")
            lines.append(
                (
                    "Never read",
                    " and ".join(unread) + " of the input (shaded red): no output depends on them."
                    if unread
                    else "none: every input cell is read by at least one kernel position.",
                )
            )
            r, c = self.window_output
            lines.append(
                (
                    "Outlined",
                    f"position {r * geo.output_size[1] + c} (of 0–{self.n_positions - 1}) "
                    f"→ output cell ({r}, {c}); it reads padded rows {_ranges(self.window_rows)} "
                    f"and columns {_ranges(self.window_cols)}.",
                )
            )
        return lines

    def _render(self) -> None:
        lines = self._lines()
        body = "".join(f"<div><b>{html.escape(k)}</b>: {html.escape(v)}</div>" for k, v in lines)
        if self.error:
            body = (
                "<div style='color:#b42318;border:1px solid #b42318;padding:6px;"
                f"margin-bottom:6px'>✘ {html.escape(self.error)}</div>" + body
            )
        if self.note:
            body += (
                "<div style='color:#92400e;border:1px solid #d97706;padding:6px;margin-top:6px'>"
                f"⚠ {html.escape(self.note)}</div>"
            )
        readout = f"<div style='font-family:monospace;line-height:1.6'>{body}</div>"
        self.message = "\n".join(
            ([self.error] if self.error else [])
            + [f"{k}: {v}" for k, v in lines]
            + ([self.note] if self.note else [])
        )
        geo = self.arithmetic
        c = self.controls
        last = max(self.n_positions - 1, 0)
        c["position"].max = last
        c["position"].value = min(max(self.position, 0), last)
        self._zeros.value = f"<span style='font-size:12px'>{html.escape(_zeros_text(geo))}</span>"
        if geo is None:
            self.truncated = False
            self.picture = (
                "<div style='color:#b42318;width:300px'>No picture for these settings: "
                "see the message above.</div>"
            )
            pictures = self.picture
        else:
            self.picture, self.truncated = _svg_picture(geo, self.window_output, self._uid)
            ph, pw = geo.padded_size
            note = f"{ph} × {pw} padded"
            if self.truncated:
                note += (
                    f"; showing the top-left {min(ph, _MAX_CELLS)} × {min(pw, _MAX_CELLS)} cells"
                )
            self.picture += f"<div style='font-size:12px'>{note}</div>"
            oh, ow = geo.output_size
            output = _svg_output(geo.output_size, self.window_output) + (
                f"<div style='font-size:12px'>{oh} × {ow}, one cell per position</div>"
            )
            pictures = (
                "<div style='display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-start;"
                "margin:6px 0'>"
                f"<div><div><b>Padded input</b></div>{self.picture}</div>"
                f"<div><div><b>Output</b></div>{output}</div></div>"
            )
        self._view.value = readout + pictures + (_LEGEND if geo is not None else "")


def _zeros_text(geo: ConvArithmetic | None) -> str:
    """The zeros Keras adds on each side, from the arithmetic the text quotes."""
    if geo is None:
        return ""
    r, c = geo.rows, geo.cols
    sides = (r.pad_before, r.pad_after, c.pad_before, c.pad_after)
    if not any(sides):
        return "zeros added: none"
    if len(set(sides)) == 1:
        return f"zeros added: {sides[0]} on every side"
    return f"zeros added: {sides[0]} top, {sides[1]} bottom, {sides[2]} left, {sides[3]} right"
