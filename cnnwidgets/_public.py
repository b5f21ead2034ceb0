"""The widgets' public names, listed once for the lazy top level and cnnwidgets.widgets."""

# Kept outside cnnwidgets.widgets so `import cnnwidgets` can list them without importing
# ipywidgets.
WIDGETS = (
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
)
