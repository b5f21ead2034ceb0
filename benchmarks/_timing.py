"""Small timing helpers shared by the benchmarks: medians and percentiles over repeats."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def repeat(fn: Callable[[], object], repeats: int = 30, warmup: int = 3) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then return ``repeats`` timings in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Median and 95th percentile of a list of milliseconds."""
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered), "p95_ms": p95, "n": len(ordered)}


def line(name: str, figures: dict[str, float], target: str = "") -> str:
    """One printed row: name, median, p95 and the target it is measured against."""
    text = f"{name:<52} median {figures['median_ms']:8.2f} ms   p95 {figures['p95_ms']:8.2f} ms"
    return f"{text}   {target}" if target else text
