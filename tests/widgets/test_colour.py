"""ColourConvWidget: the worked problem, one bias per filter, and the depthwise switch."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from cnnwidgets.core import WORKED_COLOUR_WINDOW, colour_conv, colour_conv_step
from cnnwidgets.widgets import ColourConvWidget


def test_the_worked_problem_sums_channels_and_adds_one_bias():
    w = ColourConvWidget()
    assert w.step.channel_sums[0] == -1  # the lecture's answer, in the red channel
    assert w.value == w.step.channel_sums.sum() + 1 == 0
    assert w.params == 28
    assert "(-1) + (-1) + (1) + bias 1 = <b>0</b>" in w._result.value
    expected = colour_conv(np.array(w.window), np.array(w.kernel), 1.0)
    assert expected.shape == (1, 1) and expected[0, 0] == w.value


def test_depthwise_gives_a_map_per_channel():
    w = ColourConvWidget()
    w._mode.value = w._mode.options[1]
    assert w.depthwise and w.params == 30
    assert w.value.tolist() == (w.step.channel_sums + 1).tolist()
    assert "three</b> maps" in w._result.value


def test_editing_a_kernel_cell_recomputes():
    w = ColourConvWidget()
    w._cells[9 * 2 + 4].value = 5.0  # blue channel, centre
    assert w.kernel[1][1][2] == 5.0
    step = colour_conv_step(np.array(w.window), np.array(w.kernel), w.bias)
    assert w.value == step.outputs[0]
    w.bias = -2
    assert w.value == step.channel_sums.sum() - 2


def test_buttons_and_bad_input():
    w = ColourConvWidget(bias=0)
    w._random.click()
    assert np.array(w.window).shape == (3, 3, 3) and w.bias == 1
    w._worked.click()
    assert np.array_equal(np.array(w.window), WORKED_COLOUR_WINDOW)
    with pytest.raises(traitlets.TraitError, match="3x3x3"):
        w.kernel = np.zeros((3, 3)).tolist()
