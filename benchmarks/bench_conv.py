"""The teaching conv2d against vectorised references (SciPy, TensorFlow) on a real photo."""

from __future__ import annotations

import numpy as np

from ._timing import line, repeat, summary


def run() -> list[str]:
    from scipy import ndimage

    import cnnwidgets
    from cnnwidgets.data import load_photo
    from cnnwidgets.keras_helpers import quiet_keras

    photo = load_photo("astronaut", size=512).astype(np.float32)
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(5, 5)).astype(np.float32)  # dense: no zero taps to skip

    ours = summary(repeat(lambda: cnnwidgets.conv2d(photo, kernel, padding="same")))
    scipy_ref = summary(
        repeat(lambda: ndimage.correlate(photo, kernel[:, :, None], mode="constant"))
    )
    tf = quiet_keras().ops
    depthwise = np.repeat(kernel[:, :, None, None], 3, axis=2)
    batch = photo[None]
    tf_ref = summary(
        repeat(lambda: np.asarray(tf.depthwise_conv(batch, depthwise, padding="same")))
    )
    return [
        line("conv2d 512x512x3, 5x5 kernel (cnnwidgets)", ours),
        line("  scipy.ndimage.correlate", scipy_ref),
        line("  TensorFlow depthwise_conv", tf_ref),
        f"  ratio cnnwidgets / scipy: {ours['median_ms'] / scipy_ref['median_ms']:.2f}x   "
        f"cnnwidgets / TensorFlow: {ours['median_ms'] / tf_ref['median_ms']:.2f}x",
    ]
