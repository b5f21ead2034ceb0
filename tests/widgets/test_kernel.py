"""KernelPlayground: move the controls as a student would and check what the widget computed."""

import html
import io

import numpy as np
import pytest
from PIL import Image

from cnnwidgets.core import conv2d, preset_kernel, to_grayscale
from cnnwidgets.widgets.kernel import KernelPlayground


def _photo(shape=(24, 30, 3), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


@pytest.mark.parametrize("mode", ["colour", "grayscale", "numbers"])
def test_identity_with_same_padding_gives_the_input(mode):
    w = KernelPlayground(_photo(), kernel="identity", mode=mode)
    assert w.output.shape == w.input.shape
    assert np.array_equal(w.output, w.input)
    assert w.message == ""


def test_input_follows_the_mode():
    img = _photo()
    w = KernelPlayground(img, kernel="identity")
    assert w.input.shape == (24, 30, 3) and w.input.dtype == np.float32
    w.mode = "grayscale"
    assert w.input.shape == (24, 30)
    np.testing.assert_allclose(w.input, to_grayscale(img), rtol=1e-6)
    w.mode = "numbers"
    assert np.array_equal(w.input, np.array(w.grid))


def test_preset_and_size_controls_set_the_kernel():
    w = KernelPlayground(_photo(), kernel="sharpen")
    assert w.kernel == preset_kernel("sharpen").tolist()
    w.preset = "box blur"
    assert w.kernel == preset_kernel("box blur").tolist()
    np.testing.assert_allclose(w.output, conv2d(w.input, np.float32(w.kernel), padding="same"))
    w.kernel_size = 5
    assert w.kernel == preset_kernel("box blur", 5).tolist()
    assert w.output.shape == w.input.shape
    assert w.window.shape == (5, 5, 3)


def test_editing_a_cell_updates_the_output_and_marks_the_kernel_custom():
    w = KernelPlayground(_photo(), kernel="identity", mode="grayscale")
    w._cells[1][1].value = 2.0  # what typing into the centre cell does
    assert w.preset == "custom"
    assert w.kernel[1][1] == 2.0
    np.testing.assert_allclose(w.output, 2 * w.input, rtol=1e-6)
    w._cells[0][2].value = -1.0
    expected = conv2d(w.input, np.float32([[0, 0, -1], [0, 2, 0], [0, 0, 0]]), padding="same")
    np.testing.assert_allclose(w.output, expected, rtol=1e-6)


def test_custom_kernel_keeps_its_values_when_resized():
    w = KernelPlayground(_photo(), kernel=[[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert w.preset == "custom"
    w.kernel_size = 5
    k = np.array(w.kernel)
    assert k.shape == (5, 5) and k[1:4, 1:4].tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert k.sum() == 45
    w.kernel_size = 3
    assert w.kernel == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_kernel_accepts_an_array():
    w = KernelPlayground(_photo(), kernel=np.eye(5))
    assert w.kernel_size == 5
    w.kernel = np.ones((3, 3))
    assert w.kernel_size == 3 and w._cell_box.children.__len__() == 9


@pytest.mark.parametrize("mode", ["colour", "grayscale", "numbers"])
@pytest.mark.parametrize(("padding", "strides"), [("same", 1), ("valid", 1), ("same", 2)])
def test_products_sum_is_the_conv2d_value(mode, padding, strides):
    w = KernelPlayground(_photo(), kernel="emboss", mode=mode, padding=padding, strides=strides)
    oh, ow = w.output.shape[:2]
    for row, col in [(0, 0), (oh - 1, ow - 1), (oh // 2, 1)]:
        w.row, w.col = row, col
        assert np.allclose(w.window_sum, w.output[row, col], rtol=1e-5, atol=1e-3)
        k = np.array(w.kernel)
        kk = k[:, :, None] if w.window.ndim == 3 else k
        assert np.allclose(w.products, w.window * kk)
        assert np.allclose(w.products.sum(axis=(0, 1)), w.window_sum)


def test_numbers_mode_is_exact_and_shows_every_value():
    w = KernelPlayground(mode="numbers", seed=3, kernel="outline", padding="valid")
    grid = np.random.default_rng(3).integers(0, 10, (6, 6))
    assert w.grid == grid.tolist()
    assert np.array_equal(w.output, conv2d(grid, np.int64(preset_kernel("outline"))))
    assert w.output.dtype == np.int64
    w.row, w.col = 2, 3
    assert w.window_sum == w.output[2, 3]
    shown = w._in_grid_html.value
    assert all(f">{v}</td>" in shown for v in grid.ravel())
    out = w._out_grid_html.value
    assert all(f">{v}</td>" in out for v in w.output.ravel())
    old = w.grid
    w.seed = 4
    assert w.grid != old and np.shape(w.grid) == (6, 6)


def test_worked_problem_from_the_lecture():
    w = KernelPlayground(
        mode="numbers",
        grid=[[0, 0, 0], [0, 0, 2], [0, 1, 2]],
        kernel=[[1, -1, 0], [1, 1, 0], [0, 1, -1]],
        padding="valid",
    )
    assert w.output.tolist() == [[-1]]
    assert w.window_sum == -1
    assert w.products.tolist() == [[0, 0, 0], [0, 0, 0], [0, 1, -2]]
    assert "sum = <b>-1</b>" in w._products_html.value


def test_invalid_settings_show_a_message_instead_of_raising():
    w = KernelPlayground(mode="numbers", grid=np.arange(9).reshape(3, 3), kernel_size=5)
    assert w.output is not None  # 'same' padding fits anything
    w.padding = "valid"
    assert w.output is None and w.products is None
    assert "larger than the padded input" in w.message
    assert "larger than the padded input" in w._status_html.value
    w.padding = "same"
    assert w.message == "" and w.output.shape == (3, 3)


def test_position_is_clamped_when_the_output_shrinks():
    w = KernelPlayground(_photo(), kernel="identity", row=23, col=29)
    assert (w.row, w.col) == (23, 29)
    w.strides = 2
    assert w.output.shape[:2] == (12, 15)
    assert (w.row, w.col) == (11, 14)
    assert (w._sliders["row"].max, w._sliders["row"].value) == (11, 11)
    w._sliders["col"].value = 5  # the student drags the slider
    assert w.col == 5 and w.window_sum == pytest.approx(w.output[11, 5])


def test_sliders_start_at_the_centre():
    w = KernelPlayground(_photo(), kernel="identity")
    assert (w.row, w.col) == (12, 15)
    assert (w._sliders["row"].value, w._sliders["col"].value) == (12, 15)


def test_unchanged_pictures_are_not_encoded_again():
    w = KernelPlayground(_photo(), kernel="identity")
    input_png, output_png = w._in_image.value, w._out_image.value
    w.kernel = preset_kernel("emboss")
    assert w._in_image.value is input_png  # same bytes object: not re-encoded
    assert w._out_image.value != output_png
    w.row = 3
    assert w._in_image.value != input_png  # the marker moved
    w.mode = "grayscale"
    assert _decode(w._in_image.value).shape == (24, 30, 3)


def test_marker_rings_the_window_on_the_input_picture():
    img = np.full((20, 20, 3), 128, dtype=np.uint8)
    w = KernelPlayground(img, kernel="identity", row=10, col=10)
    pixels = _decode(w._in_image.value)
    assert pixels[8, 10].tolist() == [255, 215, 0]  # just above the 3x3 window (rows 9-11)
    assert pixels[7, 10].tolist() == [0, 0, 0]
    assert pixels[10, 10].tolist() == [128, 128, 128]  # the window itself is not covered


def test_code_block_matches_the_output():
    w = KernelPlayground(_photo(), kernel="outline", mode="grayscale", padding="valid", strides=2)
    # Written when its panel opens, not at every edit while nobody reads it.
    assert w._code_html.value == ""
    w._code_box.selected_index = 0
    code = html.unescape(w._code_html.value)
    assert 'keras.layers.Conv2D(1, (3, 3), padding="valid", strides=2, use_bias=False)' in code
    assert "layer.set_weights([kernel[:, :, None, None]])" in code
    assert 'cnnwidgets.conv2d(image, kernel, padding="valid", strides=2)' in code
    w.mode = "colour"
    assert "DepthwiseConv2D" in w._code_html.value
    source = w._code_text()
    numpy_part = source.split("# Keras")[0].replace("import keras\n", "")
    scope = {"image": w.input}
    exec(numpy_part, scope)
    np.testing.assert_allclose(scope["out"], w.output)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["grayscale", "colour"])
def test_code_block_agrees_with_keras(mode):
    pytest.importorskip("keras")
    w = KernelPlayground(_photo((9, 11, 3)), kernel="emboss", mode=mode, strides=2)
    scope = {"image": w.input}
    exec(w._code_text(), scope)
    np.testing.assert_allclose(np.asarray(scope["out_keras"]), w.output, rtol=1e-5, atol=1e-3)


def test_image_path_and_sample_photo(tmp_path):
    path = tmp_path / "square.png"
    Image.fromarray(_photo((40, 40, 3))).save(path)
    w = KernelPlayground(str(path), size=32, kernel="identity")
    assert w.input.shape == (32, 32, 3)
    assert w._photo_dd.disabled
    sample = KernelPlayground(photo="camera", size=48, kernel="gaussian blur")
    assert sample.input.shape == (48, 48, 3)
    sample.photo = "coffee"
    assert sample.output.shape == (48, 48, 3)
    assert not np.array_equal(sample.input[:, :, 0], sample.input[:, :, 2])  # a colour photo


def test_error_redraws_the_grid_without_a_window():
    w = KernelPlayground(mode="numbers", grid=np.arange(9).reshape(3, 3), kernel_size=5)
    assert "#fff2b3" in w._in_grid_html.value  # the window is highlighted
    w.padding = "valid"
    assert "#fff2b3" not in w._in_grid_html.value
    assert w._in_grid_html.value.count("<td") == 9


def test_a_small_2d_image_opens_in_numbers_mode():
    grid = np.array(
        [[3, 0, 1, 2, 7], [1, 5, 8, 9, 3], [2, 7, 2, 5, 1], [0, 1, 3, 1, 7], [4, 2, 1, 6, 2]]
    )
    kernel = np.array([[1, 0, -1]] * 3)
    w = KernelPlayground(grid, kernel=kernel, padding="valid")
    assert w.mode == "numbers"
    np.testing.assert_array_equal(w.output, conv2d(grid, kernel))
    assert KernelPlayground(grid, kernel=kernel, mode="grayscale").mode == "grayscale"


def test_marker_is_a_target_on_a_big_photo():
    """A 3x3 window on a 256-pixel photo: rings 2 pixels thick and ticks that point at it
    make a mark tens of pixels across (the old one-pixel rings made a 7-pixel dot)."""
    img = np.full((256, 256, 3), 128, dtype=np.uint8)
    w = KernelPlayground(img, kernel="identity", row=100, col=60)
    pixels = _decode(w._in_image.value)
    rows, cols = np.nonzero((pixels == [255, 215, 0]).all(axis=2))
    assert rows.max() - rows.min() >= 40 and cols.max() - cols.min() >= 40
    assert pixels[98, 60].tolist() == pixels[97, 60].tolist() == [255, 215, 0]  # 2 thick
    assert pixels[99:102, 59:62].tolist() == img[99:102, 59:62].tolist()  # the window shows
    out = _decode(w._out_image.value)
    assert (out == [255, 215, 0]).all(axis=2).sum() >= (pixels == [255, 215, 0]).all(axis=2).sum()


def test_a_change_sends_each_view_once(messages):
    """A kernel edit: the output picture, the worked products and the kernel's cells each
    go in one message; unchanged views send nothing, nor does the closed code panel."""
    w = KernelPlayground(_photo((64, 64, 3)), kernel="sharpen")
    messages.clear()
    w.kernel = preset_kernel("emboss")
    per_view = messages.per_view()
    assert per_view and max(per_view.values()) == 1
    sent = {id(v) for v, _ in messages.sent}
    assert id(w._out_image) in sent and id(w._products_html) in sent
    assert id(w._in_image) not in sent and id(w._code_html) not in sent
    assert len(messages.of(w._out_image)) == 1
    # The first message is the picture the learner is looking at.
    assert messages.sent[0][0] is w._out_image
    messages.clear()
    w._code_box.selected_index = 0  # opening the panel writes the code, once
    assert [keys for v, keys in messages.sent if v is w._code_html] == [("value",)]
