"""Model builders for the grading tests: the COURSE.md reference models, with changes."""

from __future__ import annotations


def mnist_layers(keras, **change):
    """The COURSE.md MNIST-style model's layers (220,234 parameters), with changes.

    ``change`` keys: padding, filters1, kernel1, strides1, pool1, units, head, hidden,
    drop (a layer index to leave out), extra (a layer to append).
    """
    L = keras.layers
    layers = [
        L.Conv2D(
            change.get("filters1", 32),
            change.get("kernel1", 3),
            strides=change.get("strides1", 1),
            padding=change.get("padding", "same"),
            activation="relu",
        ),
        L.MaxPooling2D(change.get("pool1", 2)),
        L.Conv2D(64, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(change.get("units", 64), activation=change.get("hidden", "relu")),
        L.Dense(10, activation=change.get("head", "softmax")),
    ]
    if "drop" in change:
        del layers[change["drop"]]
    if "extra" in change:
        layers.append(change["extra"])
    return layers


def mnist_model(keras, functional=False, input_shape=(28, 28, 1), **change):
    layers = mnist_layers(keras, **change)
    if not functional:
        return keras.Sequential([keras.Input(input_shape), *layers])
    x = inputs = keras.Input(input_shape)
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


def cifar_model(keras, rate1=0.3, rate2=0.4, units=500):
    """COURSE.md's CIFAR-style model of source 004: 528,054 parameters."""
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            L.Conv2D(16, 2, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(32, 2, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(64, 2, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.Dropout(rate1),
            L.Flatten(),
            L.Dense(units, activation="relu"),
            L.Dropout(rate2),
            L.Dense(10, activation="softmax"),
        ]
    )
