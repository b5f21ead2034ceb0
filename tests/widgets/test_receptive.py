"""ReceptiveFieldWidget: clicking an output shows core's field; editing the stack follows."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from cnnwidgets.core import receptive_field_table, receptive_mask
from cnnwidgets.widgets import ReceptiveFieldWidget
from cnnwidgets.widgets.receptive import PRESETS


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_show_cores_table_and_mask(name):
    w = ReceptiveFieldWidget.preset(name)
    size, layers = PRESETS[name]
    assert w.table == receptive_field_table(size, layers)
    np.testing.assert_array_equal(w.mask, receptive_mask(size, layers, w.row, w.col))
    assert w._preset.value == name and w.message == ""


def test_clicking_an_output_pixel_moves_the_field():
    w = ReceptiveFieldWidget()
    assert w.output_size == (8, 8) and w.field_size == (5, 5)
    w.cell_buttons[2][5].click()
    assert (w.row, w.col) == (2, 5)
    assert w.window == ((2, 6), (5, 9))
    assert w.cell_buttons[2][5].style.button_color != w.cell_buttons[0][0].style.button_color
    assert "rows 2..6" in w._status.value


def test_dilation_leaves_holes_and_editing_follows():
    w = ReceptiveFieldWidget(12, [{"layer": "Conv2D", "kernel_size": 3, "dilation_rate": 1}])
    w.layer_controls[0]["dilation_rate"].value = 2
    assert w.layers[0]["dilation_rate"] == 2 and w.field_size == (5, 5)
    assert w.mask.sum() == 9 and "never read" in w._status.value
    w._add_pool.click()
    assert w.layers[-1]["layer"] == "MaxPooling2D" and len(w.layer_controls) == 2
    assert w._preset.value == "(your stack)"


def test_a_big_output_uses_sliders_and_an_impossible_stack_says_why():
    w = ReceptiveFieldWidget(32, [{"layer": "Conv2D", "kernel_size": 3, "padding": "same"}])
    assert w.cell_buttons == [] and w._row_slider in w._outputs.children
    w._row_slider.value = 31
    assert w.row == 31
    w.input_size = 4
    assert (w.row, w.col) == (3, 0)
    w.layers = [{"layer": "Conv2D", "kernel_size": 7}]
    assert "larger than the padded input" in w.message and w.mask is None
    with pytest.raises(traitlets.TraitError):
        w.input_size = 40
