"""Keras in lessons and exercises: a quiet import, and what a model takes in and gives out.

Lessons, exercises and the grader all read Keras models through these few functions,
so a learner's notebook and the grader say the same thing about the same model:

- :func:`quiet_keras` imports Keras with TensorFlow's start-up log switched off
  (nbgrader fails a cell that wrote to stderr);
- :func:`not_a_model` says in one sentence why something is not a Keras model yet
  (``None``, a list of layers, the class, a model without an input shape);
- :func:`input_shapes` and :func:`output_shapes` give a model's shapes, ``None`` for
  the batch axis (:func:`tensor_shapes`, a tensor's);
- :func:`head_of` describes its output layer (units, last activation, output shape)
  as a :class:`Head`, and :func:`activation_name` names an activation however it was given.

Examples
--------
>>> from cnnwidgets.keras_helpers import not_a_model, quiet_keras
>>> keras = quiet_keras()
>>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
...                           keras.layers.Dense(10, activation="softmax")])
>>> not_a_model(model) is None
True
>>> input_shapes(model), output_shapes(model)
((None, 8, 8, 1), (None, 10))
>>> head_of(model).text
"Dense(10, activation='softmax')"
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from .environment import quiet_framework

__all__ = [
    "Head",
    "activation_name",
    "head_of",
    "input_shapes",
    "not_a_model",
    "output_shapes",
    "quiet_keras",
    "tensor_shapes",
]


def quiet_keras() -> Any:
    """Return the ``keras`` module, imported with TensorFlow's C++ log silenced.

    The environment variables only work if set before TensorFlow is first
    imported, so every place in the kit that needs Keras goes through here.

    Examples
    --------
    >>> keras = quiet_keras()
    >>> keras.layers.Dense(3).units
    3
    """
    quiet_framework()
    import keras

    return keras


def not_a_model(obj: object, example_shape: tuple[int, ...] | None = None) -> str | None:
    """A sentence saying why ``obj`` cannot be graded as a Keras model, or None if it can.

    ``example_shape`` is the input shape the sentence suggests when the model has none.

    Examples
    --------
    >>> not_a_model(None)
    'Got None instead of a Keras model — did build_model() forget to `return model`?'
    >>> not_a_model("model")
    "Got a string ('model') instead of a Keras model."
    >>> keras = quiet_keras()
    >>> not_a_model([keras.layers.Dense(10)])
    'Got a list of 1 layer instead of a model — wrap them in a model: keras.Sequential([...]).'
    """
    if obj is None:
        return "Got None instead of a Keras model — did build_model() forget to `return model`?"
    if isinstance(obj, str):
        text = obj if len(obj) <= 30 else obj[:27] + "..."
        return f"Got a string ({text!r}) instead of a Keras model."
    if isinstance(obj, (int, float, dict)):
        return f"Got a {type(obj).__name__} ({obj!r:.40}) instead of a Keras model."
    keras = quiet_keras()
    if inspect.isclass(obj):
        if issubclass(obj, keras.Model):
            return (
                f"Got the class {obj.__name__}, not a model made from it — "
                "create one, e.g. keras.Sequential([...])."
            )
        return f"Got the class {obj.__name__} instead of a Keras model."
    if isinstance(obj, (list, tuple)):
        kind = type(obj).__name__
        if obj and all(isinstance(x, keras.layers.Layer) for x in obj):
            n = f"{len(obj)} layer" + ("s" if len(obj) > 1 else "")
            return (
                f"Got a {kind} of {n} instead of a model — "
                "wrap them in a model: keras.Sequential([...])."
            )
        return f"Got a {kind} of {len(obj)} items instead of a Keras model."
    if isinstance(obj, keras.layers.Layer) and not isinstance(obj, keras.Model):
        return (
            f"Got a single {type(obj).__name__} layer instead of a model — "
            "put the layers in keras.Sequential([...])."
        )
    if not isinstance(obj, keras.Model):
        if callable(obj):
            name = getattr(obj, "__name__", type(obj).__name__)
            return f"Got the function {name} instead of a model — did you forget to call {name}()?"
        return f"Got a {type(obj).__name__} instead of a Keras model."
    example = f"shape={tuple(example_shape)!r}" if example_shape else "shape=(28, 28, 1)"
    if isinstance(obj, keras.Sequential) and not obj.built:
        return (
            "The model has no input shape yet, so its layers have no output shapes — "
            f"give it one: put keras.Input({example}) first in keras.Sequential([...])."
        )
    if type(obj).__name__ not in ("Sequential", "Functional") and not _has_graph(obj):
        return (
            f"{type(obj).__name__} is a subclassed keras.Model, whose layers the grader "
            "cannot see — build the model with keras.Sequential or the functional API."
        )
    return None


def _has_graph(model: Any) -> bool:
    try:
        return bool(model.inputs) and bool(model.outputs)
    except (AttributeError, ValueError):
        return False


def tensor_shapes(tensors: Any) -> Any:
    """A tensor's shape as a tuple; for a list of tensors, a list of shapes (one alone unwrapped).

    Examples
    --------
    >>> keras = quiet_keras()
    >>> tensor_shapes(keras.ops.zeros((2, 3))), tensor_shapes([keras.ops.zeros((4,))])
    ((2, 3), (4,))
    """
    if isinstance(tensors, (list, tuple)):
        shapes = [tuple(t.shape) for t in tensors]
        return shapes[0] if len(shapes) == 1 else shapes
    return tuple(tensors.shape)


def input_shapes(model: Any) -> Any:
    """The model's input shape with ``None`` for the batch axis; a list for several inputs.

    Examples
    --------
    >>> keras = quiet_keras()
    >>> input_shapes(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()]))
    (None, 28, 28, 1)
    """
    return tensor_shapes(model.inputs)


def output_shapes(model: Any) -> Any:
    """The model's output shape with ``None`` for the batch axis; a list for several outputs.

    Examples
    --------
    >>> keras = quiet_keras()
    >>> image = keras.Input((28, 28, 1))
    >>> flat = keras.layers.Flatten()(image)
    >>> output_shapes(keras.Model(image, [flat, keras.layers.Dense(10)(flat)]))
    [(None, 784), (None, 10)]
    """
    return tensor_shapes(model.outputs)


def activation_name(fn: Any) -> str:
    """``'relu'`` for ``'relu'``, ``keras.activations.relu`` or ``None`` → ``'linear'``.

    Examples
    --------
    >>> activation_name(None), activation_name("ReLU")
    ('linear', 'relu')
    """
    if fn is None:
        return "linear"
    if isinstance(fn, str):
        return fn.lower()
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return name.lower()


@dataclass
class Head:
    """The output layer as the loss sees it: units, final activation, output shape, and how
    to write it (``"Dense(2, activation='sigmoid')"``)."""

    units: int
    activation: str
    shape: tuple
    text: str


def head_of(model: Any) -> Head:
    """The model's output layer: units, the activation applied last, and its output shape.

    An ``Activation``/``Softmax`` layer (or a ``Dropout``) after the last Dense is
    looked through: ``Dense(10)`` + ``Activation('softmax')`` is a softmax head.

    Examples
    --------
    >>> keras = quiet_keras()
    >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2), keras.layers.Softmax()])
    >>> head = head_of(m)
    >>> head.units, head.activation, head.shape
    (2, 'softmax', (None, 2))
    >>> head.text
    "Dense(2, activation='softmax')"
    """
    layers = [lyr for lyr in model.layers if type(lyr).__name__ != "InputLayer"]
    shape = tuple(model.outputs[0].shape)
    activation = None
    core = layers[-1]
    for layer in reversed(layers):
        cls = type(layer).__name__
        if cls == "Softmax":
            activation = activation or "softmax"
        elif cls in ("Activation", "ReLU"):
            activation = activation or activation_name(getattr(layer, "activation", "relu"))
        elif cls not in ("Dropout",):
            core = layer
            if activation is None:
                activation = activation_name(getattr(layer, "activation", None))
            break
    activation = activation or "linear"
    units = int(shape[-1]) if shape[-1] is not None else 0
    cls = type(core).__name__
    if cls != "Dense":
        text = f"an output layer ({cls}) with {units} units and activation {activation!r}"
    elif activation == "linear":
        text = f"Dense({units}) without an activation"
    else:
        text = f"Dense({units}, activation={activation!r})"
    return Head(units, activation, shape, text)
