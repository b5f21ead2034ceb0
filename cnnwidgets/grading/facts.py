"""What the grader reads from a Keras model: why it is not one, or one row of facts per layer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.shapes import shape_table
from ..keras_helpers import activation_name, tensor_shapes
from .report import join_words

__all__ = ["LayerFacts", "layer_facts"]

# Arguments compared layer by layer, in the order messages list them.
COMPARED = (
    "filters",
    "units",
    "kernel_size",
    "pool_size",
    "strides",
    "padding",
    "dilation_rate",
    "rate",
    "use_bias",
    "scale",
    "offset",
    "activation",
)
_TUPLES = {"kernel_size", "pool_size", "strides", "dilation_rate"}
_FLOATS = {"rate", "scale", "offset"}
# Layers that only apply an activation: folded into the layer before them (see layer_facts).
_DEFAULTS = {
    "padding": "valid",
    "dilation_rate": (1, 1),
    "use_bias": True,
    "activation": "linear",
    "offset": 0.0,
}


@dataclass
class LayerFacts:
    """The facts the grader compares for one layer (or one layer plus its Activation layer).

    ``index`` is the layer's 1-based position among the model's non-Input layers,
    the number a student finds by counting the rows of ``model.summary()``.
    """

    index: int
    cls: str
    output_shape: Any
    input_shape: Any
    params: int
    attrs: dict[str, Any] = field(default_factory=dict)
    folded: str | None = None  # class of an Activation-like layer folded into this one
    sub: Any = None  # a nested Keras model, compared layer by layer

    @property
    def label(self) -> str:
        """``'layer 3 (Conv2D)'``."""
        return f"layer {self.index} ({self.cls})"

    def describe(self) -> str:
        """The layer as code, defaults left out: ``Dense(units=10, activation='softmax')``."""
        if self.sub is not None:  # a nested model: name its layers
            inner = [type(lyr).__name__ for lyr in self.sub.layers]
            return f"{self.cls}([{', '.join(c for c in inner if c != 'InputLayer')}])"
        defaults = {**_DEFAULTS, "strides": self.attrs.get("pool_size", (1, 1))}
        args = [
            f"{k}={v!r}"
            for k, v in self.attrs.items()
            if k not in defaults or not same_value(v, defaults[k])
        ]
        return f"{self.cls}({', '.join(args)})"


def _read_attrs(layer: Any) -> dict[str, Any]:
    try:
        config = layer.get_config()
    except Exception:  # custom layers and lambda activations can fail to serialize
        config = {k: getattr(layer, k) for k in COMPARED if hasattr(layer, k)}
    attrs: dict[str, Any] = {}
    for key in COMPARED:
        if key == "activation":
            if hasattr(layer, "activation"):
                attrs[key] = activation_name(layer.activation)
            continue
        if key not in config:
            continue
        value = config[key]
        if key in _TUPLES and value is not None:
            value = tuple(int(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        elif key in _FLOATS and isinstance(value, (int, float)):
            value = float(value)
        elif key == "padding" and isinstance(value, str):
            value = value.lower()
        attrs[key] = value
    return attrs


def _activation_only(layer: Any, cls: str) -> str | None:
    # The activation an Activation-like layer applies, if it is nothing more than that.
    if cls == "Activation":
        return activation_name(layer.activation)
    if cls == "Softmax" and getattr(layer, "axis", -1) == -1:
        return "softmax"
    if cls == "ReLU":
        plain = not getattr(layer, "max_value", None) and not getattr(layer, "negative_slope", 0)
        if plain and not getattr(layer, "threshold", 0):
            return "relu"
    return None


def layer_facts(model: Any) -> list[LayerFacts]:
    """One :class:`LayerFacts` per non-Input layer of a built Keras model.

    A layer that only applies an activation (``Activation``, a plain ``ReLU``, a
    ``Softmax`` on the last axis) right after a layer without one is folded into
    that layer: ``Conv2D(32, 3)`` + ``Activation('relu')`` reads as
    ``Conv2D(32, 3, activation='relu')``, since both compute the same function.

    Raises ``ValueError`` if the layers' shapes cannot be read.
    """
    table = shape_table(model)
    rows: list[LayerFacts] = []
    index = 0
    for layer, row in zip(model.layers, table, strict=True):
        cls = row["layer"]
        if cls == "InputLayer":
            continue
        index += 1
        folded = _activation_only(layer, cls)
        prev = rows[-1] if rows else None
        if (
            folded is not None
            and prev is not None
            and prev.folded is None
            and prev.attrs.get("activation") == "linear"
            and prev.output_shape == row["output_shape"]
        ):
            prev.attrs["activation"] = folded
            prev.folded = cls
            continue
        try:
            in_shape = tensor_shapes(layer.input)
        except (AttributeError, ValueError):  # shared layers have several inputs
            in_shape = None
        is_model = hasattr(layer, "layers") and hasattr(layer, "count_params")
        rows.append(
            LayerFacts(
                index=index,
                cls=cls,
                output_shape=row["output_shape"],
                input_shape=in_shape,
                params=row["params"],
                attrs={} if is_model else _read_attrs(layer),
                sub=layer if is_model else None,
            )
        )
    return rows


def count_layers(rows: list[LayerFacts]) -> str:
    """``'8 layers'`` / ``'1 layer'``."""
    return f"{len(rows)} layer" + ("" if len(rows) == 1 else "s")


def same_value(a: Any, b: Any) -> bool:
    """Equal, with floats compared to 1e-6 (``1/255`` and ``0.00392157`` are the same scale)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    try:
        return bool(a == b)
    except ValueError:  # array-valued arguments (e.g. a per-channel scale)
        return bool(np.array_equal(a, b))


def index_list(indices: list[int]) -> str:
    """Layer numbers with runs shortened: ``[2, 3, 4, 6]`` → ``'layers 2–4 and 6'``.

    Examples
    --------
    >>> index_list([2, 3, 4, 6]), index_list([5])
    ('layers 2–4 and 6', 'layer 5')
    """
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    words = [w for r in runs for w in ([f"{r[0]}–{r[-1]}"] if len(r) > 2 else map(str, r))]
    return ("layers " if len(indices) > 1 else "layer ") + join_words(words)
