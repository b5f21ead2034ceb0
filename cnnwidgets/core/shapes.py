"""Shape-and-parameter tables: from a built Keras model, or from a plain list of layer specs."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from ._validate import padding_mode, pair, positive_int
from .params import conv_params, dense_params
from .sizes import conv_output_size, pool_output_size

__all__ = ["shape_table", "stack_table", "param_shares", "param_totals", "STACK_LAYERS"]

Row = dict[str, Any]


def shape_table(model: Any) -> list[Row]:
    """One row per layer of a built Keras model, as ``model.summary()`` lists them.

    Each row has ``"name"``, ``"layer"`` (class name), ``"output_shape"`` (with
    ``None`` for the batch axis), ``"params"`` and ``"trainable_params"``. Keras is
    not imported here: the model is read through its public attributes.

    Examples
    --------
    >>> import keras  # doctest: +SKIP
    >>> layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3)]  # doctest: +SKIP
    >>> m = keras.Sequential(layers)  # doctest: +SKIP
    >>> shape_table(m)[0]["output_shape"], shape_table(m)[0]["params"]  # doctest: +SKIP
    ((None, 26, 26, 32), 320)
    """
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(model, "count_params"):
        raise ValueError(f"shape_table needs a Keras model, got {type(model).__name__}.")
    rows = []
    for layer in layers:
        try:
            output = layer.output
            params = int(layer.count_params())
        except (AttributeError, ValueError) as err:
            raise ValueError(
                f"Layer {layer.name!r} has no output shape yet: give the model an input, e.g. "
                "keras.Input(shape=(28, 28, 1)) as its first layer, or call model.build(...)."
            ) from err
        if isinstance(output, (list, tuple)):
            shape: Any = [tuple(o.shape) for o in output]
        else:
            shape = tuple(output.shape)
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
        rows.append(
            {
                "name": layer.name,
                "layer": type(layer).__name__,
                "output_shape": shape,
                "params": params,
                "trainable_params": int(trainable),
            }
        )
    return rows


def param_totals(table: list[Row]) -> dict[str, int]:
    """Total, trainable and non-trainable parameters of a table.

    Examples
    --------
    >>> param_totals([{"params": 10, "trainable_params": 6}])
    {'total': 10, 'trainable': 6, 'non_trainable': 4}
    """
    total = sum(r["params"] for r in table)
    trainable = sum(
        r["trainable_params"] if "trainable_params" in r else r["params"] for r in table
    )
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def param_shares(table: list[Row]) -> list[float]:
    """Fraction of all parameters held by each row (0 for every row of an empty model).

    Examples
    --------
    >>> param_shares([{"params": 1}, {"params": 3}])
    [0.25, 0.75]
    """
    total = sum(r["params"] for r in table)
    return [r["params"] / total if total else 0.0 for r in table]


# --- Tables from layer specs, without Keras ------------------------------------------------

STACK_LAYERS = (
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "Activation",
    "Rescaling",
)

_KNOWN_OPTIONS = {
    "Conv2D": {
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "dilation_rate",
        "use_bias",
        "activation",
    },
    "MaxPooling2D": {"pool_size", "strides", "padding"},
    "AveragePooling2D": {"pool_size", "strides", "padding"},
    "GlobalAveragePooling2D": set(),
    "GlobalMaxPooling2D": set(),
    "Flatten": set(),
    "Dense": {"units", "use_bias", "activation"},
    "Dropout": {"rate"},
    "BatchNormalization": set(),
    "Activation": {"activation"},
    "Rescaling": {"scale", "offset"},
}

# Arguments Keras's constructors have no default for: a spec without one is refused, as
# Keras refuses the layer (MaxPooling2D defaults pool_size to 2; AveragePooling2D does not).
_REQUIRED = {
    "Conv2D": ("filters", "kernel_size"),
    "Dense": ("units",),
    "AveragePooling2D": ("pool_size",),
    "Dropout": ("rate",),
    "Activation": ("activation",),
    "Rescaling": ("scale",),
}


def _snake(name: str) -> str:
    # Keras's automatic layer names: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d.
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


def stack_table(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> list[Row]:
    """Shapes and parameters of a stack of layers given as specs, computed by hand.

    ``input_shape`` excludes the batch axis, like ``keras.Input(shape=...)``.
    Each spec is a dict with ``"layer"`` (one of ``STACK_LAYERS``) and that
    layer's Keras arguments. Rows look like :func:`shape_table`'s.

    Examples
    --------
    >>> rows = stack_table((28, 28, 1), [
    ...     {"layer": "Conv2D", "filters": 32, "kernel_size": 3, "padding": "same"},
    ...     {"layer": "MaxPooling2D"},
    ...     {"layer": "Flatten"},
    ...     {"layer": "Dense", "units": 10},
    ... ])
    >>> [(r["output_shape"], r["params"]) for r in rows]
    [((None, 28, 28, 32), 320), ((None, 14, 14, 32), 0), ((None, 6272), 0), ((None, 10), 62730)]
    """
    shape = tuple(input_shape)
    if not shape:
        raise ValueError(
            "input_shape must be a non-empty tuple of positive sizes, e.g. (28, 28, 1)."
        )
    for size in shape:
        positive_int("each input_shape size", size)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for index, spec in enumerate(layers, start=1):
        if not isinstance(spec, dict):
            raise ValueError(
                f"Layer {index}: each layer is a dict such as "
                f"{{'layer': 'Dense', 'units': 10}}, got {spec!r}."
            )
        kind = spec.get("layer")
        if kind not in _KNOWN_OPTIONS:
            raise ValueError(
                f"Layer {index}: unknown layer {kind!r}; choose one of {', '.join(STACK_LAYERS)}."
            )
        unknown = set(spec) - {"layer", "name"} - _KNOWN_OPTIONS[kind]
        if unknown:
            raise ValueError(f"Layer {index} ({kind}): unknown argument(s) {sorted(unknown)}.")
        try:
            if any(arg not in spec for arg in _REQUIRED.get(kind, ())):
                raise ValueError(f"{kind} needs {' and '.join(_REQUIRED[kind])}.")
            shape, params, trainable = _apply(kind, spec, shape)
        except ValueError as err:
            raise ValueError(f"Layer {index} ({kind}): {err}") from None
        base = _snake(kind)
        n = seen.get(base, 0)
        seen[base] = n + 1
        rows.append(
            {
                "name": spec.get("name", base if n == 0 else f"{base}_{n}"),
                "layer": kind,
                "output_shape": (None, *shape),
                "params": params,
                "trainable_params": trainable,
            }
        )
    return rows


def _need_image(kind: str, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(
            f"{kind} needs an input of (height, width, channels), got {shape}; "
            "a grayscale image needs its channel axis, e.g. (28, 28, 1)."
        )
    h, w, c = shape
    return h, w, c


def _apply(kind: str, spec: dict[str, Any], shape: tuple[int, ...]):
    if kind == "Conv2D":
        h, w, c = _need_image(kind, shape)
        filters = positive_int("filters", spec["filters"])
        ks = pair("kernel_size", spec["kernel_size"])
        padding = padding_mode(spec.get("padding", "valid"))
        if not isinstance(padding, str):
            raise ValueError("Keras's Conv2D takes padding='valid' or 'same'.")
        strides = pair("strides", spec.get("strides", 1))
        dilation = pair("dilation_rate", spec.get("dilation_rate", 1))
        if max(strides) > 1 and max(dilation) > 1:
            raise ValueError(
                "Keras's Conv2D does not allow strides > 1 together with dilation_rate > 1; "
                "use one or the other."
            )
        oh, ow = conv_output_size((h, w), ks, strides, padding, dilation)
        p = conv_params(ks, c, filters, spec.get("use_bias", True))
        return (oh, ow, filters), p, p
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        h, w, c = _need_image(kind, shape)
        oh, ow = pool_output_size(
            (h, w), spec.get("pool_size", 2), spec.get("strides"), spec.get("padding", "valid")
        )
        return (oh, ow, c), 0, 0
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return (_need_image(kind, shape)[2],), 0, 0
    if kind == "Flatten":
        return (math.prod(shape),), 0, 0
    if kind == "Dense":
        units = positive_int("units", spec["units"])
        # Dense acts on the last axis only; an image input keeps its height and width.
        p = dense_params(shape[-1], units, spec.get("use_bias", True))
        return (*shape[:-1], units), p, p
    if kind == "Dropout":
        rate = spec["rate"]
        # Keras accepts 0 <= rate <= 1.
        if (
            isinstance(rate, bool)
            or not isinstance(rate, numbers.Real)
            or not 0 <= float(rate) <= 1
        ):
            raise ValueError(f"rate must be a number from 0 to 1, got {rate!r}.")
        return shape, 0, 0
    if kind == "BatchNormalization":
        # gamma and beta are learned; the moving mean and variance are not.
        return shape, 4 * shape[-1], 2 * shape[-1]
    return shape, 0, 0  # Activation, Rescaling
