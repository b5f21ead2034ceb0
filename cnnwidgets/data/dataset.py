"""The `Dataset` triple and `load_dataset`, the one entry point to every named image set."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from . import offline, online
from .shapes import SHAPE_NAMES, shapes_uint8

__all__ = ["DATASET_NAMES", "Dataset", "load_dataset"]

OFFLINE_NAMES: tuple[str, ...] = ("digits", "faces", "shapes")
DATASET_NAMES: tuple[str, ...] = (*OFFLINE_NAMES, *online.ONLINE_NAMES)

_SHAPES_DEFAULT_N = 1200


class Dataset(NamedTuple):
    """Images, labels and class names: ``X, y, class_names = load_dataset("digits")``.

    Attributes
    ----------
    X : numpy.ndarray
        Images shaped ``(n, height, width, channels)``; the channel axis is always
        there, even for grayscale (``channels == 1``).
    y : numpy.ndarray
        ``int64`` labels ``0 .. num_classes - 1``, shaped ``(n,)``.
    class_names : list of str
        ``class_names[k]`` names label ``k``.

    Examples
    --------
    >>> data = Dataset(np.zeros((2, 8, 8, 1), np.float32), np.array([0, 1]), ["a", "b"])
    >>> data.input_shape, data.num_classes
    ((8, 8, 1), 2)
    """

    X: np.ndarray
    y: np.ndarray
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one image, ``X.shape[1:]``: what ``keras.Input(shape=...)`` wants."""
        return tuple(int(s) for s in self.X.shape[1:])

    def __repr__(self) -> str:
        # The default repr would print pixel values; a notebook wants the shapes.
        names = self.class_names
        shown = names if len(names) <= 10 else [*names[:4], "...", *names[-2:]]
        return (
            f"Dataset(X: {self.X.dtype} {self.X.shape}, y: {self.y.dtype} {self.y.shape}, "
            f"class_names: {shown})"
        )


def load_dataset(name: str, *, raw: bool = False, seed: int = 0, n: int | None = None) -> Dataset:
    """Load a named image data set as a `Dataset` ``(X, y, class_names)``.

    Offline sets (ship with the kit's dependencies, load in well under a second):

    - ``"digits"``: 1,797 real handwritten digits from scikit-learn, ``(n, 8, 8, 1)``,
      classes ``"0"`` .. ``"9"``. The source has 17 gray levels (0..16); they are
      mapped to 0..255 as ``round(v * 255 / 16)``.
    - ``"faces"``: 200 gray ``(n, 25, 25, 1)`` crops from scikit-image's LFW subset,
      100 faces (``y == 1``) and 100 non-face backgrounds (``y == 0``);
      ``class_names == ["non-face", "face"]``. The source sorts them by class, so they
      are shuffled (from ``seed``) for Keras's ``validation_split=`` to see both.
    - ``"shapes"``: generated colour images ``(n, 32, 32, 3)``, classes ``["circle",
      "square", "triangle", "cross"]``: one light shape of random colour, size, position
      and rotation on a dark, noisy background of random colour; ``n`` defaults to
      1,200, classes are balanced, the same seed gives the same images.

    Online sets (``keras.datasets``; downloaded once into Keras's cache, ``~/.keras``):
    ``"mnist"`` ``(70000, 28, 28, 1)``, ``"fashion_mnist"`` ``(70000, 28, 28, 1)``,
    ``"cifar10"`` ``(60000, 32, 32, 3)``. They return Keras's training images followed by
    its test images (so ``X[:60000]`` is MNIST's official training part); use `split`.
    If the download is impossible (or ``CNNWIDGETS_OFFLINE=1`` is set), one
    `OfflineFallbackWarning` says so and the offline stand-in is returned instead:
    ``"digits"`` for MNIST and Fashion-MNIST, ``"shapes"`` for CIFAR-10. Code that reads
    shapes from ``X.shape[1:]`` (or ``input_shape``) and ``len(class_names)`` runs on both.

    Parameters
    ----------
    name : str
        One of `DATASET_NAMES` (case and ``-``/``_`` do not matter).
    raw : bool
        ``False`` (default): ``X`` is ``float32`` in ``[0, 1]``. ``True``: ``X`` is
        ``uint8`` in ``0..255``, as stored. Always ``X_float == X_raw / 255``.
    seed : int
        Seeds the shapes generator, the faces shuffle and the ``n`` subsample.
    n : int, optional
        For ``"shapes"``, how many images to generate (default 1,200). For the other
        sets, keep at most ``n`` images: a random subset (from ``seed``) in source order.

    Returns
    -------
    Dataset
        ``X`` ``(n, H, W, C)``, ``y`` ``int64`` ``(n,)``, ``class_names`` list of str.

    Examples
    --------
    >>> X, y, class_names = load_dataset("digits")
    >>> X.shape, X.dtype, class_names[:3]
    ((1797, 8, 8, 1), dtype('float32'), ['0', '1', '2'])
    """
    key = _normalise(name)
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"n must be a positive number of images, got {n!r}.")
    if key in online.ONLINE_NAMES:
        loaded = online.keras_uint8(key)
        if isinstance(loaded, str):
            stand_in = online.FALLBACKS[key]
            if stand_in == "shapes":
                size = _SHAPES_DEFAULT_N if n is None else n
                what = f"{size:,} generated 32x32 colour shapes"
            elif n is not None and n < 1797:
                what = f"{n:,} of its 1,797 8x8 images"
            else:
                what = "1,797 8x8 images"
            warnings.warn(
                f"{online.TITLES[key]} {loaded}; using the offline {stand_in} set ({what}) "
                "instead.",
                online.OfflineFallbackWarning,
                stacklevel=2,
            )
            return load_dataset(stand_in, raw=raw, seed=seed, n=n)
        X, y, class_names = loaded
    elif key == "digits":
        X, y, class_names = offline.digits_uint8()
    elif key == "faces":
        X, y, class_names = offline.faces_uint8()
        order = np.random.default_rng(seed).permutation(len(y))
        X, y = X[order], y[order]
    elif key == "shapes":
        size = _SHAPES_DEFAULT_N if n is None else n
        X, y = shapes_uint8(size, seed=seed)
        class_names, n = list(SHAPE_NAMES), None
    else:
        raise ValueError(f"Unknown data set {name!r}; choose one of: {', '.join(DATASET_NAMES)}.")
    if n is not None and n < len(y):
        keep = np.sort(np.random.default_rng(seed).choice(len(y), size=n, replace=False))
        X, y = X[keep], y[keep]
    X = X if raw else X.astype(np.float32) / np.float32(255)
    return Dataset(X, y.astype(np.int64), list(class_names))


def _normalise(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str such as 'digits', got {type(name).__name__}.")
    key = name.strip().lower().replace("-", "_")
    return {"fashionmnist": "fashion_mnist", "cifar_10": "cifar10"}.get(key, key)
