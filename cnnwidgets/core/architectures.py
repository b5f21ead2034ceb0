"""The course's reference architectures as layer specs, and their Keras code."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from .deeper import vgg_stack
from .shapes import _REQUIRED, STACK_LAYERS

__all__ = ["ARCHITECTURES", "architecture", "keras_code"]


def _conv(filters: int, kernel_size: int, padding: str = "valid") -> dict[str, Any]:
    return {
        "layer": "Conv2D",
        "filters": filters,
        "kernel_size": kernel_size,
        "padding": padding,
        "activation": "relu",
    }


def _pool() -> dict[str, Any]:
    return {"layer": "MaxPooling2D", "pool_size": 2}


def _flatten() -> dict[str, Any]:
    return {"layer": "Flatten"}


# The models of COURSE.md ("Numbers to reproduce exactly"); tests check their totals.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "mnist": {
        "title": "MNIST-style CNN (220,234 parameters)",
        "input_shape": (28, 28, 1),
        "layers": [
            _conv(32, 3, "same"),
            _pool(),
            _conv(64, 3, "same"),
            _pool(),
            _flatten(),
            {"layer": "Dense", "units": 64, "activation": "relu"},
            {"layer": "Dense", "units": 10, "activation": "softmax"},
        ],
    },
    "cifar": {
        "title": "CIFAR-10 CNN of lecture 004 (528,054 parameters)",
        "input_shape": (32, 32, 3),
        "layers": [
            _conv(16, 2, "same"),
            _pool(),
            _conv(32, 2, "same"),
            _pool(),
            _conv(64, 2, "same"),
            _pool(),
            {"layer": "Dropout", "rate": 0.3},
            _flatten(),
            {"layer": "Dense", "units": 500, "activation": "relu"},
            {"layer": "Dropout", "rate": 0.4},
            {"layer": "Dense", "units": 10, "activation": "softmax"},
        ],
    },
    "cats_vs_dogs": {
        "title": "Cats vs dogs CNN (3,453,121 parameters, 93 % in one Dense layer)",
        "input_shape": (150, 150, 3),
        "layers": [
            _conv(32, 3),
            _pool(),
            _conv(64, 3),
            _pool(),
            _conv(128, 3),
            _pool(),
            _conv(128, 3),
            _pool(),
            _flatten(),
            {"layer": "Dense", "units": 512, "activation": "relu"},
            {"layer": "Dense", "units": 1, "activation": "sigmoid"},
        ],
    },
    "mlp": {
        "title": "MLP 784 → 512 → 512 → 10 (669,706 parameters)",
        "input_shape": (784,),
        "layers": [
            {"layer": "Dense", "units": 512, "activation": "relu"},
            {"layer": "Dense", "units": 512, "activation": "relu"},
            {"layer": "Dense", "units": 10, "activation": "softmax"},
        ],
    },
}


def architecture(name: str) -> tuple[tuple[int, ...], list[dict[str, Any]]]:
    """``(input_shape, layers)`` of a reference model, as fresh copies you may edit.

    Names are the keys of ``ARCHITECTURES``: ``"mnist"``, ``"cifar"``,
    ``"cats_vs_dogs"``, ``"mlp"`` and ``"vgg"``.

    Examples
    --------
    >>> from cnnwidgets.core.shapes import stack_table, param_totals
    >>> param_totals(stack_table(*architecture("mnist")))["total"]
    220234
    """
    if name not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {name!r}; choose one of {', '.join(sorted(ARCHITECTURES))}."
        )
    entry = ARCHITECTURES[name]
    return tuple(entry["input_shape"]), copy.deepcopy(list(entry["layers"]))


# Keras's positional arguments, so the code reads like the lectures: Conv2D(32, 3, ...).
# They are the arguments Keras requires, and MaxPooling2D's pool_size (which defaults to 2).
_POSITIONAL = {**_REQUIRED, "MaxPooling2D": ("pool_size",)}
_KEYWORD_ORDER = (
    "strides",
    "padding",
    "dilation_rate",
    "activation",
    "use_bias",
    "offset",
    "name",
)


def _literal(value: Any, key: str = "") -> str:
    if isinstance(value, str):
        return json.dumps(value)  # double quotes, as in the Keras docs
    if (
        key == "scale"
        and isinstance(value, float)
        and 0 < value < 1
        and math.isclose(1 / value, round(1 / value))
    ):
        return f"1 / {round(1 / value)}"  # Rescaling(1 / 255), not 0.00392156862745098
    if isinstance(value, list):
        value = tuple(value)
    return repr(value)


def _rank(key: str) -> tuple[int, str]:
    known = key in _KEYWORD_ORDER
    return (_KEYWORD_ORDER.index(key) if known else len(_KEYWORD_ORDER), key)


def keras_code(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> str:
    """Python source of the ``keras.Sequential`` model that a stack of layer specs describes.

    The code only formats the specs: building it runs Keras's own checks.

    Examples
    --------
    >>> print(keras_code((28, 28, 1), [{"layer": "Conv2D", "filters": 32, "kernel_size": 3}]))
    import keras
    from keras import layers
    <BLANKLINE>
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3),
        ]
    )
    """
    lines = [
        "import keras",
        "from keras import layers",
        "",
        "model = keras.Sequential(",
        "    [",
        f"        keras.Input(shape={_literal(tuple(input_shape))}),",
    ]
    for index, spec in enumerate(layers, start=1):
        kind = spec.get("layer")
        if kind not in STACK_LAYERS:
            raise ValueError(
                f"Layer {index}: unknown layer {kind!r}; choose one of {', '.join(STACK_LAYERS)}."
            )
        positional = _POSITIONAL.get(kind, ())
        args = []
        # Positional only while there is no gap, so Conv2D(kernel_size=3) stays a keyword.
        for key in positional:
            if spec.get(key) is None:
                break
            args.append(_literal(spec[key], key))
        used = set(positional[: len(args)]) | {"layer"}
        extra = sorted((k for k in spec if k not in used and spec[k] is not None), key=_rank)
        args += [f"{key}={_literal(spec[key], key)}" for key in extra]
        lines.append(f"        layers.{kind}({', '.join(args)}),")
    lines += ["    ]", ")"]
    return "\n".join(lines)


# VGG-style (lesson 03): blocks of two 3x3 'same' convolutions whose filters double,
# 32 -> 64 -> 128, each block closed by a 2x2 pooling; Flatten and a dense head.
ARCHITECTURES["vgg"] = {
    "title": "VGG-style CNN: filters double 32 → 64 → 128 (814,122 parameters)",
    "input_shape": (32, 32, 3),
    "layers": vgg_stack(blocks=3, filters=32, convs_per_block=2, units=256, num_classes=10),
}
