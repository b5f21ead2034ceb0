"""The widgets of issue 14 in their lessons, in Chromium: drawn, answering a click, screenshot."""

from __future__ import annotations

import pytest

from ._lab import cell_index, expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

L01 = "01_images_and_convolution.ipynb"
L02 = "02_sizes_padding_pooling.ipynb"
L03 = "03_parameters_and_architectures.ipynb"
L04 = "04_training_a_cnn.ipynb"
L06 = "06_overfitting_and_regularization.ipynb"
L07 = "07_data_augmentation.ipynb"
L08 = "08_inside_the_network.ipynb"


def _widget(course, root, lesson: str, snippet: str):
    page = course.ready(lesson)
    out = page.output(cell_index(root / "course" / lesson, snippet))
    out.scroll_into_view_if_needed()
    return page, out


@pytest.mark.lesson(L01)
def test_kernel_learner(course, course_root):
    page, out = _widget(course, course_root, L01, "KernelLearner(")
    status = out.locator(".widget-html-content", has_text="step ").first
    expect(status).to_contain_text("step 0")
    out.locator("button", has_text="10 steps").click()
    expect(status).to_contain_text("step 10")
    expect(out.locator("svg polyline")).to_have_count(1)  # the loss curve
    page.screenshot("widget-KernelLearner", out)


@pytest.mark.lesson(L01)
def test_colour_convolution(course, course_root):
    page, out = _widget(course, course_root, L01, "ColourConvWidget()")
    result = out.locator(".widget-html-content", has_text="bias").last
    expect(result).to_contain_text("(-1) + (-1) + (1) + bias 1 = 0")
    out.locator(".widget-toggle-button", has_text="DepthwiseConv2D").click()
    expect(result).to_contain_text("three maps")
    page.screenshot("widget-ColourConvWidget", out)


@pytest.mark.lesson(L02)
def test_receptive_field(course, course_root):
    page, out = _widget(course, course_root, L02, 'ReceptiveFieldWidget.preset("conv, pool')
    status = out.locator(".widget-html-content", has_text="reads a").first
    expect(status).to_contain_text("output pixel (0, 0) of 4×4 reads a 10×10 field")
    out.locator(".widget-gridbox button").nth(5).click()  # output (1, 1)
    expect(status).to_contain_text("output pixel (1, 1)")
    page.screenshot("widget-ReceptiveFieldWidget", out)


@pytest.mark.lesson(L03)
def test_vgg_and_residual_block(course, course_root):
    page, out = _widget(course, course_root, L03, 'vgg = ArchitectureExplorer.preset("vgg")')
    expect(out.locator(".widget-html-content", has_text="Total params:").first).to_contain_text(
        "Total params: 814,122"
    )
    page.screenshot("widget-ArchitectureExplorer-vgg", out)
    page, out = _widget(course, course_root, L03, "ArchitectureExplorer.from_model(block)")
    expect(out.locator("th", has_text="Connected to")).to_have_count(1)
    expect(out).to_contain_text("projection, conv_b")
    page.screenshot("widget-ArchitectureExplorer-residual", out)


@pytest.mark.lesson(L04)
def test_activations_and_softmax(course, course_root):
    page, out = _widget(course, course_root, L04, "ActivationExplorer(")
    facts = out.locator(".widget-html-content", has_text="output range").first
    expect(facts).to_contain_text("ReLU set")
    out.locator(".widget-toggle-button", has_text="tanh").click()
    expect(facts).to_contain_text("tanh squeezes")
    page.screenshot("widget-ActivationExplorer", out)
    page, out = _widget(course, course_root, L04, "SoftmaxWidget(")
    facts = out.locator(".widget-html-content", has_text="sum").last
    expect(facts).to_contain_text("sum to 1.000")
    out.locator(".widget-toggle-button", has_text="sigmoid").click()
    expect(facts).to_contain_text("not 1")
    page.screenshot("widget-SoftmaxWidget", out)


@pytest.mark.lesson(L06)
def test_batch_norm_and_sweep(course, course_root):
    page, out = _widget(course, course_root, L06, "BatchNormWidget(")
    expect(out.locator("svg")).to_have_count(4)  # three histograms and the moving statistics
    expect(out).to_contain_text("non-trainable")
    page.screenshot("widget-BatchNormWidget", out)
    page, out = _widget(course, course_root, L06, 'title="learning rate: training loss"')
    expect(out).to_contain_text("diverging")
    page.screenshot("widget-CurveComparison", out)


@pytest.mark.lesson(L07)
def test_augmentation_experiment(course, course_root):
    page, out = _widget(course, course_root, L07, 'title="validation loss, with and without')
    expect(out).to_contain_text("overfitting")
    page.screenshot("widget-CurveComparison-augmentation", out)


@pytest.mark.lesson(L08)
def test_fine_tuning_curves(course, course_root):
    page, out = _widget(course, course_root, L08, "TrainingMonitor.from_history(both")
    expect(out.locator(".js-plotly-plot, .plotly").first).to_be_visible()
    page.screenshot("widget-TrainingMonitor-fine-tuning", out)
