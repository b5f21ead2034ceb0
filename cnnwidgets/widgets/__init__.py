"""ipywidgets views, one concept per module; they call cnnwidgets.core for every number."""

# The public names are listed once, in cnnwidgets._public.WIDGETS (the lazy top level
# reads them too); the imports below provide them.
# ruff: noqa: F401

from .._public import WIDGETS
from .activations import ActivationExplorer, SoftmaxWidget
from .architecture import ArchitectureExplorer
from .augmentation import AugmentationPreview
from .batchnorm import BatchNormWidget
from .calculator import ConvCalculator
from .colour import ColourConvWidget
from .confusion import ConfusionMatrixWidget
from .featuremaps import FeatureMapViewer
from .gallery import show_image, show_images
from .kernel import KernelPlayground
from .learning import KernelLearner
from .legacy import keras3_table
from .mistakes import MistakesGallery
from .pooling import PoolingExplorer
from .quiz import Question
from .receptive import ReceptiveFieldWidget
from .sweep import CurveComparison
from .training import TrainingMonitor

__all__ = list(WIDGETS)
