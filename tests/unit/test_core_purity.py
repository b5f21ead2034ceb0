"""cnnwidgets.core is pure NumPy: no widgets, no plotting, no Keras, no TensorFlow."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnnwidgets.core as core

FORBIDDEN = ("ipywidgets", "plotly", "keras", "tensorflow")
CORE_DIR = Path(core.__file__).parent
CORE_FILES = sorted(CORE_DIR.glob("*.py"))

# Import the core, use it, and report which forbidden packages got loaded on the way.
_PROBE = f"""
import json, sys
import numpy as np
import cnnwidgets.core as core
from cnnwidgets.core import conv2d, pool2d, stack_table, preset_kernel, to_rgb8
conv2d(np.ones((5, 5, 3)), preset_kernel("sharpen"), padding="same")
pool2d(np.ones((4, 4)), mode="avg")
stack_table((28, 28, 1), [{{"layer": "Conv2D", "filters": 8, "kernel_size": 3}}])
to_rgb8(np.zeros((2, 2)))
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {FORBIDDEN!r}
)
print(json.dumps({{"loaded": loaded, "numpy": "numpy" in sys.modules}}))
"""


def test_importing_and_using_the_core_loads_no_widget_plot_or_keras_package():
    env = {**os.environ, "PYTHONPATH": str(CORE_DIR.parent.parent)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["numpy"]
    assert report["loaded"] == [], f"cnnwidgets.core pulled in {report['loaded']}"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_core_modules_import_only_the_standard_library_numpy_and_each_other(path):
    # Checked in the source too, so a lazy import inside a function cannot sneak past.
    for level, name in _imported_modules(path):
        top = name.split(".")[0]
        if level == 1:  # from .sizes import ...: a sibling in core
            assert (CORE_DIR / f"{top}.py").exists() or top == "", (path.name, name)
        else:
            assert level == 0, f"{path.name} reaches outside core: {'.' * level}{name}"
            assert top == "numpy" or top in sys.stdlib_module_names, (path.name, name)


def test_public_functions_have_a_docstring_example():
    # House style: numpy-style docstrings with a tiny example on public functions.
    for name in core.__all__:
        obj = getattr(core, name)
        if inspect.isfunction(obj):
            assert obj.__doc__ and ">>>" in obj.__doc__, f"{name} has no example"
            assert "Examples\n" in inspect.getdoc(obj), f"{name} has no Examples section"
