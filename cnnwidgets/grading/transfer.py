"""Fine-tuning, checked: the upper block of a pretrained base moves, the lower one does not.

The grader builds the transfer model itself (:func:`head_trained`: the digits network of
:func:`cnnwidgets.networks.digits_cnn`, its base frozen, a new odd-or-even head trained on
it), hands it to the student's function, and reads back what that function made of it:
which layers train, and at what learning rate. Then it trains the result from the weights
it handed over and measures which of the base's kernels moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..keras_helpers import not_a_model, quiet_keras
from .training import train_and_evaluate

__all__ = ["assert_fine_tuning", "head_trained"]

LOWER, UPPER = "conv_1", "conv_2"


def head_trained(seed: int, split_seed: int, epochs: int = 3) -> tuple[Any, tuple]:
    """The grader's transfer model and data: a frozen digits base with a trained odd/even head.

    Returns ``(model, (X_train, X_test, odd_train, odd_test))``: ``digits_cnn(seed,
    split_seed=split_seed)`` up to ``pool_2``, frozen, then ``Flatten`` and ``Dense(1,
    "sigmoid")``, compiled with Adam (3e-3) and trained for ``epochs`` epochs on the
    training digits' odd (1) or even (0) labels, with ``seed``.
    """
    from ..data import load_dataset, split
    from ..networks import digits_cnn

    keras = quiet_keras()
    digits = load_dataset("digits")
    X_train, X_test, y_train, y_test = split(digits.X, digits.y, test_size=0.2, seed=split_seed)
    trained = digits_cnn(seed, split_seed=split_seed)
    base = keras.Model(trained.inputs[0], trained.get_layer("pool_2").output, name="base")
    base.trainable = False
    keras.utils.set_random_seed(seed)  # the head's first weights and its training: re-grades agree
    inputs = keras.Input(shape=(8, 8, 1))
    x = keras.layers.Flatten()(base(inputs, training=False))
    outputs = keras.layers.Dense(1, activation="sigmoid", name="odd")(x)
    model = keras.Model(inputs, outputs, name="odd_or_even")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(X_train, y_train % 2, epochs=epochs, batch_size=32, verbose=0)
    return model, (X_train, X_test, y_train % 2, y_test % 2)


def _walk(model: Any, frozen: bool = False) -> Iterator[tuple[Any, bool]]:
    """Every layer inside ``model`` and whether it trains (it and every model around it)."""
    for layer in getattr(model, "layers", ()):
        trains = layer.trainable and not frozen
        yield layer, trains
        yield from _walk(layer, not trains)


def _kernels(model: Any) -> dict[str, np.ndarray]:
    return {
        layer.name: np.array(layer.get_weights()[0])
        for layer, _ in _walk(model)
        if layer.name in (LOWER, UPPER) and layer.get_weights()
    }


# Steps at which a schedule's rate is read: every step of a long fine-tuning run, then far on.
_SCHEDULE_STEPS = (*range(0, 600), 1_000, 10_000, 100_000)


def learning_rate(model: Any) -> float | None:
    """The highest learning rate ``model`` was compiled with: a schedule's highest over
    :data:`_SCHEDULE_STEPS` (one low at step 0 and high after would pass a look at step 0
    only), or None."""
    optimizer = getattr(model, "optimizer", None)
    rate = getattr(optimizer, "_learning_rate", None)  # the schedule itself, if there is one
    if not callable(rate):  # (.learning_rate gives a schedule's value at the current step)
        rate = getattr(optimizer, "learning_rate", None)
    if rate is None:
        return None
    if callable(rate):  # a LearningRateSchedule
        values = np.asarray([float(np.asarray(rate(step))) for step in _SCHEDULE_STEPS])
        return float(np.nan if np.isnan(values).any() else values.max())
    return float(np.asarray(rate))


def _form_problem(model: Any, max_learning_rate: float) -> str | None:
    problem = not_a_model(model, example_shape=(8, 8, 1))
    if problem is not None:
        return f"prepare_fine_tuning should return the model it was given, made ready: {problem}"
    trains = {layer.name: flag for layer, flag in _walk(model)}
    missing = [name for name in (LOWER, UPPER) if name not in trains]
    if missing:
        return (
            f"the returned model has no layer {missing[0]!r}: return the model you were given, "
            "with its base, not a new network"
        )
    if trains[LOWER]:
        return (
            f"{LOWER} is trainable: keep the lower block frozen ({LOWER}'s trainable = False); "
            f"fine-tuning unfreezes only the upper block, {UPPER}"
        )
    if not trains[UPPER]:
        return (
            f"{UPPER} is still frozen: set the base's trainable = True (a layer inside a frozen "
            f"model stays frozen), then {LOWER}'s trainable = False"
        )
    if not getattr(model, "compiled", False):
        return "compile the model again after changing trainable: compile takes note of it"
    rate = learning_rate(model)
    if rate is None or not 0 < rate <= max_learning_rate:
        return (
            f"the learning rate is {rate:g}: fine-tuning needs a low one, above 0 and at most "
            f"{max_learning_rate:g} (the head trained at 0.003), or the pretrained weights are "
            "overwritten rather than adjusted"
            if rate is not None
            else "compile with an optimizer that has a learning rate, e.g. keras.optimizers.Adam"
        )
    return None


def assert_fine_tuning(
    prepare: Callable[[Any], Any],
    *,
    seed: int,
    split_seed: int,
    train: bool = True,
    epochs: int = 3,
    threshold: float = 0.85,
    max_learning_rate: float = 1e-3,
) -> Any:
    """``prepare(model)`` makes the grader's transfer model ready to fine-tune; assert it did.

    The form, always: ``conv_1`` frozen, ``conv_2`` trainable, compiled again with a
    learning rate of at most ``max_learning_rate``. With ``train``, the returned model is
    trained for ``epochs`` epochs, with seeds ``seed`` and ``seed + 1``, from the weights
    handed over (anything else the function
    changed is drawn again by the grader, see :func:`train_and_evaluate`): ``conv_2``'s
    kernel must move, ``conv_1``'s must not (in the first run), and the median held-out
    odd/even accuracy must reach ``threshold``. Returns that :class:`TrainingResult`
    (None without ``train``).

    Examples
    --------
    >>> assert_fine_tuning(prepare_fine_tuning, seed=0, split_seed=0, train=False)  # doctest: +SKIP
    """
    __tracebackhide__ = True
    model, (X_train, X_test, odd_train, odd_test) = head_trained(seed, split_seed)
    handed = model.get_weights()
    before = _kernels(model)
    returned = prepare(model)
    problem = _form_problem(returned, max_learning_rate)
    if problem:
        raise AssertionError(problem)
    if not train:
        return None
    result = train_and_evaluate(
        lambda: returned, X_train, odd_train, validation=(X_test, odd_test), epochs=epochs,
        seed=(seed, seed + 1), keep_weights=handed, threshold=threshold,
    )  # fmt: skip
    if result.model is None:
        raise AssertionError(result.message)
    after = _kernels(result.model)
    if not np.array_equal(after[LOWER], before[LOWER]):
        raise AssertionError(
            f"{LOWER}'s kernel moved in {epochs} epochs of fine-tuning: keep it frozen"
        )
    moved = float(np.abs(after[UPPER] - before[UPPER]).max())
    if moved == 0.0:
        raise AssertionError(
            f"{UPPER}'s kernel did not move in {epochs} epochs of fine-tuning (it moved by 0): "
            "it must train, at a low learning rate rather than none"
        )
    if not result.passed:
        raise AssertionError(f"after fine-tuning: {result.message}")
    return result
