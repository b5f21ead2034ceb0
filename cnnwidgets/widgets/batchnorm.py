"""Batch normalization: batch statistics while training, moving statistics at inference."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import traitlets as T

from ..core.batchnorm import batch_norm, batch_norm_params, batch_norm_run
from ._svg import histogram_svg, line_chart

__all__ = ["BatchNormWidget"]

_IN, _TRAIN, _INFER = "#6b7280", "#2563eb", "#b45309"
_MAX_STEPS = 500


class BatchNormWidget(W.VBox):
    """One channel of activations through ``BatchNormalization``, in training and at inference.

    Batches of values (one channel of a feature map, drawn from a distribution with
    ``data_mean`` and ``data_std``) go through the layer ``steps`` times in training:

    * **training** (inside ``fit``): each batch is normalized with **its own** mean and
      variance, then scaled by γ and shifted by β; the layer's moving mean and variance
      take a small step (``1 - momentum``) towards the batch's;
    * **inference** (``predict``, ``evaluate``): the **moving** statistics are used, so an
      image's output does not depend on the batch it comes in. Early in training they
      still lag behind the data, and the two modes disagree.

    γ and β are learned by gradient descent (trainable); the moving mean and variance
    are running averages (non-trainable). Every number comes from
    :func:`cnnwidgets.batch_norm` (checked against ``keras.layers.BatchNormalization``).

    Examples
    --------
    >>> w = BatchNormWidget(data_mean=5.0, data_std=2.0, momentum=0.99, steps=10)
    >>> round(float(w.training.output.mean()), 6), round(float(w.training.output.std()), 2)
    (0.0, 1.0)
    >>> round(float(w.moving_mean), 2)  # 10 steps of 1 % towards 5: still far from it
    0.47
    >>> w.steps = 500
    >>> round(float(w.moving_mean), 1), abs(round(float(w.inference.output.mean()), 1))
    (5.0, 0.0)
    """

    data_mean = T.Float(5.0, help="Mean of the activations arriving at the layer.")
    data_std = T.Float(2.0, help="Spread (standard deviation) of the arriving activations.")
    batch_size = T.Int(32, help="Values per training batch.")
    momentum = T.Float(0.99, help="How much of the old moving statistics each step keeps.")
    gamma = T.Float(1.0, help="γ, the learned scale.")
    beta = T.Float(0.0, help="β, the learned shift.")
    steps = T.Int(10, help="Training batches the layer has seen.")
    channels = T.Int(32, help="Channels of the feature map, for the parameter count.")
    seed = T.Int(0, help="Seed of the batches.")

    def __init__(self, **kwargs) -> None:
        self._ready = False
        super().__init__(**kwargs)
        style = {"description_width": "110px"}

        def slider(cls, name: str, lo, hi, step, text: str, fmt: str = ".2f"):
            control = cls(
                min=lo,
                max=hi,
                step=step,
                description=text,
                style=style,
                layout=W.Layout(width="330px"),
                **({"readout_format": fmt} if cls is W.FloatSlider else {}),
            )
            W.link((self, name), (control, "value"))
            return control

        controls = [
            slider(W.FloatSlider, "data_mean", -10, 10, 0.5, "data mean"),
            slider(W.FloatSlider, "data_std", 0.1, 5, 0.1, "data spread"),
            slider(W.IntSlider, "batch_size", 2, 128, 1, "batch size"),
            slider(W.FloatSlider, "momentum", 0.0, 0.999, 0.001, "momentum", ".3f"),
            slider(W.FloatSlider, "gamma", 0.1, 3, 0.1, "γ (scale)"),
            slider(W.FloatSlider, "beta", -3, 3, 0.1, "β (shift)"),
            slider(W.IntSlider, "steps", 1, _MAX_STEPS, 1, "training steps"),
        ]
        self._histograms, self._chart, self._facts = W.HTML(), W.HTML(), W.HTML()
        self.children = [
            W.HBox(controls, layout=W.Layout(flex_flow="row wrap")),
            self._histograms,
            W.HBox([self._chart, self._facts], layout=W.Layout(flex_flow="row wrap")),
        ]
        self._ready = True
        self._update()

    @T.validate("steps")
    def _valid_steps(self, proposal):
        return min(max(int(proposal["value"]), 1), _MAX_STEPS)

    @T.validate("batch_size", "channels")
    def _valid_counts(self, proposal):
        if proposal["value"] < 1:
            raise T.TraitError(f"{proposal['trait'].name} must be at least 1.")
        return proposal["value"]

    @T.validate("momentum")
    def _valid_momentum(self, proposal):
        if not 0 <= proposal["value"] <= 1:
            raise T.TraitError(f"momentum must be between 0 and 1, got {proposal['value']}.")
        return proposal["value"]

    @T.observe("data_mean", "data_std", "batch_size", "momentum", "gamma", "beta", "steps")
    @T.observe("channels", "seed")
    def _changed(self, change) -> None:
        self._update()

    def _update(self) -> None:
        if not self._ready:
            return
        rng = np.random.default_rng(self.seed)
        batches = [
            rng.normal(self.data_mean, self.data_std, size=(self.batch_size, 1))
            for _ in range(self.steps)
        ]
        self.history = batch_norm_run(batches, momentum=self.momentum)
        before = self.history[-2] if len(self.history) > 1 else None
        state = {
            "moving_mean": 0.0 if before is None else before.moving_mean,
            "moving_variance": 1.0 if before is None else before.moving_variance,
        }
        scale = {"gamma": self.gamma, "beta": self.beta}
        self.batch = batches[-1]
        self.training = batch_norm(
            self.batch, training=True, momentum=self.momentum, **scale, **state
        )
        last = self.history[-1]
        self.moving_mean = float(last.moving_mean[0])
        self.moving_variance = float(last.moving_variance[0])
        self.inference = batch_norm(
            self.batch,
            training=False,
            moving_mean=last.moving_mean,
            moving_variance=last.moving_variance,
            **scale,
        )
        # One value in two different batches: in training its output depends on its batch.
        other = batches[-2] if len(batches) > 1 else batches[-1] + self.data_std
        mixed = np.concatenate([self.batch[:1], other[1:]])
        self.same_value_outputs = (
            float(self.training.output[0, 0]),
            float(batch_norm(mixed, training=True, **scale, **state).output[0, 0]),
        )
        self.params = batch_norm_params(self.channels)
        self._render()

    def _render(self) -> None:
        spread = max(3 * self.data_std, 3 * self.gamma)
        lo = min(self.data_mean - spread, self.beta - spread, -4.0)
        hi = max(self.data_mean + spread, self.beta + spread, 4.0)
        bins = np.linspace(lo, hi, 41)
        self._histograms.value = (
            "<div style='display:flex;flex-wrap:wrap;gap:8px'>"
            + histogram_svg(
                self.batch,
                bins=bins,
                colour=_IN,
                title=f"last training batch: mean {float(self.batch.mean()):.2f}",
            )
            + histogram_svg(
                self.training.output,
                bins=bins,
                colour=_TRAIN,
                title="training output (batch statistics)",
                marks=[(self.beta, "#111", "β")],
            )
            + histogram_svg(
                self.inference.output,
                bins=bins,
                colour=_INFER,
                title="inference output (moving statistics)",
                marks=[(self.beta, "#111", "β")],
            )
            + "</div>"
        )
        means = [float(h.moving_mean[0]) for h in self.history]
        variances = [float(h.moving_variance[0]) for h in self.history]
        self._chart.value = line_chart(
            [(means, _TRAIN, "moving mean"), (variances, _INFER, "moving variance")],
            x_values=list(range(1, len(means) + 1)),
            x_label="training steps",
            hlines=[
                (self.data_mean, _TRAIN, "data mean"),
                (self.data_std**2, _INFER, "data variance"),
            ],
            width=360,
            height=200,
        )
        a, b = self.same_value_outputs
        p = self.params
        gap = float(self.inference.output.mean() - self.training.output.mean())
        self._facts.value = (
            "<div style='max-width:380px;padding-left:8px'>"
            f"<div>After {self.steps} steps the moving mean is <b>{self.moving_mean:.2f}</b> "
            f"(the data's is {self.data_mean:.2f}): each step keeps {self.momentum:.3f} of it. "
            f"Inference outputs sit <b>{gap:+.2f}</b> from the training ones on average.</div>"
            f"<div style='margin-top:6px'>In training, one value gave <b>{a:.3f}</b> in its batch "
            f"and <b>{b:.3f}</b> in another: its output depends on its neighbours. At inference "
            "it always gets the same.</div>"
            f"<div style='margin-top:6px'>On {self.channels} channels: γ and β, "
            f"<b>{p['trainable']}</b> trainable; moving mean and variance, "
            f"<b>{p['non_trainable']}</b> non-trainable; <b>{p['total']}</b> in "
            "<code>model.summary()</code>.</div></div>"
        )
