"""AugmentationPreview: move the controls as a student would and check what the widget drew."""

import io
import math

import numpy as np
import pytest
from PIL import Image

from cnnwidgets.core.augmentation import augmentation_code, augmentation_specs
from cnnwidgets.widgets.augmentation import GRID_COLUMNS, AugmentationPreview, _tile

ZERO = {"rotation": 0.0, "translation": 0.0, "zoom": 0.0, "flip": "none", "contrast": 0.0}


def _picture(shape=(20, 24, 3), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img)


@pytest.fixture(scope="module")
def photo():
    # The default photo at the default size, built once: the lecture's settings.
    return AugmentationPreview()


def test_default_is_the_lecture_pipeline_on_a_photo(photo):
    assert photo.message == ""
    assert photo.grid.shape == (25, 160, 160, 3) and photo.grid.dtype == np.float32
    assert photo.original.shape == (160, 160, 3)
    assert [s["layer"] for s in photo.specs] == [
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "RandomFlip",
    ]
    assert photo.labels["rotation"] == "factor 0.20 = up to ±72°"
    assert photo.labels["height"] == "±10 % = ±16 px"
    assert "layers.RandomRotation(0.2),  # up to ±72°" in photo.code
    assert any("±72°" in s for s in photo.descriptions)
    # Every draw differs from the original, and from the others.
    assert not any(np.array_equal(tile, photo.original) for tile in photo.grid)
    assert len({tile.tobytes() for tile in photo.grid}) == 25


def test_training_false_returns_the_picture_unchanged(photo):
    assert np.array_equal(photo.inference, photo.original)
    assert "returned the picture unchanged" in photo._note_html.value


def test_the_same_seed_draws_the_same_grid():
    img = _picture()
    a = AugmentationPreview(img, seed=3)
    b = AugmentationPreview(img, seed=3)
    assert np.array_equal(a.grid, b.grid)
    first = a.grid.copy()
    a.seed = 4
    assert not np.array_equal(a.grid, first)
    a.seed = 3  # the reused layers restart from the seed
    assert np.array_equal(a.grid, first)
    a.rotation = 0.3
    a.rotation = 0.2  # new layers, same seed: same grid again
    assert np.array_equal(a.grid, first)


def test_reseed_button_draws_a_new_grid():
    w = AugmentationPreview(_picture(), seed=0)
    before = w.grid.copy()
    w._reseed_btn.click()
    assert w.seed == 1
    assert not np.array_equal(w.grid, before)


def test_all_zero_factors_leave_every_tile_equal_to_the_original():
    w = AugmentationPreview(_picture(), **ZERO)
    assert w.specs == []
    assert all(np.array_equal(tile, w.original) for tile in w.grid)
    assert "layers.Identity()" in w.code
    assert w.descriptions[0].startswith("No augmentation")


@pytest.mark.parametrize(
    ("mode", "flipped"),
    [("horizontal", lambda x: x[:, ::-1]), ("vertical", lambda x: x[::-1])],
)
def test_a_flip_alone_gives_the_original_or_its_mirror(mode, flipped):
    w = AugmentationPreview(_picture(), **{**ZERO, "flip": mode}, seed=2)
    x = w.original
    same = [np.array_equal(t, x) for t in w.grid]
    mirror = [np.array_equal(t, flipped(x)) for t in w.grid]
    assert all(s or m for s, m in zip(same, mirror, strict=True))
    assert any(same) and any(mirror)


def test_flip_both_is_one_coin_for_both_axes():
    w = AugmentationPreview(_picture(), **{**ZERO, "flip": "both"}, seed=1)
    assert w.flip == "horizontal_and_vertical"
    x = w.original
    outcomes = {
        "same" if np.array_equal(t, x) else "180" if np.array_equal(t, x[::-1, ::-1]) else "?"
        for t in w.grid
    }
    assert outcomes == {"same", "180"}
    assert "one coin" in w.labels["flip"]


def test_descriptions_and_labels_follow_the_controls():
    w = AugmentationPreview(_picture((40, 50, 3)), **ZERO)
    w.rotation = 0.2
    assert "±72°" in w.descriptions[0]
    w.translation = (0.1, 0.2)
    assert w.labels["height"] == "±10 % = ±4 px" and w.labels["width"] == "±20 % = ±10 px"
    w.zoom = (-0.3, -0.1)
    assert "zooms in" in w.labels["zoom"] and "zooms out" not in w.labels["zoom"]
    w.contrast = 0.2
    assert "×1.00 to ×1.20" in w.labels["contrast"]
    assert any("never lowers the contrast" in s for s in w.descriptions)


def test_the_code_shown_builds_the_pipeline_and_with_the_seed_redraws_the_grid():
    w = AugmentationPreview(
        _picture(),
        rotation=0.15,
        translation=(0.1, 0.05),
        zoom=(-0.2, 0.1),
        flip="vertical",
        contrast=0.3,
        fill_mode="nearest",
        seed=9,
    )
    namespace: dict = {}
    exec(w.code, namespace)
    model = namespace["data_augmentation"]
    assert [type(layer).__name__ for layer in model.layers] == [s["layer"] for s in w.specs]
    configs = [layer.get_config() for layer in model.layers]
    assert configs[0]["factor"] == (-0.15, 0.15) and configs[0]["fill_mode"] == "nearest"
    assert (configs[1]["height_factor"], configs[1]["width_factor"]) == (0.1, 0.05)
    assert configs[2]["height_factor"] == (-0.2, 0.1)
    assert configs[3]["mode"] == "vertical"
    assert configs[4]["factor"] == (0, 0.3)  # Keras 3's reading of 0.3

    # The same code with the widget's seed draws the widget's grid exactly.
    seeded: dict = {}
    exec(augmentation_code(w._settings(), seed=w.seed), seeded)
    batch = np.repeat(w.original[None], 25, axis=0)
    again = np.asarray(seeded["data_augmentation"](batch, training=True))
    assert np.array_equal(again, w.grid)


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("zoom", -1.0, "zoom factor must be greater than -1"),
        ("rotation", 1.5, "rotation factor must be between -1 and 1"),
        ("contrast", 2.0, "contrast factor"),
        ("translation", (1.5, 0.0), "translation factor"),
        ("rotation", math.nan, "finite"),
        ("flip", "diagonal", "flip must be one of"),
        ("fill_mode", "mirror", "fill_mode must be one of"),
    ],
)
def test_impossible_factors_give_a_message_never_an_exception(name, value, phrase):
    w = AugmentationPreview(_picture())
    setattr(w, name, value)
    assert phrase in w.message
    assert w.grid is None and w.code == "" and w.descriptions == []
    assert w._grid_box.layout.display == "none"
    assert phrase in w._message_html.value
    setattr(w, name, AugmentationPreview.class_traits()[name].default_value)
    assert w.message == "" and w.grid.shape == (25, 20, 24, 3)


def test_sliders_set_the_traits_and_show_them():
    w = AugmentationPreview(_picture(), **ZERO)
    w._rotation_slider.value = 0.5
    assert w.rotation == 0.5 and w.labels["rotation"] == "factor 0.50 = up to ±180°"
    w._width_slider.value = 0.25
    assert w.translation == (0.0, 0.25)
    w._zoom_slider.value = (-0.3, 0.3)
    assert w.zoom == 0.3  # symmetric: the number Keras reads as (-0.3, 0.3)
    w._zoom_slider.value = (0.1, 0.4)
    assert w.zoom == (0.1, 0.4)
    w._flip_tb.value = "horizontal_and_vertical"
    assert w.flip == "horizontal_and_vertical"
    w._fill_dd.value = "constant"
    assert w.fill_mode == "constant" and w.specs[0]["fill_mode"] == "constant"
    # Traits move the controls back, unless the slider cannot show the value.
    w.rotation = 0.1
    assert w._rotation_slider.value == 0.1
    w.zoom = -0.2
    assert w._zoom_slider.value == (-0.2, 0.2)
    w.rotation = 1.5
    assert w.rotation == 1.5 and w._rotation_slider.value == 0.1 and w.message


def test_slider_noise_does_not_reach_the_code():
    w = AugmentationPreview(_picture(), **ZERO)
    w._contrast_slider.value = 0.15000000000000002
    assert w.contrast == 0.15
    assert "RandomContrast(0.15)" in w.code


def test_from_dataset_keeps_grayscale_one_channel():
    w = AugmentationPreview.from_dataset("faces", index=0, seed=1)
    assert w.original.shape == (25, 25, 1)
    assert w.grid.shape == (25, 25, 25, 1)
    assert "faces[0]" in w._original_caption.value
    assert w._photo_dd.disabled
    # Small pictures are drawn enlarged, with crisp pixels.
    drawn = _decode(w._grid_img.value)
    assert drawn.shape[:2] == (5 * 25 * 3 + 4 * 2, 5 * 25 * 3 + 4 * 2)
    with pytest.raises(ValueError, match="index"):
        AugmentationPreview.from_dataset("faces", index=10_000)


def test_the_grid_picture_is_the_tiled_grid():
    w = AugmentationPreview(_picture((50, 60, 3)), seed=5)
    drawn = _decode(w._grid_img.value)
    assert drawn.shape == (5 * 50 + 4 * 2, 5 * 60 + 4 * 2, 3)
    expected = np.clip(np.rint(w.grid[7]), 0, 255).astype(np.uint8)
    row, col = divmod(7, GRID_COLUMNS)
    top, left = row * 52, col * 62
    assert np.array_equal(drawn[top : top + 50, left : left + 60], expected)
    assert (drawn[50:52] == 255).all()  # the white gap between rows


def test_a_big_photo_grid_is_sent_as_jpeg(photo):
    # 25 draws of a 160 px photo: 1.9 MB as PNG in every saved notebook, ~0.2 MB as JPEG.
    assert photo._grid_img.format == "jpeg"
    assert len(photo._grid_img.value) < 400_000
    drawn = _decode(photo._grid_img.value)
    assert drawn.shape == (5 * 160 + 4 * 2, 5 * 160 + 4 * 2, 3)
    expected = np.clip(np.rint(photo.grid[0]), 0, 255)
    assert np.abs(drawn[:160, :160].astype(float) - expected).mean() < 3  # JPEG, quality 90


def test_tile_handles_a_partial_last_row():
    tiles = np.zeros((7, 2, 3, 1), dtype=np.uint8)
    out = _tile(tiles, columns=5, gap=1)
    assert out.shape == (2 * 3 - 1, 5 * 4 - 1, 1)
    assert (out[3:, 2 * 4 :] == 255).all()  # no tiles after the seventh


def test_changing_the_photo_redraws_from_the_same_seed():
    w = AugmentationPreview(photo="chelsea", size=32, seed=2)
    cat = w.grid.copy()
    w.photo = "astronaut"
    assert w.original.shape == (32, 32, 3) and not np.array_equal(w.grid, cat)
    w.photo = "chelsea"
    assert np.array_equal(w.grid, cat)


def test_specs_are_cores_and_traits_are_documented():
    w = AugmentationPreview(_picture(), seed=4)
    assert w.specs == augmentation_specs(w._settings(), seed=4)
    for name in ("rotation", "translation", "zoom", "flip", "contrast", "seed", "photo"):
        assert AugmentationPreview.class_traits()[name].help, name


def test_docstring_examples():
    import doctest

    import cnnwidgets.widgets.augmentation as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 6


def test_rotation_slider_stops_at_half_a_turn():
    """RandomRotation's valid range for a learner: ±0.5 of a turn already gives every angle,
    so the slider ends at 0.5 (±180°), not at 1 (±360°, every angle twice)."""
    from cnnwidgets.core.augmentation import rotation_degrees

    w = AugmentationPreview(np.zeros((8, 8)), zoom=0, translation=0)
    assert w._rotation_slider.max == 0.5
    assert rotation_degrees(w._rotation_slider.max) == (-180.0, 180.0)
    w.rotation = 0.7  # in code, past the slider: Keras takes it, and the label says what it is
    assert w.grid is not None and "±252°" in w.labels["rotation"]
    assert w._rotation_slider.value <= 0.5


def test_flip_buttons_fit_their_labels():
    w = AugmentationPreview(np.zeros((8, 8)), zoom=0, translation=0)
    assert w._flip_tb.style.button_width == "auto"  # "horizontal" whole, not "horizo…"
