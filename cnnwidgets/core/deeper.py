"""Deeper designs: VGG-style blocks with doubling filters, a residual block, and who feeds whom."""

from __future__ import annotations

from typing import Any

from ._validate import pair, positive_int
from .params import conv_params
from .sizes import conv_output_size

__all__ = ["doubling_filters", "vgg_stack", "residual_block_table", "layer_inputs"]


def doubling_filters(filters: int = 32, blocks: int = 3) -> list[int]:
    """The VGG rule: each block has twice the filters of the one before.

    Every 2x2 pooling halves the height and width (a quarter of the positions), so
    doubling the filters keeps the work per layer about even while the features
    become fewer, larger and more abstract.

    Examples
    --------
    >>> doubling_filters(32, 3)
    [32, 64, 128]
    """
    first, n = positive_int("filters", filters), positive_int("blocks", blocks)
    return [first * 2**i for i in range(n)]


def vgg_stack(
    blocks: int = 3,
    filters: int = 32,
    convs_per_block: int = 2,
    units: int = 256,
    num_classes: int = 10,
) -> list[dict[str, Any]]:
    """Layer specs of a VGG-style network: blocks of 3x3 'same' convolutions, then a pool.

    Block ``b`` has ``convs_per_block`` ``Conv2D(filters · 2^b, 3, padding="same")``
    layers (the size is kept) and a ``MaxPooling2D(2)`` (the size halves); the head is
    ``Flatten``, ``Dense(units, "relu")``, ``Dropout(0.5)`` and
    ``Dense(num_classes, "softmax")``, VGG's head at a course's scale.

    Examples
    --------
    >>> from cnnwidgets.core.shapes import stack_table
    >>> rows = stack_table((32, 32, 3), vgg_stack())
    >>> [r["output_shape"] for r in rows if r["layer"] == "MaxPooling2D"]
    [(None, 16, 16, 32), (None, 8, 8, 64), (None, 4, 4, 128)]
    """
    per_block = positive_int("convs_per_block", convs_per_block)
    layers: list[dict[str, Any]] = []
    for f in doubling_filters(filters, blocks):
        conv = {"layer": "Conv2D", "filters": f, "kernel_size": 3, "padding": "same"}
        layers += [{**conv, "activation": "relu"} for _ in range(per_block)]
        layers.append({"layer": "MaxPooling2D", "pool_size": 2})
    units = positive_int("units", units)
    classes = positive_int("num_classes", num_classes)
    return [
        *layers,
        {"layer": "Flatten"},
        {"layer": "Dense", "units": units, "activation": "relu"},
        {"layer": "Dropout", "rate": 0.5},
        {"layer": "Dense", "units": classes, "activation": "softmax"},
    ]


def residual_block_table(
    input_shape: tuple[int, int, int],
    filters: int,
    kernel_size: int = 3,
    strides: int = 1,
) -> list[dict[str, Any]]:
    """Shapes and parameters of a residual block, with who feeds whom.

    The block computes ``relu(F(x) + shortcut(x))`` where ``F`` is two convolutions
    (``conv_a`` with the stride and a ReLU, ``conv_b`` without) and the shortcut is ``x``
    itself, or, when the stride or the number of channels changes, a 1x1 convolution
    (``projection``) that makes the shapes agree: ``Add`` needs equal shapes. The skip
    lets the gradient reach early layers unchanged, which is why ResNets can be
    very deep.

    Rows are like :func:`cnnwidgets.shape_table`'s plus ``"inputs"``, the names of the
    layers feeding each one; the first row is the input. Layer names are ``input``,
    ``conv_a``, ``conv_b``, ``projection`` (if any), ``add`` and ``relu``.

    Examples
    --------
    >>> rows = residual_block_table((8, 8, 16), 16)
    >>> [(r["name"], r["params"], r["inputs"]) for r in rows][2:]
    [('conv_b', 2320, ['conv_a']), ('add', 0, ['input', 'conv_b']), ('relu', 0, ['add'])]
    >>> [r["name"] for r in residual_block_table((8, 8, 16), 32, strides=2)]
    ['input', 'conv_a', 'projection', 'conv_b', 'add', 'relu']
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}.")
    h, w, c = (positive_int("each input_shape size", s) for s in input_shape)
    f = positive_int("filters", filters)
    k = pair("kernel_size", kernel_size)
    s = pair("strides", strides)
    oh, ow = conv_output_size((h, w), k, s, "same")
    out = (None, oh, ow, f)

    def row(name: str, layer: str, shape: tuple, params: int, inputs: list[str]) -> dict:
        return {
            "name": name,
            "layer": layer,
            "output_shape": shape,
            "params": params,
            "trainable_params": params,
            "inputs": inputs,
        }

    rows = [
        row("input", "InputLayer", (None, h, w, c), 0, []),
        row("conv_a", "Conv2D", out, conv_params(k, c, f), ["input"]),
    ]
    shortcut = "input"
    if s != (1, 1) or c != f:
        # Listed where model.summary() lists it: as far from the input as conv_a.
        rows.append(row("projection", "Conv2D", out, conv_params(1, c, f), ["input"]))
        shortcut = "projection"
    rows.append(row("conv_b", "Conv2D", out, conv_params(k, f, f), ["conv_a"]))
    rows.append(row("add", "Add", out, 0, [shortcut, "conv_b"]))
    rows.append(row("relu", "Activation", out, 0, ["add"]))
    return rows


def _histories(node: Any) -> list[str]:
    # Keras's config marks every tensor a layer was called on with its keras_history.
    if isinstance(node, dict):
        history = node.get("config", {}).get("keras_history") if "config" in node else None
        if node.get("class_name") == "__keras_tensor__" and history:
            return [str(history[0])]
        return [name for value in node.values() for name in _histories(value)]
    if isinstance(node, (list, tuple)):
        return [name for value in node for name in _histories(value)]
    return []


def layer_inputs(model: Any) -> dict[str, list[str]]:
    """For each layer of a Keras model, the names of the layers whose outputs it takes.

    A Sequential model is a chain; a functional one may branch and merge (a skip
    connection gives an ``Add`` two inputs). Read from ``model.get_config()``, so Keras
    is not imported here.

    Examples
    --------
    >>> import keras  # doctest: +SKIP
    >>> x = keras.Input((4,), name="x")  # doctest: +SKIP
    >>> m = keras.Model(x, keras.layers.Add(name="sum")([x, x]))  # doctest: +SKIP
    >>> layer_inputs(m)["sum"]  # doctest: +SKIP
    ['x', 'x']
    """
    config = model.get_config()
    specs = config.get("layers", [])
    if specs and all("inbound_nodes" in spec for spec in specs):
        return {spec["name"]: _histories(spec["inbound_nodes"]) for spec in specs}
    names = [layer.name for layer in model.layers]  # Sequential: each takes the one before
    return {name: names[i - 1 : i] if i else [] for i, name in enumerate(names)}
