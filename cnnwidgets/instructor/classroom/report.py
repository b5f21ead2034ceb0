"""One self-contained HTML page about a graded assignment: scores, tests, failures, timings."""

from __future__ import annotations

import html
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..autograde.grade import load_sidecar
from ..autograde.steps import last_error_line
from ..course import Course

__all__ = ["TITLES", "ReportData", "collect", "render", "write_report"]

TITLES = {
    "scores": "Score distribution",
    "tests": "Pass rate per test",
    "failures": "Most common failure messages",
    "slowest": "Slowest submissions",
}


@dataclass
class ReportData:
    """What the report shows, gathered from the gradebook, autograded notebooks and timings."""

    assignment: str
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # student -> (score, max)
    tests: dict[str, list[bool]] = field(default_factory=dict)  # grade cell -> passed per student
    failures: Counter = field(default_factory=Counter)  # message -> count
    seconds: dict[str, float] = field(default_factory=dict)  # student -> grading time
    statuses: dict[str, str] = field(default_factory=dict)  # student -> status of last grade run


def _failure_messages(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(last_error_line(out))
            elif out.output_type == "stream" and out.name == "stderr":
                found.append("wrote to stderr: " + out.text.strip().splitlines()[-1][:120])
    return found


def collect(course: Course, assignment: str) -> ReportData:
    """Gather the report's data for ``assignment``."""
    from nbgrader.api import MissingEntry

    data = ReportData(assignment)
    with course.gradebook() as gb:
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            subs = []
        for sub in subs:
            data.scores[sub.student.id] = (float(sub.score), float(sub.max_score))
            for nb in sub.notebooks:
                for g in nb.grades:
                    if g.cell_type != "code":  # tests; written answers are graded by hand
                        continue
                    passed = g.score is not None and g.score >= g.max_score
                    data.tests.setdefault(f"{nb.name}: {g.name}", []).append(passed)
    for student in data.scores:
        folder = course.folder("autograded_directory", student, assignment)
        for path in sorted(folder.glob("*.ipynb")):
            data.failures.update(_failure_messages(path))
    for student, record in load_sidecar(course, assignment).items():
        data.seconds[student] = float(record.get("seconds", 0.0))
        data.statuses[student] = record.get("status", "")
        if record.get("status") not in (None, "graded"):
            data.failures[f"grader {record['status']}: {record.get('message', '')}"] += 1
    return data


def _figures(data: ReportData) -> dict:
    import plotly.graph_objects as go

    figs = {}
    values = [s for s, _ in data.scores.values()]
    top = max((m for _, m in data.scores.values()), default=0)
    counts = Counter(values)
    figs["scores"] = go.Figure(
        go.Bar(
            x=sorted(counts),
            y=[counts[v] for v in sorted(counts)],
            hovertemplate="score %{x}: %{y} submission(s)<extra></extra>",
        )
    ).update_layout(
        xaxis_title=f"score (out of {top:g})",
        yaxis_title="submissions",
        xaxis_range=[-0.5, top + 0.5],
    )
    names = list(data.tests)
    rates = [100 * sum(v) / len(v) if v else 0 for v in data.tests.values()]
    figs["tests"] = go.Figure(
        go.Bar(
            x=rates,
            y=names,
            orientation="h",
            text=[f"{r:.0f} %" for r in rates],
            textposition="auto",
        )
    ).update_layout(
        xaxis_title="submissions passing (%)",
        xaxis_range=[0, 100],
        yaxis_autorange="reversed",
        height=120 + 28 * len(names),
    )
    common = data.failures.most_common(12)
    labels = [m if len(m) <= 90 else m[:87] + "…" for m, _ in common]
    figs["failures"] = go.Figure(
        go.Bar(
            x=[n for _, n in common],
            y=labels,
            orientation="h",
            hovertext=[m for m, _ in common],
            hoverinfo="text+x",
        )
    ).update_layout(
        xaxis_title="times seen", yaxis_autorange="reversed", height=120 + 28 * max(1, len(common))
    )
    slow = sorted(data.seconds.items(), key=lambda kv: kv[1], reverse=True)[:15]
    figs["slowest"] = go.Figure(
        go.Bar(
            x=[s for _, s in slow],
            y=[f"{n} ({data.statuses.get(n, '')})" for n, _ in slow],
            orientation="h",
        )
    ).update_layout(
        xaxis_title="seconds to grade",
        yaxis_autorange="reversed",
        height=120 + 28 * max(1, len(slow)),
    )
    for key, fig in figs.items():
        fig.update_layout(
            title=TITLES[key], template="plotly_white", margin={"l": 20, "r": 20, "t": 60, "b": 40}
        )
    return figs


def render(data: ReportData) -> str:
    """The report as one HTML page; plotly.js is inlined once, so it works offline."""
    import plotly.io as pio

    figs = _figures(data)
    values = [s for s, _ in data.scores.values()]
    top = max((m for _, m in data.scores.values()), default=0)
    failed = sorted(n for n, s in data.statuses.items() if s and s != "graded")
    summary = [
        f"{len(values)} graded submission(s)",
        f"mean {statistics.fmean(values):.2f} / {top:g}" if values else "no scores yet",
        f"median {statistics.median(values):g}" if values else "",
        f"full marks: {sum(v == top for v in values)}" if values else "",
        f"could not be graded: {', '.join(failed)}" if failed else "",
    ]
    parts = []
    for index, key in enumerate(TITLES):
        parts.append(
            pio.to_html(
                figs[key], full_html=False, include_plotlyjs=index == 0, default_width="100%"
            )
        )
    title = html.escape(f"Grading report: {data.assignment}")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;"
        "padding:0 1em;color:#222}section{margin:2em 0}</style></head><body>"
        f"<h1>{title}</h1><p>{html.escape(' · '.join(s for s in summary if s))}</p>"
        + "".join(f"<section>{p}</section>" for p in parts)
        + "</body></html>\n"
    )


def write_report(course: Course, assignment: str, out: Path) -> Path:
    """Collect, render and write the report for ``assignment`` to ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(collect(course, assignment)), encoding="utf-8")
    return out
