"""ipywidgets views, one concept per module; they call cnnwidgets.core for every number."""

from .architecture import ArchitectureExplorer
from .augmentation import AugmentationPreview
from .calculator import ConvCalculator
from .confusion import ConfusionMatrixWidget
from .gallery import show_image, show_images
from .kernel import KernelPlayground
from .mistakes import MistakesGallery
from .pooling import PoolingExplorer
from .quiz import Question

__all__ = [
    "ArchitectureExplorer",
    "AugmentationPreview",
    "ConfusionMatrixWidget",
    "ConvCalculator",
    "KernelPlayground",
    "MistakesGallery",
    "PoolingExplorer",
    "Question",
    "show_image",
    "show_images",
]
