"""Kernel-side recompute time of the widgets: what one control change costs before display."""

from __future__ import annotations

import itertools

import numpy as np

from ._timing import line, repeat, summary


def _trait_change(name: str, widget, trait: str, values: list, target: str = "") -> str:
    # Setting a trait to its current value is a no-op, so alternate between values;
    # every assignment recomputes synchronously before it returns.
    cycle = itertools.cycle(values)
    times = repeat(lambda: setattr(widget, trait, next(cycle)), repeats=30)
    return line(name, summary(times), target)


def run() -> list[str]:
    from cnnwidgets.core import preset_kernel
    from cnnwidgets.widgets import (
        ArchitectureExplorer,
        ConvCalculator,
        KernelPlayground,
        PoolingExplorer,
    )

    rng = np.random.default_rng(0)
    dense_kernels = [rng.normal(size=(5, 5)).round(2).tolist() for _ in range(2)]
    presets = [preset_kernel(name, 5).tolist() for name in ("sharpen", "gaussian blur")]
    rows = []
    for size, mode, target in [
        (512, "colour", "target <= 15 ms"),
        (512, "grayscale", ""),
        (256, "colour", ""),
    ]:
        w = KernelPlayground(photo="astronaut", size=size, mode=mode, kernel_size=5)
        label = f"KernelPlayground kernel edit {size}x{size} {mode}, 5x5"
        rows.append(_trait_change(label, w, "kernel", dense_kernels, target))
    w = KernelPlayground(photo="astronaut", size=512, kernel_size=5)
    rows.append(_trait_change("KernelPlayground preset kernels 512x512", w, "kernel", presets))
    rows.append(_trait_change("KernelPlayground output position 512x512", w, "row", [10, 200]))

    calc = ConvCalculator()
    rows.append(_trait_change("ConvCalculator input size", calc, "input_size", [28, 31]))
    rows.append(_trait_change("ConvCalculator padding", calc, "padding", ["same", "valid"]))

    pool = PoolingExplorer(grid_size=7)
    rows.append(_trait_change("PoolingExplorer mode (grid)", pool, "mode", ["avg", "max"]))
    pool_photo = PoolingExplorer(source="photo", size=512)
    rows.append(
        _trait_change("PoolingExplorer pool size (512x512 photo)", pool_photo, "pool_size", [3, 2])
    )

    arch = ArchitectureExplorer.preset("cats_vs_dogs")
    stacks = []
    for filters in (64, 32):
        layers = list(arch.layers)
        layers[0] = dict(layers[0], filters=filters)
        stacks.append(layers)
    rows.append(
        _trait_change("ArchitectureExplorer filters edit (cats vs dogs)", arch, "layers", stacks)
    )
    return rows
