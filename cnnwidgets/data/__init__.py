"""Data sets: offline defaults, keras.datasets when online, photos, and your own folders."""

from .dataset import DATASET_NAMES, Dataset, load_dataset
from .folders import load_folder, load_folder_arrays
from .online import OfflineFallbackWarning
from .photos import PHOTO_NAMES, load_photo
from .split import split

__all__ = [
    "DATASET_NAMES",
    "PHOTO_NAMES",
    "Dataset",
    "OfflineFallbackWarning",
    "load_dataset",
    "load_folder",
    "load_folder_arrays",
    "load_photo",
    "split",
]
