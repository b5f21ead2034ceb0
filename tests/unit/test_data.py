"""Tests for cnnwidgets.data: offline sets, keras.datasets with fallback, split, photos, folders."""

from __future__ import annotations

import gzip
import http.server
import io
import pickle
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnwidgets.data import (
    DATASET_NAMES,
    PHOTO_NAMES,
    Dataset,
    OfflineFallbackWarning,
    load_dataset,
    load_folder,
    load_folder_arrays,
    load_photo,
    offline,
    online,
    split,
)
from cnnwidgets.data.shapes import SHAPE_NAMES

# --------------------------------------------------------------------------- public API


def test_public_api_is_exported():
    import cnnwidgets.data as data

    assert set(data.__all__) == {
        "DATASET_NAMES",
        "PHOTO_NAMES",
        "Dataset",
        "OfflineFallbackWarning",
        "load_dataset",
        "load_folder",
        "load_folder_arrays",
        "load_photo",
        "split",
    }
    assert DATASET_NAMES == ("digits", "faces", "shapes", "mnist", "fashion_mnist", "cifar10")
    assert issubclass(OfflineFallbackWarning, UserWarning)


def test_offline_loading_never_imports_tensorflow(tmp_path):
    _png(tmp_path / "folder" / "a" / "1.png", (8, 8), (255, 0, 0))
    code = f"""
import sys
import cnnwidgets.data as data
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "import"
for name in ("digits", "faces", "shapes"):
    data.load_dataset(name)
data.load_photo("chelsea", size=32)
data.split(*data.load_dataset("digits")[:2], val_size=0.1)
data.load_folder_arrays({str(tmp_path / "folder")!r}, image_size=8)
heavy = sorted(m for m in ("tensorflow", "keras", "sklearn.model_selection") if m in sys.modules)
assert not heavy, heavy
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --------------------------------------------------------------------------- Dataset


def test_dataset_unpacks_as_three_and_describes_itself():
    data = load_dataset("digits")
    X, y, class_names = data
    assert len(data) == 3 and X is data.X and y is data.y and class_names is data.class_names
    assert data.input_shape == (8, 8, 1) and data.num_classes == 10
    assert repr(data) == (
        "Dataset(X: float32 (1797, 8, 8, 1), y: int64 (1797,), "
        "class_names: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])"
    )
    many = Dataset(X, y, [str(k) for k in range(20)])
    assert "'...'" in repr(many)


# --------------------------------------------------------------------------- offline sets


def test_digits_are_sklearns_digits_scaled_to_0_255():
    from sklearn.datasets import load_digits

    source = load_digits()
    X, y, class_names = load_dataset("digits", raw=True)
    assert X.shape == (1797, 8, 8, 1) and X.dtype == np.uint8
    assert y.dtype == np.int64 and np.array_equal(y, source.target)
    assert class_names == [str(d) for d in range(10)]
    assert np.array_equal(X[..., 0], np.rint(source.images * 255 / 16).astype(np.uint8))
    assert X.min() == 0 and X.max() == 255
    assert np.bincount(y).tolist() == np.bincount(source.target).tolist()


def test_digits_fall_back_to_load_digits_when_the_csv_is_elsewhere(monkeypatch):
    fast = offline.digits_uint8()
    monkeypatch.setattr(offline.importlib.util, "find_spec", lambda name: None)
    slow = offline.digits_uint8()
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


def test_faces_are_100_faces_and_100_non_faces_shuffled_by_seed():
    from skimage.data import lfw_subset

    source = np.rint(lfw_subset() * 255).astype(np.uint8)
    label_of = {img.tobytes(): int(k < 100) for k, img in enumerate(source)}
    X, y, class_names = load_dataset("faces", raw=True)
    assert X.shape == (200, 25, 25, 1) and X.dtype == np.uint8
    assert class_names == ["non-face", "face"]
    assert np.bincount(y).tolist() == [100, 100]
    assert [label_of[img[..., 0].tobytes()] for img in X] == y.tolist()
    assert 0.2 < y[:100].mean() < 0.8  # shuffled: validation_split sees both classes
    assert np.array_equal(load_dataset("faces", seed=0).y, y)
    assert not np.array_equal(load_dataset("faces", seed=1).y, y)


def test_shapes_are_balanced_colour_images():
    X, y, class_names = load_dataset("shapes")
    assert X.shape == (1200, 32, 32, 3) and X.dtype == np.float32
    assert class_names == list(SHAPE_NAMES) == ["circle", "square", "triangle", "cross"]
    assert np.bincount(y).tolist() == [300, 300, 300, 300]
    assert 0.0 <= X.min() and X.max() <= 1.0
    # Every image holds a light shape on a dark background, in colour.
    assert (X.max(axis=(1, 2, 3)) > 0.6).all() and (X.min(axis=(1, 2, 3)) < 0.4).all()
    assert np.abs(X[..., 0] - X[..., 1]).mean() > 0.05


def test_shapes_follow_the_seed_and_n():
    a = load_dataset("shapes", raw=True, seed=3, n=40)
    b = load_dataset("shapes", raw=True, seed=3, n=40)
    c = load_dataset("shapes", raw=True, seed=4, n=40)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.X.shape == (40, 32, 32, 3) and a.X.dtype == np.uint8
    assert sorted(np.bincount(load_dataset("shapes", n=10).y).tolist()) == [2, 2, 3, 3]
    with pytest.raises(ValueError, match="positive number of images"):
        load_dataset("shapes", n=0)


def test_shapes_generate_fast():
    load_dataset("shapes", n=50)  # warm up
    start = time.perf_counter()
    load_dataset("shapes")
    # 0.15 s is typical here; the bound is loose because the CPUs are shared.
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("name", ["digits", "faces", "shapes"])
def test_float_images_are_raw_images_over_255(name):
    X, y, class_names = load_dataset(name)
    X_raw, y_raw, names_raw = load_dataset(name, raw=True)
    assert X.dtype == np.float32 and X_raw.dtype == np.uint8 and X.ndim == 4
    assert np.array_equal(X, X_raw.astype(np.float32) / np.float32(255))
    assert np.array_equal(y, y_raw) and class_names == names_raw
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(len(class_names)))


def test_n_keeps_a_seeded_subset_in_source_order():
    full = load_dataset("digits")
    part = load_dataset("digits", n=100, seed=5)
    assert part.X.shape == (100, 8, 8, 1)
    rows = {img.tobytes(): k for k, img in enumerate(full.X)}
    index = [rows[img.tobytes()] for img in part.X]
    assert index == sorted(index) and np.array_equal(full.y[index], part.y)
    assert np.array_equal(load_dataset("digits", n=100, seed=5).X, part.X)
    assert load_dataset("digits", n=10_000).X.shape[0] == 1797
    with pytest.raises(ValueError, match="positive number of images"):
        load_dataset("digits", n=0)


def test_unknown_data_set_lists_the_valid_names():
    with pytest.raises(ValueError) as info:
        load_dataset("imagenet")
    message = str(info.value)
    assert "'imagenet'" in message and all(name in message for name in DATASET_NAMES)
    assert load_dataset(" Digits ").X.shape == (1797, 8, 8, 1)
    with pytest.raises(TypeError, match="str"):
        load_dataset(3)


# --------------------------------------------------------------------------- online sets


@pytest.fixture
def keras_cache(tmp_path, monkeypatch):
    """An empty Keras cache that Keras, and the kit, read; downloading is an error."""
    from cnnwidgets.keras_helpers import quiet_keras

    quiet_keras()
    from keras.src.backend import config
    from keras.src.utils import file_utils

    home = tmp_path / "keras_home"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv(online.OFFLINE_ENV, raising=False)
    # Keras read KERAS_HOME when first imported; point the module it consults now.
    monkeypatch.setattr(config, "_KERAS_DIR", str(home))

    def no_download(*args, **kwargs):
        raise AssertionError("the test tried to download")

    monkeypatch.setattr(file_utils, "urlretrieve", no_download)
    monkeypatch.setattr(online, "_reachable", lambda url, timeout=0: False)
    # The tiny files cannot match Keras's published SHA-256 of the real ones.
    monkeypatch.setattr(file_utils, "validate_file", lambda *args, **kwargs: True)
    return home / "datasets"


def _no_warning_load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_dataset(*args, **kwargs)


def test_mnist_is_read_from_keras_cache(keras_cache):
    rng = np.random.default_rng(0)
    parts = {
        "x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_train": np.array([0, 1, 2, 3, 9], dtype=np.uint8),
        "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "y_test": np.array([7, 7, 5], dtype=np.uint8),
    }
    np.savez(keras_cache / "mnist.npz", **parts)
    assert keras_cache.parent == online.keras_home()
    X, y, class_names = _no_warning_load("mnist", raw=True)
    assert X.shape == (8, 28, 28, 1) and X.dtype == np.uint8
    assert np.array_equal(X[..., 0], np.concatenate([parts["x_train"], parts["x_test"]]))
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3, 9, 7, 7, 5]
    assert class_names == [str(d) for d in range(10)]
    X, _, _ = _no_warning_load("MNIST")
    assert X.dtype == np.float32 and X.shape == (8, 28, 28, 1) and X.max() <= 1.0
    assert _no_warning_load("mnist", n=4).X.shape == (4, 28, 28, 1)


def test_fashion_mnist_is_read_from_keras_cache(keras_cache):
    folder = keras_cache / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    y_train, y_test = np.array([9, 0, 3, 3], np.uint8), np.array([1, 8], np.uint8)
    # IDX files: Keras skips the 8-byte (labels) or 16-byte (images) header.
    for part, labels, images in (("train", y_train, x_train), ("t10k", y_test, x_test)):
        with gzip.open(folder / f"{part}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(bytes(8) + labels.tobytes())
        with gzip.open(folder / f"{part}-images-idx3-ubyte.gz", "wb") as f:
            f.write(bytes(16) + images.tobytes())
    X, y, class_names = _no_warning_load("fashion_mnist", raw=True)
    assert X.shape == (6, 28, 28, 1) and X.dtype == np.uint8
    assert np.array_equal(X[..., 0], np.concatenate([x_train, x_test]))
    assert y.tolist() == [9, 0, 3, 3, 1, 8]
    assert class_names[0] == "T-shirt/top" and class_names[9] == "Ankle boot"
    assert len(class_names) == 10


def test_cifar10_is_read_from_keras_cache(keras_cache):
    # Keras fills a fixed 50,000-image array from five batches; one image per batch
    # broadcasts into its 10,000 rows, which keeps the archive tiny.
    rng = np.random.default_rng(2)
    batches = {
        f"data_batch_{i}": ([i], rng.integers(0, 256, (1, 3072), dtype=np.uint8))
        for i in range(1, 6)
    }
    batches["test_batch"] = ([8, 9], rng.integers(0, 256, (2, 3072), dtype=np.uint8))
    with tarfile.open(keras_cache / "cifar-10-batches-py-target_archive", "w:gz") as tar:
        for name, (labels, data) in batches.items():
            blob = pickle.dumps({b"batch_label": b"x", b"labels": labels, b"data": data})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    X, y, class_names = _no_warning_load("cifar10", raw=True)
    assert X.shape == (50_002, 32, 32, 3) and X.dtype == np.uint8
    planes = batches["data_batch_2"][1].reshape(3, 32, 32)  # stored channel-first
    assert np.array_equal(X[10_000], planes.transpose(1, 2, 0))
    assert np.array_equal(
        X[50_001], batches["test_batch"][1][1].reshape(3, 32, 32).transpose(1, 2, 0)
    )
    assert y.dtype == np.int64 and y[[0, 19_999, 49_999, 50_000, 50_001]].tolist() == [
        1,
        2,
        5,
        8,
        9,
    ]
    assert class_names[:3] == ["airplane", "automobile", "bird"] and len(class_names) == 10


@pytest.mark.parametrize(
    ("name", "stand_in", "title"),
    [
        ("mnist", "digits", "MNIST"),
        ("fashion_mnist", "digits", "Fashion-MNIST"),
        ("cifar10", "shapes", "CIFAR-10"),
    ],
)
def test_no_network_falls_back_with_one_warning(keras_cache, monkeypatch, name, stand_in, title):
    def must_not_load(name):
        raise AssertionError("Keras was asked to download although the server is unreachable")

    monkeypatch.setattr(online, "_keras_load_data", must_not_load)
    with pytest.warns(OfflineFallbackWarning) as record:
        data = load_dataset(name, seed=1, n=300)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{title} could not be downloaded (no network?); ")
    what = "300 of its 1,797 8x8 images" if stand_in == "digits" else "300 generated 32x32"
    assert f"using the offline {stand_in} set ({what}" in message
    assert message.endswith(" instead.")
    expected = load_dataset(stand_in, seed=1, n=300)
    assert np.array_equal(data.X, expected.X) and data.class_names == expected.class_names
    assert record[0].filename == __file__  # points at the caller's line


def test_failed_download_falls_back_with_one_warning(keras_cache, monkeypatch):
    def unreachable(name):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(online, "_reachable", lambda url, timeout=0: True)
    monkeypatch.setattr(online, "_keras_load_data", unreachable)
    with pytest.warns(OfflineFallbackWarning) as record:
        X, y, class_names = load_dataset("mnist", raw=True)
    assert len(record) == 1
    assert str(record[0].message) == (
        "MNIST could not be downloaded or read (URLError: <urlopen error [Errno -2] Name or "
        "service not known>); using the offline digits set (1,797 8x8 images) instead."
    )
    assert X.shape == (1797, 8, 8, 1) and X.dtype == np.uint8 and class_names[9] == "9"


def test_real_keras_download_failure_falls_back(keras_cache, monkeypatch):
    # The real keras.datasets.mnist.load_data, with its download failing inside get_file.
    from keras.src.utils import file_utils

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError("refused")

    monkeypatch.setattr(online, "_reachable", lambda url, timeout=0: True)
    monkeypatch.setattr(file_utils, "urlretrieve", refuse)
    with pytest.warns(OfflineFallbackWarning, match=r"^MNIST could not be downloaded or read"):
        X, _, _ = load_dataset("mnist")
    assert X.shape == (1797, 8, 8, 1)


def test_offline_switch_skips_the_network(keras_cache, monkeypatch):
    def must_not_probe(url, timeout=0):
        raise AssertionError("probed the network although CNNWIDGETS_OFFLINE is set")

    monkeypatch.setattr(online, "_reachable", must_not_probe)
    monkeypatch.setenv("CNNWIDGETS_OFFLINE", "1")
    with pytest.warns(OfflineFallbackWarning) as record:
        X, _, class_names = load_dataset("cifar10")
    assert len(record) == 1
    assert str(record[0].message) == (
        "CIFAR-10 was not downloaded because CNNWIDGETS_OFFLINE is set; using the offline "
        "shapes set (1,200 generated 32x32 colour shapes) instead."
    )
    assert X.shape == (1200, 32, 32, 3) and class_names == list(SHAPE_NAMES)


def test_probe_is_quick_and_counts_an_http_error_as_online():
    start = time.perf_counter()
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert online._reachable(f"http://127.0.0.1:{port}/mnist.npz", timeout=2) is False
    assert online._reachable("http://nonexistent.invalid/mnist.npz", timeout=2) is False
    assert time.perf_counter() - start < 5

    class NotAllowed(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(405)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotAllowed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert online._reachable(f"http://127.0.0.1:{server.server_port}/x", timeout=2) is True
    finally:
        server.shutdown()
        server.server_close()


def test_keras_home_mirrors_keras_before_keras_is_imported(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "keras.src.backend.config", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert online.keras_home() == tmp_path
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert online.keras_home() == tmp_path / ".keras"


def test_socket_timeout_is_restored():
    before = socket.getdefaulttimeout()
    with pytest.raises(RuntimeError), online._socket_timeout(1.5):
        assert socket.getdefaulttimeout() == 1.5
        raise RuntimeError
    assert socket.getdefaulttimeout() == before


# --------------------------------------------------------------------------- split


def test_split_sizes_and_partition():
    X, y, _ = load_dataset("digits")
    X_train, X_test, y_train, y_test = split(X, y)
    assert (len(X_train), len(X_test)) == (1437, 360)  # test rounded up, as scikit-learn
    assert X_train.shape[1:] == (8, 8, 1) and y_train.dtype == np.int64
    parts = split(np.arange(1797), y, test_size=0.2, val_size=0.1)
    assert len(parts) == 6
    train, val, test, y_train, y_val, y_test = parts
    assert (len(train), len(val), len(test)) == (1257, 180, 360)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(1797))
    assert np.array_equal(y[train], y_train) and np.array_equal(y[test], y_test)


def test_split_is_stratified_shuffled_and_seeded():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    X = np.arange(len(y))
    train, val, test, y_train, y_val, y_test = split(X, y, test_size=0.2, val_size=0.2, seed=7)
    assert np.bincount(y_test).tolist() == [100, 60, 40]
    assert np.bincount(y_val).tolist() == [100, 60, 40]
    assert np.bincount(y_train).tolist() == [300, 180, 120]
    assert not np.array_equal(y_test, np.sort(y_test))  # classes are not in blocks
    again = split(X, y, test_size=0.2, val_size=0.2, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, val, test), strict=False))
    other = split(X, y, test_size=0.2, val_size=0.2, seed=8)
    assert not np.array_equal(other[2], test)
    _, plain_test, _, _ = split(X, y, test_size=0.2, stratify=False, seed=0)
    assert len(plain_test) == 200
    _, counted_test, _, _ = split(X, y, test_size=150)
    assert len(counted_test) == 150


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    test_size=st.floats(0.05, 0.5),
    val_size=st.sampled_from([0.0, 0.1, 0.25]),
    seed=st.integers(0, 2**16),
)
def test_split_property_partition_and_proportions(counts, test_size, val_size, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    n = len(y)
    n_test, n_val = int(np.ceil(round(test_size * n, 9))), int(np.ceil(round(val_size * n, 9)))
    if n - n_test - n_val < 1:
        with pytest.raises(ValueError, match="no training images"):
            split(y, y, test_size=test_size, val_size=val_size, seed=seed)
        return
    parts = split(np.arange(n), y, test_size=test_size, val_size=val_size, seed=seed)
    index = parts[: len(parts) // 2]
    assert sorted(np.concatenate(index).tolist()) == list(range(n))
    test = index[-1]
    assert len(test) == n_test and (len(index) == 3) == (n_val > 0)
    for k, count in enumerate(counts):  # every class within one image of its share
        assert abs(np.sum(y[test] == k) - count * n_test / n) < 1


def test_split_errors_are_clear():
    with pytest.raises(ValueError, match="same length, got 3 images and 2 labels"):
        split(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match=r"test_size as a fraction must be in \[0, 1\)"):
        split(np.zeros(4), [0, 0, 1, 1], test_size=1.5)
    with pytest.raises(ValueError, match="leave no training images"):
        split(np.zeros(4), [0, 0, 1, 1], test_size=0.5, val_size=0.5)
    with pytest.raises(TypeError, match="fraction or a number of images"):
        split(np.zeros(4), [0, 0, 1, 1], test_size="20%")


# --------------------------------------------------------------------------- photos


@pytest.mark.parametrize("name", PHOTO_NAMES)
def test_every_photo_loads_in_colour_and_gray(name):
    colour = load_photo(name)
    gray = load_photo(name, gray=True)
    assert colour.dtype == np.uint8 and colour.ndim == 3 and colour.shape[2] == 3
    assert gray.dtype == np.uint8 and gray.shape == colour.shape[:2]


def test_photo_sizes_and_gray_sources():
    assert load_photo("chelsea").shape == (300, 451, 3)
    assert load_photo("chelsea", size=64).shape == (64, 64, 3)
    assert load_photo("coffee", size=(48, 80)).shape == (48, 80, 3)
    assert load_photo("coffee", size=(48, 80), gray=True).shape == (48, 80)
    camera = load_photo("camera")
    assert camera.shape == (512, 512, 3)
    assert np.array_equal(camera[..., 0], camera[..., 2])
    assert np.array_equal(load_photo("camera", gray=True), camera[..., 0])
    with pytest.raises(ValueError, match="positive int or a"):
        load_photo("camera", size=0)


def test_photo_is_a_fresh_array_each_time():
    first = load_photo("astronaut")
    first[:] = 0
    assert load_photo("astronaut").max() > 0


def test_size_crops_the_centre_instead_of_stretching(tmp_path):
    wide = np.zeros((100, 200, 3), np.uint8)
    wide[:, :50] = (255, 0, 0)  # red side bands that a centre crop removes
    wide[:, 150:] = (255, 0, 0)
    wide[:, 50:150] = (0, 0, 255)
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)
    square = load_photo(path, size=20)
    assert square.shape == (20, 20, 3)
    assert square[..., 0].max() < 10 and square[..., 2].min() > 245


def test_any_image_file_loads_and_edits_are_seen(tmp_path):
    path = tmp_path / "pic.png"
    Image.fromarray(np.full((10, 12, 4), 200, np.uint8), "RGBA").save(path)
    assert load_photo(str(path)).shape == (10, 12, 3)
    Image.fromarray(np.full((10, 12), 7, np.uint8), "L").save(path)
    image = load_photo(path)
    assert image.shape == (10, 12, 3) and (image == 7).all()
    jpeg = tmp_path / "pic.jpg"
    Image.fromarray(np.full((6, 6, 3), 90, np.uint8)).save(jpeg)
    assert load_photo(jpeg, gray=True).shape == (6, 6)


def test_unknown_photo_lists_the_names():
    with pytest.raises(ValueError) as info:
        load_photo("mona lisa")
    message = str(info.value)
    assert "'mona lisa'" in message and all(name in message for name in PHOTO_NAMES)
    assert "path of an image file" in message


# --------------------------------------------------------------------------- folders


def _png(path, size, colour, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


@pytest.fixture
def pets(tmp_path):
    """Two classes of three PNGs of various sizes, plus a folder Jupyter leaves behind."""
    root = tmp_path / "pets"
    for k in range(3):
        _png(root / "dogs" / f"dog{k}.png", (20 + k, 30), (0, 0, 255))
        _png(root / "cats" / f"cat{k}.png", (40, 10 + k), (255, 0, 0))
    _png(root / ".ipynb_checkpoints" / "old.png", (5, 5), (0, 255, 0))
    (root / "cats" / "notes.txt").write_text("not an image")
    return root


def test_load_folder_gives_a_keras_dataset(pets):
    ds = load_folder(pets, image_size=16)
    assert ds.class_names == ["cats", "dogs"]
    images, labels = next(iter(ds))
    assert tuple(images.shape) == (6, 16, 16, 3) and tuple(labels.shape) == (6,)
    images, labels = images.numpy(), labels.numpy()
    reds = images[labels == 0]
    assert len(reds) == 3 and np.allclose(reds[..., 0], 255) and np.allclose(reds[..., 2], 0)


def test_load_folder_validation_split_gives_a_pair(pets):
    train_ds, val_ds = load_folder(
        pets, image_size=(8, 12), validation_split=0.5, batch_size=2, color_mode="grayscale"
    )
    n_train = sum(int(x.shape[0]) for x, _ in train_ds)
    n_val = sum(int(x.shape[0]) for x, _ in val_ds)
    assert (n_train, n_val) == (3, 3)
    assert tuple(next(iter(val_ds))[0].shape[1:]) == (8, 12, 1)
    only_val = load_folder(pets, image_size=8, validation_split=0.5, subset="validation")
    assert sum(int(x.shape[0]) for x, _ in only_val) == 3
    with pytest.raises(ValueError, match="needs validation_split"):
        load_folder(pets, subset="training")


def test_load_folder_arrays_reads_a_small_folder(pets):
    X, y, class_names = load_folder_arrays(pets, image_size=(8, 10))
    assert X.shape == (6, 8, 10, 3) and X.dtype == np.float32
    assert class_names == ["cats", "dogs"] and y.tolist() == [0, 0, 0, 1, 1, 1]
    assert np.allclose(X[0, ..., 0], 1.0) and np.allclose(X[3, ..., 2], 1.0)
    gray = load_folder_arrays(pets, image_size=4, color_mode="grayscale", raw=True)
    assert gray.X.shape == (6, 4, 4, 1) and gray.X.dtype == np.uint8
    with pytest.raises(ValueError, match="color_mode must be one of"):
        load_folder_arrays(pets, color_mode="cmyk")


@pytest.mark.parametrize("loader", [load_folder, load_folder_arrays])
def test_folder_errors_say_what_layout_is_expected(tmp_path, loader):
    with pytest.raises(ValueError, match=r"does not exist; expected one subfolder per class"):
        loader(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    _png(tmp_path / "flat" / "a.png", (4, 4), (1, 2, 3))
    with pytest.raises(ValueError, match=r"has no class subfolders; .*flat/cats/\*\.jpg"):
        loader(tmp_path / "flat")
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"\(cats\) hold no bmp/gif/jpeg/jpg/png images"):
        loader(tmp_path / "empty")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        loader(tmp_path / "flat" / "a.png")


# --------------------------------------------------------------------------- learnability


@pytest.mark.slow
def test_a_small_cnn_learns_the_shapes():
    from cnnwidgets.keras_helpers import quiet_keras

    keras = quiet_keras()
    X, y, class_names = load_dataset("shapes")
    X_train, X_test, y_train, y_test = split(X, y, test_size=0.25)
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input(X.shape[1:]),
            layers.Conv2D(16, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu", padding="same"),
            layers.GlobalMaxPooling2D(),
            layers.Dense(len(class_names), activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    start = time.perf_counter()
    model.fit(X_train, y_train, epochs=5, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(X_test, y_test, verbose=0)
    assert accuracy > 0.8, accuracy
    assert seconds < 30, seconds  # about 6 s on two shared cores
