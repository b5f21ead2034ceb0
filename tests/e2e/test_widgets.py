"""Each widget in its lesson, used the way a student would: what is shown follows the controls."""

from __future__ import annotations

import re

import pytest

from cnnwidgets.core.kernels import preset_kernel

from ._lab import cell_index, expect, image_digest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

L01 = "01_images_and_convolution.ipynb"
L02 = "02_sizes_padding_pooling.ipynb"
L03 = "03_parameters_and_architectures.ipynb"
L04 = "04_training_a_cnn.ipynb"
L05 = "05_evaluating.ipynb"
L07 = "07_data_augmentation.ipynb"
L08 = "08_inside_the_network.ipynb"


def _widget(course, root, lesson: str, snippet: str):
    """The lesson's page (after its run) and the output area of the cell holding ``snippet``."""
    page = course.ready(lesson)
    out = page.output(cell_index(root / "course" / lesson, snippet))
    out.scroll_into_view_if_needed()
    return page, out


def _dropdown(out, label: str):
    return out.locator(f".widget-dropdown:has(> label:text-is('{label}')) select")


def _slider_to_start(page, out, label: str) -> None:
    """Drag a slider's handle to the slider's left end, as a student would with the mouse."""
    slider = out.locator(f".widget-slider:has(> label:text-is('{label}'))")
    handle = slider.locator(".noUi-handle")
    track = slider.locator(".noUi-base").bounding_box()
    box = handle.bounding_box()
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.mouse.down()
    page.page.mouse.move(track["x"] - 20, box["y"] + box["height"] / 2, steps=5)
    page.page.mouse.up()


@pytest.mark.lesson(L01)
def test_kernel_playground(course, course_root):
    page, out = _widget(course, course_root, L01, "playground = KernelPlayground(")
    output_img = out.locator("img.widget-image").nth(1)
    status = out.locator(".widget-html-content", has_text="→ output")
    expect(status).to_contain_text("input 256×256 → output 256×256")
    preset = _dropdown(out, "kernel")
    cells = out.locator(".widget-gridbox .widget-text input")
    expect(cells).to_have_count(9)
    before = image_digest(output_img)

    # edit one number of the kernel
    cells.nth(4).fill("3")
    cells.nth(4).press("Enter")
    after_edit = page.wait_image_change(output_img, before)
    expect(preset).to_have_value("custom")

    # pick a preset: the kernel's cells and the output follow
    preset.select_option("gaussian blur")
    page.wait_image_change(output_img, after_edit)
    expected = preset_kernel("gaussian blur", 3).ravel()
    shown = [float(cells.nth(i).input_value()) for i in range(9)]
    assert shown == pytest.approx(expected.tolist(), abs=1e-6)

    # strides and padding: the output size reads the new numbers
    _dropdown(out, "strides").select_option("2")
    expect(status).to_contain_text("input 256×256 → output 128×128")
    expect(out.locator(".widget-html-content", has_text=re.compile(r"^output "))).to_have_text(
        "output 128×128×3 (drawn ×2)"
    )
    out.locator(
        ".widget-toggle-buttons:has(> label:text-is('padding')) button", has_text="valid"
    ).click()
    expect(status).to_contain_text("input 256×256 → output 127×127")
    page.screenshot("widget-KernelPlayground", out)


@pytest.mark.lesson(L02)
def test_conv_calculator(course, course_root):
    page, out = _widget(course, course_root, L02, "ConvCalculator(input_size=7")
    readout = out.locator(".widget-html-content", has_text="Output:").first
    expect(readout).to_contain_text("Output: 3 × 3 × 32")
    picture = out.locator(".widget-html-content svg").first  # the padded input
    svg_before = picture.inner_html()

    _slider_to_start(page, out, "strides")
    expect(
        out.locator(".widget-slider:has(> label:text-is('strides')) .widget-readout")
    ).to_have_text("1")
    expect(readout).to_contain_text("Output: 5 × 5 × 32")
    page.wait_for(lambda: picture.inner_html() != svg_before, message="the padded input")

    _dropdown(out, "padding").select_option("same")
    expect(readout).to_contain_text("Output: 7 × 7 × 32")
    page.screenshot("widget-ConvCalculator", out)


@pytest.mark.lesson(L02)
def test_pooling_explorer(course, course_root):
    page, out = _widget(course, course_root, L02, "PoolingExplorer(grid_size=7)")
    grids = out.locator(".widget-html-content table")
    before = grids.all_inner_texts()
    out.locator(".widget-toggle-button", has_text="average").click()
    page.wait_for(lambda: grids.all_inner_texts() != before, message="the pooled grid")
    # average pooling of whole numbers gives fractions somewhere; max pooling never does
    assert "." in " ".join(grids.all_inner_texts())
    page.screenshot("widget-PoolingExplorer", out)


@pytest.mark.lesson(L03)
def test_architecture_explorer(course, course_root):
    from cnnwidgets.widgets import ArchitectureExplorer

    # the numbers the widget must show, from the same core functions, without a browser
    reference = ArchitectureExplorer.preset("cifar")
    before = reference.totals["total"]
    layers = list(reference.layers)
    layers[0] = dict(layers[0], filters=40)
    reference.layers = layers
    after = reference.totals["total"]
    assert after != before

    page, out = _widget(course, course_root, L03, 'ArchitectureExplorer.preset("cifar")')
    total = out.locator(".widget-html-content", has_text="Total params:").first
    expect(total).to_contain_text(f"Total params: {before:,}")
    filters = out.locator(".widget-text:has(> label:text-is('filters')) input").first
    filters.fill("40")
    filters.press("Enter")
    expect(total).to_contain_text(f"Total params: {after:,}")
    page.screenshot("widget-ArchitectureExplorer", out)


@pytest.mark.lesson(L04)
def test_training_monitor(course, course_root):
    page, out = _widget(course, course_root, L04, "monitor = TrainingMonitor(")
    expect(out.locator(".widget-html-content", has_text="done:")).to_contain_text("done: 15 epochs")
    plot = out.locator(".widget-output .js-plotly-plot")
    expect(plot).to_have_count(1)
    summary = out.locator(".widget-html-content", has_text="Best epoch").first
    expect(summary).to_contain_text("(val_loss ")
    _dropdown(out, "best by").select_option("val_accuracy")
    expect(summary).to_contain_text("(val_accuracy ")
    expect(out.locator(".widget-output .js-plotly-plot")).to_have_count(1)
    page.screenshot("widget-TrainingMonitor", out)


@pytest.mark.lesson(L05)
def test_confusion_matrix_shows_the_misclassified_images(course, course_root):
    page, out = _widget(course, course_root, L05, "cm_widget = ConfusionMatrixWidget.from_model(")
    cells = out.locator("button[title^='true ']")
    titles = cells.evaluate_all("(bs) => bs.map((b) => b.title)")
    assert len(titles) == 100  # ten digits
    pattern = re.compile(r"true (\S+) → predicted (\S+): (\d+) sample")
    mistakes = [
        (i, m[1], m[2], int(m[3]))
        for i, t in enumerate(titles)
        if (m := pattern.match(t)) and m[1] != m[2] and int(m[3]) > 0
    ]
    assert mistakes, "the lesson's model makes no mistake to click on"
    index, true, predicted, count = max(mistakes, key=lambda c: c[3])
    images = out.locator("img.widget-image:visible")
    expect(images).to_have_count(0)

    cells.nth(index).click()
    selection = out.locator(".widget-html-content", has_text=f"true {true} → predicted")
    expect(selection).to_contain_text(f"true {true} → predicted {predicted}: {count} sample")
    expect(images).to_have_count(min(count, 24))
    if count > 1:  # not one picture repeated in every slot
        assert len({image_digest(images.nth(k)) for k in range(min(count, 24))}) > 1
    page.screenshot("widget-ConfusionMatrixWidget", out)

    cells.nth(index).click()  # a second click closes the cell
    expect(images).to_have_count(0)


@pytest.mark.lesson(L07)
def test_augmentation_preview_reseeds(course, course_root):
    page, out = _widget(course, course_root, L07, "AugmentationPreview(photo=")
    grid = out.locator("img.widget-image").nth(1)
    caption = out.locator(".widget-html-content", has_text="draws")
    expect(caption).to_contain_text("seed 0")
    before = image_digest(grid)
    out.locator("button", has_text="new draw").click()
    expect(caption).to_contain_text("seed 1")
    page.wait_image_change(grid, before)
    page.screenshot("widget-AugmentationPreview", out)


@pytest.mark.lesson(L08)
def test_feature_map_viewer_switches_layer(course, course_root):
    page, out = _widget(course, course_root, L08, "FeatureMapViewer(model")
    layer = _dropdown(out, "layer")
    # ipywidgets puts each option's label in its value (the text has non-breaking spaces)
    options = layer.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    assert len(options) >= 2
    maps = out.locator("img.widget-image").nth(1)
    caption = out.locator(".widget-html-content", has_text=" map")
    before = image_digest(maps)
    current = layer.input_value()
    value = next(v for v in options if v != current)
    # the option reads "name (Kind) 8×8×16"; the caption "name (Kind): 8×8×16 — 16 maps, ..."
    name_kind, shape = value.rsplit(" ", 1)
    layer.select_option(value)
    expect(caption.first).to_contain_text(f"{name_kind}: {shape}")
    page.wait_image_change(maps, before)
    page.screenshot("widget-FeatureMapViewer", out)


@pytest.mark.lesson(L01)
@pytest.mark.lesson(L05)
def test_question_checks_on_enter_what_was_just_typed(course, course_root):
    """Typed and Enter at once, the box judges the new value; an edit clears the old verdict;
    a share may be written as a ratio, a percentage or a plain number."""
    page, out = _widget(course, course_root, L01, 'Question.from_bank("01-valid-size")')
    box = out.locator(".widget-text input")
    verdict = out.locator(".widget-html-content", has_text=re.compile("Right|Not quite"))
    expect(out).to_contain_text("A 3×3 kernel slides over a 9×9 image")
    for typed, right in [("8", False), ("7", True), ("7x7", True), ("(7, 8)", False)]:
        box.fill(typed)
        box.press("Enter")  # at once, no wait between the last keystroke and Enter
        expect(verdict).to_contain_text("Right" if right else f"Not quite: you said {typed}")
        box.press_sequentially("0")  # an edit: the old verdict goes before any check
        expect(verdict).to_have_count(0)
    page.screenshot("widget-Question", out)

    page, out = _widget(course, course_root, L05, 'Question.from_bank("05-precision")')
    expect(out).to_contain_text("within ±0.005")  # the tolerance is stated
    box = out.locator(".widget-text input")
    right = out.locator(".widget-html-content", has_text="Right")
    for typed in ("100/170", "58.8 %", "0.588", "59"):
        box.fill(typed)
        expect(right).to_have_count(0)  # the edit cleared the last verdict
        out.locator("button", has_text="Check").click()
        expect(right).to_have_count(1)
