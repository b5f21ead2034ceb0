"""ipywidgets views, one concept per module; they call cnnwidgets.core for every number."""

from .architecture import ArchitectureExplorer
from .augmentation import AugmentationPreview
from .calculator import ConvCalculator
from .confusion import ConfusionMatrixWidget
from .featuremaps import FeatureMapViewer
from .gallery import show_image, show_images
from .kernel import KernelPlayground
from .mistakes import MistakesGallery
from .pooling import PoolingExplorer
from .quiz import Question
from .training import TrainingMonitor

__all__ = [
    "ArchitectureExplorer",
    "AugmentationPreview",
    "ConfusionMatrixWidget",
    "ConvCalculator",
    "FeatureMapViewer",
    "KernelPlayground",
    "MistakesGallery",
    "PoolingExplorer",
    "Question",
    "TrainingMonitor",
    "show_image",
    "show_images",
]
