"""Receptive fields: click an output pixel of a conv/pool stack and see the input it reads."""

from __future__ import annotations

import copy
import html
from functools import partial
from typing import Any

import ipywidgets as W
import traitlets as T

from ..core.receptive import receptive_field_table, receptive_mask, receptive_window

__all__ = ["ReceptiveFieldWidget"]

_CONV = {"layer": "Conv2D", "kernel_size": 3, "strides": 1, "dilation_rate": 1, "padding": "valid"}
_POOL = {"layer": "MaxPooling2D", "pool_size": 2, "padding": "valid"}
PRESETS: dict[str, tuple[int, list[dict[str, Any]]]] = {
    "two 3×3 convolutions": (12, [dict(_CONV), dict(_CONV)]),
    "conv, pool, conv, pool": (
        16,
        [
            {**_CONV, "padding": "same"},
            dict(_POOL),
            {**_CONV, "padding": "same"},
            dict(_POOL),
        ],
    ),
    "3×3 dilated by 2, twice": (16, [{**_CONV, "dilation_rate": 2}, {**_CONV, "dilation_rate": 2}]),
    "stride 2, then 3×3": (16, [{**_CONV, "strides": 2}, dict(_CONV)]),
}
_MAX_BUTTONS = 16  # output grids up to 16x16 are buttons to click; larger ones use sliders
_FIELD, _HOLE, _OTHER, _PICKED = "#f59e0b", "#fde68a", "#f3f4f6", "#f59e0b"


class ReceptiveFieldWidget(W.VBox):
    """A stack of convolutions and poolings: pick an output pixel, see its field in the input.

    Each 3x3 convolution widens the field by 2 pixels (times the stride of everything
    before it); a stride, and above all a 2x2 pooling, doubles what later layers add;
    a dilation widens the span with the same number of weights but leaves holes. The
    field and its table come from :func:`cnnwidgets.receptive_mask` and
    :func:`cnnwidgets.receptive_field_table` (the kit's tests check them against the
    gradient of a Keras model's output with respect to its input).

    Parameters
    ----------
    input_size : int
        Side of the (square) input, at most 32.
    layers : list of dict, optional
        Specs ``{"layer": "Conv2D", "kernel_size": 3, "strides": 1, "dilation_rate": 1,
        "padding": "valid"}`` or ``{"layer": "MaxPooling2D", "pool_size": 2}``.
    preset : str, optional
        One of ``PRESETS`` instead of ``input_size`` and ``layers``.

    Examples
    --------
    >>> w = ReceptiveFieldWidget.preset("conv, pool, conv, pool")
    >>> w.output_size, w.field_size
    ((4, 4), (10, 10))
    >>> w.row, w.col = 1, 2
    >>> w.window
    ((1, 10), (5, 14))
    """

    input_size = T.Int(12, help="Side of the square input, in pixels (at most 32).")
    layers = T.List(T.Dict(), help="The stack: Conv2D and MaxPooling2D/AveragePooling2D specs.")
    row = T.Int(0, help="Row of the output pixel whose field is shown.")
    col = T.Int(0, help="Column of the output pixel whose field is shown.")

    def __init__(
        self, input_size: int = 12, layers: list[dict[str, Any]] | None = None, **kwargs
    ) -> None:
        self._ready = False
        super().__init__(**kwargs)
        self._signature: Any = None
        self._filling = False
        self.layer_controls: list[dict[str, W.Widget]] = []
        self.cell_buttons: list[list[W.Button]] = []
        self._size = W.IntSlider(min=4, max=32, description="input size")
        W.link((self, "input_size"), (self._size, "value"))
        self._preset = W.Dropdown(options=["(your stack)", *PRESETS], description="preset")
        self._preset.observe(self._on_preset, "value")
        self._add_conv = W.Button(description="add a convolution", icon="plus")
        self._add_pool = W.Button(description="add a pooling", icon="plus")
        self._add_conv.on_click(lambda _: self._append(_CONV))
        self._add_pool.on_click(lambda _: self._append(_POOL))
        self._rows = W.VBox()
        self._row_slider = W.IntSlider(description="output row")
        self._col_slider = W.IntSlider(description="output col")
        self._row_slider.observe(lambda c: self._set_position("row", c), "value")
        self._col_slider.observe(lambda c: self._set_position("col", c), "value")
        self._outputs = W.VBox()
        self._input = W.HTML()
        self._table = W.HTML()
        self._status = W.HTML()
        self.children = [
            W.HBox([self._preset, self._size], layout=W.Layout(flex_flow="row wrap")),
            self._rows,
            W.HBox([self._add_conv, self._add_pool]),
            self._status,
            W.HBox(
                [
                    W.VBox(
                        [W.HTML("<b>output</b>: click a pixel"), self._outputs],
                        layout=W.Layout(margin="0 16px 0 0"),
                    ),
                    W.VBox(
                        [W.HTML("<b>input</b>: its receptive field"), self._input],
                        layout=W.Layout(margin="0 16px 0 0"),
                    ),
                    self._table,
                ],
                layout=W.Layout(flex_flow="row wrap", justify_content="flex-start"),
            ),
        ]
        self.layers = copy.deepcopy(
            layers if layers is not None else PRESETS["two 3×3 convolutions"][1]
        )
        self.input_size = input_size
        self._ready = True
        self._update()

    @classmethod
    def preset(cls, name: str) -> ReceptiveFieldWidget:
        """One of the stacks in ``PRESETS``."""
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
        size, layers = PRESETS[name]
        widget = cls(size, copy.deepcopy(layers))
        widget._preset.value = name
        return widget

    @T.validate("input_size")
    def _valid_size(self, proposal):
        if not 1 <= proposal["value"] <= 32:
            raise T.TraitError(f"input_size must be between 1 and 32, got {proposal['value']}.")
        return proposal["value"]

    @T.observe("input_size", "layers", "row", "col")
    def _changed(self, change) -> None:
        self._update()

    # ---- editing -------------------------------------------------------------------------------

    def _on_preset(self, change) -> None:
        if change["new"] in PRESETS and not self._filling:
            size, layers = PRESETS[change["new"]]
            with self.hold_trait_notifications():
                self.input_size, self.layers = size, copy.deepcopy(layers)

    def _append(self, spec: dict[str, Any]) -> None:
        self.layers = [*copy.deepcopy(self.layers), dict(spec)]

    def _remove(self, index: int) -> None:
        layers = copy.deepcopy(self.layers)
        del layers[index]
        self.layers = layers

    def _on_edit(self, index: int, key: str, change) -> None:
        if self._filling:
            return
        layers = copy.deepcopy(self.layers)
        if key == "layer" and change["new"] != layers[index]["layer"]:
            layers[index] = dict(_CONV if change["new"] == "Conv2D" else _POOL)
            if change["new"] == "AveragePooling2D":
                layers[index]["layer"] = "AveragePooling2D"
        else:
            layers[index][key] = change["new"]
        self.layers = layers

    def _set_position(self, name: str, change) -> None:
        if not self._filling:
            setattr(self, name, change["new"])

    def _pick(self, row: int, col: int) -> None:
        with self.hold_trait_notifications():
            self.row, self.col = row, col

    def _build_rows(self) -> None:
        rows, self.layer_controls = [], []
        for index, spec in enumerate(self.layers):
            conv = spec.get("layer") == "Conv2D"
            size_key = "kernel_size" if conv else "pool_size"
            controls: dict[str, W.Widget] = {
                "layer": W.Dropdown(
                    options=["Conv2D", "MaxPooling2D", "AveragePooling2D"],
                    layout=W.Layout(width="160px"),
                ),
                size_key: W.BoundedIntText(
                    min=1,
                    max=7,
                    description="kernel" if conv else "pool",
                    layout=W.Layout(width="140px"),
                ),
                "strides": W.BoundedIntText(
                    min=1, max=3, description="strides", layout=W.Layout(width="140px")
                ),
                "padding": W.Dropdown(
                    options=["valid", "same"], description="padding", layout=W.Layout(width="170px")
                ),
            }
            if conv:
                controls["dilation_rate"] = W.BoundedIntText(
                    min=1, max=3, description="dilation", layout=W.Layout(width="140px")
                )
            for key, control in controls.items():
                control.style.description_width = "60px"
                control.observe(partial(self._on_edit, index, key), "value")
            remove = W.Button(
                icon="times", tooltip="remove this layer", layout=W.Layout(width="36px")
            )
            remove.on_click(lambda _, i=index: self._remove(i))
            rows.append(
                W.HBox(
                    [W.HTML(f"<b>{index + 1}.</b>"), *controls.values(), remove],
                    layout=W.Layout(flex_flow="row wrap", align_items="center"),
                )
            )
            self.layer_controls.append(controls)
        self._rows.children = rows

    def _fill_rows(self) -> None:
        for spec, controls in zip(self.layers, self.layer_controls, strict=True):
            for key, control in controls.items():
                default = {"strides": spec.get("pool_size", 1) if key == "strides" else 1}.get(
                    key, _CONV.get(key, _POOL.get(key))
                )
                value = spec.get(key)
                if key == "strides" and value is None and spec.get("layer") != "Conv2D":
                    value = spec.get("pool_size", 2)  # Keras: strides default to the pool size
                control.value = default if value is None else value

    # ---- the one recompute ---------------------------------------------------------------------

    def _update(self) -> None:
        if not self._ready:
            return
        signature = tuple(spec.get("layer") for spec in self.layers)
        self._filling = True
        try:
            if signature != self._signature:
                self._signature = signature
                self._build_rows()
            self._fill_rows()
            if self._preset.value in PRESETS and PRESETS[self._preset.value] != (
                self.input_size,
                self.layers,
            ):
                self._preset.value = "(your stack)"
        finally:
            self._filling = False
        try:
            if not self.layers:
                raise ValueError("Add a layer: with none, each pixel sees only itself.")
            self.table = receptive_field_table(self.input_size, self.layers)
            self.message = ""
        except ValueError as err:
            self.table, self.message = [], str(err)
            self.output_size = self.field_size = None
            self.mask = self.window = None
            self._render()
            return
        last = self.table[-1]
        self.output_size, self.field_size = last["output_size"], last["size"]
        oh, ow = self.output_size
        if self.row >= oh or self.col >= ow:
            with self.hold_trait_notifications():
                self.row, self.col = min(self.row, oh - 1), min(self.col, ow - 1)
            return
        self.mask = receptive_mask(self.input_size, self.layers, self.row, self.col)
        self.span = receptive_window(self.input_size, self.layers, self.row, self.col, clip=False)
        self.window = (
            receptive_window(self.input_size, self.layers, self.row, self.col)
            if self.mask.any()
            else None
        )
        self._render()

    # ---- drawing ------------------------------------------------------------------------------

    def _render(self) -> None:
        if self.message:
            self._status.value = f"<div style='color:#b42318'>✘ {html.escape(self.message)}</div>"
            self._outputs.children, self._input.value, self._table.value = [], "", ""
            return
        oh, ow = self.output_size
        self._filling = True
        try:
            for slider, n, value in (
                (self._row_slider, oh, self.row),
                (self._col_slider, ow, self.col),
            ):
                slider.max = n - 1
                slider.value = value
        finally:
            self._filling = False
        self._draw_outputs(oh, ow)
        self._input.value = self._input_html()
        (top, bottom), (left, right) = self.span
        holes = int(
            (bottom - top + 1) * (right - left + 1)
            - self.mask.sum()
            - self._outside_count(top, bottom, left, right)
        )
        parts = [
            f"output pixel ({self.row}, {self.col}) of {oh}×{ow} reads a "
            f"<b>{self.field_size[0]}×{self.field_size[1]}</b> field: input rows {top}..{bottom}, "
            f"columns {left}..{right}"
        ]
        if min(top, left) < 0 or bottom >= self.input_size or right >= self.input_size:
            parts.append(" (part of it is padding)")
        if holes:
            parts.append(f"; {holes} pixels inside it are never read (holes)")
        self._status.value = "<div>" + "".join(parts) + ".</div>"
        self._table.value = self._table_html()

    def _outside_count(self, top: int, bottom: int, left: int, right: int) -> int:
        n = self.input_size
        rows_in = max(0, min(bottom, n - 1) - max(top, 0) + 1)
        cols_in = max(0, min(right, n - 1) - max(left, 0) + 1)
        return (bottom - top + 1) * (right - left + 1) - rows_in * cols_in

    def _draw_outputs(self, oh: int, ow: int) -> None:
        if oh > _MAX_BUTTONS or ow > _MAX_BUTTONS:
            self.cell_buttons = []
            self._outputs.children = [self._row_slider, self._col_slider]
            return
        if len(self.cell_buttons) != oh or (self.cell_buttons and len(self.cell_buttons[0]) != ow):
            self.cell_buttons = [
                [
                    W.Button(layout=W.Layout(width="22px", height="22px", padding="0", margin="0"))
                    for _ in range(ow)
                ]
                for _ in range(oh)
            ]
            for r, line in enumerate(self.cell_buttons):
                for c, button in enumerate(line):
                    button.on_click(lambda _, r=r, c=c: self._pick(r, c))
            grid = W.GridBox(
                [b for line in self.cell_buttons for b in line],
                layout=W.Layout(grid_template_columns=f"repeat({ow}, 22px)", grid_gap="1px"),
            )
            self._outputs.children = [grid]
        for r, line in enumerate(self.cell_buttons):
            for c, button in enumerate(line):
                picked = (r, c) == (self.row, self.col)
                button.style.button_color = _PICKED if picked else "#e5e7eb"
                button.tooltip = f"output ({r}, {c})"

    def _input_html(self) -> str:
        (top, bottom), (left, right) = self.span
        cells = []
        for r in range(self.input_size):
            row = []
            for c in range(self.input_size):
                if self.mask[r, c]:
                    colour = _FIELD
                elif top <= r <= bottom and left <= c <= right:
                    colour = _HOLE
                else:
                    colour = _OTHER
                row.append(
                    f"<td style='width:12px;height:12px;padding:0;background:{colour};"
                    "border:1px solid #fff'></td>"
                )
            cells.append(f"<tr>{''.join(row)}</tr>")
        legend = (
            f"<div style='font-size:12px'><span style='background:{_FIELD}'>&nbsp;&nbsp;</span> "
            f"read &nbsp;<span style='background:{_HOLE}'>&nbsp;&nbsp;</span> inside the span, "
            "never read</div>"
        )
        return f"<table style='border-collapse:collapse'>{''.join(cells)}</table>{legend}"

    def _table_html(self) -> str:
        head = "".join(
            f"<th style='padding:2px 8px'>{h}</th>" for h in ("layer", "output", "field", "jump")
        )
        body = "".join(
            f"<tr><td style='padding:2px 8px'>{i + 1}. {html.escape(str(r['layer']))}</td>"
            f"<td style='padding:2px 8px'>{r['output_size'][0]}×{r['output_size'][1]}</td>"
            f"<td style='padding:2px 8px'><b>{r['size'][0]}×{r['size'][1]}</b></td>"
            f"<td style='padding:2px 8px'>{r['jump'][0]}</td></tr>"
            for i, r in enumerate(self.table)
        )
        return (
            "<table style='border-collapse:collapse;font-size:13px'>"
            f"<tr>{head}</tr>{body}</table>"
            "<div style='font-size:12px;max-width:260px'>field: the input window one output "
            "pixel reads; jump: how far apart, in input pixels, two neighbouring outputs' "
            "fields start.</div>"
        )
