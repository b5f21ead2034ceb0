"""Inside a trained CNN: every feature map of a layer for one image, the filters, the prediction."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.display import diverging_rgb, to_rgb8
from ..core.featuremaps import NORMALIZE, filter_grid, grid_shape, tile_maps
from ._base import _Widget
from ._common import ERROR_STYLE, STYLE, fit_factor, image_panel, shape_text
from ._png import encode_png, upscale

__all__ = ["FeatureMapViewer"]

# Separator lines between maps: a colour no gray map and no blue-white-red filter
# has, so the grid never blends into a bright or a white map.
_SEPARATOR = np.array([96, 160, 96], dtype=np.uint8)
_IMAGE_SIZE = 160  # pixels of the input image shown
_FILTER_CELL = 40  # pixels per filter (3x3 and 5x5 kernels are tiny)
# Activations of this many images stay cached, so going back to an image is instant too.
_CACHED_IMAGES = 8
_ZOOM = 2  # browser enlargement of small maps (see FeatureMapViewer._draw)
_TOP = 3


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _probabilities(output: np.ndarray, logits: bool = False) -> tuple[np.ndarray, str]:
    """Class probabilities from a model's output for one image, and a note on how.

    ``logits``: the last layer has no activation, so its outputs are scores.
    Otherwise outputs that are not probabilities are taken for scores too.
    """
    out = np.asarray(output, dtype=np.float64).ravel()
    if out.size == 1:  # Dense(1, "sigmoid"): the probability of class 1
        p = float(out[0])
        note = ""
        if logits or not 0.0 <= p <= 1.0:
            # tanh form of the sigmoid: no overflow warning (on stderr) for a large logit
            p, note = float(0.5 * (1.0 + np.tanh(p / 2))), " (sigmoid of the model's output)"
        return np.array([1.0 - p, p]), note
    if not logits and out.min() >= 0 and abs(out.sum() - 1.0) < 1e-3:
        return out, ""
    return _softmax(out), " (softmax of the model's outputs: it has no softmax layer)"


def _image_pixels(image: np.ndarray) -> np.ndarray:
    """uint8 pixels of one input image: (H, W) or (H, W, 3)."""
    x = np.asarray(image, dtype=np.float32)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim == 3 and x.shape[2] != 3:
        x = x[:, :, :3] if x.shape[2] > 3 else x.mean(axis=2)
    if x.ndim == 3 and x.size and float(x.max()) <= 1.0:
        x = x * 255.0  # float images in 0..1 (load_dataset's default)
    return to_rgb8(x)


def _gray_with_separators(values: np.ndarray) -> np.ndarray:
    # values in 0..1, NaN separators, +inf empty cells → RGB: coloured lines, white cells.
    gaps, empty = np.isnan(values), np.isposinf(values)
    gray = np.rint(np.where(gaps | empty, 0.0, values) * 255.0).astype(np.uint8)
    gray[empty] = 255
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    rgb[gaps] = _SEPARATOR
    return rgb


def _mark_empty_cells(small: np.ndarray, shape: tuple[int, ...], columns: int | None) -> np.ndarray:
    # Cells after the last map hold +inf, drawn white, not as separator-coloured blocks.
    h, w, c = shape
    rows, cols = grid_shape(c, columns)
    for k in range(c, rows * cols):
        r, q = divmod(k, cols)
        small[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = np.inf
    return small


def _enlarge_index(cells: int, size: int, scale: int) -> np.ndarray:
    # Rows (or columns) of a tiled picture with each cell `scale` times larger and
    # the 1-pixel separators kept: index of the source row in the small tile.
    r = np.arange(cells * (size * scale + 1) - 1)
    cell, offset = np.divmod(r, size * scale + 1)
    return cell * (size + 1) + np.where(offset == size * scale, size, offset // scale)


def _enlarge_tiles(small: np.ndarray, cell: tuple[int, int], scale: int) -> np.ndarray:
    """RGB picture of a tile from tile_maps (NaN separators), every map ``scale`` times larger."""
    rgb = _gray_with_separators(small)
    if scale == 1:
        return rgb
    h, w = cell
    rows = _enlarge_index((small.shape[0] + 1) // (h + 1), h, scale)
    cols = _enlarge_index((small.shape[1] + 1) // (w + 1), w, scale)
    return rgb[rows[:, None], cols[None, :]]


class FeatureMapViewer(_Widget):
    """What a trained model sees: all feature maps of a layer for one image, its filters, its guess.

    Pick a layer (every layer with a spatial ``(height, width, channels)`` output:
    convolutions, pooling, batch normalization, ...) and an image of ``X``. All
    maps of the layer are tiled into one picture (:func:`cnnwidgets.core.featuremaps.tile_maps`),
    bright where the map is strongly activated; the first ``Conv2D`` layer's
    filters are drawn on a blue–white–red scale
    (:func:`cnnwidgets.core.featuremaps.filter_grid`); the top-3 classes come with
    their probabilities.

    One sub-model, ``keras.Model(model.inputs, [every such layer's output, model's
    output])``, is called directly on the image (``sub(x, training=False)``, not
    ``predict``), once per image; all layers' activations are cached, so switching
    layers only re-tiles. Changing a trait (``w.layer_name = "max_pooling2d"``,
    ``w.index = 5``) recomputes synchronously.

    Parameters
    ----------
    model : keras.Model
        A built Sequential (started with ``keras.Input``, or trained) or functional model.
    X : array
        Images ``(n, height, width, channels)``, as the model takes them.
    y : array, optional
        Integer labels, shown beside the prediction.
    labels : sequence of str, optional
        Class names; by default the class numbers.
    index : int
        The image shown.
    layer_name : str, optional
        The layer shown; by default the first one with a spatial output.
    normalize : {"each", "all"}
        Stretch every map over its own range, or all maps of the layer over one.
    columns : int, optional
        Maps per row; by default a near-square grid (8 columns for 32 or 64 maps).
    width : int
        Width in pixels the tiled maps are drawn at, about.

    Attributes
    ----------
    layer_names : list of str
        The layers that can be shown.
    activations : ndarray or None
        The chosen layer's output for the image, ``(height, width, channels)``.
    tile : ndarray or None
        ``tile_maps(activations, columns, normalize)``: the maps as one picture.
    filters : ndarray or None
        ``filter_grid(kernel)`` of the first Conv2D layer (``filters_layer``).
    probabilities : ndarray or None
        Class probabilities for the image.
    prediction : list of (str, float)
        The top-3 classes and their probabilities, best first.
    message : str
        Why nothing can be shown (a student-facing sentence), or ``""``.

    Examples
    --------
    >>> viewer = FeatureMapViewer(model, X_test, y=y_test)  # doctest: +SKIP
    >>> viewer.layer_name = "max_pooling2d"  # doctest: +SKIP
    >>> viewer.activations.shape  # doctest: +SKIP
    (14, 14, 32)
    """

    layer_name = T.Unicode("", help="The layer whose feature maps are shown.")
    index = T.Int(0, help="Which image of X goes through the model.")
    normalize = T.Enum(
        NORMALIZE, "each", help="'each' stretches every map on its own, 'all' uses one range."
    )
    columns = T.Int(None, allow_none=True, help="Maps per row; None picks a near-square grid.")

    def __init__(
        self,
        model: Any,
        X: np.ndarray,
        *,
        y: Sequence[int] | np.ndarray | None = None,
        labels: Sequence[str] | None = None,
        index: int = 0,
        layer_name: str | None = None,
        normalize: str = "each",
        columns: int | None = None,
        width: int = 560,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.model = model
        self._width = int(width)
        self.X = np.asarray(X)
        self.y = None if y is None else np.asarray(y).ravel()
        self.labels = None if labels is None else [str(name) for name in labels]
        self.layer_names: list[str] = []
        self.activations: np.ndarray | None = None
        self.tile: np.ndarray | None = None
        self.filters: np.ndarray | None = None
        self.filters_layer: str | None = None
        self.probabilities: np.ndarray | None = None
        self.prediction: list[tuple[str, float]] = []
        self.message = ""
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._kinds: dict[str, str] = {}
        self._sub = None
        self._probability_note = ""
        self._logits = False
        self._small: np.ndarray | None = None
        self._build_controls()

        problem = self._inspect_model()
        if problem:
            self.message = problem
        if self.layer_names:
            chosen = self.layer_names[0] if layer_name is None else layer_name
            self.layer_name = chosen
        self.normalize, self.columns = normalize, columns
        self.index = index
        self._link_controls()
        self._start()

    # ---- the model ------------------------------------------------------------------------

    def _inspect_model(self) -> str:
        """Find the spatial layers, build the one sub-model; return a problem, or ``""``."""
        from .._keras import quiet_keras

        keras = quiet_keras()
        model = self.model
        if not isinstance(model, keras.Model):
            return f"FeatureMapViewer needs a Keras model, got {type(model).__name__}."
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        if not inputs and isinstance(model, keras.Sequential):
            return (
                f"The model {model.name!r} is not built yet, so its layers have no outputs to "
                "look at: start it with keras.Input(shape=...) (or train it once) and try again."
            )
        if not inputs:
            return (
                "FeatureMapViewer needs a Sequential or functional model: a subclassed model "
                "(class MyModel(keras.Model)) has no graph of layer outputs to look into."
            )
        if len(inputs) != 1:
            return f"The model has {len(inputs)} inputs; FeatureMapViewer shows one-input models."
        expected = tuple(inputs[0].shape[1:])
        if _fits(self.X.shape, expected):
            self.X = self.X[None]  # one image, without the batch axis
        got = tuple(self.X.shape[1:])
        if not _fits(got, expected) or self.X.shape[0] == 0:
            hint = ""
            if got + (1,) == expected:
                hint = " — add the channel axis: X[..., None]"
            return (
                f"The model takes images of shape {_shape_str(expected)}, but X holds "
                f"{self.X.shape[0]} of shape {_shape_str(got)}{hint}."
            )
        layers, outputs = [], []
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            try:
                out = layer.output
            except (AttributeError, ValueError):  # a layer used twice has no single output
                continue
            if not hasattr(out, "shape") or len(out.shape) != 4:
                continue
            layers.append(layer)
            outputs.append(out)
            self._shapes[layer.name] = tuple(out.shape[1:])
            self._kinds[layer.name] = type(layer).__name__
        if not layers:
            return (
                "The model has no layer with a spatial output (height, width, channels): "
                "there are no feature maps to show."
            )
        self.layer_names = [layer.name for layer in layers]
        activation = getattr(model.layers[-1], "activation", None)
        self._logits = getattr(activation, "__name__", "") == "linear"
        # One call of this sub-model per image gives every layer's maps and the prediction.
        self._sub = keras.Model(inputs[0], [*outputs, model.outputs[0]])
        conv = _first_conv(model.layers, keras.layers.Conv2D)
        if conv is not None:
            self.filters_layer = conv.name
            self._kernel = np.asarray(conv.get_weights()[0])
            self.filters = filter_grid(self._kernel)
        return ""

    def _forward(self, index: int) -> list[np.ndarray]:
        """Every layer's activations and the output for image ``index``, cached."""

        def forward() -> list[np.ndarray]:
            x = self.X[index : index + 1].astype(np.float32)
            return [np.asarray(v)[0] for v in self._sub(x, training=False)]

        return self._cached("forward", index, forward, keep=_CACHED_IMAGES)

    # ---- controls ---------------------------------------------------------------------------

    def _build_controls(self) -> None:
        self._layer_dd = W.Dropdown(
            description="layer", style={"description_width": "40px"}, layout=W.Layout(width="340px")
        )
        self._index_slider = W.IntSlider(
            description="image", min=0, max=0, style={"description_width": "45px"}
        )
        self._normalize_tb = W.ToggleButtons(
            options=[("each map", "each"), ("all maps", "all")],
            tooltips=["stretch every map over its own range", "one range for the whole layer"],
            style={"button_width": "90px"},
        )
        self._image = image_panel()
        self._image_caption = W.HTML()
        self._prediction_html = W.HTML()
        self._maps_caption = W.HTML()
        self._maps = image_panel()
        self._maps.layout.max_width = "100%"
        self._filters_caption = W.HTML()
        self._filters_image = image_panel()
        self._message_html = W.HTML()
        left = W.VBox(
            [self._image_caption, self._image, self._prediction_html],
            layout=W.Layout(width=f"{_IMAGE_SIZE + 80}px", margin="0 16px 0 0"),
        )
        right = W.VBox([self._maps_caption, self._maps])
        self.children = [
            W.HTML(STYLE),
            W.HBox([self._layer_dd, self._index_slider, self._normalize_tb]),
            self._message_html,
            W.HBox([left, right]),
            self._filters_caption,
            self._filters_image,
        ]

    def _link_controls(self) -> None:
        self._layer_dd.options = [
            (f"{name} ({self._kinds[name]}) {shape_text(self._shapes[name])}", name)
            for name in self.layer_names
        ]
        if self.layer_names:
            self._layer_dd.value = self.layer_name
        self._index_slider.max = max(0, self.X.shape[0] - 1)
        self._index_slider.value = self.index
        self._normalize_tb.value = self.normalize
        for control, name in (
            (self._layer_dd, "layer_name"),
            (self._index_slider, "index"),
            (self._normalize_tb, "normalize"),
        ):
            control.observe(self._control_changed(name), "value")

    def _control_changed(self, name: str):
        def set_trait(change):
            if not self._busy and change["new"] is not None:
                setattr(self, name, change["new"])

        return set_trait

    # ---- validation and reactions -----------------------------------------------------------

    @T.validate("layer_name")
    def _valid_layer(self, proposal):
        name = proposal["value"]
        if self.layer_names and name not in self.layer_names:
            raise T.TraitError(
                f"The model has no layer {name!r} with feature maps; choose one of "
                f"{', '.join(self.layer_names)}."
            )
        return name

    @T.validate("index")
    def _valid_index(self, proposal):
        value, n = proposal["value"], (self.X.shape[0] if self.X.ndim else 0)
        if not 0 <= value < max(n, 1):
            raise T.TraitError(f"index must be between 0 and {n - 1}, got {value}.")
        return value

    @T.validate("columns")
    def _valid_columns(self, proposal):
        value = proposal["value"]
        if value is not None and value < 1:
            raise T.TraitError(f"columns must be at least 1 (or None), got {value}.")
        return value

    @T.observe("layer_name", "index", "normalize", "columns")
    def _setting_changed(self, change):
        self._refresh()

    # ---- the one recompute ---------------------------------------------------------------

    def _update(self) -> None:
        """Run the image through the sub-model (once per image), then tile the chosen layer."""
        if self._sub is None:
            self._show_message()
            return
        values = self._forward(self.index)
        position = self.layer_names.index(self.layer_name)
        self.activations = values[position]
        # Separators as NaN, so the picture can colour them; the attribute has
        # tile_maps's default white, as a student calling it gets.
        self._small = _mark_empty_cells(
            tile_maps(self.activations, self.columns, self.normalize, fill=np.nan),
            self.activations.shape,
            self.columns,
        )
        self.tile = np.where(np.isfinite(self._small), self._small, np.float32(1.0))
        if values[-1].ndim == 1:  # one score per class
            self.probabilities, self._probability_note = _probabilities(values[-1], self._logits)
            names = self.labels or [str(i) for i in range(self.probabilities.size)]
            top = np.argsort(-self.probabilities, kind="stable")[:_TOP]
            self.prediction = [
                (names[i] if i < len(names) else str(i), float(self.probabilities[i])) for i in top
            ]
        self._sync_controls()
        self._draw()

    # ---- drawing ---------------------------------------------------------------------------

    def _draw(self) -> None:
        h, w, c = self.activations.shape
        rows, cols = grid_shape(c, self.columns)
        # Small maps are enlarged twice: `scale` times in the PNG, whose separators
        # stay 1 pixel wide, then `zoom` times by the browser without smoothing,
        # which sends a quarter of the pixels (PNG encoding is most of a redraw).
        zoom = _ZOOM if cols * w * _ZOOM <= self._width else 1
        scale = max(1, (self._width // zoom - (cols - 1)) // (cols * w))
        picture = _enlarge_tiles(self._small, (h, w), scale)
        # Compressed even when large (unlike png_live): mostly flat gray maps shrink
        # 5-6 times for about 1.5 ms, and the PNG is saved in the notebook's widget state.
        self._maps.value = encode_png(picture)
        self._maps.layout.width = f"{picture.shape[1] * zoom}px"
        self._maps_caption.value = (
            f"<b>{html.escape(self.layer_name)}</b> ({self._kinds[self.layer_name]}): "
            f"{shape_text((h, w, c))} — {c} map{'s' if c != 1 else ''}, "
            f"{rows} × {cols} grid{self._normalize_note()}"
        )
        if self._stale("image", self.index):
            pixels = _image_pixels(self.X[self.index])
            pixels = upscale(pixels, fit_factor(pixels.shape, _IMAGE_SIZE))
            self._image.value = encode_png(pixels)
            self._image.layout.width = f"{pixels.shape[1]}px"
            self._image_caption.value = f"<b>image {self.index}</b> {shape_text(self.X.shape[1:])}"
            self._prediction_html.value = self._prediction_text()
        self._draw_filters()
        self._message_html.value = ""

    def _normalize_note(self) -> str:
        if self.normalize == "each":
            return "; each map stretched on its own (bright = strongly activated)"
        return "; one range for all maps (black = not activated)"

    def _draw_filters(self) -> None:
        if self.filters is None or self._filters_image.value:
            return  # the filters do not change with the image or layer: drawn once
        kh, kw, cin, cout = self._kernel.shape
        factor = max(1, _FILTER_CELL // max(kh, kw))
        big = np.repeat(np.repeat(self._kernel, factor, axis=0), factor, axis=1)
        grid = filter_grid(big, separator=2, fill=np.nan)
        gaps = np.isnan(grid if grid.ndim == 2 else grid[:, :, 0])
        if grid.ndim == 2:
            rgb = diverging_rgb(np.where(gaps, 0.0, grid), limit=1.0)
            how = "blue < 0 < red" + (f", averaged over {cin} input channels" if cin > 1 else "")
        else:
            rgb = np.rint(np.where(gaps[:, :, None], 0.0, grid) * 255.0).astype(np.uint8)
            how = "as colours: each filter's weights for the red, green and blue channels"
        rgb[gaps] = _SEPARATOR
        self._filters_image.value = encode_png(rgb)
        # At its own size: a widget Image otherwise stretches to the row's width.
        self._filters_image.layout.width = f"{rgb.shape[1]}px"
        self._filters_caption.value = (
            f"<b>Filters of {html.escape(self.filters_layer)}</b>, the first Conv2D layer: "
            f"{cout} filters of {kh}×{kw}×{cin} ({how})"
        )

    def _prediction_text(self) -> str:
        if not self.prediction:
            return ""
        best = self.prediction[0][0]
        parts = [
            f"{'<b>' if i == 0 else ''}{html.escape(name)}{'</b>' if i == 0 else ''} "
            f"{100 * p:.1f}\u00a0%"
            for i, (name, p) in enumerate(self.prediction)
        ]
        text = f"prediction: {' · '.join(parts)}{html.escape(self._probability_note, quote=False)}"
        if self.y is not None and self.index < self.y.size:
            true = int(self.y[self.index])
            names = self.labels or []
            true_name = names[true] if 0 <= true < len(names) else str(true)
            mark = "✓" if true_name == best else "✗"
            text += f"<br>true label: <b>{html.escape(true_name)}</b> {mark}"
        return f"<div style='font-size:13px'>{text}</div>"

    def _sync_controls(self) -> None:
        # Inside _update, which is quiet: the controls follow the traits without writing back.
        self._layer_dd.value = self.layer_name
        self._index_slider.value = self.index
        self._normalize_tb.value = self.normalize

    def _show_message(self) -> None:
        self._message_html.value = (
            f"<div style='{ERROR_STYLE}border:1px solid #b2182b;padding:6px'>"
            f"✘ {html.escape(self.message)}</div>"
        )
        for control in (self._layer_dd, self._index_slider, self._normalize_tb):
            control.disabled = True


def _first_conv(layers: list, conv_type: type) -> Any:
    # The first Conv2D in the model, looking inside nested models too (a frozen
    # pretrained base is one layer of the model that uses it).
    for layer in layers:
        if isinstance(layer, conv_type):
            return layer
        found = _first_conv(getattr(layer, "layers", []), conv_type)
        if found is not None:
            return found
    return None


def _fits(shape: tuple, expected: tuple) -> bool:
    # True if an array of `shape` is what a model input of `expected` (None: any size) takes.
    return len(shape) == len(expected) and all(
        e is None or e == g for e, g in zip(expected, shape, strict=True)
    )


def _shape_str(shape: tuple) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"
