"""Your own images: a folder with one subfolder per class, as Keras reads it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .dataset import Dataset

__all__ = ["load_folder", "load_folder_arrays"]

# The extensions keras.utils.image_dataset_from_directory reads.
IMAGE_EXTENSIONS: tuple[str, ...] = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}


def load_folder(
    directory: str | os.PathLike,
    *,
    image_size: int | tuple[int, int] = (150, 150),
    batch_size: int = 32,
    validation_split: float | None = None,
    subset: str | None = None,
    seed: int = 0,
    color_mode: str = "rgb",
    label_mode: str = "int",
):
    """A ``tf.data.Dataset`` of ``(images, labels)`` batches from a folder of class folders.

    A thin wrapper over ``keras.utils.image_dataset_from_directory`` that checks the
    layout first and says what is wrong in one sentence. The expected layout::

        directory/
            cats/  cat001.jpg  cat002.jpg ...
            dogs/  dog001.jpg ...

    Class names are the subfolder names in alphabetical order (``cats`` is 0). Images
    are resized (stretched, not cropped) to ``image_size`` and come as ``float32`` in
    0..255, NOT scaled: put ``keras.layers.Rescaling(1 / 255)`` first in the model.

    Parameters
    ----------
    directory : str or path
        The folder holding one subfolder per class (hidden folders are skipped).
    image_size : int or (height, width)
        Size every image is resized to.
    batch_size : int or None
        Images per batch; ``None`` yields single images.
    validation_split : float, optional
        Fraction held out for validation. Given alone, both parts are returned as a
        pair ``(train_ds, val_ds)``, i.e. ``subset`` defaults to ``"both"``.
    subset : {"training", "validation", "both"}, optional
        Which part to return when ``validation_split`` is set.
    seed : int
        Shuffle and split seed; use the same one for both parts.
    color_mode : {"rgb", "grayscale", "rgba"}
        3, 1 or 4 channels.
    label_mode : {"int", "categorical", "binary"} or None
        Integer labels, one-hot rows, or ``float32`` 0/1 for two classes.

    Returns
    -------
    tf.data.Dataset or (tf.data.Dataset, tf.data.Dataset)
        With ``.class_names``. Batches ``(batch, height, width, channels)``.

    Examples
    --------
    >>> train_ds, val_ds = load_folder("cats_vs_dogs", validation_split=0.2)  # doctest: +SKIP
    >>> train_ds.class_names  # doctest: +SKIP
    ['cats', 'dogs']
    """
    _index(directory)  # the friendly checks; Keras then reads the same files
    if validation_split is not None and subset is None:
        subset = "both"
    if subset is not None and validation_split is None:
        raise ValueError(
            f"subset={subset!r} needs validation_split, the fraction to hold out (e.g. 0.2)."
        )
    from ..keras_helpers import quiet_keras

    keras = quiet_keras()
    return keras.utils.image_dataset_from_directory(
        os.fspath(directory),
        labels="inferred",
        label_mode=label_mode,
        color_mode=color_mode,
        batch_size=batch_size,
        image_size=_pair(image_size),
        shuffle=True,
        seed=seed,
        validation_split=validation_split,
        subset=subset,
    )


def load_folder_arrays(
    directory: str | os.PathLike,
    *,
    image_size: int | tuple[int, int] = (150, 150),
    color_mode: str = "rgb",
    raw: bool = False,
) -> Dataset:
    """Read a small folder of class folders into a `Dataset` of NumPy arrays.

    Same layout, class order and resizing (stretched to ``image_size``) as `load_folder`,
    but everything is read into memory at once with Pillow (no TensorFlow), which suits
    a few hundred images. Images come in class order, files sorted by path; shuffle with
    `split`.

    Parameters
    ----------
    directory : str or path
        The folder holding one subfolder per class.
    image_size : int or (height, width)
        Size every image is resized to (bilinear).
    color_mode : {"rgb", "grayscale", "rgba"}
        3, 1 or 4 channels.
    raw : bool
        ``False``: ``X`` ``float32`` in ``[0, 1]``; ``True``: ``uint8`` in 0..255.

    Returns
    -------
    Dataset
        ``X`` ``(n, height, width, channels)``, ``y`` ``int64``, ``class_names`` the
        subfolder names.

    Examples
    --------
    >>> X, y, class_names = load_folder_arrays("cats_vs_dogs", image_size=64)  # doctest: +SKIP
    """
    from PIL import Image

    if color_mode not in _COLOR_MODES:
        raise ValueError(
            f"color_mode must be one of {', '.join(map(repr, _COLOR_MODES))}, got {color_mode!r}."
        )
    class_names, files = _index(directory)
    height, width = _pair(image_size)
    images = []
    for path, _ in files:
        with Image.open(path) as opened:
            image = opened.convert(_COLOR_MODES[color_mode])
        images.append(np.asarray(image.resize((width, height), Image.Resampling.BILINEAR)))
    X = np.stack(images).reshape(len(files), height, width, -1)
    y = np.array([label for _, label in files], dtype=np.int64)
    return Dataset(X if raw else X.astype(np.float32) / np.float32(255), y, class_names)


def _index(directory: str | os.PathLike) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names and ``(file, label)`` pairs, as Keras would find them, or a clear error."""
    layout = "one subfolder per class, e.g. {0}/cats/*.jpg and {0}/dogs/*.jpg"
    root = Path(directory).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise ValueError(f"The folder {str(root)!r} {what}; expected {layout.format(root)}.")
    class_names = sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not class_names:
        raise ValueError(
            f"The folder {str(root)!r} has no class subfolders; expected {layout.format(root)}."
        )
    files = []
    for label, name in enumerate(class_names):
        for folder, _, names in sorted(os.walk(root / name), key=lambda walked: walked[0]):
            files += [
                (Path(folder) / f, label)
                for f in sorted(names)
                if f.lower().endswith(IMAGE_EXTENSIONS)
            ]
    if not files:
        raise ValueError(
            f"The class subfolders of {str(root)!r} ({', '.join(class_names)}) hold no "
            f"{'/'.join(e[1:] for e in IMAGE_EXTENSIONS)} images; expected {layout.format(root)}."
        )
    return class_names, files


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in pair):
        raise ValueError(
            f"image_size must be a positive int or a (height, width) pair, got {size!r}."
        )
    return int(pair[0]), int(pair[1])
