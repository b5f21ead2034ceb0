"""Recompute time of the training and evaluation widgets: augmentation, feature maps, confusion."""

from __future__ import annotations

import numpy as np

from ._timing import line, repeat, summary
from .bench_widgets import _trait_change


def _digits_cnn(keras, X, y):
    layers = keras.layers
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=X.shape[1:]),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, verbose=0)
    return model


def run() -> list[str]:
    from cnnwidgets.data import load_dataset
    from cnnwidgets.keras_helpers import quiet_keras
    from cnnwidgets.widgets import AugmentationPreview, ConfusionMatrixWidget, FeatureMapViewer

    keras = quiet_keras()
    rows = []

    preview = AugmentationPreview()  # chelsea at 160 px, the lecture's factors
    seeds = iter(range(1, 10_000))
    times = repeat(lambda: setattr(preview, "seed", next(seeds)), repeats=20)
    rows.append(line("AugmentationPreview 5x5 grid, new seed (25 draws, 160 px)", summary(times)))
    rows.append(
        _trait_change(
            "AugmentationPreview 5x5 grid, rotation change", preview, "rotation", [0.1, 0.2], ""
        )
    )

    X, y, names = load_dataset("digits")
    model = _digits_cnn(keras, X, y)
    viewer = FeatureMapViewer(model, X, y=y, labels=names)
    rows.append(
        _trait_change(
            "FeatureMapViewer layer switch (digits CNN)", viewer, "layer_name", viewer.layer_names
        )
    )
    fresh = iter(range(len(X)))
    times = repeat(lambda: setattr(viewer, "index", next(fresh)), repeats=30)
    rows.append(line("FeatureMapViewer new image (model call + redraw)", summary(times)))

    proba = np.asarray(model.predict(X, verbose=0))
    cm = ConfusionMatrixWidget.from_predictions(
        y, proba.argmax(1), labels=names, images=X, proba=proba
    )
    rows.append(
        _trait_change(
            "ConfusionMatrixWidget normalise toggle (10 classes)",
            cm,
            "normalize",
            ["true", "none", "pred"],
        )
    )
    rows.append(
        _trait_change(
            "ConfusionMatrixWidget cell click (images shown)",
            cm,
            "selected",
            [(1, 9), (5, 9), (9, 8), (2, 8), (3, 3)],
        )
    )
    editable = ConfusionMatrixWidget(np.eye(10, dtype=int).tolist(), editable=True)
    tables = [(np.eye(10, dtype=int) * k + 1).tolist() for k in (5, 6)]
    rows.append(
        _trait_change("ConfusionMatrixWidget count edit (editable 10x10)", editable, "cm", tables)
    )
    return rows
