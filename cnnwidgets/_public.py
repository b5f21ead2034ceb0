"""The widgets' public names, listed once for the lazy top level and cnnwidgets.widgets."""

# Kept outside cnnwidgets.widgets so `import cnnwidgets` can list them without importing
# ipywidgets.
WIDGETS = (
    "ActivationExplorer",
    "ArchitectureExplorer",
    "AugmentationPreview",
    "BatchNormWidget",
    "ColourConvWidget",
    "ConfusionMatrixWidget",
    "ConvCalculator",
    "CurveComparison",
    "FeatureMapViewer",
    "KernelLearner",
    "KernelPlayground",
    "MistakesGallery",
    "PoolingExplorer",
    "Question",
    "ReceptiveFieldWidget",
    "SoftmaxWidget",
    "TrainingMonitor",
    "keras3_table",
    "show_image",
    "show_images",
)
