"""Every widget in one scratch notebook, and a measure of its layout in the page.

Shared by tests/e2e/test_layout.py and by anyone who wants screenshots of the
widgets at JupyterLab's default width (`python -m tests.e2e._layout OUT_DIR`).

"Default width": a 1280 x 800 browser window with Lab as it first opens, its file
browser shown on the left; the notebook's output area is then about 900 px wide.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from . import _lab

ARTIFACTS = _lab.ARTIFACTS
VIEWPORT = {"width": 1280, "height": 800}
NOTEBOOK = "layout.ipynb"

# (name, cell code): one widget per cell, built as the lessons build them.
SETUP = """\
import numpy as np

from cnnwidgets._keras import quiet_keras
from cnnwidgets.data import load_dataset
from cnnwidgets.widgets import (
    ArchitectureExplorer, AugmentationPreview, ConfusionMatrixWidget, ConvCalculator,
    FeatureMapViewer, KernelPlayground, MistakesGallery, PoolingExplorer, Question,
    TrainingMonitor,
)

keras = quiet_keras()
X, y, class_names = load_dataset("digits", raw=True)
rng = np.random.default_rng(0)
wrong = rng.random(len(y)) < 0.15
y_pred = np.where(wrong, rng.integers(0, 10, len(y)), y)
proba = np.full((len(y), 10), 0.02)
proba[np.arange(len(y)), y_pred] = 0.82
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input((8, 8, 1)),
    keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_1"),
    keras.layers.MaxPooling2D(2, name="pool_1"),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
"""

WIDGETS = [
    ("KernelPlayground", 'KernelPlayground(photo="chelsea", kernel="vertical edges")'),
    ("KernelPlayground-numbers", 'KernelPlayground(np.arange(36).reshape(6, 6), mode="numbers")'),
    (
        "ConvCalculator",
        'ConvCalculator(input_size=7, kernel_size=3, strides=2, padding="valid")',
    ),
    ("ConvCalculator-same", 'ConvCalculator(input_size=28, kernel_size=7, padding="same")'),
    ("PoolingExplorer", "PoolingExplorer(grid_size=7)"),
    ("PoolingExplorer-photo", 'PoolingExplorer(source="photo")'),
    ("ArchitectureExplorer", 'ArchitectureExplorer.preset("cifar")'),
    (
        "TrainingMonitor",
        'TrainingMonitor.from_history({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], '
        '"accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.55, 0.7, 0.75]}, title="run")',
    ),
    (
        "ConfusionMatrixWidget",
        "ConfusionMatrixWidget.from_predictions(y, y_pred, labels=class_names, images=X, "
        "proba=proba)",
    ),
    (
        "ConfusionMatrixWidget-counts",
        "ConfusionMatrixWidget.from_counts(tp=10, fp=22, fn=8, tn=60)",
    ),
    (
        "MistakesGallery",
        "MistakesGallery.from_predictions(X, y, proba, labels=class_names, k=12, y_pred=y_pred)",
    ),
    (
        "AugmentationPreview",
        'AugmentationPreview(photo="chelsea", rotation=0.2, translation=0.1, zoom=0.2, '
        'flip="horizontal")',
    ),
    (
        "AugmentationPreview-faces",
        'AugmentationPreview.from_dataset("faces", index=3, rotation=0.05, translation=0.1, '
        'zoom=0.1, flip="horizontal")',
    ),
    ("FeatureMapViewer", "FeatureMapViewer(model, X[:20], y=y[:20], labels=class_names)"),
    ("Question", 'Question.from_bank("01-valid-size")'),
]


def write_notebook(folder: Path) -> Path:
    """The scratch notebook: a setup cell, then one widget per cell (cell k+1 = WIDGETS[k])."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [
        nbformat.v4.new_code_cell(code) for _, code in WIDGETS
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NOTEBOOK
    nbformat.write(nb, path)
    return path


def cell_of(name: str) -> int:
    return 1 + [n for n, _ in WIDGETS].index(name)


# In the page: what a learner would call cut off, squashed, truncated or doubly scrolled,
# for the widget under ``root`` (a cell's output area).
MEASURE = (Path(__file__).parent / "_layout.js").read_text()


def open_lab_at_default_width(context, server):
    """Lab as it first opens, file browser on the left, in a window of ``VIEWPORT``."""
    page = _lab.LabPage.open(context, server, slots=1)
    page.page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    return page


def screenshot(tab, output, path: Path) -> Path:
    """A picture of a whole cell output, however tall: the window grows to hold it (the
    width, and so the layout, stay as they are)."""
    page = tab.page
    size = page.viewport_size
    height = output.evaluate("(el) => el.getBoundingClientRect().height")
    page.set_viewport_size(
        {"width": size["width"], "height": int(min(max(size["height"], height + 240), 8000))}
    )
    try:
        output.scroll_into_view_if_needed()
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)))")
        path.parent.mkdir(parents=True, exist_ok=True)
        output.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path


def main(out: Path, pythonpath: str | None = None) -> None:
    """Screenshots of every widget at the default width, and the problems found, into ``out``."""
    from playwright.sync_api import sync_playwright

    from cnnwidgets.lab import WORK

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="layout-") as tmp:
        root = _lab.copy_course(Path(tmp) / "kit", git=False)
        write_notebook(root / WORK)
        env = {"PYTHONPATH": pythonpath} if pythonpath else {}
        server = _lab.LabServer(root, env=env).start()
        try:
            with sync_playwright() as pw:
                browser = _lab.launch_chromium(pw)
                context = browser.new_context(viewport=VIEWPORT)
                lab = open_lab_at_default_width(context, server)
                tab = lab.open_notebook(NOTEBOOK).wait_ready()
                tab.activate()
                tab.start_run_all()
                tab.wait_run(600)
                report = tab.inspect()
                lines = [f"errors: {report['errors']}", f"widget errors: {report['widgetErrors']}"]
                for name, _ in WIDGETS:
                    output = tab.output(cell_of(name))
                    output.scroll_into_view_if_needed()
                    tab.page.wait_for_timeout(300)
                    found = output.evaluate(MEASURE)
                    lines.append(f"== {name} (output {found['width']:.0f}px wide)")
                    lines += [f"  {p}" for p in found["problems"]]
                    screenshot(tab, output, out / f"{name}.png")
                browser.close()
        finally:
            server.cleanup()
    (out / "problems.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
