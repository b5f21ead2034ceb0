"""Augmentation factors in human units, checked by hand and against Keras's own layers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnwidgets.core.augmentation as augmentation_module
from cnnwidgets.core.augmentation import (
    augmentation_code,
    augmentation_specs,
    contrast_range,
    describe_augmentation,
    flip_outcomes,
    rotation_degrees,
    translation_range,
    zoom_range,
)

from ._keras_oracle import FAST, keras, run_doctests

LECTURE = {"rotation": 0.2, "translation": 0.1, "zoom": 0.2, "flip": "horizontal"}
factors = st.floats(-1, 1, allow_nan=False)


def _layers():
    return keras().layers


def _call(layer, batch: np.ndarray) -> np.ndarray:
    return np.asarray(layer(batch, training=True))


def _exec_code(code: str):
    namespace: dict = {}
    exec(code, namespace)  # the generated code imports keras itself
    return namespace["data_augmentation"]


# --- rotation -------------------------------------------------------------------------------


def test_rotation_factor_is_a_fraction_of_a_full_turn():
    # The lecture said 7.2°: 0.2 of 360° is 72°.
    assert rotation_degrees(0.2) == (-72.0, 72.0)
    assert rotation_degrees(-0.2) == (-72.0, 72.0)  # Keras takes |f| for one number
    assert rotation_degrees((0.3, -0.1)) == (-36.0, 108.0)  # a pair is sorted, as in Keras
    assert rotation_degrees(0.5) == (-180.0, 180.0)
    assert rotation_degrees(0) == (0.0, 0.0)


@FAST
@given(factors)
def test_rotation_degrees_property(f):
    lo, hi = rotation_degrees(f)
    assert lo == -hi
    assert hi == pytest.approx(360 * abs(f), abs=1e-6)


@pytest.mark.parametrize("bad", [1.5, -1.01, math.nan, math.inf, "0.2", True, (0.1,), (0, 2)])
def test_rotation_refuses_impossible_factors_with_a_sentence(bad):
    with pytest.raises(ValueError, match="rotation factor"):
        rotation_degrees(bad)


# --- translation ----------------------------------------------------------------------------


def test_translation_in_percent_and_pixels():
    assert translation_range(0.1, 160) == ((-10.0, 10.0), (-16.0, 16.0))
    r = translation_range((0.0, 0.25), 64)
    assert r.percent == (0.0, 25.0) and r.pixels == (0.0, 16.0)


@FAST
@given(factors, st.integers(1, 2000))
def test_translation_pixels_are_percent_of_the_size(f, size):
    r = translation_range(f, size)
    for pct, px in zip(r.percent, r.pixels, strict=True):
        assert px == pytest.approx(pct * size / 100, abs=1e-6)


@pytest.mark.parametrize(("factor", "size"), [(1.2, 10), (0.1, 0), (0.1, 2.5), (math.nan, 10)])
def test_translation_refuses_impossible_values(factor, size):
    with pytest.raises(ValueError):
        translation_range(factor, size)


# --- zoom -----------------------------------------------------------------------------------


def test_zoom_range_view_and_scale():
    z = zoom_range((-0.5, -0.2))
    assert z.factor == (-0.5, -0.2)
    assert z.view == (0.5, 0.8)  # part of the picture that fills the frame
    assert z.scale == (1.25, 2.0)  # enlargement: zoom IN
    z = zoom_range(0.25)
    assert z.factor == (-0.25, 0.25)
    assert z.scale == (0.8, pytest.approx(1 / 0.75))


def test_zoom_description_explains_the_sign():
    assert zoom_range((-0.3, -0.1)).description.startswith("zooms in")
    assert zoom_range((0.1, 0.3)).description.startswith("zooms out")
    both = zoom_range(0.2).description
    assert "negative draw zooms in" in both and "positive draw zooms out" in both
    assert "×1.25" in both and "×0.83" in both


@pytest.mark.parametrize("bad", [-1.0, -1.5, 1.01, (-1.0, 0.2)])
def test_zoom_refuses_factors_outside_minus_one_to_one(bad):
    with pytest.raises(ValueError, match="greater than -1"):
        zoom_range(bad)
    with pytest.raises(ValueError, match="finite"):
        zoom_range(math.nan)


# --- contrast and flips ---------------------------------------------------------------------


def test_contrast_range_is_what_keras_3_does_not_what_it_documents():
    assert contrast_range(0.2) == (1.0, 1.2)  # one number never lowers the contrast
    assert contrast_range((0.2, 0.2)) == (0.8, 1.2)
    assert contrast_range(0) == (1.0, 1.0)
    for bad in (-0.1, 1.5, (0.2, 1.2), "x"):
        with pytest.raises(ValueError, match="contrast factor"):
            contrast_range(bad)


def test_flip_outcomes_and_the_both_name():
    assert flip_outcomes("none") == ("unchanged",)
    assert flip_outcomes("vertical") == ("unchanged", "upside down")
    assert flip_outcomes("both") == flip_outcomes("horizontal_and_vertical")
    assert len(flip_outcomes("horizontal_and_vertical")) == 2
    with pytest.raises(ValueError, match='RandomFlip\\("both"\\) flips nothing'):
        flip_outcomes("diagonal")


# --- specs, sentences, code -----------------------------------------------------------------


def test_specs_follow_the_lecture_and_leave_out_zero_factors():
    specs = augmentation_specs({**LECTURE, "contrast": 0.0})
    assert specs == [
        {"layer": "RandomRotation", "factor": 0.2},
        {"layer": "RandomTranslation", "height_factor": 0.1, "width_factor": 0.1},
        {"layer": "RandomZoom", "height_factor": 0.2},
        {"layer": "RandomFlip", "mode": "horizontal"},
    ]
    assert augmentation_specs({"rotation": 0, "translation": (0, 0), "flip": "none"}) == []
    assert augmentation_specs({}) == []


def test_specs_seed_each_layer_differently_and_pass_fill_mode_to_geometric_layers():
    specs = augmentation_specs(
        {**LECTURE, "contrast": 0.1, "fill_mode": "constant", "translation": (0.0, 0.2)}, seed=10
    )
    assert [s["seed"] for s in specs] == [10, 11, 12, 13, 14]
    assert [s.get("fill_mode") for s in specs] == ["constant"] * 3 + [None, None]
    assert specs[1]["height_factor"] == 0.0 and specs[1]["width_factor"] == 0.2


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        ({"rotaton": 0.2}, "Unknown augmentation setting"),
        ({"zoom": -1}, "zoom factor"),
        ({"translation": (0.1, 0.2, 0.3)}, "height_factor, width_factor"),
        ({"fill_mode": "mirror"}, "fill_mode"),
        ({"flip": "both ways"}, "flip must be"),
        # A layer left out (flip "none") still has its factors checked.
        ({"contrast": 3, "flip": "none"}, "contrast factor"),
    ],
)
def test_specs_refuse_bad_settings_with_a_sentence(settings, phrase):
    with pytest.raises(ValueError, match=phrase):
        augmentation_specs(settings)


def test_descriptions_in_human_units():
    text = describe_augmentation({**LECTURE, "contrast": 0.2}, size=160)
    assert text[0].startswith("RandomRotation(0.2) ") and "±72°" in text[0]
    assert "±16 px" in text[1] and "±10 %" in text[1]
    assert "zooms in" in text[2] and "zooms out" in text[2]
    assert "mirrored left-right" in text[3]
    assert "×1.00 to ×1.20" in text[4] and "never lowers" in text[4]
    assert 'fill_mode="reflect"' in text[5]
    assert "every layer" in text[6]
    assert describe_augmentation({"rotation": 0.0})[0].startswith("No augmentation")
    assert "180°" in describe_augmentation({"flip": "both"})[0]


def test_code_is_the_lectures_sequential_with_units_in_comments():
    code = augmentation_code(LECTURE, size=160)
    assert "layers.RandomRotation(0.2),  # up to ±72°" in code
    assert "layers.RandomTranslation(0.1, 0.1),  # ±10 % of the height = ±16 px" in code
    assert 'layers.RandomFlip("horizontal"),' in code
    assert "data_augmentation = keras.Sequential([" in code
    assert "training=True" in code


def test_docstring_examples():
    result = run_doctests(augmentation_module)
    assert result.failed == 0
    assert result.attempted >= 12


# --- Keras as the oracle --------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        LECTURE,
        {"rotation": (-0.1, 0.3), "translation": (0.0, (0.1, 0.2)), "zoom": (-0.3, -0.1)},
        {"flip": "both", "contrast": (0.2, 0.4), "fill_mode": "nearest", "zoom": 0.5},
        {},
    ],
)
def test_generated_code_builds_the_layers_with_the_factors(settings):
    model = _exec_code(augmentation_code(settings, seed=3))
    specs = augmentation_specs(settings, seed=3)
    if not specs:
        assert [type(layer).__name__ for layer in model.layers] == ["Identity"]
        return
    assert [type(layer).__name__ for layer in model.layers] == [s["layer"] for s in specs]
    for layer, spec in zip(model.layers, specs, strict=True):
        kwargs = {k: v for k, v in spec.items() if k != "layer"}
        direct = getattr(_layers(), spec["layer"])(**kwargs).get_config()
        config = layer.get_config()
        config.pop("name"), direct.pop("name")
        assert config == direct, spec
        if spec["layer"] == "RandomRotation":  # Keras stores the range the kit reads out
            lo, hi = rotation_degrees(spec["factor"])
            assert config["factor"] == pytest.approx((lo / 360, hi / 360))


def test_generated_code_for_the_lecture_reads_as_keras_stores_it():
    model = _exec_code(augmentation_code(LECTURE))
    configs = [layer.get_config() for layer in model.layers]
    assert configs[0]["factor"] == (-0.2, 0.2)  # ±0.2 of a turn: ±72°
    assert (configs[1]["height_factor"], configs[1]["width_factor"]) == (0.1, 0.1)
    assert configs[2]["height_factor"] == 0.2 and configs[2]["width_factor"] is None
    assert configs[3]["mode"] == "horizontal"


@pytest.mark.parametrize(
    ("layer", "args", "check"),
    [
        ("RandomRotation", (1.5,), lambda f: rotation_degrees(f)),
        ("RandomRotation", (-1.0,), lambda f: rotation_degrees(f)),
        ("RandomZoom", (-1.0,), lambda f: zoom_range(f)),
        ("RandomZoom", (-0.99,), lambda f: zoom_range(f)),
        ("RandomZoom", (1.2,), lambda f: zoom_range(f)),
        ("RandomTranslation", (1.2, 0.1), lambda f: translation_range(f, 10)),
        ("RandomTranslation", (-1.0, 0.1), lambda f: translation_range(f, 10)),
        ("RandomContrast", (-0.1,), lambda f: contrast_range(f)),
        ("RandomContrast", (1.0,), lambda f: contrast_range(f)),
    ],
)
def test_the_kit_refuses_exactly_the_single_factors_keras_refuses(layer, args, check):
    try:
        getattr(_layers(), layer)(*args)
        keras_ok = True
    except ValueError:
        keras_ok = False
    try:
        check(args[0])
        kit_ok = True
    except ValueError:
        kit_ok = False
    assert kit_ok == keras_ok


def _dot_image(size: int, row: int, col: int, n: int, width: int = 1) -> np.ndarray:
    x = np.zeros((n, size, size, 1), dtype=np.float32)
    x[:, row : row + width, col : col + width] = 255.0
    return x


def _positions(batch: np.ndarray) -> np.ndarray:
    """Row and column of the brightest pixel of each image."""
    flat = batch.reshape(len(batch), -1).argmax(axis=1)
    return np.stack(np.unravel_index(flat, batch.shape[1:3]), axis=1)


def _centroids(batch: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre (row, column) of each image: robust to interpolation."""
    w = batch[..., 0]
    rows, cols = np.indices(w.shape[1:])
    total = w.sum(axis=(1, 2))
    return np.stack([(w * rows).sum(axis=(1, 2)) / total, (w * cols).sum(axis=(1, 2)) / total], 1)


def test_a_tiny_rotation_leaves_the_image_nearly_unchanged():
    rng = np.random.default_rng(0)
    # A smooth picture: bilinear sampling of a slightly turned grid stays close.
    base = np.cumsum(np.cumsum(rng.uniform(0, 1, (40, 40)), 0), 1)
    x = (255 * base / base.max()).astype(np.float32)[None, :, :, None].repeat(4, 0)
    assert rotation_degrees(1e-4)[1] == pytest.approx(0.036)
    out = _call(_layers().RandomRotation(1e-4, seed=1), x)
    assert np.abs(out - x).max() < 2.0
    assert np.abs(out - x).max() > 0  # it did turn, by a hair


@pytest.mark.parametrize("factor", [0.2, (-0.1, 0.3)])
def test_keras_rotation_angles_stay_in_rotation_degrees(factor):
    size, c, r = 65, 32, 27  # a 3x3 blob centred 28 px right of the centre
    x = _dot_image(size, c - 1, c + r, 300, width=3)
    layer = _layers().RandomRotation(factor, fill_mode="constant", seed=5)
    rows, cols = _centroids(_call(layer, x)).T
    # Rows grow downwards: counter-clockwise (positive) moves the dot up.
    angles = np.degrees(np.arctan2(c - rows, cols - c))
    lo, hi = rotation_degrees(factor)
    tolerance = 1.0  # the centroid of a bilinear blob is within a fraction of a pixel
    assert angles.min() >= lo - tolerance and angles.max() <= hi + tolerance
    # The draws cover the range: at 0.2 angles near ±72° occur (the lecture's 7.2° would not).
    assert angles.min() <= lo + 10 and angles.max() >= hi - 10


def test_keras_positive_rotation_is_counter_clockwise():
    x = _dot_image(41, 20, 35, 1)
    layer = _layers().RandomRotation((0.25, 0.25), fill_mode="constant", interpolation="nearest")
    assert _positions(_call(layer, x)).tolist() == [[5, 20]]  # right of centre → above it


@pytest.mark.parametrize("factor", [-0.5, -0.25, 0.25, 0.6])
def test_keras_zoom_sign_negative_enlarges_positive_shrinks(factor):
    size, side = 64, 20
    x = np.zeros((1, size, size, 1), dtype=np.float32)
    start = (size - side) // 2
    x[:, start : start + side, start : start + side] = 255.0
    layer = _layers().RandomZoom((factor, factor), fill_mode="constant", seed=0)
    out = _call(layer, x)[0, :, :, 0]
    measured = float((out > 127).any(axis=0).sum())  # width of the bright square
    expected = side * zoom_range((factor, factor)).scale[0]
    assert measured == pytest.approx(expected, abs=2)
    assert (measured > side) == (factor < 0)  # negative = zoom in = larger


def test_keras_translation_in_pixels_stays_within_factor_times_size():
    height, width, n = 41, 61, 400
    x = np.zeros((n, height, width, 1), dtype=np.float32)
    x[:, 20, 30] = 255.0
    layer = _layers().RandomTranslation(
        0.2, 0.1, fill_mode="constant", interpolation="nearest", seed=2
    )
    out = _call(layer, x)
    seen = out.reshape(n, -1).max(axis=1) > 0  # the dot can leave only if the bound allows
    shifts = _positions(out[seen]) - np.array([20, 30])
    for axis, (factor, size) in enumerate(((0.2, height), (0.1, width))):
        lo, hi = translation_range(factor, size).pixels
        assert shifts[:, axis].min() >= math.floor(lo) - 1
        assert shifts[:, axis].max() <= math.ceil(hi) + 1
        assert shifts[:, axis].max() >= 0.8 * hi and shifts[:, axis].min() <= 0.8 * lo


def test_keras_positive_translation_moves_down_and_right():
    x = _dot_image(40, 10, 10, 1)
    layer = _layers().RandomTranslation(
        (0.25, 0.25), (0.5, 0.5), fill_mode="constant", interpolation="nearest"
    )
    down, right = translation_range((0.25, 0.25), 40).pixels[0], 20
    assert _positions(_call(layer, x)).tolist() == [[10 + down, 10 + right]]


@pytest.mark.parametrize("factor", [0.5, (0.5, 0.5)])
def test_keras_contrast_multipliers_stay_in_contrast_range(factor):
    ramp = np.linspace(60, 190, 32, dtype=np.float32)
    x = np.tile(ramp[None, None, :, None], (300, 4, 1, 1))
    out = _call(_layers().RandomContrast(factor, seed=4), x)
    multipliers = (out[:, 0, -1, 0] - out[:, 0, 0, 0]) / (ramp[-1] - ramp[0])
    lo, hi = contrast_range(factor)
    assert multipliers.min() >= lo - 1e-4 and multipliers.max() <= hi + 1e-4
    assert multipliers.min() <= lo + 0.05 and multipliers.max() >= hi - 0.05


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_keras_flip_outcomes(mode):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (1, 6, 7, 1)).astype(np.float32).repeat(64, 0)
    out = _call(_layers().RandomFlip(mode, seed=3), x)
    candidates = {
        "unchanged": x[0],
        "mirrored left-right": x[0, :, ::-1],
        "upside down": x[0, ::-1],
        "flipped both ways (turned 180°)": x[0, ::-1, ::-1],
    }
    seen = set()
    for image in out:
        names = [name for name, c in candidates.items() if np.array_equal(image, c)]
        assert names, "an outcome flip_outcomes does not list"
        seen.add(names[0])
    assert seen == set(flip_outcomes(mode))


def test_keras_ignores_an_unknown_flip_mode_which_the_kit_refuses():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1).repeat(16, 0)
    assert np.array_equal(_call(_layers().RandomFlip("both", seed=0), x), x)
    with pytest.raises(ValueError):
        augmentation_specs({"flip": "sideways"})
