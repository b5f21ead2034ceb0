"""Preview Keras's augmentation layers on a photo: a seeded 5x5 grid, the factors in human units."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.augmentation import (
    FILL_MODES,
    augmentation_code,
    augmentation_specs,
    contrast_range,
    describe_augmentation,
    flip_outcomes,
    rotation_degrees,
    translation_range,
    zoom_range,
)
from ._base import _Widget
from ._common import (
    ERROR_STYLE,
    STYLE,
    fit_factor,
    image_panel,
    load_picture,
    png_live,
    pre_html,
    row,
    show_live_photo,
)
from ._png import encode_png, upscale

__all__ = ["AugmentationPreview"]

GRID_ROWS = GRID_COLUMNS = 5  # the lecture's 5x5 grid
_GAP = 2  # white pixels between the tiles
_TILE_TARGET = 96  # tiny data-set images (8x8 digits, 25x25 faces) are drawn about this big
_YOUR_IMAGE = "your image"
_ZOOM_MIN = -0.95  # Keras takes zoom factors in (-1, 1]; -1 itself would zoom on one point
# RandomRotation's factor is a fraction of a full turn: 0.5 (±180°) already allows every
# angle, so the slider stops there; a larger factor set in code still works (and says so).
_ROTATION_MAX = 0.5
_FLIP_OPTIONS = [
    ("none", "none"),
    ("horizontal", "horizontal"),
    ("vertical", "vertical"),
    ("both", "horizontal_and_vertical"),
]

TRAINING_NOTE = (
    "<b>Only when training.</b> <code>model.fit</code> calls these layers with "
    "<code>training=True</code>; <code>model.predict</code> and <code>model.evaluate</code> "
    "call them with <code>training=False</code>, which passes every image through unchanged. "
    "Careful: in Keras 3, calling a layer or a model yourself without <code>training=</code> "
    "counts as training for these layers: <code>data_augmentation(images)</code> and "
    "<code>model(images)</code> <i>do</i> augment; pass <code>training=False</code> to see the "
    "real predictions. Split the data first, then augment the training part only."
)


def _tile(images: np.ndarray, columns: int = GRID_COLUMNS, gap: int = _GAP) -> np.ndarray:
    """``(n, h, w, c)`` uint8 tiles → one ``(rows·(h+gap)−gap, columns·(w+gap)−gap, c)`` picture."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    canvas = np.full((rows, h + gap, columns, w + gap, c), 255, dtype=np.uint8)
    full = np.full((rows * columns, h, w, c), 255, dtype=np.uint8)
    full[:n] = images
    # One strided copy instead of 25 slices: rows of tiles become rows of pixels.
    canvas[:, :h, :, :w] = full.reshape(rows, columns, h, w, c).transpose(0, 2, 1, 3, 4)
    out = canvas.reshape(rows * (h + gap), columns * (w + gap), c)
    return out[: rows * (h + gap) - gap, : columns * (w + gap) - gap]


def _to_uint8(x: np.ndarray) -> np.ndarray:
    # Keras returns float32 in the input's range (0..255 here); bilinear sampling and
    # contrast can step just outside it.
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _round(value: float) -> float:
    # Slider steps arrive as 0.15000000000000002; 12 significant digits give 0.15 back.
    return float(f"{float(value):.12g}") + 0.0


class AugmentationPreview(_Widget):
    """Keras's augmentation layers on one picture: a seeded 5x5 grid of draws beside the original.

    Controls set the factors of ``RandomRotation``, ``RandomTranslation``,
    ``RandomZoom``, ``RandomFlip`` and ``RandomContrast``, each read out in
    human units next to it (factor 0.2 = up to ±72°; ±10 % = ±16 px; the zoom
    sign explained). The grid is drawn by the Keras layers themselves: one call
    of the pipeline, with ``training=True``, on a batch of 25 copies of the
    picture; the layers are seeded from ``seed``, so a seed always draws the same
    grid, and the "new draw" button moves to the next seed. Below: one sentence
    per layer, the Keras code of the pipeline (from
    :func:`cnnwidgets.core.augmentation.augmentation_code`) and a note that the
    layers only act when training, with the check that ``training=False``
    returns the picture unchanged.

    Changing a trait (``w.rotation = 0.5``, ``w.flip = "vertical"``) redraws
    synchronously, before the assignment returns. Impossible factors (a zoom of
    -1, a rotation of 1.5) give a sentence in ``message``, never an exception.

    Parameters
    ----------
    image : array or path, optional
        Your own picture: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``, 0..255 (floats
        in 0..1 are scaled), or an image file (resized to ``size``). Arrays are used
        at their own size: keep them small, the grid costs about 25·H·W pixels.
        By default the sample photo ``photo``.
    photo : str
        Sample photo from ``cnnwidgets.data.PHOTO_NAMES`` when ``image`` is None.
    size : int
        Size in pixels of the sample photo (160: a 5x5 grid in about 0.1 s).
    rotation : float
        ``RandomRotation`` factor, a fraction of a full turn (0.2 = up to ±72°).
    translation : float or (float, float)
        ``RandomTranslation`` ``(height_factor, width_factor)``; a number sets both.
    zoom : float or (float, float)
        ``RandomZoom`` ``height_factor``: a number f zooms in or out by up to f;
        in a pair, negative zooms in (enlarges) and positive zooms out.
    flip : {"none", "horizontal", "vertical", "horizontal_and_vertical"}
        ``RandomFlip`` mode; ``"both"`` is taken for ``"horizontal_and_vertical"``.
    contrast : float
        ``RandomContrast`` factor (0..1).
    fill_mode : {"reflect", "constant", "nearest", "wrap"}
        How the geometric layers fill pixels from outside the picture.
    seed : int
        Seed of the layers (the layer k gets ``seed + k``).
    caption : str, optional
        Title of the original picture.

    Attributes
    ----------
    original : ndarray
        The picture, ``(H, W, C)`` float32 in 0..255 (C = 1 for grayscale data).
    grid : ndarray or None
        The 25 draws, ``(25, H, W, C)`` float32, as the Keras pipeline returned them.
    inference : ndarray or None
        ``pipeline(original[None], training=False)[0]``: equal to ``original``.
    pipeline : keras.Sequential or None
        The layers that drew the grid, built from ``specs``.
    specs : list of dict
        The layers as ``{"layer": name, **arguments}`` (seeds included).
    descriptions : list of str
        One sentence per layer, in human units.
    code : str
        The Keras code of the pipeline (without seeds, as a student writes it).
    labels : dict
        The readout next to each control, e.g. ``labels["rotation"]``.
    message : str
        Why there is no grid (a student-facing sentence), or ``""``.

    Examples
    --------
    >>> w = AugmentationPreview(np.zeros((8, 8)), rotation=0.2, zoom=0, translation=0)
    >>> w.grid.shape, "±72°" in w.labels["rotation"]
    ((25, 8, 8, 1), True)
    >>> w.zoom = -1.0  # redraws before returning; Keras refuses a zoom of -1
    >>> w.grid is None, w.message[:40]
    (True, 'zoom factor must be greater than -1 and ')
    """

    rotation = T.Float(
        0.2, help="RandomRotation factor: a fraction of a full turn (0.2 = up to ±72°)."
    )
    translation = T.Union(
        [T.Float(), T.Tuple(T.Float(), T.Float())],
        default_value=(0.1, 0.1),
        help="RandomTranslation (height_factor, width_factor), fractions of the size; "
        "a number sets both.",
    )
    zoom = T.Union(
        [T.Float(), T.Tuple(T.Float(), T.Float())],
        default_value=0.2,
        help="RandomZoom height_factor: f zooms in or out by up to f; in a pair (low, high) "
        "negative zooms in (enlarges), positive zooms out.",
    )
    flip = T.Unicode(
        "horizontal",
        help="RandomFlip mode: 'none', 'horizontal', 'vertical' or 'horizontal_and_vertical' "
        "('both').",
    )
    contrast = T.Float(
        0.0, help="RandomContrast factor (0-1); Keras 3 reads f as (0, f): contrast ×1 to ×(1+f)."
    )
    fill_mode = T.Unicode(
        "reflect",
        help="How rotation, translation and zoom fill pixels from outside the picture: "
        "'reflect' (Keras's default), 'constant', 'nearest' or 'wrap'.",
    )
    seed = T.Int(0, help="Seed of the layers: the same seed draws the same grid.")
    photo = T.Unicode("chelsea", help="Sample photo (cnnwidgets.data.PHOTO_NAMES).")
    size = T.Int(160, help="Size in pixels of the sample photo.")

    def __init__(
        self,
        image: object = None,
        *,
        photo: str = "chelsea",
        size: int = 160,
        rotation: float = 0.2,
        translation: float | tuple[float, float] = (0.1, 0.1),
        zoom: float | tuple[float, float] = 0.2,
        flip: str = "horizontal",
        contrast: float = 0.0,
        fill_mode: str = "reflect",
        seed: int = 0,
        caption: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._image = image
        self._caption = caption
        self.original: np.ndarray | None = None
        self.grid: np.ndarray | None = None
        self.inference: np.ndarray | None = None
        self.pipeline = None
        self.specs: list[dict] = []
        self.descriptions: list[str] = []
        self.code = ""
        self.labels: dict[str, str] = {}
        self.message = ""
        self._pipeline_key: list[dict] | None = None
        self._original_version = -1
        self._build_controls()

        self.photo, self.size = photo, size
        self.rotation, self.translation, self.zoom = rotation, translation, zoom
        self.flip, self.contrast, self.fill_mode, self.seed = flip, contrast, fill_mode, seed
        self._link_controls()
        self._start()

    @classmethod
    def from_dataset(cls, name: str = "faces", index: int = 0, **kwargs) -> AugmentationPreview:
        """Preview one image of a data set of ``cnnwidgets.data.load_dataset``.

        Examples
        --------
        >>> w = AugmentationPreview.from_dataset("digits", index=0, rotation=0.1)
        >>> w.original.shape, w.grid.shape
        ((8, 8, 1), (25, 8, 8, 1))
        """
        from ..data import load_dataset  # lazy: the photo view needs no data sets

        X, y, class_names = load_dataset(name, raw=True)
        if isinstance(index, bool) or not 0 <= int(index) < len(X):
            raise ValueError(f"index must be between 0 and {len(X) - 1}, got {index!r}.")
        kwargs.setdefault("caption", f"{name}[{index}]: {class_names[int(y[index])]}")
        return cls(X[int(index)], **kwargs)

    # ---- validation -------------------------------------------------------------------

    @T.validate("translation")
    def _valid_translation(self, proposal):
        value = proposal["value"]
        if isinstance(value, tuple):
            return (_round(value[0]), _round(value[1]))
        return (_round(value), _round(value))

    @T.validate("zoom")
    def _valid_zoom(self, proposal):
        value = proposal["value"]
        if isinstance(value, tuple):
            lo, hi = _round(value[0]), _round(value[1])
            # (-f, f) is what Keras makes of f: keep the short form the code shows.
            return hi if lo == -hi and hi >= 0 else (lo, hi)
        return _round(value)

    @T.validate("rotation", "contrast")
    def _valid_factor(self, proposal):
        return _round(proposal["value"])

    @T.validate("flip")
    def _valid_flip(self, proposal):
        value = proposal["value"].strip().lower()
        return {"both": "horizontal_and_vertical", "": "none"}.get(value, value)

    @T.validate("seed")
    def _valid_seed(self, proposal):
        if not 0 <= proposal["value"] < 2**31 - 16:
            raise T.TraitError(f"seed must be between 0 and 2**31 - 17, got {proposal['value']}.")
        return proposal["value"]

    @T.validate("size")
    def _valid_size(self, proposal):
        if not 8 <= proposal["value"] <= 1024:
            raise T.TraitError(f"size must be between 8 and 1024 pixels, got {proposal['value']}.")
        return proposal["value"]

    # ---- reactions ----------------------------------------------------------------------

    @T.observe("photo", "size")
    def _photo_changed(self, change):
        self.original = None
        self._refresh()

    @T.observe("rotation", "translation", "zoom", "flip", "contrast", "fill_mode", "seed")
    def _setting_changed(self, change):
        self._refresh()

    def _from_control(self, name: str, value: object) -> None:
        if not self._busy:
            setattr(self, name, value)

    def _zoom_from_slider(self, value: tuple[float, float]) -> None:
        self._from_control("zoom", (float(value[0]), float(value[1])))

    def _shift_from_slider(self, axis: int, value: float) -> None:
        pair = list(self.translation)
        pair[axis] = float(value)
        self._from_control("translation", tuple(pair))

    # ---- the one recompute --------------------------------------------------------------

    def _settings(self) -> dict:
        return {
            "rotation": self.rotation,
            "translation": self.translation,
            "zoom": self.zoom,
            "flip": self.flip,
            "contrast": self.contrast,
            "fill_mode": self.fill_mode,
        }

    def _update(self) -> None:
        """Check the factors with core, draw the grid with the Keras layers, redraw the views."""
        if self.original is None:
            self.original = self._load()
            self._original_version += 1
        x = self.original
        self.labels = self._labels(x.shape[:2])
        self._sync_controls()
        settings = self._settings()
        try:
            self.specs = augmentation_specs(settings, seed=self.seed)
            self.descriptions = describe_augmentation(settings, size=x.shape[:2])
            self.code = augmentation_code(settings, size=x.shape[:2])
        except ValueError as err:
            self._show_error(str(err))
            return
        try:
            self.pipeline = self._pipeline_for(self.specs)
            batch = np.repeat(x[None], GRID_ROWS * GRID_COLUMNS, axis=0)
            # One call on a batch of 25 copies: each copy draws its own amounts.
            self.grid = np.asarray(self.pipeline(batch, training=True))
            self.inference = np.asarray(self.pipeline(x[None], training=False))[0]
        except Exception as err:  # Keras's own refusal, in its words
            self._show_error(f"Keras refused these settings: {err}")
            return
        self.message = ""
        self._draw()

    # ---- helpers of _update -------------------------------------------------------------

    def _load(self) -> np.ndarray:
        sized = (
            self._image is None
            or isinstance(self._image, str)
            or hasattr(self._image, "__fspath__")
        )
        x = load_picture(self._image, photo=self.photo, size=self.size if sized else None)
        source = None if sized else np.asarray(self._image)
        if source is not None and (source.ndim == 2 or source.shape[-1] == 1):
            x = x[:, :, :1]  # grayscale data stays one channel, as a model would see it
        return np.ascontiguousarray(x)

    def _pipeline_for(self, specs: list[dict]):
        """The Keras pipeline of ``specs``, its layers seeded afresh for this draw.

        Factors are constructor arguments, so new factors need new layers. A new
        seed (or picture) with the same factors reuses the layers and restarts their
        seed generators at the new seeds: the same numbers as new layers would draw,
        without paying the first call of new layers again (10-30 ms at 160 px here).
        """
        key = [{k: v for k, v in spec.items() if k != "seed"} for spec in specs]
        if self.pipeline is not None and key == self._pipeline_key:
            if not specs:  # the Identity pipeline draws nothing
                return self.pipeline
            try:
                for layer, spec in zip(self.pipeline.layers, specs, strict=True):
                    layer.seed = spec["seed"]
                    layer.generator.state.assign(np.array([spec["seed"], 0]))
                return self.pipeline
            except AttributeError:  # a Keras whose layers keep their seeds elsewhere
                pass
        self._pipeline_key = key
        return self._build_pipeline(specs)

    @staticmethod
    def _build_pipeline(specs: list[dict]):
        from .._keras import quiet_keras  # lazy: importing Keras takes seconds

        keras = quiet_keras()
        layers = [
            getattr(keras.layers, spec["layer"])(**{k: v for k, v in spec.items() if k != "layer"})
            for spec in specs
        ]
        return keras.Sequential(layers or [keras.layers.Identity()])

    def _labels(self, size: tuple[int, int]) -> dict[str, str]:
        def attempt(make) -> str:
            try:
                return make()
            except ValueError:
                return "not a valid factor"

        def rotation() -> str:
            lo, hi = rotation_degrees(self.rotation)
            return f"factor {self.rotation:.2f} = up to ±{hi:g}°"

        def shift(axis: int) -> str:
            r = translation_range(self.translation[axis], size[axis])
            return f"±{r.percent[1]:g} % = ±{r.pixels[1]:g} px"

        def zoom() -> str:
            z = zoom_range(self.zoom)
            (lo, hi), (s_lo, s_hi) = z.factor, z.scale
            parts = []
            if lo < 0:
                parts.append(f"− zooms in (up to ×{s_hi:.2f})")
            if hi > 0:
                parts.append(f"+ zooms out (down to ×{s_lo:.2f})")
            span = f"{100 * lo:+.0f} % to {100 * hi:+.0f} %"
            return f"{span}: " + ", ".join(parts) if parts else "no zoom"

        def flip() -> str:
            outcomes = flip_outcomes(self.flip)
            if len(outcomes) == 1:
                return "no flip"
            note = " (one coin for both flips)" if self.flip == "horizontal_and_vertical" else ""
            return f"half {outcomes[0]}, half {outcomes[1]}{note}"

        def contrast() -> str:
            lo, hi = contrast_range(self.contrast)
            return f"contrast ×{lo:.2f} to ×{hi:.2f} (Keras 3 never lowers it for one number)"

        return {
            "rotation": attempt(rotation),
            "height": attempt(lambda: shift(0)),
            "width": attempt(lambda: shift(1)),
            "zoom": attempt(zoom),
            "flip": attempt(flip),
            "contrast": attempt(contrast),
        }

    def _draw(self) -> None:
        x, grid = self.original, self.grid
        factor = fit_factor(x.shape, _TILE_TARGET)
        # The original changes only with the picture: encode it once.
        if self._stale("original", self._original_version):
            self._original_img.value = encode_png(upscale(_to_uint8(x), factor))
        tiles = _to_uint8(grid)
        if factor > 1:
            tiles = np.repeat(np.repeat(tiles, factor, axis=1), factor, axis=2)
            self._grid_img.value = png_live(_tile(tiles))
        else:  # a grid of photos: JPEG when big, so a saved notebook stays light
            show_live_photo(self._grid_img, _tile(tiles))
        h, w, c = x.shape
        title = html.escape(self._caption) if self._caption else "original"
        self._original_caption.value = f"<b>{title}</b><br>{h}×{w}×{c}"
        self._grid_caption.value = (
            f"<b>{len(grid)} draws</b> of <code>data_augmentation(images, training=True)</code>, "
            f"seed {self.seed}"
        )
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.descriptions)
        self._desc_html.value = f"<ul style='margin:4px 0'>{items}</ul>"
        unchanged = self.inference is not None and np.array_equal(self.inference, x)
        check = (
            "✓ <code>data_augmentation(image, training=False)</code> returned the picture "
            "unchanged."
            if unchanged
            else "✗ with <code>training=False</code> the picture came back changed."
        )
        self._note_html.value = f"{TRAINING_NOTE}<br>{check}"
        self._code_html.value = pre_html(self.code)
        self._message_html.value = ""
        self._show(error=False)

    def _show_error(self, text: str) -> None:
        self.message = text
        self.grid = self.inference = self.pipeline = None
        self.specs, self.descriptions, self.code = [], [], ""
        self._message_html.value = f'<span style="{ERROR_STYLE}">{html.escape(text)}</span>'
        self._show(error=True)

    def _show(self, *, error: bool) -> None:
        for widget in (self._grid_box, self._desc_html, self._code_html):
            widget.layout.display = "none" if error else None

    def _sync_controls(self) -> None:
        # Sliders show the traits when they can; a factor outside a slider's range is
        # left to the message instead of being clamped back into the trait.

        def show(control: W.Widget, value: object) -> None:
            lo, hi = control.min, control.max
            values = value if isinstance(value, tuple) else (value,)
            if all(lo <= v <= hi for v in values) and control.value != value:
                control.value = value

        show(self._rotation_slider, abs(self.rotation))
        show(self._height_slider, abs(self.translation[0]))
        show(self._width_slider, abs(self.translation[1]))
        zoom = self.zoom if isinstance(self.zoom, tuple) else (-abs(self.zoom), abs(self.zoom))
        show(self._zoom_slider, zoom)
        show(self._contrast_slider, self.contrast)
        if self.flip in dict(_FLIP_OPTIONS).values():
            self._flip_tb.value = self.flip
        if self.fill_mode in FILL_MODES:
            self._fill_dd.value = self.fill_mode
        if self._image is None:
            self._photo_dd.value = self.photo
        for name, label in self._label_html.items():
            label.value = f"<span style='font-size:12px'>{html.escape(self.labels[name])}</span>"

    # ---- controls -------------------------------------------------------------------------

    def _build_controls(self) -> None:
        wide = {"description_width": "110px"}

        def slider(description: str, lo: float, hi: float) -> W.FloatSlider:
            # Updating on release: a redraw takes about 0.1 s, too slow to follow a drag.
            return W.FloatSlider(
                min=lo,
                max=hi,
                step=0.01,
                description=description,
                continuous_update=False,
                readout_format=".2f",
                style=wide,
                layout=W.Layout(width="360px"),
            )

        self._photo_dd = W.Dropdown(description="photo", layout=W.Layout(width="240px"))
        self._reseed_btn = W.Button(description="new draw", icon="refresh")
        self._reseed_btn.on_click(lambda _: setattr(self, "seed", self.seed + 1))
        self._rotation_slider = slider("RandomRotation", 0.0, _ROTATION_MAX)
        self._height_slider = slider("shift height", 0.0, 1.0)
        self._width_slider = slider("shift width", 0.0, 1.0)
        self._zoom_slider = W.FloatRangeSlider(
            min=_ZOOM_MIN,
            max=1.0,
            step=0.01,
            description="RandomZoom",
            continuous_update=False,
            readout_format=".2f",
            style=wide,
            layout=W.Layout(width="360px"),
        )
        self._flip_tb = W.ToggleButtons(
            options=_FLIP_OPTIONS,
            description="RandomFlip",
            style={"button_width": "auto", **wide},
        )
        self._contrast_slider = slider("RandomContrast", 0.0, 1.0)
        self._fill_dd = W.Dropdown(
            options=list(FILL_MODES), description="fill_mode", layout=W.Layout(width="240px")
        )
        self._label_html = {
            name: W.HTML(layout=W.Layout(margin="0 0 0 8px"))
            for name in ("rotation", "height", "width", "zoom", "flip", "contrast")
        }
        rows = [
            row(control, self._label_html[name])
            for control, name in (
                (self._rotation_slider, "rotation"),
                (self._height_slider, "height"),
                (self._width_slider, "width"),
                (self._zoom_slider, "zoom"),
                (self._flip_tb, "flip"),
                (self._contrast_slider, "contrast"),
            )
        ]
        self._original_img, self._grid_img = image_panel(), image_panel()
        self._grid_img.layout = W.Layout(max_width="100%")
        self._original_caption, self._grid_caption = W.HTML(), W.HTML()
        self._grid_box = W.VBox([self._grid_caption, self._grid_img])
        pictures = W.HBox(
            [
                W.VBox(
                    [self._original_caption, self._original_img],
                    layout=W.Layout(margin="0 12px 0 0"),
                ),
                self._grid_box,
            ],
            layout=W.Layout(flex_flow="row wrap", align_items="flex-start"),
        )
        self._message_html, self._desc_html = W.HTML(), W.HTML()
        self._note_html, self._code_html = W.HTML(), W.HTML()
        self.children = [
            W.HTML(STYLE),
            row(self._photo_dd, self._fill_dd, self._reseed_btn),
            *rows,
            self._message_html,
            pictures,
            self._desc_html,
            self._code_html,
            self._note_html,
        ]

    def _link_controls(self) -> None:
        if self._image is None:
            from ..data import PHOTO_NAMES  # lazy: a data-set sample needs no photos

            self._photo_dd.options = list(PHOTO_NAMES)
            self._photo_dd.value = self.photo
            self._bind(self._photo_dd, "photo")
        else:
            self._photo_dd.options = [self._caption or _YOUR_IMAGE]
            self._photo_dd.disabled = True
        # One way, control → trait: _sync_controls shows the traits on the controls.
        self._rotation_slider.observe(lambda ch: self._from_control("rotation", ch["new"]), "value")
        self._height_slider.observe(lambda ch: self._shift_from_slider(0, ch["new"]), "value")
        self._width_slider.observe(lambda ch: self._shift_from_slider(1, ch["new"]), "value")
        self._zoom_slider.observe(lambda ch: self._zoom_from_slider(ch["new"]), "value")
        self._flip_tb.observe(lambda ch: self._from_control("flip", ch["new"]), "value")
        self._contrast_slider.observe(lambda ch: self._from_control("contrast", ch["new"]), "value")
        self._fill_dd.observe(lambda ch: self._from_control("fill_mode", ch["new"]), "value")
