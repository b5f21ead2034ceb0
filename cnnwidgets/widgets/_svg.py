"""Small inline SVG charts (lines, bars, histograms): a few kilobytes, no JavaScript."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

_AXIS = "#6b7280"
_GRID = "#e5e7eb"


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.3g}"


def line_chart(
    series: Sequence[tuple[Sequence[float], str, str]],
    *,
    width: int = 320,
    height: int = 180,
    log_y: bool = False,
    x_label: str = "",
    y_label: str = "",
    x_values: Sequence[float] | None = None,
    y_range: tuple[float, float] | None = None,
    hlines: Sequence[tuple[float, str, str]] = (),
    vlines: Sequence[tuple[float, str, str]] = (),
) -> str:
    """An SVG with one polyline per ``(values, colour, label)``; non-finite points are skipped.

    ``x_values`` are shared by every series (default 0, 1, 2, ...); ``hlines`` and
    ``vlines`` are ``(position, colour, label)`` reference lines.
    """
    left, right, top, bottom = 46, 10, 10, 34
    pw, ph = width - left - right, height - top - bottom
    finite: list[float] = []
    for values, _, _ in series:
        finite += [float(v) for v in values if v is not None and math.isfinite(v)]
    finite += [h for h, _, _ in hlines]
    if log_y:
        finite = [v for v in finite if v > 0]
    if y_range is not None:
        lo, hi = y_range
    elif finite:
        lo, hi = min(finite), max(finite)
    else:
        lo, hi = (0.1, 1.0) if log_y else (0.0, 1.0)
    if log_y:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n = max((len(values) for values, _, _ in series), default=1)
    xs = list(x_values) if x_values is not None else list(range(n))
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi - x_lo < 1e-12:
        x_hi = x_lo + 1

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        v = math.log10(y) if log_y else y
        v = min(max(v, lo), hi)
        return top + (hi - v) / (hi - lo) * ph

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        "style='font:11px sans-serif;background:#fff'>",
        f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='{_GRID}'/>",
    ]
    for frac in (0.0, 0.5, 1.0):
        v = lo + frac * (hi - lo)
        label = _fmt(10**v if log_y else v)
        y = top + (1 - frac) * ph
        parts.append(
            f"<line x1='{left}' x2='{left + pw}' y1='{y:.1f}' y2='{y:.1f}' stroke='{_GRID}'/>"
            f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' fill='{_AXIS}'>{label}</text>"
        )
    for x in (x_lo, x_hi):
        parts.append(
            f"<text x='{px(x):.1f}' y='{top + ph + 13}' text-anchor='middle' "
            f"fill='{_AXIS}'>{_fmt(x)}</text>"
        )
    if x_label:
        parts.append(
            f"<text x='{left + pw / 2:.1f}' y='{height - 4}' text-anchor='middle' "
            f"fill='{_AXIS}'>{html.escape(x_label)}</text>"
        )
    if y_label:
        parts.append(
            f"<text x='11' y='{top + ph / 2:.1f}' text-anchor='middle' fill='{_AXIS}' "
            f"transform='rotate(-90 11 {top + ph / 2:.1f})'>{html.escape(y_label)}</text>"
        )
    for value, colour, label in hlines:
        if log_y and value <= 0:
            continue
        y = py(value)
        parts.append(
            f"<line x1='{left}' x2='{left + pw}' y1='{y:.1f}' y2='{y:.1f}' stroke='{colour}' "
            f"stroke-dasharray='4 3'/><text x='{left + pw - 2}' y='{y - 3:.1f}' "
            f"text-anchor='end' fill='{colour}'>{html.escape(label)}</text>"
        )
    for value, colour, label in vlines:
        x = px(value)
        parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{top + ph}' stroke='{colour}' "
            f"stroke-dasharray='4 3'/><text x='{x + 3:.1f}' y='{top + 11}' "
            f"fill='{colour}'>{html.escape(label)}</text>"
        )
    legend_x = left + 6
    for values, colour, label in series:
        points = [
            f"{px(x):.1f},{py(float(v)):.1f}"
            for x, v in zip(xs, values, strict=False)
            if v is not None and math.isfinite(v) and (not log_y or v > 0)
        ]
        if len(points) == 1:
            x, y = points[0].split(",")
            parts.append(f"<circle cx='{x}' cy='{y}' r='2.5' fill='{colour}'/>")
        elif points:
            parts.append(
                f"<polyline fill='none' stroke='{colour}' stroke-width='2' "
                f"points='{' '.join(points)}'/>"
            )
        if label:
            parts.append(
                f"<text x='{legend_x}' y='{top + 12}' fill='{colour}'>{html.escape(label)}</text>"
            )
            legend_x += 7 * len(label) + 14
    parts.append("</svg>")
    return "".join(parts)


def bars_html(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    colours: Sequence[str] | None = None,
    top: float = 1.0,
    fmt: str = "{:.3f}",
    width: int = 200,
) -> str:
    """Horizontal CSS bars, one row per label, scaled so ``top`` fills the bar."""
    rows = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        colour = colours[i] if colours is not None else "#2563eb"
        share = 0.0 if top <= 0 else min(max(value / top, 0.0), 1.0)
        rows.append(
            "<tr>"
            f"<td style='padding:1px 6px;text-align:right'>{html.escape(str(label))}</td>"
            f"<td style='padding:1px 4px'><div style='width:{width}px;height:12px;"
            f"background:#eef2ff'><div style='width:{100 * share:.1f}%;height:12px;"
            f"background:{colour}'></div></div></td>"
            f"<td style='padding:1px 6px;font-family:monospace'>{fmt.format(value)}</td></tr>"
        )
    return f"<table style='border-collapse:collapse;font-size:13px'>{''.join(rows)}</table>"


def histogram_svg(
    values: np.ndarray,
    *,
    bins: np.ndarray,
    colour: str,
    width: int = 300,
    height: int = 120,
    title: str = "",
    marks: Sequence[tuple[float, str, str]] = (),
) -> str:
    """An SVG histogram of ``values`` over fixed ``bins`` (so two histograms compare)."""
    counts, edges = np.histogram(np.asarray(values).ravel(), bins=bins)
    left, right, top, bottom = 8, 8, 16, 18
    pw, ph = width - left - right, height - top - bottom
    peak = max(int(counts.max()), 1)
    lo, hi = float(edges[0]), float(edges[-1])

    def px(x: float) -> float:
        return left + (min(max(x, lo), hi) - lo) / (hi - lo) * pw

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        "style='font:11px sans-serif;background:#fff'>",
        f"<text x='{left}' y='11' fill='#111'>{html.escape(title)}</text>",
    ]
    for count, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        h = ph * count / peak
        parts.append(
            f"<rect x='{px(a):.1f}' y='{top + ph - h:.1f}' width='{max(px(b) - px(a) - 1, 1):.1f}' "
            f"height='{h:.1f}' fill='{colour}'/>"
        )
    for x in (lo, 0.0, hi):
        if lo <= x <= hi:
            parts.append(
                f"<text x='{px(x):.1f}' y='{height - 4}' text-anchor='middle' "
                f"fill='{_AXIS}'>{_fmt(x)}</text>"
            )
    for x, c, label in marks:
        parts.append(
            f"<line x1='{px(x):.1f}' x2='{px(x):.1f}' y1='{top}' y2='{top + ph}' stroke='{c}' "
            f"stroke-width='2'/><text x='{px(x) + 3:.1f}' y='{top + 10}' fill='{c}'>"
            f"{html.escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
