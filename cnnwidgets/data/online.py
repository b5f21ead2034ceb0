"""The keras.datasets sets (MNIST, Fashion-MNIST, CIFAR-10), fetched only if the network allows."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["OfflineFallbackWarning"]

ONLINE_NAMES: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10")
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
FALLBACKS = {"mnist": "digits", "fashion_mnist": "digits", "cifar10": "shapes"}

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": (
        "T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot".split("|")
    ),
    "cifar10": "airplane automobile bird cat deer dog frog horse ship truck".split(),
}

# Where keras.datasets fetches from (keras/src/datasets/*.py) and what it leaves in its
# cache, relative to <keras home>/datasets: if these exist no network is needed.
_KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_ORIGINS = {
    "mnist": _KERAS_BASE + "mnist.npz",
    "fashion_mnist": _KERAS_BASE + "train-labels-idx1-ubyte.gz",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
}
_CACHED = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": tuple(
        f"fashion-mnist/{part}-{kind}-idx{dim}-ubyte.gz"
        for part in ("train", "t10k")
        for kind, dim in (("labels", 1), ("images", 3))
    ),
    "cifar10": ("cifar-10-batches-py-target_archive",),
}

OFFLINE_ENV = "CNNWIDGETS_OFFLINE"
PROBE_TIMEOUT = 3.0  # seconds to learn whether the server answers at all
DOWNLOAD_TIMEOUT = 30.0  # seconds any one socket operation of the download may stall


class OfflineFallbackWarning(UserWarning):
    """An online data set could not be fetched, so its offline stand-in was loaded instead."""


def keras_uint8(name: str) -> tuple[np.ndarray, np.ndarray, list[str]] | str:
    """Keras's train and test images of ``name``, as ``uint8`` NHWC, labels and names.

    Returns, instead, a short reason (``"could not be downloaded (no network?)"``) when the
    set is not in Keras's cache and cannot be fetched. Never hangs for long: the server is
    probed first with a short timeout, and the download runs under a socket timeout.
    """
    if os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return f"was not downloaded because {OFFLINE_ENV} is set"
    if not _is_cached(name) and not _reachable(_ORIGINS[name]):
        return "could not be downloaded (no network?)"
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT):
            (x_train, y_train), (x_test, y_test) = _keras_load_data(name)
    except Exception as err:  # any failure of the fetch or of the cached file
        reason = type(err).__name__
        if str(err):
            reason += ": " + str(err).splitlines()[0][:80]
        return f"could not be downloaded or read ({reason})"
    X = np.concatenate([x_train, x_test]).astype(np.uint8, copy=False)
    if X.ndim == 3:  # grayscale sets come without a channel axis
        X = X[..., np.newaxis]
    y = np.concatenate([np.ravel(y_train), np.ravel(y_test)]).astype(np.int64)
    return X, y, list(CLASS_NAMES[name])


def keras_home() -> Path:
    """The directory Keras caches downloads under (its ``datasets/`` lives inside)."""
    config = sys.modules.get("keras.src.backend.config")
    if config is not None and hasattr(config, "keras_home"):
        return Path(config.keras_home())  # what Keras itself will use
    # Keras reads KERAS_HOME when imported; until then mirror its rule.
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = Path(os.path.expanduser("~"))
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def _keras_load_data(name: str):
    from ..keras_helpers import quiet_keras

    keras = quiet_keras()
    return getattr(keras.datasets, name).load_data()


def _is_cached(name: str) -> bool:
    datasets = keras_home().expanduser() / "datasets"
    return all((datasets / part).is_file() for part in _CACHED[name])


def _reachable(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the server of ``url`` answers within ``timeout`` seconds (proxies honoured)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # the server answered, if only with an error: the network is there
    except (OSError, ValueError):  # URLError, timeouts, refused, no DNS, bad TLS
        return False


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # urllib's urlretrieve, which Keras's get_file uses, has no timeout argument and
    # would otherwise wait on a stalled connection for minutes.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)
