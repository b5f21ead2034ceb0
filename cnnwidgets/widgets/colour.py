"""Colour convolution: a 3x3x3 kernel on an RGB patch gives one number, plus ONE bias."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.colour import (
    WORKED_COLOUR_KERNEL,
    WORKED_COLOUR_WINDOW,
    colour_conv_step,
    depthwise_params,
)
from ..core.params import conv_params
from ._common import fmt_number, matrix_html

__all__ = ["ColourConvWidget"]

_CHANNELS = ("R", "G", "B")
_TINTS = ("#fde2e2", "#dcfce7", "#dbeafe")
_MODES = ("Conv2D: one map", "DepthwiseConv2D: a map per channel")


def _cube(value: object, what: str) -> list:
    arr = np.asarray(value)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise T.TraitError(f"{what} must hold numbers.")
    if arr.shape != (3, 3, 3):
        raise T.TraitError(f"{what} must be 3x3x3 (rows, columns, RGB), got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise T.TraitError(f"{what} must hold finite numbers.")
    return arr.astype(float).tolist()


class ColourConvWidget(W.VBox):
    """An RGB patch under a 3x3x3 kernel: per-channel products, their sums, and ONE bias.

    A Conv2D filter on a colour image is as deep as its input. Each channel of the
    patch meets the matching channel of the kernel; **all** 27 products are added into
    one number, and the filter's **one** bias is added: one value of one feature map.
    Switch ``depthwise`` on to see the alternative that keeps the channels apart
    (``DepthwiseConv2D``, and what a photo editor's filter does, as lesson 01's
    KernelPlayground does in its colour mode): three maps, each with its own bias.
    Every number comes from :func:`cnnwidgets.colour_conv_step`.

    Parameters
    ----------
    window, kernel : array (3, 3, 3), optional
        By default the lecture's worked problem (its red channel gives -1), with green
        and blue channels added.
    bias : float
        The filter's bias (the lecture adds 1). In depthwise mode each channel gets
        this bias.
    depthwise : bool

    Examples
    --------
    >>> w = ColourConvWidget()
    >>> w.step.channel_sums.tolist(), float(w.value)
    ([-1.0, -1.0, 1.0], 0.0)
    >>> w.depthwise = True
    >>> w.step.outputs.tolist(), w.params
    ([0.0, 0.0, 2.0], 30)
    """

    window = T.List(help="The RGB patch under the kernel: 3x3x3 numbers (rows, columns, RGB).")
    kernel = T.List(help="The filter's kernel: 3x3x3 numbers, as deep as the patch.")
    bias = T.Float(1.0, help="The filter's one bias (each channel's bias when depthwise).")
    depthwise = T.Bool(False, help="Keep the channels apart, as DepthwiseConv2D does.")

    def __init__(
        self,
        window: object = None,
        kernel: object = None,
        *,
        bias: float = 1.0,
        depthwise: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._ready = False
        self._mode = W.ToggleButtons(options=list(_MODES), style={"button_width": "260px"})
        self._bias = W.FloatText(description="bias", layout=W.Layout(width="160px"))
        self._worked = W.Button(description="the lecture's numbers", icon="undo")
        self._random = W.Button(description="random numbers", icon="random")
        self._worked.on_click(lambda _: self._set(WORKED_COLOUR_WINDOW, WORKED_COLOUR_KERNEL, 1.0))
        self._random.on_click(self._randomize)
        self._mode.observe(self._on_mode, "value")
        W.link((self, "bias"), (self._bias, "value"))
        self._cells: list[W.FloatText] = []
        grids = []
        for c, name in enumerate(_CHANNELS):
            cells = [W.FloatText(layout=W.Layout(width="52px", margin="1px")) for _ in range(9)]
            for n, cell in enumerate(cells):
                cell.observe(lambda change, c=c, n=n: self._on_cell(c, n, change), "value")
            self._cells += cells
            grids.append(
                W.VBox(
                    [
                        W.HTML(f"<b>kernel, channel {name}</b>"),
                        W.GridBox(cells, layout=W.Layout(grid_template_columns="repeat(3, 56px)")),
                    ],
                    layout=W.Layout(margin="0 10px 0 0", padding="4px"),
                )
            )
        self._channels = W.HTML()
        self._result = W.HTML()
        self._rnd = np.random.default_rng(0)
        self.children = [
            W.HBox([self._mode]),
            W.HBox([self._bias, self._worked, self._random], layout=W.Layout(flex_flow="row wrap")),
            W.HBox(grids, layout=W.Layout(flex_flow="row wrap")),
            self._channels,
            self._result,
        ]
        self.window = _cube(WORKED_COLOUR_WINDOW if window is None else window, "window")
        self.kernel = _cube(WORKED_COLOUR_KERNEL if kernel is None else kernel, "kernel")
        self.bias, self.depthwise = bias, depthwise
        self._ready = True
        self._update()

    @T.validate("window", "kernel")
    def _valid(self, proposal):
        return _cube(proposal["value"], proposal["trait"].name)

    @T.observe("window", "kernel", "bias", "depthwise")
    def _changed(self, change) -> None:
        self._update()

    def _set(self, window, kernel, bias: float) -> None:
        with self.hold_trait_notifications():
            self.window, self.kernel, self.bias = (
                _cube(window, "window"),
                _cube(kernel, "kernel"),
                bias,
            )

    def _randomize(self, _button) -> None:
        self._set(self._rnd.integers(0, 4, (3, 3, 3)), self._rnd.integers(-2, 3, (3, 3, 3)), 1.0)

    def _on_mode(self, change) -> None:
        self.depthwise = change["new"] == _MODES[1]

    def _on_cell(self, c: int, n: int, change) -> None:
        if not self._ready or self._filling:
            return
        kernel = np.array(self.kernel)
        kernel[n // 3, n % 3, c] = change["new"]
        self.kernel = kernel.tolist()

    _filling = False

    # ---- the one recompute ------------------------------------------------------------------

    def _update(self) -> None:
        if not self._ready:
            return
        self.step = colour_conv_step(
            np.array(self.window), np.array(self.kernel), self.bias, depthwise=self.depthwise
        )
        self.value = self.step.outputs if self.depthwise else self.step.outputs[0]
        self.params = depthwise_params(3, 3) if self.depthwise else conv_params(3, 3, 1)
        self._filling = True
        try:
            self._mode.value = _MODES[int(self.depthwise)]
            kernel = np.array(self.kernel)
            for c in range(3):
                for n in range(9):
                    self._cells[9 * c + n].value = float(kernel[n // 3, n % 3, c])
        finally:
            self._filling = False
        self._render()

    def _render(self) -> None:
        step = self.step
        columns = []
        for c, name in enumerate(_CHANNELS):
            tint = [[f"background:{_TINTS[c]};"] * 3] * 3
            columns.append(
                f"<div style='margin:0 14px 6px 0'><b>channel {name}</b>"
                "<div style='display:flex;align-items:center;gap:4px'>"
                f"{matrix_html(step.window[:, :, c], tint)}<span>⊙</span>"
                f"{matrix_html(step.kernel[:, :, c])}<span>=</span>"
                f"{matrix_html(step.products[:, :, c], tint)}</div>"
                f"<div>sum of channel {name}: <b>{fmt_number(step.channel_sums[c])}</b></div></div>"
            )
        self._channels.value = (
            "<div style='display:flex;flex-wrap:wrap'>" + "".join(columns) + "</div>"
        )
        sums = [fmt_number(s) for s in step.channel_sums]
        bias = fmt_number(self.bias)
        if not self.depthwise:
            text = (
                f"<div style='font-size:15px'>({sums[0]}) + ({sums[1]}) + ({sums[2]}) + bias "
                f"{bias} = <b>{fmt_number(step.outputs[0])}</b></div>"
                "<div>All 27 products are added into <b>one</b> number, and the filter's "
                "<b>one</b> bias is added once: one value of <b>one</b> feature map. "
                f"<code>Conv2D(1, 3)</code> on an RGB image has 3·3·3 + 1 = "
                f"<b>{self.params}</b> parameters.</div>"
            )
        else:
            values = ", ".join(
                f"{name}: ({s}) + {bias} = <b>{fmt_number(v)}</b>"
                for name, s, v in zip(_CHANNELS, sums, step.outputs, strict=True)
            )
            text = (
                f"<div style='font-size:15px'>{values}</div>"
                "<div>Each channel is filtered on its own and keeps its own map and bias: "
                "<b>three</b> maps, not one. That is <code>DepthwiseConv2D(3)</code> "
                f"(3·3·3 + 3 = <b>{self.params}</b> parameters), and what a photo filter "
                "(and KernelPlayground's colour mode, with the same kernel on every channel "
                "and no bias) does. A Conv2D filter never does this: its output depth is "
                "its number of filters.</div>"
            )
        self._result.value = f"<div style='margin-top:6px'>{text}</div>"
