"""check_model: a student's Keras model against a reference, layer by layer, root causes first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..keras_helpers import input_shapes, not_a_model
from .facts import LayerFacts, count_layers, index_list, layer_facts, same_value
from .report import ModelReport, fmt_int, fmt_params, fmt_value, join_words

__all__ = ["check_model", "assert_model_matches"]

# Alignment costs (integers, so ties are exact): a missing or extra layer costs 100, a layer
# of the wrong class 150 (less than one missing + one extra), a wrong argument 10.
_GAP, _SWAP, _ARG, _DERIVED = 100, 150, 10, 2


def check_model(model: Any, reference: Any) -> ModelReport:
    """Compare ``model`` with the ``reference`` model, layer by layer.

    Compared: the input shape, the number of layers, and for each layer its
    class, output shape, parameter count and arguments (``filters``, ``units``,
    ``kernel_size``, ``pool_size``, ``strides``, ``padding``, ``dilation_rate``,
    ``rate``, ``use_bias``, Rescaling's ``scale``/``offset``, ``activation``).

    Accepted as equal: a functional model and a Sequential one with the same
    layers; ``keras.Input(shape=...)`` and ``input_shape=`` on the first layer;
    ``activation='relu'`` and ``activation=keras.activations.relu``; a layer
    followed by ``Activation('relu')`` (or a plain ``ReLU()``/``Softmax()``) and
    the same layer with ``activation='relu'``, since both compute the same
    function. InputLayer rows are not counted: layer 1 is the first layer after
    the input, as in ``model.summary()``. Nested models (e.g. an augmentation
    ``Sequential`` inside the model) are compared layer by layer; a nested model
    and the same layers written inline are not the same structure.

    Not accepted: extra layers (also at the end), missing layers, any different
    argument or shape. Messages name the layer (1-based) and class, what was
    found, what was expected and a likely cause; a difference that only follows
    from an earlier one (a later layer gets a different input) is summed up in
    one line instead of one message per layer.

    Anything that is not a built Keras model (None, a function, a list, a class,
    a Sequential without an input shape, ...) gives a failing report, never an
    exception. An invalid ``reference`` is the instructor's error and raises.

    Parameters
    ----------
    model : object
        What the student handed in.
    reference : keras.Model
        A built Keras model (Sequential or functional) to compare against.

    Returns
    -------
    ModelReport
        ``passed``, ``messages`` (root cause first), ``score`` (fraction of checks
        passed), ``checks``.

    Examples
    --------
    >>> import keras  # doctest: +SKIP
    >>> def build(padding):  # doctest: +SKIP
    ...     return keras.Sequential([keras.Input((28, 28, 1)),
    ...                              keras.layers.Conv2D(32, 3, padding=padding)])
    >>> report = check_model(build("valid"), build("same"))  # doctest: +SKIP
    >>> report.passed, report.messages[0][:63]  # doctest: +SKIP
    (False, 'layer 1 (Conv2D): output shape (None, 26, 26, 32), expected (None')
    >>> check_model(build("same"), build("same")).passed  # doctest: +SKIP
    True
    """
    problem = not_a_model(reference)
    if problem is not None:
        raise TypeError(f"check_model: the reference must be a built Keras model. {problem}")
    ref_rows = layer_facts(reference)
    ref_input = input_shapes(reference)
    example = ref_input[1:] if isinstance(ref_input, tuple) else None
    problem = not_a_model(model, example_shape=example)
    if problem is not None:
        return ModelReport(False, [problem], 0.0, 0)
    try:
        return _check(model, reference, ref_rows, ref_input)
    except Exception as err:  # never crash a student's cell: say what could not be read
        text = " ".join(str(err).split())[:300]
        return ModelReport(False, [f"The grader could not read the model: {text}"], 0.0, 0)


def _check(model: Any, reference: Any, ref_rows: list[LayerFacts], ref_input: Any) -> ModelReport:
    rows = layer_facts(model)
    tally = _Tally()
    _input_check(input_shapes(model), ref_input, tally)
    _compare_layers(rows, ref_rows, tally, prefix="")
    total, ref_total = int(model.count_params()), int(reference.count_params())
    tally.check(
        total == ref_total,
        f"In total the model has {fmt_params(total)}, expected {fmt_int(ref_total)}.",
        last=True,
    )
    passed = tally.failed == 0
    score = (tally.total - tally.failed) / tally.total if tally.total else 0.0
    return ModelReport(passed, tally.messages(), score, tally.total)


def assert_model_matches(model: Any, reference: Any) -> None:
    """Raise ``AssertionError`` with :func:`check_model`'s report unless the model matches.

    Examples
    --------
    >>> assert_model_matches(None, reference)  # doctest: +SKIP
    Traceback (most recent call last):
    AssertionError: ✘ Nothing could be checked: the model does not match the reference.
      - Got None instead of a Keras model — did build_model() forget to `return model`?
    """
    __tracebackhide__ = True  # pytest and IPython hide this frame: the message is what counts
    report = check_model(model, reference)
    if not report.passed:
        raise AssertionError(str(report)) from None


@dataclass
class _Tally:
    """Counts checks and collects messages: root causes in order, then the follow-on summary."""

    total: int = 0
    failed: int = 0
    first: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    follow: list[tuple[str, LayerFacts, LayerFacts]] = field(default_factory=list)
    last: list[str] = field(default_factory=list)

    def check(
        self, ok: bool, message: str | None = None, *, first: bool = False, last: bool = False
    ) -> bool:
        self.total += 1
        if not ok:
            self.failed += 1
            if message:
                (self.first if first else self.last if last else self.causes).append(message)
        return ok

    def fail_quietly(self, n: int) -> None:
        self.total += n
        self.failed += n

    def messages(self) -> list[str]:
        out = [*self.first, *self.causes]
        if self.follow:
            out.append(_follow_on(self.follow))
        # The total is only news when nothing above explains it.
        return out + (self.last if not out else [])


def _follow_on(follow: list[tuple[str, LayerFacts, LayerFacts]]) -> str:
    # Show the follow-on difference a student is most likely to notice: the biggest parameter gap.
    prefix, ex, ref = max(follow, key=lambda t: abs(t[1].params - t[2].params))
    if ex.params != ref.params:
        detail = f"{fmt_params(ex.params)}, expected {fmt_int(ref.params)}"
    else:
        detail = f"output shape {ex.output_shape}, expected {ref.output_shape}"
    if len(follow) == 1:
        label = prefix + ex.label
        return (
            f"{label[0].upper()}{label[1:]} also differs because its input does: {detail}; "
            "fix the first problem and check again."
        )
    where = follow[0][0] + index_list([f.index for _, f, _ in follow])
    return (
        f"{where[0].upper()}{where[1:]} also differ because their input does "
        f"(e.g. {prefix}{ex.label}: {detail}); fix the first problem and check again."
    )


def _input_check(found: Any, expected: Any, tally: _Tally) -> None:
    if found == expected:
        tally.check(True)
        return
    hint = ""
    if isinstance(found, tuple) and isinstance(expected, tuple):
        if len(found) == len(expected) - 1 and found == expected[:-1]:
            hint = f" — an image needs its channel axis: keras.Input(shape={expected[1:]})"
        elif len(found) == len(expected) + 1 and found[2:] == expected[1:]:
            hint = f" — the shape excludes the batch axis: keras.Input(shape={expected[1:]})"
        elif len(found) == len(expected) and found[:-1] == expected[:-1] and len(found) == 4:
            hint = " — grayscale images have 1 channel, colour images 3"
        else:
            hint = f" — use keras.Input(shape={expected[1:]})"
    tally.check(False, f"input shape {found}, expected {expected}{hint}", first=True)


def _cost(a: LayerFacts, b: LayerFacts) -> int:
    if a.cls != b.cls:
        return _SWAP
    args = sum(not same_value(a.attrs.get(k), b.attrs.get(k)) for k in {*a.attrs, *b.attrs})
    return (
        _ARG * min(args, 4)
        + _DERIVED * (a.output_shape != b.output_shape)
        + _DERIVED * (a.params != b.params)
    )


def _align(rows: list[LayerFacts], ref: list[LayerFacts]) -> list[tuple[Any, Any]]:
    """Pairs (found, expected); None on one side marks an extra or a missing layer."""
    n, m = len(rows), len(ref)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                cost[i][j] = _GAP * (i + j)
            else:
                cost[i][j] = min(
                    cost[i - 1][j - 1] + _cost(rows[i - 1], ref[j - 1]),
                    cost[i - 1][j] + _GAP,
                    cost[i][j - 1] + _GAP,
                )
    pairs: list[tuple[Any, Any]] = []
    i, j = n, m
    while i or j:
        # On ties prefer a gap here, i.e. as late in the model as possible:
        # with one Dense too many, the last one is the extra one.
        if i and cost[i][j] == cost[i - 1][j] + _GAP:
            pairs.append((rows[i - 1], None))
            i -= 1
        elif j and cost[i][j] == cost[i][j - 1] + _GAP:
            pairs.append((None, ref[j - 1]))
            j -= 1
        else:
            pairs.append((rows[i - 1], ref[j - 1]))
            i, j = i - 1, j - 1
    return pairs[::-1]


def _n_checks(ref: LayerFacts) -> int:
    return 3 + len(ref.attrs)  # class, output shape, parameters, each argument


def _compare_layers(
    rows: list[LayerFacts], ref: list[LayerFacts], tally: _Tally, prefix: str
) -> None:
    pairs = _align(rows, ref)
    gaps = _gap_sentences(pairs, prefix)
    # One check for the layer structure: every layer present, none extra.
    if not gaps:
        tally.check(True)
    else:
        owner = prefix.removesuffix(" › ") if prefix else "The model"
        if len(rows) != len(ref):
            head = f"{owner} has {count_layers(rows)}, expected {len(ref)}"
            if any(r.folded for r in (*rows, *ref)):
                head += " (an Activation layer right after a layer counts as part of it)"
        else:
            head = f"{owner} has {count_layers(rows)}, as expected, but"
        tally.check(False, f"{head}: {join_words(gaps)}.", first=not prefix)
    previous_ok = True
    for found, expected in pairs:
        if found is None:
            tally.fail_quietly(_n_checks(expected))
            previous_ok = False
        elif expected is not None:
            previous_ok = _compare_pair(found, expected, tally, prefix, previous_ok)


def _gap_sentences(pairs: list[tuple[Any, Any]], prefix: str) -> list[str]:
    out = []
    for k, (found, expected) in enumerate(pairs):
        if expected is None:
            out.append(f"{prefix}{found.label} is extra")
        elif found is None:
            before = next((f for f, _ in reversed(pairs[:k]) if f is not None), None)
            where = f"after {prefix}{before.label}" if before else "before the first layer"
            out.append(f"{expected.describe()} is missing {where}")
    return out


def _compare_pair(
    found: LayerFacts, expected: LayerFacts, tally: _Tally, prefix: str, previous_ok: bool
) -> bool:
    """Check one aligned layer; return whether its output matches (for the next layer)."""
    label = prefix + found.label
    if found.cls != expected.cls:
        tally.check(False, f"{label}: expected {expected.describe()} here")
        tally.fail_quietly(_n_checks(expected) - 1)
        return False
    tally.check(True)
    if found.sub is not None and expected.sub is not None:
        return _compare_nested(found, expected, tally, prefix)
    same_input = found.input_shape == expected.input_shape if found.input_shape else previous_ok
    shape_ok = found.output_shape == expected.output_shape
    params_ok = found.params == expected.params
    parts: list[str] = []
    for key in {**expected.attrs, **found.attrs}:
        got, want = found.attrs.get(key), expected.attrs.get(key)
        if not tally.check(same_value(got, want)):
            if key == "strides" and _strides_follow_pool_size(found, expected):
                continue  # MaxPooling2D(3) vs (2): one mistake, reported as pool_size
            if key == "padding" and not shape_ok and same_input:
                parts.insert(
                    0,
                    f"output shape {found.output_shape}, expected {expected.output_shape} — "
                    f"did you mean padding={want!r}?",
                )
            else:
                parts.append(f"{key} {fmt_value(got)}, expected {fmt_value(want)}")
                parts[-1] += _hint(key, got, want, expected, found)
    tally.check(shape_ok)
    tally.check(params_ok)
    if parts:
        tally.causes.append(f"{label}: {'; '.join(parts)}")
    elif not (shape_ok and params_ok):
        if same_input:  # nothing compared explains it: report the symptom itself
            what = []
            if not shape_ok:
                what.append(f"output shape {found.output_shape}, expected {expected.output_shape}")
            if not params_ok:
                what.append(f"{fmt_params(found.params)}, expected {fmt_int(expected.params)}")
            tally.causes.append(f"{label}: {'; '.join(what)}")
        else:
            tally.follow.append((prefix, found, expected))
    return shape_ok


def _compare_nested(found: LayerFacts, expected: LayerFacts, tally: _Tally, prefix: str) -> bool:
    try:
        rows, ref = layer_facts(found.sub), layer_facts(expected.sub)
    except ValueError:  # a nested model whose inner shapes are unknown: compare it as one layer
        ok = found.output_shape == expected.output_shape and found.params == expected.params
        tally.check(ok, f"{prefix}{found.label}: differs from the reference's {expected.cls}")
        return found.output_shape == expected.output_shape
    _compare_layers(rows, ref, tally, prefix=f"{prefix}{found.label} › ")
    return found.output_shape == expected.output_shape


def _strides_follow_pool_size(found: LayerFacts, expected: LayerFacts) -> bool:
    f, e = found.attrs, expected.attrs
    if "pool_size" not in e or f.get("pool_size") == e.get("pool_size"):
        return False
    return f.get("strides") == f.get("pool_size") and e.get("strides") == e.get("pool_size")


def _hint(key: str, got: Any, want: Any, expected: LayerFacts, found: LayerFacts) -> str:
    if key == "activation":
        if want == "softmax":
            return " — the output layer turns scores into class probabilities"
        if want == "sigmoid" and expected.attrs.get("units") == 1:
            return " — the output layer turns its score into a probability"
        if want == "relu" and got == "linear":
            return " — did you forget activation='relu'?"
        if want == "linear":
            return " — the reference has no activation here"
    return ""
