"""Activations on a feature map, and softmax turning class scores into probabilities."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.activations import (
    ACTIVATIONS,
    activate,
    binary_cross_entropy,
    sigmoid,
    softmax,
    sparse_cross_entropy,
)
from ..core.conv import conv2d
from ..core.display import diverging_rgb, to_grayscale, to_rgb8
from ..core.kernels import KERNEL_PRESETS, preset_kernel
from ._common import STYLE, image_panel, load_picture, png_live
from ._svg import bars_html, line_chart

__all__ = ["ActivationExplorer", "SoftmaxWidget"]

_ACTIVATION_NAMES = ("linear", *ACTIVATIONS)
_CURVE_X = np.linspace(-4, 4, 81)


class ActivationExplorer(W.VBox):
    """A feature map before and after an activation: ReLU, leaky ReLU, sigmoid or tanh.

    A convolution's output is signed (blue negative, red positive). The activation is
    applied to every value on its own: ReLU sets the negatives to 0 and keeps the
    rest, leaky ReLU keeps a small slope for negatives, sigmoid squeezes every value
    into (0, 1) and tanh into (-1, 1). Without an activation, stacked convolutions
    would add up to one big linear filter; the non-linearity is what lets depth help.
    Numbers come from :func:`cnnwidgets.conv2d` and :func:`cnnwidgets.activate`.

    Examples
    --------
    >>> w = ActivationExplorer(activation="relu")
    >>> bool((w.activated >= 0).all()), round(w.zero_share, 2) > 0
    (True, True)
    >>> w.activation = "tanh"
    >>> bool(np.abs(w.activated).max() < 1)
    True
    """

    photo = T.Unicode("chelsea", help="Sample photo (cnnwidgets.data.PHOTO_NAMES).")
    kernel = T.Unicode("vertical edges", help="The filter making the feature map (a preset).")
    activation = T.Unicode("relu", help="'linear', 'relu', 'leaky_relu', 'sigmoid' or 'tanh'.")
    size = T.Int(128, help="Side of the photo in pixels.")

    def __init__(
        self,
        image: object = None,
        *,
        photo: str = "chelsea",
        kernel: str = "vertical edges",
        activation: str = "relu",
        size: int = 128,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._image, self._ready, self._picture_key = image, False, None
        style = {"description_width": "80px"}
        self._activation = W.ToggleButtons(
            options=list(_ACTIVATION_NAMES), style={"button_width": "90px"}
        )
        self._kernel = W.Dropdown(options=list(KERNEL_PRESETS), description="filter", style=style)
        W.link((self, "activation"), (self._activation, "value"))
        W.link((self, "kernel"), (self._kernel, "value"))
        self._before, self._after = image_panel(), image_panel()
        self._before_caption, self._after_caption = W.HTML(), W.HTML()
        self._curve, self._facts = W.HTML(), W.HTML()
        self.children = [
            W.HTML(STYLE),
            W.HBox([self._kernel]),
            self._activation,
            W.HBox(
                [
                    W.VBox([self._before_caption, self._before], layout=W.Layout(margin="0 8px")),
                    W.VBox([self._after_caption, self._after], layout=W.Layout(margin="0 8px")),
                    self._curve,
                ],
                layout=W.Layout(flex_flow="row wrap"),
            ),
            self._facts,
        ]
        self.photo, self.kernel, self.activation, self.size = photo, kernel, activation, size
        self._ready = True
        self._update()

    @T.validate("activation")
    def _valid_activation(self, proposal):
        if proposal["value"] not in _ACTIVATION_NAMES:
            raise T.TraitError(
                f"Unknown activation {proposal['value']!r}; choose one of "
                f"{', '.join(_ACTIVATION_NAMES)}."
            )
        return proposal["value"]

    @T.observe("photo", "kernel", "activation", "size")
    def _changed(self, change) -> None:
        self._update()

    def _update(self) -> None:
        if not self._ready:
            return
        key = (self.photo, self.size)
        if key != self._picture_key:
            rgb = load_picture(self._image, photo=self.photo, size=self.size)
            self.image = to_grayscale(rgb) / 255.0
            self._picture_key = key
        self.feature_map = conv2d(self.image, preset_kernel(self.kernel), padding="same")
        self.activated = activate(self.activation, self.feature_map)
        self.zero_share = float(np.mean(self.activated == 0))
        self.negative_share = float(np.mean(self.feature_map < 0))
        self._render()

    def _render(self) -> None:
        limit = float(np.abs(self.feature_map).max()) or 1.0
        self._before.value = png_live(diverging_rgb(self.feature_map, limit))
        if self.activation == "sigmoid":
            after = to_rgb8(np.clip(self.activated * 255, 0, 255), signed=False)
            scale = "black 0 to white 1"
        elif self.activation == "tanh":
            after, scale = diverging_rgb(self.activated, 1.0), "blue -1 to red +1"
        else:
            after, scale = diverging_rgb(self.activated, limit), "the same scale as before"
        self._after.value = png_live(after)
        self._before_caption.value = (
            f"<b>feature map</b> ({html.escape(self.kernel)}), signed: "
            f"{self.negative_share:.0%} negative"
        )
        self._after_caption.value = f"<b>after {self.activation}</b> ({scale})"
        y = activate(self.activation, _CURVE_X)
        self._curve.value = line_chart(
            [(y.tolist(), "#b42318", self.activation)],
            x_values=_CURVE_X.tolist(),
            x_label="input value",
            width=260,
            height=180,
        )
        lo, hi = float(self.activated.min()), float(self.activated.max())
        notes = {
            "linear": "No activation: the map passes unchanged, and a stack of such layers "
            "is no more than one linear filter.",
            "relu": f"ReLU set <b>{self.zero_share:.0%}</b> of the values to 0 (every negative "
            "response) and kept the positives as they were.",
            "leaky_relu": "Leaky ReLU keeps negatives, scaled by 0.2, so their gradient never "
            "dies. Its slope is fixed; PReLU learns it, which makes PReLU a parametric "
            "activation.",
            "sigmoid": "Sigmoid squeezes every value into (0, 1); 0 becomes 0.5. It has no "
            "parameters (lecture 004 calls it parametric: it is not).",
            "tanh": "tanh squeezes every value into (-1, 1), keeping 0 at 0. It has no "
            "parameters either.",
        }
        self._facts.value = (
            f"<div>output range {lo:.3g} to {hi:.3g}. {notes[self.activation]}</div>"
        )


class SoftmaxWidget(W.VBox):
    """Class scores → probabilities: softmax with a temperature, or one sigmoid per class.

    Softmax makes the scores (logits) of a ``Dense(N)`` layer positive and sum to 1:
    a probability for each class, the largest score keeping the largest share. The
    temperature divides the scores first: below 1 the distribution sharpens, above 1 it
    flattens; the predicted class never changes. The loss compares the true class's
    probability with 1. With ``head="sigmoid"`` each unit is squeezed on its own: the
    numbers no longer sum to 1, which is why a head's activation, its loss and the
    labels must agree. Numbers from :func:`cnnwidgets.softmax`,
    :func:`cnnwidgets.sparse_cross_entropy` and :func:`cnnwidgets.binary_cross_entropy`.

    Examples
    --------
    >>> w = SoftmaxWidget([2.0, 1.0, 0.1], labels=["cat", "dog", "bird"])
    >>> w.probabilities.round(3).tolist(), round(w.loss, 3)
    ([0.659, 0.242, 0.099], 0.417)
    >>> w.temperature = 0.25
    >>> round(float(w.probabilities[0]), 3), w.predicted
    (0.982, 0)
    >>> w.temperature, w.head = 1.0, "sigmoid"
    >>> round(float(w.probabilities.sum()), 2)  # not 1: three separate yes/no answers
    2.14
    """

    scores = T.List(T.Float(), help="The head's raw scores (logits), one per class.")
    labels = T.List(T.Unicode(), help="Class names, one per score.")
    temperature = T.Float(1.0, help="Divides the scores before the activation (above 0).")
    head = T.Enum(("softmax", "sigmoid"), "softmax", help="The head's activation.")
    label = T.Int(0, help="The true class of this example, an index into labels.")

    def __init__(
        self,
        scores=(2.0, 1.0, 0.1, -1.0),
        *,
        labels=None,
        temperature: float = 1.0,
        head: str = "softmax",
        label: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._ready = False
        scores = [float(s) for s in scores]
        labels = list(labels) if labels is not None else [f"class {i}" for i in range(len(scores))]
        if len(labels) != len(scores) or len(scores) < 2:
            raise ValueError("Give at least two scores and one label per score.")
        style = {"description_width": "90px"}
        self._score_boxes = [
            W.FloatText(description=name, layout=W.Layout(width="170px"), style=style)
            for name in labels
        ]
        for i, box in enumerate(self._score_boxes):
            box.observe(lambda change, i=i: self._on_score(i, change), "value")
        self._temperature = W.FloatLogSlider(
            min=-1.5,
            max=1.5,
            step=0.05,
            description="temperature",
            readout_format=".2f",
            style=style,
            layout=W.Layout(width="360px"),
        )
        self._head = W.ToggleButtons(options=["softmax", "sigmoid"], description="head")
        self._label = W.Dropdown(description="true class", style=style)
        W.link((self, "temperature"), (self._temperature, "value"))
        W.link((self, "head"), (self._head, "value"))
        self._bars, self._facts = W.HTML(), W.HTML()
        self.children = [
            W.HBox(self._score_boxes, layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self._temperature, self._label], layout=W.Layout(flex_flow="row wrap")),
            self._head,
            self._bars,
            self._facts,
        ]
        self.scores, self.labels = scores, labels
        self._label.options = [(name, i) for i, name in enumerate(labels)]
        W.link((self, "label"), (self._label, "value"))
        self.temperature, self.head, self.label = temperature, head, label
        self._ready = True
        self._update()

    @T.validate("temperature")
    def _valid_temperature(self, proposal):
        if not proposal["value"] > 0:
            raise T.TraitError(f"temperature must be above 0, got {proposal['value']}.")
        return proposal["value"]

    @T.observe("scores", "labels", "temperature", "head", "label")
    def _changed(self, change) -> None:
        self._update()

    def _on_score(self, i: int, change) -> None:
        if self._ready and self.scores[i] != change["new"]:
            scores = list(self.scores)
            scores[i] = float(change["new"])
            self.scores = scores

    def _update(self) -> None:
        if not self._ready:
            return
        z = np.array(self.scores, dtype=np.float64)
        for box, value in zip(self._score_boxes, z, strict=True):
            box.value = float(value)
        if self.head == "softmax":
            self.probabilities = softmax(z, self.temperature)
            self.loss = sparse_cross_entropy(self.probabilities, self.label)
        else:
            self.probabilities = sigmoid(z / self.temperature)
            onehot = np.eye(len(z))[self.label]
            self.loss = float(
                np.mean(
                    [
                        binary_cross_entropy(p, y)
                        for p, y in zip(self.probabilities, onehot, strict=True)
                    ]
                )
            )
        self.predicted = int(np.argmax(self.probabilities))
        self._render()

    def _render(self) -> None:
        colours = ["#16a34a" if i == self.label else "#2563eb" for i in range(len(self.scores))]
        self._bars.value = bars_html(self.labels, list(self.probabilities), colours=colours)
        total = float(self.probabilities.sum())
        true = html.escape(self.labels[self.label])
        if self.head == "softmax":
            text = (
                f"The probabilities sum to <b>{total:.3f}</b>. Predicted: "
                f"<b>{html.escape(self.labels[self.predicted])}</b>. The loss "
                f"<code>sparse_categorical_crossentropy</code> = −log p({true}) = "
                f"<b>{self.loss:.3f}</b>: small when the true class gets a high probability. "
                "A temperature below 1 sharpens, above 1 flattens; the order never changes."
            )
        else:
            text = (
                f"Each unit is a separate yes/no: together they sum to <b>{total:.3f}</b>, not "
                "1. That suits several labels per image (multi-label) with "
                "<code>binary_crossentropy</code>; for one class out of N use "
                "<code>Dense(N, 'softmax')</code> with "
                "<code>sparse_categorical_crossentropy</code> (integer labels) or "
                "<code>categorical_crossentropy</code> (one-hot), and for "
                "two classes <code>Dense(1, 'sigmoid')</code> with "
                "<code>binary_crossentropy</code>. The lecture's "
                "<code>Dense(2, 'sigmoid')</code> matches none of these. "
                f"Mean binary cross-entropy against the one-hot label: <b>{self.loss:.3f}</b>."
            )
        self._facts.value = f"<div style='max-width:720px'>{text}</div>"
