"""Keras augmentation factors in human units: degrees, percent, pixels, zoom and contrast."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeGuard

__all__ = [
    "AUGMENTATION_SETTINGS",
    "FILL_MODES",
    "FLIP_MODES",
    "TranslationRange",
    "ZoomRange",
    "augmentation_code",
    "augmentation_specs",
    "contrast_range",
    "describe_augmentation",
    "flip_outcomes",
    "rotation_degrees",
    "translation_range",
    "zoom_range",
]

# Keras's names; "none" means no RandomFlip layer at all.
FLIP_MODES: tuple[str, ...] = ("none", "horizontal", "vertical", "horizontal_and_vertical")
# Keras's default for RandomRotation, RandomTranslation and RandomZoom comes first.
FILL_MODES: tuple[str, ...] = ("reflect", "constant", "nearest", "wrap")
AUGMENTATION_SETTINGS: tuple[str, ...] = (
    "rotation",
    "translation",
    "zoom",
    "flip",
    "contrast",
    "fill_mode",
)

Factor = float | tuple[float, float]

_FLIP_ALIASES = {"both": "horizontal_and_vertical", "": "none"}
_FLIP_OUTCOMES = {
    "none": ("unchanged",),
    "horizontal": ("unchanged", "mirrored left-right"),
    "vertical": ("unchanged", "upside down"),
    # Keras 3 draws ONE coin per image for both axes (random_flip.py applies the same
    # `flips` mask twice): never only one of the two flips.
    "horizontal_and_vertical": ("unchanged", "flipped both ways (turned 180°)"),
}
_GEOMETRIC = ("RandomRotation", "RandomTranslation", "RandomZoom")
# The arguments the lectures pass by position.
_POSITIONAL = {
    "RandomRotation": ("factor",),
    "RandomTranslation": ("height_factor", "width_factor"),
    "RandomZoom": ("height_factor",),
    "RandomFlip": ("mode",),
    "RandomContrast": ("factor",),
}
_FILL_TEXT = {
    "reflect": "filled by reflecting the picture at its edges",
    "constant": "filled with black, fill_value=0",
    "nearest": "filled by repeating the edge pixels",
    "wrap": "filled with the opposite side of the picture (it wraps around)",
}


# ---- factors -------------------------------------------------------------------------------


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number or a pair (low, high), got {value!r}.")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    # 12 significant digits drop float noise such as 0.15000000000000002 (a slider's
    # step arithmetic) before it reaches the code shown, and keep every real digit.
    return float(f"{v:.12g}") + 0.0


def _is_pair(value: object) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _bounds(
    name: str, factor: object, low: float, high: float, rule: str, *, open_low: bool = False
) -> tuple[float, float]:
    """``factor`` as Keras reads it: a number f means (-|f|, |f|), a pair is sorted."""
    if _is_pair(factor):
        if len(factor) != 2:
            raise ValueError(f"{name} must be a number or a pair (low, high), got {factor!r}.")
        values = [_number(name, v) for v in factor]
    else:
        values = [_number(name, factor)]
    for v in values:
        if v > high or v < low or (open_low and v == low):
            raise ValueError(f"{name} {rule}, got {factor!r}.")
    if len(values) == 1:
        return -abs(values[0]) + 0.0, abs(values[0])
    lo, hi = sorted(values)
    return lo, hi


def _clean(x: float) -> float:
    # 0.2 * 360 is 72.00000000000001 in floating point; a student should read 72.
    return round(x, 9) + 0.0


def rotation_degrees(factor: Factor) -> tuple[float, float]:
    """The angles ``keras.layers.RandomRotation(factor)`` draws from, in degrees.

    The factor is a fraction of a full turn (360°): a number ``f`` means a random
    angle in ``[-f·360°, +f·360°]``, a pair ``(low, high)`` means
    ``[low·360°, high·360°]``. Positive angles turn counter-clockwise. Keras
    accepts factors in ``[-1, 1]``; from 0.5 on, every angle is possible.

    Examples
    --------
    >>> rotation_degrees(0.2)  # the lecture's RandomRotation(0.2): ±72°, not 7.2°
    (-72.0, 72.0)
    >>> rotation_degrees((-0.1, 0.3))
    (-36.0, 108.0)
    """
    lo, hi = _bounds(
        "rotation factor",
        factor,
        -1.0,
        1.0,
        "must be between -1 and 1 (a fraction of a full turn: 1 = 360°; 0.5 already allows "
        "every angle)",
    )
    return _clean(lo * 360), _clean(hi * 360)


class TranslationRange(NamedTuple):
    """How far ``RandomTranslation`` shifts along one axis: percent of the size and pixels.

    Negative values shift up (height) or left (width), positive ones down or right.
    """

    percent: tuple[float, float]
    pixels: tuple[float, float]


def translation_range(factor: Factor, size: int) -> TranslationRange:
    """The shift one ``RandomTranslation`` factor allows along an axis of ``size`` pixels.

    Keras multiplies a uniform draw from ``[low, high]`` (``[-f, f]`` for a
    number ``f``) by the image height (``height_factor``) or width
    (``width_factor``): the shift is a fraction of the size, not a number of
    pixels, and need not be whole (the picture is interpolated).

    Examples
    --------
    >>> translation_range(0.1, 160)
    TranslationRange(percent=(-10.0, 10.0), pixels=(-16.0, 16.0))
    >>> translation_range((0.0, 0.25), 64).pixels
    (0.0, 16.0)
    """
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a whole number of pixels >= 1, got {size!r}.")
    lo, hi = _bounds(
        "translation factor",
        factor,
        -1.0,
        1.0,
        "must be between -1 and 1 (a fraction of the height or width: 0.1 = 10 %)",
    )
    return TranslationRange(
        (_clean(lo * 100), _clean(hi * 100)), (_clean(lo * size), _clean(hi * size))
    )


class ZoomRange(NamedTuple):
    """What ``RandomZoom`` draws: the factor range, the part of the picture seen, the scale.

    Keras samples a zoom ``z`` uniformly from ``[1 + low, 1 + high]`` and shows
    ``z`` times the height and width of the picture around its centre. A
    negative factor (``z < 1``) zooms IN: a smaller central part fills the
    frame, enlarged ``1/z`` times. A positive factor (``z > 1``) zooms OUT: the
    whole picture, shrunk to ``1/z``, with the border filled by ``fill_mode``.
    """

    factor: tuple[float, float]
    view: tuple[float, float]
    scale: tuple[float, float]

    @property
    def description(self) -> str:
        """The zoom range in words, with the meaning of the sign."""
        lo, hi = self.factor
        (v_lo, v_hi), (s_lo, s_hi) = self.view, self.scale
        if lo < 0 < hi:
            return (
                f"zooms in or out at random, from {_pct(lo)} % to +{_pct(hi)} %: a negative "
                f"draw zooms in (down to {_pct(v_lo)} % of the picture fills the frame, enlarged "
                f"up to ×{s_hi:.2f}), a positive draw zooms out (the frame shows up to "
                f"{_pct(v_hi)} % of the picture, shrunk down to ×{s_lo:.2f}, the border filled in)"
            )
        zoom_in = hi <= 0

        def span(low: str, high: str, one: str) -> str:  # ``one`` for a single zoom
            return one if lo == hi else f"{low} to {high}"

        # Zooming in, the first number is the smallest zoom: the largest view, the least scale.
        first, last = (-hi, -lo) if zoom_in else (lo, hi)
        amount = span(f"{_pct(first)} %", f"{_pct(last)} %", f"{_pct(first)} %")
        view = span(f"{_pct(v_lo)} %", f"{_pct(v_hi)} %", f"{_pct(v_hi if zoom_in else v_lo)} %")
        scale = span(f"×{s_lo:.2f}", f"×{s_hi:.2f}", f"×{s_lo if zoom_in else s_hi:.2f}")
        if zoom_in:
            return (
                f"zooms in by {amount} (negative factors zoom in): the central {view} of the "
                f"picture fills the frame, enlarged {scale}"
            )
        return (
            f"zooms out by {amount} (positive factors zoom out): the frame shows {view} of the "
            f"picture's height and width, shrunk to {scale}, the border filled in"
        )


def _pct(x: float) -> str:
    return f"{round(100 * x, 1):g}"


def zoom_range(factor: Factor) -> ZoomRange:
    """What ``keras.layers.RandomZoom(factor)`` does, with the sign explained.

    ``factor`` is Keras's ``height_factor`` (with ``width_factor=None`` the
    width is zoomed by the same amount, keeping the aspect ratio). A number
    ``f`` means ``(-|f|, |f|)``: zoom in or out, the sign of ``f`` does not
    matter. In a pair, negative means zoom in (enlarge), positive zoom out
    (shrink), as Keras 3 documents it; factors must lie in ``(-1, 1]``.

    Returns
    -------
    ZoomRange
        ``factor`` (low, high); ``view``: the fraction of the picture's height
        and width that fills the frame, ``1 + factor``; ``scale``: how much the
        picture is enlarged, ``1 / (1 + factor)``, smallest first; and a
        ``description`` in words.

    Examples
    --------
    >>> z = zoom_range((-0.5, -0.2))  # zoom in only
    >>> z.view, z.scale
    ((0.5, 0.8), (1.25, 2.0))
    >>> zoom_range(0.2).description[:48]
    'zooms in or out at random, from -20 % to +20 %: '
    """
    lo, hi = _bounds(
        "zoom factor",
        factor,
        -1.0,
        1.0,
        "must be greater than -1 and at most 1 (-1 would zoom in on a single point)",
        open_low=True,
    )
    view = (_clean(1 + lo), _clean(1 + hi))
    return ZoomRange((lo, hi), view, (_clean(1 / view[1]), _clean(1 / view[0])))


def contrast_range(factor: Factor) -> tuple[float, float]:
    """The contrast multipliers ``keras.layers.RandomContrast(factor)`` draws from.

    Each channel becomes ``(x - mean) * c + mean`` (then clipped to
    ``value_range``, ``(0, 255)`` by default) with ``c`` uniform in
    ``[1 - low, 1 + high]``. Beware: Keras 3 reads a single number ``f`` as
    ``(0, f)``, so ``c`` is in ``[1, 1 + f]`` and the contrast is never
    lowered, although its documentation says ``[1 - f, 1 + f]``; write
    ``RandomContrast((f, f))`` for both ways. Factors must lie in ``[0, 1]``.

    Examples
    --------
    >>> contrast_range(0.2)  # what Keras 3 does, measured
    (1.0, 1.2)
    >>> contrast_range((0.2, 0.2))
    (0.8, 1.2)
    """
    rule = "must be between 0 and 1 (0.2 = up to 20 % more contrast)"
    if _is_pair(factor):
        lo, hi = _bounds("contrast factor", factor, 0.0, 1.0, rule)
    else:
        f = _number("contrast factor", factor)
        if not 0 <= f <= 1:
            raise ValueError(f"contrast factor {rule}, got {factor!r}.")
        lo, hi = 0.0, f
    return _clean(1 - lo), _clean(1 + hi)


def _flip_mode(mode: object) -> str:
    if mode is None or mode is False:
        return "none"
    if isinstance(mode, str):
        m = _FLIP_ALIASES.get(mode.strip().lower(), mode.strip().lower())
        if m in FLIP_MODES:
            return m
    raise ValueError(
        f"flip must be one of {', '.join(repr(m) for m in FLIP_MODES)}, got {mode!r}. "
        '(Keras 3 silently ignores any other mode: RandomFlip("both") flips nothing.)'
    )


def flip_outcomes(mode: str) -> tuple[str, ...]:
    """The equally likely results of ``keras.layers.RandomFlip(mode)`` on one image.

    ``"horizontal_and_vertical"`` has two outcomes, not four: Keras 3 draws one
    coin per image for both flips, so an image is unchanged or flipped both ways
    (which is a 180° turn). ``"both"`` is accepted here as a name for it.

    Examples
    --------
    >>> flip_outcomes("horizontal")
    ('unchanged', 'mirrored left-right')
    >>> len(flip_outcomes("horizontal_and_vertical"))
    2
    """
    return _FLIP_OUTCOMES[_flip_mode(mode)]


# ---- settings → layers ---------------------------------------------------------------------


def _settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(settings, Mapping):
        raise ValueError(f"settings must be a dict such as {{'rotation': 0.2}}, got {settings!r}.")
    unknown = sorted(set(settings) - set(AUGMENTATION_SETTINGS))
    if unknown:
        raise ValueError(
            f"Unknown augmentation setting(s) {', '.join(map(repr, unknown))}; "
            f"use {', '.join(AUGMENTATION_SETTINGS)}."
        )
    s: dict[str, Any] = {
        "rotation": 0.0,
        "translation": 0.0,
        "zoom": 0.0,
        "flip": "none",
        "contrast": 0.0,
    }
    s.update({k: v for k, v in settings.items() if v is not None})
    s["flip"] = _flip_mode(settings.get("flip"))
    fill = s.get("fill_mode", "reflect")
    if fill not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {', '.join(FILL_MODES)}, got {fill!r}.")
    s["fill_mode"] = fill
    t = s["translation"]
    # A number moves both axes; a pair is (height_factor, width_factor), each a number
    # or a (low, high) pair.
    s["translation"] = tuple(t) if _is_pair(t) else (t, t)
    if len(s["translation"]) != 2:
        raise ValueError(
            f"translation must be a number or a pair (height_factor, width_factor), got {t!r}."
        )
    return s


def _arg(factor: object) -> Any:
    """The factor as written in the code: a number, or a (low, high) tuple."""
    if _is_pair(factor):
        return tuple(_number("factor", v) for v in factor)
    return _number("factor", factor)


def _active(factor: object) -> bool:
    return any(v != 0 for v in (_arg(factor) if _is_pair(factor) else (_arg(factor),)))


def augmentation_specs(settings: Mapping[str, Any], *, seed: int | None = None) -> list[dict]:
    """The Keras layers of an augmentation pipeline, as ``{"layer": name, **arguments}``.

    Settings are the widget's: ``rotation`` (RandomRotation ``factor``),
    ``translation`` (a number for both axes, or ``(height_factor,
    width_factor)``), ``zoom`` (RandomZoom ``height_factor``), ``flip``
    (RandomFlip ``mode``, or ``"none"``), ``contrast`` (RandomContrast
    ``factor``), ``fill_mode``. Factors of 0 leave their layer out: it would
    change nothing. Every factor is checked first (``ValueError`` with a
    sentence); the layers come in the lecture's order.

    ``seed`` gives the layers the seeds ``seed, seed + 1, ...``: layers sharing a
    seed would draw the same numbers, e.g. tying each angle to its shift.

    Examples
    --------
    >>> augmentation_specs({"rotation": 0.2, "flip": "horizontal"}, seed=7)
    [{'layer': 'RandomRotation', 'factor': 0.2, 'seed': 7}, \
{'layer': 'RandomFlip', 'mode': 'horizontal', 'seed': 8}]
    """
    s = _settings(settings)
    # Check everything, including layers left out, so a bad number is never hidden.
    rotation_degrees(s["rotation"])
    for axis in s["translation"]:
        translation_range(axis, 1)
    zoom_range(s["zoom"])
    contrast_range(s["contrast"])
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"seed must be a whole number, got {seed!r}.")

    fill = {} if s["fill_mode"] == "reflect" else {"fill_mode": s["fill_mode"]}
    specs: list[dict] = []
    if _active(s["rotation"]):
        specs.append({"layer": "RandomRotation", "factor": _arg(s["rotation"]), **fill})
    if any(_active(a) for a in s["translation"]):
        h, w = (_arg(a) for a in s["translation"])
        specs.append({"layer": "RandomTranslation", "height_factor": h, "width_factor": w, **fill})
    if _active(s["zoom"]):
        specs.append({"layer": "RandomZoom", "height_factor": _arg(s["zoom"]), **fill})
    if s["flip"] != "none":
        specs.append({"layer": "RandomFlip", "mode": s["flip"]})
    if _active(s["contrast"]):
        specs.append({"layer": "RandomContrast", "factor": _arg(s["contrast"])})
    if seed is not None:
        for i, spec in enumerate(specs):
            spec["seed"] = int(seed) + i
    return specs


# ---- words and code ------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{round(x, 1):g}"


def _signed(x: float) -> str:
    return f"+{_fmt(x)}" if x > 0 else _fmt(x)


def _code(value: object) -> str:
    """A value as the lectures write it: strings in double quotes, numbers and tuples as is."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _call(spec: Mapping[str, Any], prefix: str = "layers.") -> str:
    """``layers.RandomTranslation(0.1, 0.1, seed=1)``: positional factors, as the lectures write."""
    positional = _POSITIONAL[spec["layer"]]
    args = [_code(spec[k]) for k in positional]
    args += [f"{k}={_code(v)}" for k, v in spec.items() if k != "layer" and k not in positional]
    return f"{prefix}{spec['layer']}({', '.join(args)})"


def _symmetric(lo: float, hi: float) -> bool:
    return lo == -hi


def _rotation_text(spec: Mapping[str, Any]) -> tuple[str, str]:
    lo, hi = rotation_degrees(spec["factor"])
    if _symmetric(lo, hi):
        every = "; from 0.5 (±180°) on, every angle is possible" if hi >= 180 else ""
        sentence = (
            f"turns each image by a random angle of up to ±{_fmt(hi)}° "
            f"({_fmt(hi / 360)} × 360°), counter-clockwise for positive angles and clockwise "
            f"for negative ones{every}"
        )
        return sentence, f"up to ±{_fmt(hi)}°"
    sentence = (
        f"turns each image by a random angle from {_signed(lo)}° to {_signed(hi)}° "
        "(positive = counter-clockwise)"
    )
    return sentence, f"{_signed(lo)}° to {_signed(hi)}°"


def _shift_text(factor: Factor, size: int | None, axis: str, ways: str) -> tuple[str, str]:
    r = translation_range(factor, size or 1)
    (plo, phi), (xlo, xhi) = r.percent, r.pixels
    if _symmetric(plo, phi):
        px = f" (±{_fmt(xhi)} px)" if size else ""
        note = f"±{_fmt(phi)} % of the {axis}" + (f" = ±{_fmt(xhi)} px" if size else "")
        return f"up to ±{_fmt(phi)} % of its {axis}{px} {ways}", note
    px = f"{_signed(xlo)} to {_signed(xhi)} px; " if size else ""
    neg, pos = ways.split(" or ")
    note = f"{_signed(plo)} % to {_signed(phi)} % of the {axis}"
    note += f" = {_signed(xlo)} to {_signed(xhi)} px" if size else ""
    sentence = (
        f"{_signed(plo)} % to {_signed(phi)} % of its {axis} "
        f"({px}negative = {neg}, positive = {pos})"
    )
    return sentence, note


def _translation_text(spec: Mapping[str, Any], size: tuple[int, int] | None) -> tuple[str, str]:
    h, w = size if size else (None, None)
    parts, notes = [], []
    for factor, n, axis, ways in (
        (spec["height_factor"], h, "height", "up or down"),
        (spec["width_factor"], w, "width", "left or right"),
    ):
        if _active(factor):
            sentence, note = _shift_text(factor, n, axis, ways)
            parts.append(sentence)
            notes.append(note)
    return "shifts each image by " + " and by ".join(parts), ", ".join(notes)


def _zoom_text(spec: Mapping[str, Any]) -> tuple[str, str]:
    z = zoom_range(spec["height_factor"])
    sentence = z.description
    if not _is_pair(spec["height_factor"]):
        sentence += (
            "; a single number zooms both ways (its sign does not matter): give a pair for "
            "one way only, e.g. (-0.3, -0.1) zooms in, (0.1, 0.3) zooms out"
        )
    lo, hi = z.factor
    note = f"{_signed(100 * lo)} % to {_signed(100 * hi)} % (- = in, + = out)"
    return sentence + "; height and width zoom together, keeping the aspect ratio", note


def _flip_text(spec: Mapping[str, Any]) -> tuple[str, str]:
    mode = spec["mode"]
    if mode == "horizontal_and_vertical":
        return (
            "leaves half of the images unchanged and flips the other half both ways, which "
            "turns them 180°: Keras 3 draws one coin per image for both flips, so an image is "
            'never flipped only one way (for all four outcomes stack RandomFlip("horizontal") '
            'and RandomFlip("vertical"))',
            "unchanged or turned 180° (one coin for both flips)",
        )
    outcome = flip_outcomes(mode)[1]
    return (
        f"leaves half of the images unchanged and shows the other half {outcome}",
        f"half unchanged, half {outcome}",
    )


def _contrast_text(spec: Mapping[str, Any]) -> tuple[str, str]:
    lo, hi = contrast_range(spec["factor"])
    sentence = (
        f"multiplies each image's contrast (every pixel's distance from the mean of its "
        f"channel) by a random factor from ×{lo:.2f} to ×{hi:.2f}, then clips to "
        "value_range=(0, 255): pass value_range=(0, 1) for images scaled by 1/255"
    )
    note = f"contrast ×{lo:.2f} to ×{hi:.2f}"
    if not _is_pair(spec["factor"]):
        f = spec["factor"]
        sentence += (
            f"; Keras 3 reads a single number f as (0, f), so it never lowers the contrast "
            f"(its documentation says ×{1 - f:.2f} to ×{1 + f:.2f}): write "
            f"RandomContrast(({f!r}, {f!r})) for both ways"
        )
        note += " (never lower)"
    return sentence, note


def _texts(spec: Mapping[str, Any], size: tuple[int, int] | None) -> tuple[str, str]:
    layer = spec["layer"]
    if layer == "RandomRotation":
        return _rotation_text(spec)
    if layer == "RandomTranslation":
        return _translation_text(spec, size)
    if layer == "RandomZoom":
        return _zoom_text(spec)
    if layer == "RandomFlip":
        return _flip_text(spec)
    return _contrast_text(spec)


def _size(size: object) -> tuple[int, int] | None:
    if size is None:
        return None
    given = (
        [size, size] if isinstance(size, numbers.Integral) else list(size) if _is_pair(size) else []
    )
    whole = [int(n) for n in given if isinstance(n, numbers.Integral) and int(n) >= 1]
    if len(given) != 2 or len(whole) != 2:
        raise ValueError(f"size must be a number of pixels or (height, width), got {size!r}.")
    return whole[0], whole[1]


def describe_augmentation(
    settings: Mapping[str, Any], *, size: int | tuple[int, int] | None = None
) -> list[str]:
    """One sentence per layer of the pipeline, in human units (degrees, percent, pixels).

    ``size`` (pixels, or ``(height, width)``) adds the shifts in pixels. Raises
    ``ValueError`` with a sentence for impossible settings, like
    :func:`augmentation_specs`.

    Examples
    --------
    >>> describe_augmentation({"rotation": 0.2})[0][:60]
    'RandomRotation(0.2) turns each image by a random angle of up'
    >>> "±16 px" in describe_augmentation({"translation": 0.1}, size=160)[0]
    True
    """
    hw = _size(size)
    s = _settings(settings)
    specs = augmentation_specs(settings)
    if not specs:
        return ["No augmentation: every factor is 0, so every image comes out unchanged."]
    out = [f"{_call(spec, prefix='')} {_texts(spec, hw)[0]}." for spec in specs]
    if any(spec["layer"] in _GEOMETRIC for spec in specs):
        out.append(
            "Pixels that come from outside the picture (after a turn, a shift or a zoom out) "
            f"are {_FILL_TEXT[s['fill_mode']]} (fill_mode={_code(s['fill_mode'])}"
            + (", Keras's default" if s["fill_mode"] == "reflect" else "")
            + ")."
        )
    if len(specs) > 1:
        out.append(
            "Every image goes through every layer, each drawing its own random amount; "
            "the layers do not take turns."
        )
    return out


def augmentation_code(
    settings: Mapping[str, Any],
    *,
    size: int | tuple[int, int] | None = None,
    seed: int | None = None,
    name: str = "data_augmentation",
) -> str:
    """The Keras code of the pipeline, in the lectures' style, with units in comments.

    ``seed`` adds ``seed=`` arguments (see :func:`augmentation_specs`), which makes
    the pipeline draw the same images every time it is built anew.

    Examples
    --------
    >>> print(augmentation_code({"rotation": 0.2, "flip": "horizontal"}))
    import keras
    from keras import layers
    <BLANKLINE>
    data_augmentation = keras.Sequential([
        layers.RandomRotation(0.2),  # up to ±72°
        layers.RandomFlip("horizontal"),  # half unchanged, half mirrored left-right
    ])
    # Active only in training (model.fit); to look at it:
    # augmented = data_augmentation(images, training=True)
    """
    if not name.isidentifier():
        raise ValueError(f"name must be a Python name, got {name!r}.")
    hw = _size(size)
    specs = augmentation_specs(settings, seed=seed)
    lines = ["import keras", "from keras import layers", ""]
    if not specs:
        # An empty Sequential cannot be called; Identity keeps the pipeline usable.
        lines.append(f"{name} = keras.Sequential([layers.Identity()])  # every factor is 0")
    else:
        lines.append(f"{name} = keras.Sequential([")
        lines += [f"    {_call(spec)},  # {_texts(spec, hw)[1]}" for spec in specs]
        lines.append("])")
    lines += [
        "# Active only in training (model.fit); to look at it:",
        f"# augmented = {name}(images, training=True)",
    ]
    return "\n".join(lines)
