"""The real image sets that ship with scikit-learn and scikit-image: digits and faces."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

__all__: list[str] = []  # internal: use cnnwidgets.data.load_dataset

DIGIT_NAMES: tuple[str, ...] = tuple(str(d) for d in range(10))
FACE_NAMES: tuple[str, ...] = ("non-face", "face")


def digits_uint8() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scikit-learn's 1,797 8x8 digits as ``uint8`` ``(1797, 8, 8, 1)`` in 0..255, labels, names."""
    images, labels = _digits_source()
    # 0..16 -> 0..255 so that every raw set in the kit is scaled by 1/255 the same way.
    X = np.rint(images * (255 / 16)).astype(np.uint8)[..., np.newaxis]
    return X, labels.astype(np.int64), list(DIGIT_NAMES)


def faces_uint8() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scikit-image's LFW subset, ``uint8`` ``(200, 25, 25, 1)``: 100 faces then 100 non-faces."""
    from skimage.data import lfw_subset

    images = lfw_subset()  # float64 in [0, 1], faces first
    X = np.rint(np.clip(images, 0, 1) * 255).astype(np.uint8)[..., np.newaxis]
    y = np.repeat(np.array([1, 0], dtype=np.int64), [100, len(images) - 100])
    return X, y, list(FACE_NAMES)


def _digits_source() -> tuple[np.ndarray, np.ndarray]:
    """The digits as ``(1797, 8, 8)`` values 0..16 and their labels.

    Importing ``sklearn.datasets`` takes about a second (it pulls in SciPy), so the CSV
    that ``load_digits`` itself reads is read directly when it is where it has always been.
    """
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    for root in (spec.submodule_search_locations or []) if spec else []:
        csv = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if csv.is_file():
            table = np.loadtxt(csv, delimiter=",")
            return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target.astype(np.int64)
