"""Every lesson runs in JupyterLab in Chromium: no error, every widget drawn, light when saved."""

from __future__ import annotations

import json
import re

import pytest

from ._lab import LESSONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A lesson saved after running, widget state included (the test server turns Lab's
# saveState on): pictures travel as PNG (JPEG for big photo grids), so the heaviest
# figure, lesson 01's eight 256x256 feature maps, is about 1.3 MB and a whole lesson
# about 2.2 MB. A plotly FigureWidget, or a raw 800x800 grid, costs several MB each.
MAX_SAVED_BYTES = 3_000_000
MAX_STATE_PER_WIDGET = 1_600_000
_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")


@pytest.mark.parametrize("lesson", LESSONS, ids=[n.removesuffix(".ipynb") for n in LESSONS])
def test_lesson_runs_in_the_browser(course, lesson):
    page = course.ready(lesson)
    run, report = course.runs[lesson], course.reports[lesson]
    shot = page.screenshot_notebook(f"lesson-{lesson.removesuffix('.ipynb')}")
    print(f"{lesson}: ran in {run['seconds']:.1f} s in the browser; screenshot {shot}")
    assert run["error"] is None and run["ok"] is True, run
    assert report["errors"] == []
    assert report["stderr"] == []
    assert report["executed"] == report["codeCells"] > 0
    assert report["widgetErrors"] == []
    assert report["plainReprs"] == [], "a widget shown as text: is the widget manager missing?"
    assert report["widgetOutputs"] > 0
    assert report["widgetViews"] == report["widgetOutputs"]
    assert page.root.get_by_text("Error displaying widget").count() == 0


def _state_sizes(nb: dict) -> dict[str, int]:
    """Bytes of saved widget state behind each widget output (its model and its children)."""
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    texts = {mid: json.dumps(entry) for mid, entry in state.items()}
    refs = {mid: set(_MODEL_REF.findall(text)) for mid, text in texts.items()}
    totals = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if not view:
                continue
            seen, todo = set(), [view["model_id"]]
            while todo:
                mid = todo.pop()
                if mid in seen or mid not in state:
                    continue
                seen.add(mid)
                todo.extend(refs[mid])
            totals[view["model_id"]] = sum(len(texts[m]) for m in seen)
    return totals


@pytest.mark.parametrize("lesson", LESSONS, ids=[n.removesuffix(".ipynb") for n in LESSONS])
def test_saved_lesson_stays_light(course, work_root, lesson):
    page = course.ready(lesson)
    page.save()
    path = work_root / "course" / lesson  # the learner's copy: Lab serves my-work/
    nb = json.loads(path.read_text())
    size = path.stat().st_size
    per_widget = _state_sizes(nb)
    print(
        f"{lesson}: {size / 1e3:.0f} KB saved, biggest widget state "
        f"{max(per_widget.values(), default=0) / 1e3:.0f} KB"
    )
    assert per_widget, "the saved lesson carries no widget state (saveState is on in the tests)"
    assert size <= MAX_SAVED_BYTES
    assert max(per_widget.values()) <= MAX_STATE_PER_WIDGET
