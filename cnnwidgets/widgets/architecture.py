"""Where a network's parameters live: a layer table, a share chart and an editable stack."""

from __future__ import annotations

import copy
import html
from functools import partial
from typing import Any

import ipywidgets as W
import traitlets

from ..core.architectures import ARCHITECTURES, architecture, keras_code
from ..core.deeper import layer_inputs
from ..core.shapes import STACK_LAYERS, param_shares, param_totals, shape_table, stack_table
from ._base import _Widget

__all__ = ["ArchitectureExplorer"]

# The arguments a learner edits per layer type: (argument, control kind, value shown when
# the spec leaves it out). Other arguments in a spec are kept and listed, not edited.
_EDITABLE: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "Conv2D": (
        ("filters", "int", 0),
        ("kernel_size", "int", 0),
        ("strides", "int", 1),
        ("padding", "padding", "valid"),
        ("activation", "activation", "linear"),
    ),
    "MaxPooling2D": (("pool_size", "int", 2), ("padding", "padding", "valid")),
    "AveragePooling2D": (("pool_size", "int", 2), ("padding", "padding", "valid")),
    "Dense": (("units", "int", 0), ("activation", "activation", "linear")),
    "Dropout": (("rate", "rate", 0.5),),
    "Activation": (("activation", "activation", "linear"),),
    "Rescaling": (("scale", "float", 1.0), ("offset", "float", 0.0)),
}
# What "add layer" inserts: the usual choice in the course, so a new stack mostly works.
_NEW: dict[str, dict[str, Any]] = {
    "Conv2D": {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"},
    "MaxPooling2D": {"pool_size": 2},
    "AveragePooling2D": {"pool_size": 2},
    "Dense": {"units": 64, "activation": "relu"},
    "Dropout": {"rate": 0.5},
    "Activation": {"activation": "relu"},
    "Rescaling": {"scale": 1 / 255},
}
_ACTIVATIONS = ["linear", "relu", "sigmoid", "softmax", "tanh"]
_BAR, _BIGGEST = "#2563eb", "#f59e0b"


def _shape(shape: Any) -> str:
    if isinstance(shape, list):  # a layer with several outputs
        return ", ".join(_shape(s) for s in shape)
    return repr(tuple(shape))


def _control_kind(spec: dict[str, Any], key: str, kind: str) -> str:
    # A pair like kernel_size=(3, 5) does not fit an int box: it is shown, not edited.
    value = spec.get(key)
    if kind == "int" and value is not None and type(value) is not int:
        return "fixed"
    return kind


def _value(spec: dict[str, Any], key: str, default: Any) -> Any:
    value = spec.get(key)
    return default if value is None else value


def _make_control(kind: str, key: str, value: Any) -> W.Widget:
    layout = W.Layout(width="170px")
    style = {"description_width": "78px"}
    if kind == "int":
        return W.IntText(value=value, description=key, layout=layout, style=style)
    if kind in ("padding", "activation"):
        options = ["valid", "same"] if kind == "padding" else _ACTIVATIONS
        # A value the list lacks (padding=2, activation="elu") is shown; stack_table judges it.
        options = options if value in options else [*options, value]
        return W.Dropdown(options=options, value=value, description=key, layout=layout, style=style)
    if kind == "rate":
        return W.FloatSlider(
            value=value,
            min=0,
            max=0.9,
            step=0.05,
            description=key,
            layout=W.Layout(width="260px"),
            style=style,
            readout_format=".2f",
        )
    if kind == "float":
        return W.FloatText(value=value, description=key, layout=layout, style=style)
    return W.Text(value=repr(value), description=key, disabled=True, layout=layout, style=style)


class ArchitectureExplorer(_Widget):
    """A network as a table of layers, output shapes and parameter counts, and where they live.

    Give a stack of layer specs (editable with controls: change a layer's
    arguments, add or remove layers, and the table follows) or a built Keras
    model with :meth:`from_model` (a functional model that branches, such as a
    residual block, gets a "Connected to" column). ``preset("cats_vs_dogs")``,
    ``preset("vgg")`` and friends load the course's reference models. Tables come from
    :func:`cnnwidgets.core.shapes.stack_table` and
    :func:`~cnnwidgets.core.shapes.shape_table`; an invalid stack shows the
    sentence naming the layer at fault.

    Parameters
    ----------
    input_shape : tuple of int
        Input shape without the batch axis, e.g. ``(28, 28, 1)``.
    layers : list of dict
        Layer specs: ``{"layer": "Conv2D", "filters": 32, "kernel_size": 3}``;
        ``"layer"`` is one of ``STACK_LAYERS``, the other keys are Keras arguments.
    title : str
        A heading.

    Examples
    --------
    >>> ex = ArchitectureExplorer.preset("cats_vs_dogs")
    >>> ex.totals["total"], round(max(ex.shares), 2)
    (3453121, 0.93)
    >>> ex.layer_controls[0]["filters"].value = 16
    >>> ex.table[0]["params"]
    448
    """

    input_shape = traitlets.Tuple(help="Input shape without the batch axis, e.g. (28, 28, 1).")
    layers = traitlets.List(
        traitlets.Dict(),
        help="The stack as layer specs: dicts with 'layer' (one of STACK_LAYERS) and Keras "
        "arguments. Empty when the explorer shows a built model.",
    )
    title = traitlets.Unicode("", help="Heading shown above the table.")

    def __init__(
        self,
        input_shape: tuple[int, ...] = (28, 28, 1),
        layers: list[dict[str, Any]] | None = None,
        *,
        title: str = "",
        **kwargs,
    ) -> None:
        self.model: Any = kwargs.pop("_model", None)
        super().__init__(
            input_shape=tuple(input_shape),
            layers=copy.deepcopy(list(layers or [])),
            title=title,
            **kwargs,
        )
        self._signature: Any = None
        self.editable = self.model is None
        self.layer_controls: list[dict[str, W.Widget]] = []
        self.insert_buttons: list[W.Button] = []
        self.remove_buttons: list[W.Button] = []
        self.input_controls: list[W.IntText] = []
        self.layer_type = W.Dropdown(
            options=list(STACK_LAYERS),
            value="Conv2D",
            description="layer type",
            layout=W.Layout(width="260px"),
        )
        self.add_button = W.Button(description="Add at the end", icon="plus")
        self.add_button.on_click(lambda _: self.add_layer(self.layer_type.value))
        self._heading = W.HTML()
        self._input_row = W.HBox()
        self._rows = W.VBox()
        self._editor = W.VBox(
            [
                self._input_row,
                self._rows,
                W.HBox([self.layer_type, self.add_button]),
            ],
            layout=W.Layout(display="" if self.editable else "none"),
        )
        self._error = W.HTML()
        self._table = W.HTML()
        self._code = W.HTML()
        self._code_box = W.Accordion(
            [self._code],
            titles=("Equivalent Keras code",),
            layout=W.Layout(display="" if self.editable else "none"),
        )
        self.children = [self._heading, self._editor, self._error, self._table, self._code_box]
        # Who feeds whom, shown when the model is not a chain (a skip connection, a branch).
        self.connections: dict[str, list[str]] = {}
        if self.model is not None:
            try:
                self._model_rows, self._model_error = shape_table(self.model), None
            except ValueError as err:
                self._model_rows, self._model_error = [], str(err)
            try:
                inputs = layer_inputs(self.model)
            except (AttributeError, KeyError, TypeError, ValueError, NotImplementedError):
                inputs = {}
            fed = [name for names in inputs.values() for name in names]
            if any(len(names) > 1 for names in inputs.values()) or len(fed) != len(set(fed)):
                self.connections = inputs
        self.observe(self._on_trait, names=["input_shape", "layers", "title"])
        self._start()

    @classmethod
    def from_model(cls, model: Any, *, title: str | None = None) -> ArchitectureExplorer:
        """Explore a built Keras model, Sequential or functional (read-only).

        Examples
        --------
        >>> import keras  # doctest: +SKIP
        >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Dense(4)])  # doctest: +SKIP
        >>> ArchitectureExplorer.from_model(m).totals  # doctest: +SKIP
        {'total': 8, 'trainable': 8, 'non_trainable': 0}
        """
        try:
            shape = model.input_shape
        except (AttributeError, ValueError):  # not built yet: shape_table will say so
            shape = None
        # A model with several inputs has a list of shapes: no single input to show.
        input_shape = tuple(shape[1:]) if isinstance(shape, tuple) else ()
        return cls(
            input_shape,
            [],
            title=getattr(model, "name", "") if title is None else title,
            _model=model,
        )

    @classmethod
    def preset(cls, name: str) -> ArchitectureExplorer:
        """One of the course's models as an editable stack: ``"mnist"``, ``"cifar"``,
        ``"cats_vs_dogs"``, ``"mlp"`` or ``"vgg"`` (see ``cnnwidgets.core.architectures``).

        Examples
        --------
        >>> ArchitectureExplorer.preset("mnist").totals["total"]
        220234
        """
        input_shape, layers = architecture(name)
        return cls(input_shape, layers, title=ARCHITECTURES[name]["title"])

    # --- editing ---------------------------------------------------------------------------

    def _need_editable(self) -> None:
        if not self.editable:
            raise ValueError(
                "This explorer shows a built model, which it cannot edit; change the code that "
                "builds the model, or use ArchitectureExplorer(input_shape, layers)."
            )

    def add_layer(self, layer: str, index: int | None = None, **options: Any) -> None:
        """Insert a layer (default: at the end) with the course's usual arguments, or ``options``.

        Examples
        --------
        >>> ex = ArchitectureExplorer((28, 28, 1), [])
        >>> ex.add_layer("Conv2D", filters=8)
        >>> ex.layers[0]["filters"], ex.layers[0]["padding"], ex.table[0]["output_shape"]
        (8, 'same', (None, 28, 28, 8))
        """
        self._need_editable()
        if layer not in STACK_LAYERS:
            raise ValueError(f"Unknown layer {layer!r}; choose one of {', '.join(STACK_LAYERS)}.")
        spec = {"layer": layer, **copy.deepcopy(_NEW.get(layer, {}))}
        spec.update(options)
        layers = copy.deepcopy(self.layers)
        layers.insert(len(layers) if index is None else index, spec)
        self.layers = layers

    def remove_layer(self, index: int) -> None:
        """Remove the layer at ``index`` (0-based)."""
        self._need_editable()
        layers = copy.deepcopy(self.layers)
        del layers[index]
        self.layers = layers

    def to_keras_code(self) -> str:
        """The ``keras.Sequential`` code of the current stack (see :func:`keras_code`)."""
        self._need_editable()
        return keras_code(self.input_shape, self.layers)

    def _on_trait(self, change) -> None:
        self._refresh()

    def _on_edit(self, index: int, key: str, change) -> None:
        if self._busy:
            return
        layers = copy.deepcopy(self.layers)
        if key == "activation" and change["new"] == "linear":
            layers[index].pop(key, None)  # Keras's default: no activation
        else:
            layers[index][key] = change["new"]
        self.layers = layers

    def _on_input_edit(self, change) -> None:
        if not self._busy:
            self.input_shape = tuple(c.value for c in self.input_controls)

    def _layer_signature(self) -> Any:
        return (
            len(self.input_shape),
            tuple(
                (
                    spec.get("layer"),
                    tuple(
                        _control_kind(spec, key, kind)
                        for key, kind, _ in _EDITABLE.get(spec.get("layer"), ())
                    ),
                )
                for spec in self.layers
            ),
        )

    def _build_editor(self) -> None:
        """Controls for every layer; only when layers come or go, so typing keeps its focus."""
        self.input_controls = [W.IntText(layout=W.Layout(width="70px")) for _ in self.input_shape]
        for control in self.input_controls:
            control.observe(self._on_input_edit, names="value")
        self._input_row.children = [W.HTML("<b>Input shape</b>&nbsp;"), *self.input_controls]
        rows, self.layer_controls, self.insert_buttons, self.remove_buttons = [], [], [], []
        self._extras: list[W.HTML] = []  # arguments shown but not edited, e.g. use_bias
        for index, spec in enumerate(self.layers):
            kind = spec.get("layer")
            controls: dict[str, W.Widget] = {}
            for key, control_kind, default in _EDITABLE.get(kind, ()):
                value = _value(spec, key, default)
                control = _make_control(_control_kind(spec, key, control_kind), key, value)
                control.observe(partial(self._on_edit, index, key), names="value")
                controls[key] = control
            insert = W.Button(
                icon="plus",
                tooltip="insert a layer of the chosen type above this one",
                layout=W.Layout(width="36px"),
            )
            remove = W.Button(
                icon="times", tooltip="remove this layer", layout=W.Layout(width="36px")
            )
            insert.on_click(lambda _, i=index: self.add_layer(self.layer_type.value, i))
            remove.on_click(lambda _, i=index: self.remove_layer(i))
            extra = W.HTML()
            self._extras.append(extra)
            controls_box = W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap"))
            label = W.HTML(
                f"<b>{index + 1}. {html.escape(str(kind))}</b>", layout=W.Layout(width="190px")
            )
            rows.append(W.HBox([insert, remove, label, controls_box, extra]))
            self.layer_controls.append(controls)
            self.insert_buttons.append(insert)
            self.remove_buttons.append(remove)
        self._rows.children = rows

    def _show_specs(self) -> None:
        """Put the specs' values in the controls (a lesson may set ``layers`` directly)."""
        with self._quiet():
            for control, size in zip(self.input_controls, self.input_shape, strict=True):
                control.value = size if isinstance(size, int) else 0
            for spec, controls, extra in zip(
                self.layers, self.layer_controls, self._extras, strict=True
            ):
                options = _EDITABLE.get(spec.get("layer"), ())
                editable = {key: default for key, _, default in options}
                for key, control in controls.items():
                    value = _value(spec, key, editable[key])
                    if isinstance(control, W.Text):
                        control.value = repr(value)
                        continue
                    if isinstance(control, W.Dropdown) and value not in control.options:
                        control.options = [*control.options, value]
                    control.value = value
                rest = [f"{k}={v!r}" for k, v in spec.items() if k != "layer" and k not in editable]
                extra.value = f"<code>{html.escape(', '.join(rest))}</code>" if rest else ""

    # --- the one place that computes --------------------------------------------------------

    def _valid_prefix(self) -> list[dict[str, Any]]:
        # The rows before the failing layer still teach something: show them.
        rows: list[dict[str, Any]] = []
        for n in range(1, len(self.layers) + 1):
            try:
                rows = stack_table(self.input_shape, self.layers[:n])
            except (ValueError, TypeError):
                break
        return rows

    def _update(self) -> None:
        if self.editable:
            signature = self._layer_signature()
            if signature != self._signature:
                self._signature = signature
                self._build_editor()
            self._show_specs()
            try:
                table, error = stack_table(self.input_shape, self.layers), None
            except (ValueError, TypeError) as err:
                table, error = self._valid_prefix(), str(err)
            try:
                self.code: str | None = keras_code(self.input_shape, self.layers)
            except ValueError:
                self.code = None
        else:
            table, error, self.code = self._model_rows, self._model_error, None
        self.table: list[dict[str, Any]] = table
        self.error: str | None = error
        self.totals: dict[str, int] | None = param_totals(table) if error is None else None
        self.shares: list[float] = param_shares(table) if error is None else []
        self._render()

    # --- drawing -------------------------------------------------------------------------------

    def _render(self) -> None:
        self._heading.value = f"<h4>{html.escape(self.title)}</h4>" if self.title else ""
        self._error.value = (
            "<div style='color:#b42318;border:1px solid #b42318;padding:6px'>"
            f"✘ {html.escape(self.error)}</div>"
            if self.error
            else ""
        )
        self._table.value = self._table_html()
        self._code.value = (
            f"<pre style='font-size:12px'>{html.escape(self.code)}</pre>" if self.code else ""
        )

    def _inputs_cell(self, row: dict[str, Any], cell: str) -> str:
        if not self.connections:
            return ""
        names = self.connections.get(row["name"], [])
        text = ", ".join(names) if names else "-"
        return f"<td style='{cell.format('left')}'>{html.escape(text)}</td>"

    def _table_html(self) -> str:
        # The chart is CSS bars inside the table, one per layer beside its name: no JS,
        # a few kilobytes, and it survives in a saved notebook. A plotly FigureWidget would
        # carry a ~5 MB bundle per instance for the same bars.
        shares = self.shares or [None] * len(self.table)
        biggest = max(range(len(shares)), key=lambda i: shares[i]) if self.shares else None
        cell = "padding:2px 10px;text-align:{}"
        head = "".join(
            f"<th style='{cell.format(a)}'>{h}</th>"
            for h, a in (
                ("#", "right"),
                ("Layer (type)", "left"),
                ("Output shape", "left"),
                ("Param #", "right"),
                ("Share of the parameters", "left"),
                *((("Connected to", "left"),) if self.connections else ()),
            )
        )
        body = []
        for i, (row, share) in enumerate(zip(self.table, shares, strict=True)):
            if share is None:
                bar = ""
            else:
                colour = _BIGGEST if i == biggest else _BAR
                # 896 of 3.4 million is not "0.0 %": a layer with weights says so.
                percent = "<0.1" if 0 < share < 0.0005 else f"{100 * share:.1f}"
                bar = (
                    "<div style='display:flex;align-items:center;gap:6px'>"
                    "<div style='width:180px;height:12px;background:#eef2ff'>"
                    f"<div style='width:{100 * share:.2f}%;height:12px;background:{colour}'>"
                    f"</div></div>{html.escape(percent)} %</div>"
                )
            body.append(
                f"<tr><td style='{cell.format('right')}'>{i + 1}</td>"
                f"<td style='{cell.format('left')}'>{html.escape(row['name'])} "
                f"({html.escape(row['layer'])})</td>"
                f"<td style='{cell.format('left')}'>{html.escape(_shape(row['output_shape']))}</td>"
                f"<td style='{cell.format('right')}'>{row['params']:,}</td>"
                f"<td style='{cell.format('left')}'>{bar}</td>{self._inputs_cell(row, cell)}</tr>"
            )
        if self.error and self.editable:
            body.append(
                f"<tr style='color:#b42318'><td style='{cell.format('right')}'>"
                f"{len(self.table) + 1}</td><td colspan='4' style='{cell.format('left')}'>"
                "stops here: see the message above</td></tr>"
            )
        foot = ""
        if self.totals is not None:
            t = self.totals
            foot = (
                f"<div>Total params: <b>{t['total']:,}</b> · Trainable: {t['trainable']:,} · "
                f"Non-trainable: {t['non_trainable']:,}</div>"
            )
            if biggest is not None and t["total"]:
                row = self.table[biggest]
                foot += (
                    f"<div>The largest layer, {html.escape(row['name'])} "
                    f"({html.escape(row['layer'])}), holds {100 * self.shares[biggest]:.1f} % "
                    "of the parameters.</div>"
                )
        return (
            "<table style='border-collapse:collapse;font-family:monospace;font-size:13px'>"
            f"<thead><tr style='border-bottom:1px solid #9ca3af'>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{foot}"
        )
