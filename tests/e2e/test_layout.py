"""Every widget at JupyterLab's default width: nothing cut off, squashed, truncated or doubly
scrolled, and the layouts issue 16 asked for, measured in the page (see _layout.py).

Screenshots of each widget go to test-artifacts/e2e/layout-<widget>.png.
"""

from __future__ import annotations

import re

import pytest

from . import _layout
from ._lab import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMES = [name for name, _ in _layout.WIDGETS]


@pytest.fixture(scope="module")
def widgets(browser, lab, work_root):
    """The scratch notebook of every widget, run once in `make lab`, at the default width."""
    _layout.write_notebook(work_root)
    context = browser.new_context(viewport=_layout.VIEWPORT)
    page = _layout.open_lab_at_default_width(context, lab)
    tab = page.open_notebook(_layout.NOTEBOOK).wait_ready()
    tab.activate()
    tab.start_run_all()
    tab.wait_run(600)
    report = tab.inspect()
    assert not report["errors"] and not report["widgetErrors"], report
    assert report["widgetViews"] == len(_layout.WIDGETS), report
    yield tab
    tab.close()
    context.close()


def _output(tab, name: str):
    out = tab.output(_layout.cell_of(name))
    out.scroll_into_view_if_needed()
    return out


@pytest.mark.parametrize("name", NAMES)
def test_nothing_is_cut_off_squashed_or_scrolled(widgets, name):
    out = _output(widgets, name)
    found = out.evaluate(_layout.MEASURE)
    _layout.screenshot(widgets, out, _layout.ARTIFACTS / f"layout-{name}.png")
    assert found["width"] < 1000  # the default width, not a wide window
    assert found["problems"] == [], "\n".join(found["problems"])


def test_conv_calculator_shows_the_zeros_its_text_talks_about(widgets):
    out = _output(widgets, "ConvCalculator-same")
    text = out.inner_text()
    assert "Keras 'same' pads 3 top/left and 3 bottom/right" in text
    expect(out.locator(".widget-html-content", has_text="zeros added")).to_have_text(
        "zeros added: 3 on every side"
    )
    # the typed p is for explicit padding only: no "p (zeros) 0" beside a text that says 3
    expect(out.locator(".widget-text:has(> label:text-is('p (zeros)'))")).to_be_hidden()


def test_conv_calculator_steps_through_the_positions(widgets):
    out = _output(widgets, "ConvCalculator")
    slider = out.locator(".widget-slider:has(> label:text-is('position'))")
    track = slider.locator(".noUi-target").bounding_box()
    assert track["width"] >= 100, track  # not squashed to a dot
    readout = slider.locator(".widget-readout")
    expect(readout).to_have_text("0")
    buttons = out.locator(".widget-play button:visible")
    assert buttons.count() >= 2
    for k in range(buttons.count()):
        box = buttons.nth(k).bounding_box()
        assert box["width"] >= 24 and box["height"] >= 20, box
    out.locator(".widget-play button:has(.fa-play)").click()  # the outline walks
    expect(readout).not_to_have_text("0", timeout=5_000)
    expect(out.locator(".widget-html-content", has_text="Outlined")).not_to_contain_text(
        "position 0 (of"
    )
    out.locator(".widget-play button:has(.fa-stop)").click()


def test_augmentation_rotation_slider_stops_at_half_a_turn(widgets):
    out = _output(widgets, "AugmentationPreview")
    slider = out.locator(".widget-slider:has(> label:text-is('RandomRotation'))")
    handle = slider.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    track = slider.locator(".noUi-base").bounding_box()
    box = handle.bounding_box()
    page = widgets.page
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] + 60, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    expect(slider.locator(".widget-readout")).to_have_text("0.50")
    expect(out.locator(".widget-html-content", has_text="factor 0.50")).to_contain_text("±180°")
    zoom = out.locator(".widget-slider:has(> label:text-is('RandomZoom')) .widget-readout")
    shown = zoom.evaluate("(el) => [el.scrollWidth, el.clientWidth, el.textContent]")
    assert shown[0] <= shown[1] + 1, shown  # "−0.20 – 0.20", whole


def test_confusion_matrix_shows_a_cells_images_next_to_it(widgets):
    out = _output(widgets, "ConfusionMatrixWidget")
    cells = out.locator("button[title^='true ']")
    titles = cells.evaluate_all("(bs) => bs.map((b) => b.title)")
    pattern = re.compile(r"true (\S+) → predicted (\S+): (\d+) sample")
    index = next(
        i
        for i, t in enumerate(titles)
        if (m := pattern.match(t)) and m[1] != m[2] and int(m[3]) > 1 and int(m[1]) >= 7
    )  # a cell in the matrix's last rows: the farthest from the top
    cell = cells.nth(index)
    cell.scroll_into_view_if_needed()
    cell.click()
    image = out.locator("img.widget-image:visible").first
    expect(image).to_be_visible()
    viewport = widgets.page.viewport_size
    clicked, shown = cell.bounding_box(), image.bounding_box()
    # seen together, without scrolling: the images within a screen of the cell clicked
    assert shown["y"] + shown["height"] <= viewport["height"], (clicked, shown)
    assert abs(shown["y"] - clicked["y"]) < viewport["height"] / 2, (clicked, shown)
    table = out.locator("table", has_text="macro avg").bounding_box()
    assert shown["y"] < table["y"]  # not below the metrics table
    _layout.screenshot(widgets, out, _layout.ARTIFACTS / "layout-ConfusionMatrixWidget-click.png")
    cell.click()  # closes again


def test_kernel_playground_window_marker_is_visible(widgets):
    out = _output(widgets, "KernelPlayground")
    photo = out.locator("img.widget-image").first
    # The marker's yellow, found in the picture as drawn: its extent in CSS pixels.
    extent = photo.evaluate(
        """async (img) => {
            await img.decode();
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const g = c.getContext('2d');
            g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            let x0 = 1e9, x1 = -1, y0 = 1e9, y1 = -1, n = 0;
            for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
                const i = 4 * (y * c.width + x);
                if (d[i] === 255 && d[i + 1] === 215 && d[i + 2] === 0) {
                    n++; x0 = Math.min(x0, x); x1 = Math.max(x1, x);
                    y0 = Math.min(y0, y); y1 = Math.max(y1, y);
                }
            }
            const scale = img.getBoundingClientRect().width / img.naturalWidth;
            return { width: (x1 - x0 + 1) * scale, height: (y1 - y0 + 1) * scale, pixels: n };
        }"""
    )
    assert extent["width"] >= 40 and extent["height"] >= 40, extent
    assert extent["pixels"] >= 150, extent
