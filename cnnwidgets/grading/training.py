"""A deterministic training harness: the grader builds, trains and scores the student's model."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..environment import GRADING_ENV, grading
from ..keras_helpers import head_of, not_a_model
from .heads import check_head
from .quiet import framework_noise_silenced
from .report import FAIL, PASS, SKIP, fmt_int

__all__ = [
    "GRADING_ENV",
    "TrainingResult",
    "assert_accuracy",
    "grader_initialised",
    "grading",
    "train_and_evaluate",
]


@dataclass
class TrainingResult:
    """What :func:`train_and_evaluate` measured.

    Attributes
    ----------
    passed : bool
        Trained within the budgets and, if a threshold was given, reached it.
    message : str
        One sentence: ``"held-out accuracy 0.981 ≥ 0.970 required"``, or what went wrong.
    accuracy : float or None
        Held-out accuracy; None when the model was never trained.
    params : int or None
        The model's parameter count; None when no model was built.
    history : dict
        ``History.history`` of the training run (``{"loss": [...], ...}``).
    seconds : float
        Wall time of the whole check: build, training and evaluation.
    epochs, seed : int
        The epoch budget and the seed used.
    threshold : float or None
        The accuracy required.
    skipped : bool
        Not trained: a self-check run inside a grading kernel (see ``skip_when_grading``).
    seeds : tuple of int
        Every seed trained with; ``accuracy`` is the median of their accuracies.
    runs : list of TrainingResult
        One result per seed when there are several (empty for one).
    model : keras.Model or None
        The model that was trained (the first seed's): built by the grader from the
        config of the one ``build_model()`` returned, with the grader's own weights.

    Examples
    --------
    >>> r = TrainingResult(False, "held-out accuracy 0.912 < 0.950 required", 0.912)
    >>> bool(r), r.messages
    (False, ['held-out accuracy 0.912 < 0.950 required'])
    """

    passed: bool
    message: str
    accuracy: float | None = None
    params: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    epochs: int = 0
    seed: int = 0
    threshold: float | None = None
    title: str = "the model reaches the required held-out accuracy"
    skipped: bool = False
    seeds: tuple[int, ...] = ()
    runs: list[TrainingResult] = field(default_factory=list, repr=False)
    model: Any = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def messages(self) -> list[str]:
        """``[message]``, like a :class:`~cnnwidgets.grading.Report`'s messages."""
        return [self.message]

    @property
    def score(self) -> float:
        """1.0 if passed, else 0.0."""
        return 1.0 if self.passed else 0.0

    def __str__(self) -> str:
        if self.skipped:
            return f"{SKIP} {self.message}"
        text = f"{PASS if self.passed else FAIL} {self.message}"
        if self.accuracy is None:  # never trained: the message says why, details are noise
            return text
        params = f"{fmt_int(self.params)} parameters, " if self.params is not None else ""
        if len(self.runs) > 1:
            each = ", ".join(
                f"{r.accuracy:.3f} with seed {r.seed}" if r.accuracy is not None
                else f"seed {r.seed}: {r.message}"
                for r in self.runs
            )  # fmt: skip
            return (
                f"{text} (the median of {len(self.runs)} trainings: {each}; {self.epochs} "
                f"epochs, {params}{self.seconds:.1f} s)"
            )
        return f"{text} (seed {self.seed}, {self.epochs} epochs, {params}{self.seconds:.1f} s)"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def train_and_evaluate(
    build_model: Callable[[], Any],
    X: Any,
    y: Any,
    *,
    epochs: int,
    batch_size: int = 32,
    validation: tuple[Any, Any] | None = None,
    test_size: float = 0.2,
    seed: int | Sequence[int] = 0,
    split_seed: int = 0,
    max_params: int | None = None,
    max_steps_per_epoch: int | None = None,
    compile_kwargs: dict[str, Any] | None = None,
    threshold: float | None = None,
    deterministic: bool = True,
    skip_when_grading: bool = False,
    keep_weights: Sequence[Any] = (),
) -> TrainingResult:
    """Build a fresh model with ``build_model()``, train it on a budget, score it on held-out data.

    The grader calls ``build_model()`` itself, so the numbers come from a model
    trained here, not from the student's notebook. Nor do its weights: the model
    is rebuilt from its configuration and initialised here, with the grader's
    seed, so nothing computed beforehand (weights trained on the held-out data,
    a ``Constant`` initialiser holding them, a frozen layer keeping them) reaches
    the training; initialisers that carry data and frozen layers the task does
    not freeze are refused, with a message. The architecture, the optimizer and
    the loss are the student's. Runs are deterministic: Python's ``random``,
    NumPy and Keras/TensorFlow are seeded with ``seed``
    (``keras.utils.set_random_seed``) before the model is built, and TensorFlow
    op determinism is switched on for the run and back off after it. Measured
    on a small CNN on 2 CPU cores it costs nothing noticeable; CPU training
    here is reproducible even without it, it guards against ops that are not.
    The global seeds stay set to the last seed afterwards.

    A model that comes back compiled keeps the student's optimizer and loss
    (choosing them is part of the answer); an uncompiled one is compiled with
    ``compile_kwargs``, by default Adam and the loss that matches the output
    layer and the labels. Nothing is printed and nothing reaches stderr:
    training is silent (``verbose=0``) and known framework warnings are
    filtered for the duration of the call only.

    Parameters
    ----------
    build_model : callable
        The student's function, called with no arguments; must return a Keras
        model (a Sequential without an input shape is built from ``X``'s shape).
    X, y : array-like
        The data. Unless ``validation`` is given, a stratified ``test_size`` share
        is held out with ``split_seed``; the split does not move with ``seed``.
    epochs : int
        The epoch budget.
    batch_size : int
        Batch size for training.
    validation : (X_val, y_val), optional
        A fixed held-out set; then all of ``X, y`` is used for training.
    seed : int or sequence of int
        Seed for weights, shuffling and dropout. Several seeds train the model once
        each; the accuracy is the median (a lucky seed counts no more than an unlucky one).
    max_params : int, optional
        Parameter budget, checked before any training.
    max_steps_per_epoch : int, optional
        Step budget: each epoch trains on at most this many batches of a fresh
        seeded shuffle of the training set.
    compile_kwargs : dict, optional
        ``model.compile`` arguments for a model that comes back uncompiled.
    threshold : float, optional
        Held-out accuracy required to pass.
    deterministic : bool
        Switch on TensorFlow op determinism for the run.
    skip_when_grading : bool
        For a student's self-check: inside a grading kernel (:func:`grading`),
        return a ``skipped`` result at once instead of training. The hidden test
        trains the model itself, so the practice run would only double the
        grading time; its points never depended on it.
    keep_weights : sequence of arrays
        Weights the grader handed to ``build_model`` (a trained base to build on):
        a weight of the model equal to one of these keeps its value instead of a
        new initialisation, and its layer may be frozen.

    Returns
    -------
    TrainingResult

    Examples
    --------
    >>> from sklearn.datasets import load_digits  # doctest: +SKIP
    >>> digits = load_digits()  # doctest: +SKIP
    >>> X, y = digits.images[..., None] / 16, digits.target  # doctest: +SKIP
    >>> result = train_and_evaluate(build_model, X, y, epochs=5, threshold=0.95)  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
    ✔ held-out accuracy 0.978 ≥ 0.950 required (seed 0, 5 epochs, 13,610 parameters, 2.1 s)
    """
    start = time.perf_counter()
    seeds = (int(seed),) if isinstance(seed, (int, np.integer)) else tuple(int(s) for s in seed)
    if not seeds:
        raise ValueError("train_and_evaluate needs at least one seed")
    if skip_when_grading and grading():
        return TrainingResult(
            True,
            "not trained while grading: the grader trains build_model() itself, with its own seed",
            epochs=epochs,
            seed=seeds[0],
            threshold=threshold,
            skipped=True,
            seeds=seeds,
        )
    from ..keras_helpers import quiet_keras

    keras = quiet_keras()
    X, y = np.asarray(X), np.asarray(y)
    if validation is None:
        X_train, X_val, y_train, y_val = _split(X, y, test_size, split_seed)
    else:
        X_train, y_train = X, y
        X_val, y_val = (np.asarray(a) for a in validation)
    setup = _Setup(
        build_model, X_train, y_train, X_val, y_val, epochs, batch_size, max_params,
        max_steps_per_epoch, compile_kwargs, threshold, keep_weights,
    )  # fmt: skip
    runs = []
    with framework_noise_silenced(), _op_determinism(deterministic, keras):
        for one in seeds:
            runs.append(_train_once(setup, one, keras))
            if runs[-1].accuracy is None:  # not trainable: another seed changes nothing
                break
    if len(seeds) == 1 or runs[-1].accuracy is None:
        result = runs[-1]
        result.seeds = seeds
        result.seconds = time.perf_counter() - start
        return result
    accuracy = float(statistics.median(r.accuracy for r in runs if r.accuracy is not None))
    first = runs[0]
    message = _accuracy_message(accuracy, threshold)
    if any("NaN" in r.message for r in runs):
        message += " — the loss became NaN: is the learning rate too high?"
    return TrainingResult(
        threshold is None or accuracy >= threshold, message, accuracy, first.params,
        first.history, time.perf_counter() - start, epochs, seeds[0], threshold,
        seeds=seeds, runs=runs, model=first.model,
    )  # fmt: skip


@dataclass
class _Setup:
    build_model: Callable[[], Any]
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    epochs: int
    batch_size: int
    max_params: int | None
    max_steps: int | None
    compile_kwargs: dict[str, Any] | None
    threshold: float | None
    keep: Sequence[Any]


def _train_once(setup: _Setup, seed: int, keras: Any) -> TrainingResult:
    start = time.perf_counter()
    result = TrainingResult(False, "", epochs=setup.epochs, seed=seed, threshold=setup.threshold)

    def done(message: str, passed: bool = False) -> TrainingResult:
        result.message, result.passed = message, passed
        result.seconds = time.perf_counter() - start
        return result

    keras.utils.set_random_seed(seed)
    theirs, problem = _build(setup.build_model, setup.X_train.shape[1:], keras)
    if problem is not None:
        return done(problem)
    result.params = int(theirs.count_params())
    if setup.max_params is not None and result.params > setup.max_params:
        return done(
            f"the model has {fmt_int(result.params)} parameters, "
            f"the budget is {fmt_int(setup.max_params)}"
        )
    keras.utils.set_random_seed(seed)
    model, problem = grader_initialised(theirs, keras, keep=setup.keep)
    if problem is not None:
        return done(problem)
    result.model = model
    try:
        if not getattr(model, "compiled", False):
            model.compile(**(setup.compile_kwargs or _default_compile(model, setup.y_train, keras)))
        if not setup.keep:  # the grader's own trained weights know things by design
            before = float(np.mean(
                _predict_classes(model, setup.X_val, setup.batch_size) == _class_ids(setup.y_val)
            ))  # fmt: skip
            bar = _knowing(setup.threshold, setup.y_train)
            if before >= bar:
                result.model = None
                return done(
                    f"the model reaches held-out accuracy {before:.3f} before any training, "
                    "with weights the grader drew at random: what it knows comes from its "
                    "settings, not from training. Build it from standard layers and let "
                    "training do the work"
                )
        result.history = _fit(
            model, setup.X_train, setup.y_train, setup.epochs, setup.batch_size,
            setup.max_steps, seed,
        )  # fmt: skip
        y_hat = _predict_classes(model, setup.X_val, setup.batch_size)
    except Exception as err:  # the student's model or loss failed: explain, don't crash
        return done(_explain_failure(theirs, setup.y_train, err))
    result.accuracy = float(np.mean(y_hat == _class_ids(setup.y_val)))
    message = _accuracy_message(result.accuracy, setup.threshold)
    if any(np.isnan(v) for v in result.history.get("loss", [])):
        message += " — the loss became NaN: is the learning rate too high?"
    return done(message, passed=setup.threshold is None or result.accuracy >= setup.threshold)


# Initialisers that carry no data: random ones, whose seed is the grader's.
_RANDOM = frozenset(
    {
        "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal",
        "LecunUniform", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
        "Orthogonal", "OrthogonalInitializer",
    }
)  # fmt: skip
_CONSTANT = frozenset({"Zeros", "Ones", "Constant", "Identity", "IdentityInitializer"})
# Initial values that only add (biases, shifts) may be constants of the student's choice;
# any other weight starts at random (a constant kernel or scale is a number of the student's
# that the grader would keep), or at Keras's own constant default.
_ADDITIVE = frozenset({"bias_initializer", "beta_initializer"})
_CONSTANT_DEFAULTS = {
    "gamma_initializer": "Ones",
    "moving_mean_initializer": "Zeros",
    "moving_variance_initializer": "Ones",
    "alpha_initializer": "Zeros",
}
_SMALLEST_SPREAD = 1e-3  # a random initialiser narrower than this is a constant in disguise
_MAX_CONFIG_NUMBERS = 16  # numbers one setting of a layer may hold (shapes, factors: a few)
_MAX_MODEL_NUMBERS = 64  # numbers all the model's settings longer than a shape may hold
# A model for these tasks is a short stack of standard layers with a few settings: every
# number beyond its shape (a rate, a momentum, a scale, a learning rate) is one the student
# chose, and many of them are weights in disguise.
_MAX_LAYERS = 40
# Tensors fed into a functional model's layer calls: in all, and into one call (an Add or a
# Concatenate of a few branches); a wiring that feeds pixels in many times carries weights.
_MAX_EDGES = 80
_MAX_CALL_INPUTS = 8
# distinct numeric settings (name, value) in the whole model: an honest a6 model with six
# augmentation layers, dropout, L2 and batch norm has 25, Keras's defaults included
_MAX_SETTINGS = 40
# Settings that give a layer its shape: whole numbers, never weights.
_STRUCTURAL = frozenset(
    {
        "filters", "units", "kernel_size", "strides", "pool_size", "dilation_rate", "size",
        "target_shape", "cropping", "padding", "axis", "groups", "depth_multiplier", "dims",
        "n", "steps_per_execution", "input_dim", "output_dim", "num_heads", "key_dim",
        "value_dim", "batch_shape", "shape", "input_shape", "output_shape", "height", "width",
        "repetitions", "seed",
    }
)  # fmt: skip


def _listed_numbers(node: Any) -> int:
    """Numbers in the config's lists longer than a shape (4), counted over the whole model."""
    if isinstance(node, dict):  # the shapes Keras computed itself (build_config) aside
        return sum(_listed_numbers(v) for k, v in node.items() if k != "build_config")
    if isinstance(node, (list, tuple)):
        count = _numbers(node)
        return count if count > 4 else sum(_listed_numbers(v) for v in node)
    return 0


def _numbers(node: Any) -> int:
    """Numbers in ``node``, however nested. Booleans count (Keras casts a list of them to
    0.0 and 1.0, so a mask is as good as weights), and so do strings that read as numbers."""
    if isinstance(node, (int, float)):
        return 1
    if isinstance(node, str):
        try:
            float(node)
        except ValueError:
            return 0
        return 1
    if isinstance(node, (list, tuple)):
        return sum(_numbers(v) for v in node)
    return 0


def _settings(node: Any, key: str = "", found: set | None = None) -> set[tuple[str, float]]:
    """The distinct numeric settings ``(name, value)`` of a serialised model, beyond its shape
    (whole numbers of :data:`_STRUCTURAL` settings) and the shapes Keras computed itself."""
    found = set() if found is None else found
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "build_config":
                _settings(v, key if k == "config" else k, found)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _settings(v, key, found)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        if not (key in _STRUCTURAL and float(node).is_integer()):
            found.add((key, float(node)))
    return found


def _knowing(threshold: float | None, y: np.ndarray) -> float:
    """Held-out accuracy at which an untrained model (random weights) already knows the task:
    four fifths of the way from chance to certainty, or the task's threshold if higher."""
    ids = _class_ids(y)
    classes = max(int(ids.max()) + 1 if ids.size else 2, 2)
    chance = 1.0 / classes
    return max(chance + 0.8 * (1.0 - chance), threshold or 0.0)


def _initialiser_problem(name: str, key: str, config: dict) -> str | None:
    """Why initialiser ``name`` (``config``) under ``key`` would carry a number of the student's."""
    if name not in _RANDOM | _CONSTANT:
        return f"{key} is a {name}, not a Keras initialiser"
    if name == "Constant" and not isinstance(config.get("value"), (int, float)):
        return f"{key} is a Constant that holds an array of numbers"
    if name in _CONSTANT:
        if key in _ADDITIVE or _CONSTANT_DEFAULTS.get(key) == name:
            return None
        return (
            f"{key} is {name}: a weight that multiplies must start at random (the grader draws "
            "it), or every unit starts with a number you chose"
        )
    spread = {
        "RandomNormal": config.get("stddev"), "TruncatedNormal": config.get("stddev"),
        "RandomUniform": config.get("maxval"), "VarianceScaling": config.get("scale"),
        "Orthogonal": config.get("gain"), "OrthogonalInitializer": config.get("gain"),
    }.get(name, 1.0)  # fmt: skip
    centre = config.get("mean", 0.0) if name in ("RandomNormal", "TruncatedNormal") else 0.0
    if name == "RandomUniform":
        low, high = config.get("minval", -0.05), config.get("maxval", 0.05)
        numeric = all(isinstance(v, (int, float)) for v in (low, high))
        centre = (low + high) / 2 if numeric else None
        spread = (high - low) / 2 if numeric else None
    if key in _ADDITIVE:
        return None
    if not isinstance(centre, (int, float)) or abs(centre) > 1e-12:
        return f"{key} is a {name} centred on {centre}: start weights around 0"
    if not isinstance(spread, (int, float)) or spread < _SMALLEST_SPREAD:
        return (
            f"{key} is a {name} of spread {spread}: narrower than {_SMALLEST_SPREAD:g}, every "
            "weight starts at the same number"
        )
    return None


def _config_problems(
    node: Any, layer: str, key: str, out: list[str], inside_list: bool = False
) -> Any:
    """``node`` (a serialised Keras config) with every seed removed; data it carries -> ``out``."""
    if isinstance(node, dict):
        name = node.get("class_name")
        if name in ("__numpy__", "__tensor__"):
            out.append(f"layer {layer!r}: {key} holds an array of numbers")
            return node
        inner = node.get("config")
        if isinstance(name, str) and str(node.get("module", "")).startswith("keras.initializers"):
            problem = _initialiser_problem(name, key, inner if isinstance(inner, dict) else {})
            if problem is not None:
                out.append(f"layer {layer!r}: {problem}")
        if isinstance(name, str) and isinstance(inner, dict) and isinstance(inner.get("name"), str):
            layer = inner["name"]
        return {
            k: None if k == "seed"
            else v if k == "build_config"  # the input shapes Keras computed when it built it
            else _config_problems(v, layer, k if k != "config" else key, out)
            for k, v in node.items()
        }  # fmt: skip
    if isinstance(node, (list, tuple)):
        numbers = 0 if inside_list else _numbers(node)  # all of them, however nested
        if numbers > _MAX_CONFIG_NUMBERS:
            out.append(f"layer {layer!r}: {key} holds {numbers:,} numbers")
        return type(node)(_config_problems(v, layer, key, out, True) for v in node)
    return node


def _model_problems(model: Any, config: dict, keras: Any) -> list[str]:
    """What makes ``model`` more than an architecture: operations between its layers, too many
    layers or settings."""
    problems = []
    ops = [op for op in _operations(model) if not isinstance(op, keras.layers.Layer)]
    if ops:
        names = sorted({_snake(type(op).__name__) for op in ops})
        problems.append(
            f"it applies {len(ops):,} operation(s) of keras.ops between its layers "
            f"({', '.join(names[:4])}); the grader trains models built from Keras layers only: "
            "use layers (layers.Add() for a sum, layers.Concatenate(), layers.Rescaling for a "
            "scale, layers.Reshape, ...)"
        )
    count = sum(1 for layer in _layers(model) if not isinstance(layer, keras.layers.InputLayer))
    calls, edges, widest = _graph(config)
    if calls > _MAX_LAYERS:
        problems.append(
            f"its layers are called {calls:,} times between them (a layer used again counts "
            f"again; at most {_MAX_LAYERS} calls are accepted)"
        )
    if widest > _MAX_CALL_INPUTS or edges > _MAX_EDGES:
        problems.append(
            f"its graph passes {edges:,} tensors into its layers, up to {widest:,} into one call "
            f"(at most {_MAX_EDGES} in all and {_MAX_CALL_INPUTS} into one call are accepted): "
            "how often a tensor is fed in can carry numbers as well as a setting can"
        )
    if count > _MAX_LAYERS:
        problems.append(
            f"it has {count:,} layers, and a model for this task needs far fewer (at most "
            f"{_MAX_LAYERS} are accepted)"
        )
    if (spread := _listed_numbers(config)) > _MAX_MODEL_NUMBERS:
        problems.append(f"its layers' settings hold {spread:,} numbers between them")
    settings = _settings(config)
    if len(settings) > _MAX_SETTINGS:
        names = sorted({k for k, _ in settings}, key=lambda k: -sum(1 for s in settings
                                                                      if s[0] == k))  # fmt: skip
        problems.append(
            f"its settings hold {len(settings):,} different numbers (most in "
            f"{', '.join(names[:3])}); a model's settings are a few rates and sizes (at most "
            f"{_MAX_SETTINGS} different numbers are accepted)"
        )
    return problems


def grader_initialised(model: Any, keras: Any, keep: Sequence[Any] = ()) -> tuple[Any, str | None]:
    """``model`` rebuilt from its configuration, with weights initialised here, now.

    The student's architecture, optimizer and loss, and none of the student's
    numbers: every initialiser's seed is removed (the global seed, the grader's,
    decides), a weight equal to one of ``keep`` (the grader's own) keeps its value.
    ``(None, message)`` when the model carries numbers of its own that the rebuild
    would keep (an initialiser holding an array, a layer's config full of numbers)
    or has a frozen layer whose weights are not the grader's.

    Examples
    --------
    >>> fresh, problem = grader_initialised(build_model(), keras)  # doctest: +SKIP
    """
    keep_arrays = [np.asarray(k) for k in keep]

    def kept(value: np.ndarray) -> bool:
        return any(k.shape == value.shape and np.array_equal(k, value) for k in keep_arrays)

    frozen = [
        layer.name
        for layer in _layers(model)
        if not layer.trainable and layer.weights
        and not all(kept(np.asarray(w)) for w in layer.weights)
        and not isinstance(layer, keras.Model)
    ]  # fmt: skip
    if frozen:
        return None, (
            f"layer {frozen[0]!r} is frozen (trainable=False): the grader trains every layer "
            "from its own initialisation, so a frozen layer would keep numbers computed before "
            "training; leave trainable=True"
        )
    problems: list[str] = []
    config = _config_problems(keras.saving.serialize_keras_object(model), "model", "config",
                              problems)  # fmt: skip
    if not problems:
        problems = _model_problems(model, config, keras)
    if problems:
        return None, (
            f"the model carries numbers of its own ({problems[0]}): the grader trains it from "
            "weights it draws itself, so build it from standard layers with Keras's random "
            "initialisers (the default, or e.g. 'he_normal') and a few settings"
        )
    try:
        fresh = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as err:  # not rebuildable from its config: say so
        return None, f"the model could not be rebuilt from its configuration: {_short(err)}"
    if not isinstance(fresh, keras.Model):
        return None, "the model could not be rebuilt from its configuration"
    if keep_arrays:
        theirs, new = model.weights, fresh.weights
        if len(theirs) != len(new):
            return None, "the model could not be rebuilt with the same weights"
        for old, variable in zip(theirs, new, strict=True):
            value = np.asarray(old)
            if tuple(variable.shape) == value.shape and kept(value):
                variable.assign(value)
    return fresh, None


def _graph(node: Any) -> tuple[int, int, int]:
    """A functional model's calls: how many layer calls its configuration records (nested
    models' too), how many tensors they take in all, and the most one call takes."""
    calls = edges = widest = 0
    if isinstance(node, dict):
        inbound = node.get("inbound_nodes")
        if isinstance(inbound, list):
            for call in inbound:
                tensors = _tensors(call)
                calls, edges, widest = calls + 1, edges + tensors, max(widest, tensors)
        for key, value in node.items():
            if key != "inbound_nodes":
                c, e, w = _graph(value)
                calls, edges, widest = calls + c, edges + e, max(widest, w)
    elif isinstance(node, (list, tuple)):
        for value in node:
            c, e, w = _graph(value)
            calls, edges, widest = calls + c, edges + e, max(widest, w)
    return calls, edges, widest


def _tensors(node: Any) -> int:
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            return 1
        return sum(_tensors(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return sum(_tensors(v) for v in node)
    return 0


def _operations(model: Any) -> Iterator[Any]:
    """Every operation of ``model``'s graph (layers, and ``keras.ops`` calls applied to its
    tensors, which are not layers), inside nested models too."""
    ops = getattr(model, "operations", None) or getattr(model, "layers", None) or ()
    for op in ops:
        yield op
        if hasattr(op, "operations") or hasattr(op, "layers"):
            yield from _operations(op)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _layers(model: Any) -> Iterator[Any]:
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _layers(layer)


def assert_accuracy(
    build_model: Callable[[], Any], X: Any, y: Any, **kwargs: Any
) -> TrainingResult:
    """:func:`train_and_evaluate`, raising ``AssertionError`` with its message unless it passed.

    Examples
    --------
    >>> assert_accuracy(build_model, X, y, epochs=5, threshold=0.97)  # doctest: +SKIP
    """
    __tracebackhide__ = True
    result = train_and_evaluate(build_model, X, y, **kwargs)
    if not result.passed:
        raise AssertionError(str(result)) from None
    return result


@contextmanager
def _op_determinism(enabled: bool, keras: Any) -> Iterator[None]:
    if not enabled or keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    try:  # not public API: without it determinism stays on (the global seed is set, so
        # later unseeded random ops still work)
        from tensorflow.python.framework import config as tf_config

        was_on = tf_config.is_op_determinism_enabled()
    except (ImportError, AttributeError):
        tf_config, was_on = None, True
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if tf_config is not None and not was_on:
            tf_config.disable_op_determinism()


def _split(X: np.ndarray, y: np.ndarray, test_size: float, seed: int):
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(
            X, y, test_size=test_size, random_state=seed, stratify=_class_ids(y)
        )
    except ValueError:  # a class with a single example cannot be stratified
        return train_test_split(X, y, test_size=test_size, random_state=seed)


def _class_ids(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(len(y)).astype(int)


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _build(build_model: Any, input_shape: tuple, keras: Any) -> tuple[Any, str | None]:
    if isinstance(build_model, keras.Model):
        return None, (
            "pass the function build_model itself, without calling it: "
            "the grader builds and trains a fresh model"
        )
    if not callable(build_model) or isinstance(build_model, type):
        what = not_a_model(build_model) or f"got {type(build_model).__name__}"
        return None, f"build_model must be a function that returns a Keras model. {what}"
    try:
        model = build_model()
    except Exception as err:
        return None, f"build_model() raised {type(err).__name__}: {_short(err)}"
    if isinstance(model, keras.Sequential) and not model.built:
        try:  # a model without an input shape gets the data's shape, as fit() would
            model.build((None, *input_shape))
        except Exception as err:
            return None, f"the model cannot take inputs of shape {input_shape}: {_short(err)}"
    if model is None:
        return None, "build_model() returned None — did it forget to `return model`?"
    problem = not_a_model(model, example_shape=input_shape)
    if problem is not None:
        return None, f"build_model() returned something else: {problem[0].lower()}{problem[1:]}"
    return model, None


def _default_compile(model: Any, y: np.ndarray, keras: Any) -> dict[str, Any]:
    head = head_of(model)
    logits = head.activation == "linear"
    if head.units == 1:
        loss = keras.losses.BinaryCrossentropy(from_logits=logits)
    elif y.ndim == 2 and y.shape[1] > 1:
        loss = keras.losses.CategoricalCrossentropy(from_logits=logits)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
    return {"optimizer": "adam", "loss": loss, "metrics": ["accuracy"]}


def _fit(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    max_steps: int | None,
    seed: int,
) -> dict[str, list[float]]:
    if max_steps is None or max_steps * batch_size >= len(X):
        return dict(model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0).history)
    # Keras's steps_per_epoch on arrays carries on where the last epoch stopped and warns
    # (on stderr) when the data runs out; a fresh seeded subset per epoch does neither.
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {}
    for epoch in range(epochs):
        idx = rng.permutation(len(X))[: max_steps * batch_size]
        h = model.fit(
            X[idx],
            y[idx],
            batch_size=batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=False,
            verbose=0,
        )
        for key, values in h.history.items():
            history.setdefault(key, []).extend(values)
    return history


def _predict_classes(model: Any, X: np.ndarray, batch_size: int) -> np.ndarray:
    y_pred = model.predict(X, batch_size=max(batch_size, 256), verbose=0)
    if isinstance(y_pred, (list, tuple, dict)):
        raise ValueError("the model has several outputs; a classifier has one")
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 2:
        raise ValueError(f"the model's output has shape {y_pred.shape}")
    if y_pred.shape[1] == 1:
        cut = 0.0 if head_of(model).activation == "linear" else 0.5
        return (y_pred[:, 0] > cut).astype(int)
    return y_pred.argmax(axis=1)


def _explain_failure(model: Any, y: np.ndarray, err: Exception) -> str:
    head = check_head(model, y)
    if not head.passed:
        return f"training failed: {head.messages[0]}"
    return f"training failed with {type(err).__name__}: {_short(err)}"


def _accuracy_message(accuracy: float, threshold: float | None) -> str:
    if threshold is None:
        return f"held-out accuracy {accuracy:.3f}"
    # Enough digits that "0.970 < 0.970 required" cannot happen.
    digits = 3
    same = f"{accuracy:.3f}" == f"{threshold:.3f}"
    while same and accuracy != threshold and digits < 17:
        digits += 1
        same = f"{accuracy:.{digits}f}" == f"{threshold:.{digits}f}"
    passed = accuracy >= threshold
    return (
        f"held-out accuracy {accuracy:.{digits}f} {'≥' if passed else '<'} "
        f"{threshold:.{digits}f} required"
    )
