"""Learning a kernel: gradient descent turns random numbers into a filter nobody typed."""

from __future__ import annotations

import html
import math

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.conv import conv2d
from ..core.display import diverging_rgb, to_grayscale, to_rgb8
from ..core.gradients import kernel_loss_gradient, max_stable_learning_rate, standardize
from ..core.kernels import KERNEL_PRESETS, preset_kernel
from ._common import STYLE, image_panel, load_picture, matrix_html, png_live
from ._png import upscale
from ._svg import line_chart

__all__ = ["KernelLearner"]

_TARGETS = tuple(name for name in KERNEL_PRESETS if name != "identity")
_MAX_STEPS = 1000
_BLOW_UP = 1e12  # a loss this far above the start: the steps have diverged
_LOSS_COLOUR, _LIMIT_COLOUR = "#2563eb", "#b42318"
_PANEL = 128


class KernelLearner(W.VBox):
    """Watch gradient descent learn a 3x3 kernel that reproduces a filter's output on a photo.

    The kernel starts as random numbers. The loss is the mean squared difference
    between what it makes of the photo and what the target filter (a Sobel edge
    detector, by default) makes of it. Each step moves every weight against its
    gradient, ``kernel -= learning_rate · dL/dkernel``: the gradient is computed in
    NumPy by :func:`cnnwidgets.kernel_loss_gradient` (the kit's tests check it against
    ``tf.GradientTape``). Step once, ten at a time, or press play.

    Parameters
    ----------
    image : array or path, optional
        Your own picture; by default the sample photo ``photo``, shrunk to ``size``.
        It is made grayscale and standardized (mean 0, spread 1).
    photo : str
    size : int
        Side of the photo in pixels (32 by default: fast, and enough structure).
    target : str
        The filter to reproduce, a name from ``KERNEL_PRESETS``.
    learning_rate : float
    seed : int
        Seeds the random starting kernel.

    Attributes
    ----------
    kernel, gradient : ndarray (3, 3)
        The kernel after ``step`` steps, and the loss's gradient there.
    losses : list of float
        The loss before each step and after the last (``step + 1`` values).
    max_learning_rate : float
        Above this rate the steps overshoot and the loss explodes
        (:func:`cnnwidgets.max_stable_learning_rate`).
    diverged : bool
        The loss blew up (or overflowed) before reaching ``step``.

    Examples
    --------
    >>> w = KernelLearner(target="vertical edges", learning_rate=0.1)
    >>> w.step = 150
    >>> bool(w.losses[-1] < 1e-3 * w.losses[0]), bool(abs(w.kernel - w.target_kernel).max() < 0.05)
    (True, True)
    """

    photo = T.Unicode("chelsea", help="Sample photo (cnnwidgets.data.PHOTO_NAMES).")
    size = T.Int(32, help="Side of the photo in pixels.")
    target = T.Unicode("vertical edges", help="The filter to learn, a name from KERNEL_PRESETS.")
    learning_rate = T.Float(0.1, help="Size of each step: kernel -= learning_rate * gradient.")
    step = T.Int(0, help="Steps of gradient descent taken from the random start.")
    seed = T.Int(0, help="Seed of the random starting kernel.")

    def __init__(
        self,
        image: object = None,
        *,
        photo: str = "chelsea",
        size: int = 32,
        target: str = "vertical edges",
        learning_rate: float = 0.1,
        seed: int = 0,
        step: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._image = image
        self._ready = False
        self._key: tuple | None = None
        self._picture_key: tuple | None = None
        self._kernels: list[np.ndarray] = []
        self._losses: list[float] = []
        self._gradients: list[np.ndarray] = []
        self.message = ""
        self._build()
        self.photo, self.size, self.target = photo, size, target
        self.learning_rate, self.seed, self.step = learning_rate, seed, step
        self._ready = True
        self._update()

    # ---- validation -----------------------------------------------------------------------

    @T.validate("target")
    def _valid_target(self, proposal):
        if proposal["value"] not in _TARGETS:
            raise T.TraitError(
                f"Unknown target {proposal['value']!r}; choose one of {', '.join(_TARGETS)}."
            )
        return proposal["value"]

    @T.validate("learning_rate")
    def _valid_rate(self, proposal):
        value = float(proposal["value"])
        if not 0 < value <= 10:
            raise T.TraitError(f"learning_rate must be above 0 and at most 10, got {value}.")
        return value

    @T.validate("step")
    def _valid_step(self, proposal):
        return min(max(int(proposal["value"]), 0), _MAX_STEPS)

    @T.validate("size")
    def _valid_size(self, proposal):
        if not 8 <= proposal["value"] <= 128:
            raise T.TraitError(f"size must be between 8 and 128, got {proposal['value']}.")
        return proposal["value"]

    @T.observe("photo", "size", "target", "learning_rate", "step", "seed")
    def _changed(self, change) -> None:
        self._update()

    # ---- controls ---------------------------------------------------------------------------

    def _build(self) -> None:
        style = {"description_width": "100px"}
        self._target_dd = W.Dropdown(
            options=list(_TARGETS), description="target filter", style=style
        )
        self._rate = W.FloatLogSlider(
            min=-3,
            max=0,
            step=0.05,
            description="learning rate",
            readout_format=".3f",
            style=style,
            layout=W.Layout(width="360px"),
        )
        self._play = W.Play(min=0, max=_MAX_STEPS, interval=120, description="play")
        self._one = W.Button(description="1 step", layout=W.Layout(width="80px"))
        self._ten = W.Button(description="10 steps", layout=W.Layout(width="90px"))
        self._reset = W.Button(description="back to start", layout=W.Layout(width="120px"))
        self._new = W.Button(description="new random start", layout=W.Layout(width="150px"))
        self._one.on_click(lambda _: setattr(self, "step", self.step + 1))
        self._ten.on_click(lambda _: setattr(self, "step", self.step + 10))
        self._reset.on_click(lambda _: setattr(self, "step", 0))
        self._new.on_click(self._new_start)
        W.link((self, "target"), (self._target_dd, "value"))
        W.link((self, "learning_rate"), (self._rate, "value"))
        W.link((self, "step"), (self._play, "value"))

        self._images = [image_panel() for _ in range(3)]
        self._captions = [W.HTML() for _ in range(3)]
        self._matrices = W.HTML()
        self._chart = W.HTML()
        self._status = W.HTML()
        pictures = W.HBox(
            [
                W.VBox([cap, img], layout=W.Layout(margin="0 8px 0 0"))
                for cap, img in zip(self._captions, self._images, strict=True)
            ]
        )
        self.children = [
            W.HTML(STYLE),
            W.HBox([self._target_dd, self._rate], layout=W.Layout(flex_flow="row wrap")),
            W.HBox(
                [self._play, self._one, self._ten, self._reset, self._new],
                layout=W.Layout(flex_flow="row wrap"),
            ),
            self._status,
            pictures,
            W.HBox([self._matrices, self._chart], layout=W.Layout(flex_flow="row wrap")),
        ]

    def _new_start(self, _button) -> None:
        with self.hold_trait_notifications():
            self.seed += 1
            self.step = 0

    # ---- the one recompute ------------------------------------------------------------------

    def _picture(self) -> None:
        key = (self.photo, self.size)
        if self._picture_key == key:
            return
        rgb = load_picture(self._image, photo=self.photo, size=self.size)
        self.image = standardize(to_grayscale(rgb)).astype(np.float64)
        self._picture_key = key

    def _update(self) -> None:
        """Descend from the random start to ``step`` (reusing the steps already taken)."""
        if not self._ready:
            return
        self._picture()
        self.target_kernel = preset_kernel(self.target, 3)
        self.target_output = conv2d(self.image, self.target_kernel)
        key = (self._picture_key, self.target, self.learning_rate, self.seed)
        if key != self._key or self.step < len(self._kernels) - 1:
            start = np.random.default_rng(self.seed).normal(scale=0.5, size=(3, 3))
            loss, grad = kernel_loss_gradient(self.image, start, self.target_output)
            self._kernels, self._losses, self._gradients = [start], [loss], [grad]
            self._key = key
            self.max_learning_rate = max_stable_learning_rate(self.image, 3)
        self.diverged = False
        with np.errstate(over="ignore", invalid="ignore"):
            while len(self._kernels) - 1 < self.step:
                loss = self._losses[-1]
                if not math.isfinite(loss) or loss > _BLOW_UP * max(self._losses[0], 1e-12):
                    self.diverged = True
                    break
                k = self._kernels[-1] - self.learning_rate * self._gradients[-1]
                loss, grad = kernel_loss_gradient(self.image, k, self.target_output)
                self._kernels.append(k)
                self._losses.append(loss)
                self._gradients.append(grad)
            if self._losses and not math.isfinite(self._losses[-1]):
                self.diverged = True
        self.kernel = self._kernels[-1]
        self.gradient = self._gradients[-1]
        self.losses = list(self._losses)
        self.taken = len(self._kernels) - 1
        with np.errstate(over="ignore", invalid="ignore"):
            self.output = conv2d(self.image, self.kernel)
        self._render()

    # ---- drawing ------------------------------------------------------------------------------

    def _render(self) -> None:
        limit = float(np.abs(self.target_output).max()) or 1.0
        factor = max(1, _PANEL // self.image.shape[0])
        out = np.nan_to_num(self.output, nan=0.0, posinf=limit, neginf=-limit)
        pictures = (
            to_rgb8(self.image),
            diverging_rgb(self.target_output, limit),
            diverging_rgb(out, limit),
        )
        key = (self._picture_key, self.target, self.taken, self.learning_rate, self.seed)
        if key != getattr(self, "_drawn", None):
            for panel, pixels in zip(self._images, pictures, strict=True):
                panel.value = png_live(upscale(pixels, factor))
            self._drawn = key
        shape = "×".join(map(str, self.target_output.shape))
        self._captions[0].value = "<b>input</b> (standardized)"
        self._captions[1].value = f"<b>target</b>: {html.escape(self.target)} {shape}"
        self._captions[2].value = f"<b>your kernel's output</b> after {self.taken} steps"

        def grid(title: str, values: np.ndarray) -> str:
            shown = np.nan_to_num(values, nan=0.0, posinf=9e99, neginf=-9e99)
            return f"<div style='margin-right:12px'><b>{title}</b>{matrix_html(shown)}</div>"

        self._matrices.value = (
            "<div style='display:flex;flex-wrap:wrap'>"
            + grid("learned kernel", self.kernel)
            + grid("gradient dL/dw of each weight", self.gradient)
            + grid("target kernel", self.target_kernel)
            + "</div>"
        )
        finite = [v for v in self.losses if math.isfinite(v) and v > 0]
        self._chart.value = line_chart(
            [(self.losses, _LOSS_COLOUR, "loss (mean squared error)")],
            log_y=bool(finite),
            x_label="step",
            width=340,
            height=190,
        )
        loss = self.losses[-1]
        limit_text = (
            f"rates above <b>{self.max_learning_rate:.3g}</b> overshoot and diverge on this photo"
        )
        if self.diverged:
            verdict = (
                f"<span style='color:{_LIMIT_COLOUR}'>✘ The loss exploded: learning rate "
                f"{self.learning_rate:.3g} is too large ({limit_text}).</span>"
            )
        elif self.taken and loss < 1e-3 * self.losses[0]:
            verdict = (
                "<span style='color:#1a7f37'>✔ The output matches the target: the kernel has "
                "become the filter, though nobody typed its numbers.</span>"
            )
        else:
            verdict = f"Every step moves each weight against its gradient; {limit_text}."
        self.message = verdict
        self._status.value = (
            f"<div>step <b>{self.taken}</b> · loss <b>{loss:.4g}</b> · learning rate "
            f"{self.learning_rate:.3g}</div><div>{verdict}</div>"
        )
