"""Values between a student's kernel and the grader's verifier, as data only.

Graded test cells do not run in the student's kernel, where code in the
submission could rewrite what a test sees (a lying ``__eq__``, an input
transformer, a patched ``numpy.allclose``). They run in the verifier
(:mod:`cnnwidgets.instructor.isolation.verifier`), a fresh process with pristine
modules, which asks the student's kernel for the names a test uses. Every
answer crosses as *data*:

- numbers, text, ``None``, lists, tuples, dicts and sets of those, as JSON;
- NumPy arrays and scalars (and framework tensors), as ``.npy`` files read
  with ``allow_pickle=False``;
- Keras models, as ``.keras`` files loaded with ``safe_mode=True`` (no
  Python code inside); other Keras layers as their config;
- modules and the kit's, NumPy's or Keras's own functions and classes, by
  name: the verifier imports its own, untouched copy;
- the student's functions, as handles: calling one in a test runs it in the
  student's kernel (seeded from the verifier's random state) and brings the
  result back by the same rules.

So a tampered kernel can only hand back data, and data must be right to pass.
:func:`serve` is the kernel's side (the code in the submission can replace it,
which changes nothing of the above); :func:`encode` and :func:`decode` are
used by both sides, and :func:`decode` trusts nothing it reads.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "BRIDGE_MODULE",
    "BridgeError",
    "Unsupported",
    "bridge_path",
    "decode",
    "encode",
    "serve",
]

# How the kernel imports this module to answer a request (by name: the kit is on its path).
BRIDGE_MODULE = __name__


def bridge_path() -> str:
    """This file: a room, which cannot import the kit, executes it by path as its codec."""
    return str(Path(__file__).resolve())


# Packages whose functions, classes and modules the verifier imports itself.
TRUSTED_PACKAGES = frozenset(
    {"cnnwidgets", "numpy", "keras", "tensorflow", "scipy", "sklearn", "PIL", "plotly", "pandas"}
)
MAX_FILE_BYTES = 1 << 30  # one answer file (an array, a model)
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000  # numbers and strings in one JSON answer


class BridgeError(Exception):
    """An answer that cannot be read as data (damaged, forged, or not data at all)."""


class Unsupported(TypeError):
    """A value that cannot cross as data (an open file, a generator, ...)."""


def _trusted(module: object) -> bool:
    name = module if isinstance(module, str) else ""
    top = name.split(".", 1)[0]
    return top in TRUSTED_PACKAGES or top in sys.stdlib_module_names


def _is_keras(value: object, kind: str) -> bool:
    keras = sys.modules.get("keras")
    if keras is None:
        return False
    cls = {"model": keras.Model, "layer": keras.layers.Layer}[kind]
    return isinstance(value, cls)


def _is_tensor(value: object) -> bool:
    module = type(value).__module__ or ""
    return (
        module.split(".", 1)[0] in {"tensorflow", "keras", "jax", "torch"}
        and hasattr(value, "shape")
        and hasattr(value, "dtype")
        and not callable(value)
    )


class _Writer:
    """Encodes one value, writing its files as ``<stem>-<n>.<ext>`` in ``folder``."""

    def __init__(
        self,
        folder: Path,
        stem: str,
        handle: Callable[[object], int] | None,
        known: Callable[[object], int | None] | None = None,
        callables_by_name: bool = True,
        refuse: Callable[[object], str | None] | None = None,
    ):
        self.folder, self.stem, self.handle, self.known = folder, stem, handle, known
        self.callables_by_name, self.refuse = callables_by_name, refuse
        self.files = 0
        self.items = 0

    def path(self, ext: str) -> tuple[Path, str]:
        self.files += 1
        name = f"{self.stem}-{self.files}.{ext}"
        return self.folder / name, name

    def __call__(self, value: Any, depth: int = 0) -> list:
        import numbers

        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise Unsupported("the value is nested too deeply or holds too many items")
        if self.refuse is not None and (why := self.refuse(value)) is not None:
            raise Unsupported(why)
        if value is None:
            return ["none"]
        if isinstance(value, bool):
            return ["bool", bool(int(value))]
        np = sys.modules.get("numpy")
        if np is not None and isinstance(value, (np.ndarray, np.generic)):
            return self.array(np, value)
        if isinstance(value, int):
            return ["int", int.__index__(value)]
        if isinstance(value, float):
            return ["float", float.__float__(value).hex()]
        if isinstance(value, complex):
            z = complex.__complex__(value)
            return ["complex", z.real.hex(), z.imag.hex()]
        if isinstance(value, str):
            return ["str", str.__str__(value)]
        if isinstance(value, (bytes, bytearray)):
            return ["bytes", bytes(value).hex()]
        if isinstance(value, tuple):
            return ["tuple", [self(v, depth + 1) for v in tuple.__iter__(value)]]
        if isinstance(value, list):
            return ["list", [self(v, depth + 1) for v in list.__iter__(value)]]
        if isinstance(value, (set, frozenset)):
            return ["set", [self(v, depth + 1) for v in value]]
        if isinstance(value, dict):
            pairs = dict.items(value)
            return ["dict", [[self(k, depth + 1), self(v, depth + 1)] for k, v in pairs]]
        if isinstance(value, type(sys)):
            if not _trusted(value.__name__):
                raise Unsupported(f"module {value.__name__!r} is not one the grader can import")
            return ["module", value.__name__]
        if _is_keras(value, "model"):
            if self.known is not None and (ref := self.known(value)) is not None:
                return ["ref", ref]  # the kernel's own model, unchanged: no copy needed
            path, name = self.path("keras")
            value.save(path)
            return ["model", name] + ([self.handle(value)] if self.handle else [])
        if _is_keras(value, "layer"):
            keras = sys.modules["keras"]
            config = keras.saving.serialize_keras_object(value)
            return ["layer", json.loads(json.dumps(config))]
        if _is_tensor(value) and np is not None:
            return ["tensor", self.array(np, np.asarray(value))]
        if isinstance(value, numbers.Number) and hasattr(value, "__float__"):
            return ["float", float(value).hex()]
        if callable(value):
            module = getattr(value, "__module__", None)
            qualname = getattr(value, "__qualname__", None)
            if (self.callables_by_name and isinstance(module, str) and isinstance(qualname, str)
                    and _trusted(module) and "<" not in qualname):  # fmt: skip
                return ["import", module, qualname]
            if self.handle is None:
                raise Unsupported(f"{_describe(value)} cannot be passed to the student's code")
            name = getattr(value, "__name__", None)
            return ["callable", self.handle(value), name if isinstance(name, str) else "function"]
        raise Unsupported(f"{_describe(value)} is not data the grader can read")

    def array(self, np, value) -> list:
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise Unsupported("an array of Python objects (dtype=object) is not data")
        path, name = self.path("npy")
        np.save(path, array, allow_pickle=False)
        return ["scalar" if isinstance(value, np.generic) else "array", name]


def _describe(value: object) -> str:
    kind = type(value)
    return f"a {kind.__module__}.{kind.__qualname__} object"


def encode(
    value: Any,
    folder: Path | str,
    stem: str,
    handle: Callable[[object], int] | None = None,
    known: Callable[[object], int | None] | None = None,
    *,
    callables_by_name: bool = True,
    refuse: Callable[[object], str | None] | None = None,
) -> list:
    """``value`` as a JSON-able tree; arrays and models go to files in ``folder``.

    ``handle`` turns a function into a number the other side can call back
    (the kernel's side has one; the verifier's side passes none). ``known``
    names a model that came from the other side unchanged, so that it goes
    back as a reference (``["ref", handle]``) instead of a copy. With
    ``callables_by_name=False`` a library's function crosses as a handle too,
    never as an import (a rule's room: what runs there stays there).
    ``refuse(value)`` may veto a value, with the reason (raised as
    :class:`Unsupported`).

    Examples
    --------
    >>> import tempfile
    >>> encode((1, [2.5, "a"], None), tempfile.mkdtemp(), "x")
    ['tuple', [['int', 1], ['list', [['float', '0x1.4000000000000p+1'], ['str', 'a']]], ['none']]]
    """
    return _Writer(Path(folder), stem, handle, known, callables_by_name, refuse)(value)


def _read_file(folder: Path, name: object) -> bytes:
    """The bytes of a plain file directly in ``folder``: no links, devices or pipes."""
    if not isinstance(name, str) or "/" in name or name in ("", ".", ".."):
        raise BridgeError(f"bad file name {name!r}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(folder / name, flags)
    except OSError as exc:
        raise BridgeError(f"cannot open {name}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BridgeError(f"{name} is not a plain file")
        if info.st_size > MAX_FILE_BYTES:
            raise BridgeError(f"{name} is larger than {MAX_FILE_BYTES >> 20} MB")
        return fh.read(MAX_FILE_BYTES + 1)


class _Reader:
    def __init__(self, folder: Path, call, safe: bool, refs=None, on_model=None, imports=True):
        self.folder, self.call, self.safe = folder, call, safe
        self.refs, self.on_model, self.imports = refs, on_model, imports
        self.items = 0

    def __call__(self, node: Any, depth: int = 0) -> Any:
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise BridgeError("the answer is nested too deeply or holds too many items")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise BridgeError(f"not an answer: {str(node)[:80]}")
        tag, args = node[0], node[1:]
        try:
            method = getattr(self, "tag_" + tag)
        except AttributeError:
            raise BridgeError(f"unknown kind of answer {tag!r}") from None
        return method(depth, *args)

    # Each tag_* checks its arguments' types: anything else is a forged answer.
    def tag_none(self, depth):
        return None

    def tag_bool(self, depth, v):
        return _typed(v, bool)

    def tag_int(self, depth, v):
        if type(v) is not int:
            raise BridgeError("an int that is not one")
        return v

    def tag_float(self, depth, v):
        return float.fromhex(_typed(v, str))

    def tag_complex(self, depth, re, im):
        return complex(float.fromhex(_typed(re, str)), float.fromhex(_typed(im, str)))

    def tag_str(self, depth, v):
        return _typed(v, str)

    def tag_bytes(self, depth, v):
        return bytes.fromhex(_typed(v, str))

    def tag_list(self, depth, items):
        return [self(i, depth + 1) for i in _typed(items, list)]

    def tag_tuple(self, depth, items):
        return tuple(self.tag_list(depth, items))

    def tag_set(self, depth, items):
        return set(self.tag_list(depth, items))

    def tag_dict(self, depth, pairs):
        out = {}
        for pair in _typed(pairs, list):
            if not isinstance(pair, list) or len(pair) != 2:
                raise BridgeError("a dict entry that is not a pair")
            out[self(pair[0], depth + 1)] = self(pair[1], depth + 1)
        return out

    def tag_array(self, depth, name):
        import io

        import numpy as np

        try:
            return np.load(io.BytesIO(_read_file(self.folder, name)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise BridgeError(f"{name} is not a NumPy array file: {exc}") from None

    def tag_scalar(self, depth, name):
        array = self.tag_array(depth, name)
        if array.shape != ():
            raise BridgeError(f"{name} holds an array, not a scalar")
        return array[()]

    def tag_tensor(self, depth, inner):
        from cnnwidgets.keras_helpers import quiet_keras

        return quiet_keras().ops.convert_to_tensor(self(inner, depth + 1))

    def tag_module(self, depth, name):
        import importlib

        if not self.imports:
            raise BridgeError(f"a module ({str(name)[:80]}) where only data may come")
        if not isinstance(name, str) or not _trusted(name):
            raise BridgeError(f"module {name!r} is not one the grader imports")
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            raise BridgeError(f"cannot import module {name!r}: {exc}") from None

    def tag_import(self, depth, module, qualname):
        if not self.imports:  # a rule's room answers with data and its own functions only
            raise BridgeError(
                f"{str(module)[:80]}.{str(qualname)[:80]}, a library's function, where only data "
                "and the answer's own functions may come"
            )
        value = self.tag_module(depth, module)
        for part in _typed(qualname, str).split("."):
            try:
                value = getattr(value, part)
            except AttributeError:
                raise BridgeError(f"{module}.{qualname} does not exist") from None
        return value

    def tag_ref(self, depth, handle):
        if self.refs is None or type(handle) is not int:
            raise BridgeError("a reference where only data may come")
        try:
            return self.refs(handle)
        except KeyError:
            raise BridgeError(f"no object {handle}") from None

    def tag_model(self, depth, name, handle=None):
        model = self._load_model(name)
        if self.on_model is not None and type(handle) is int:
            self.on_model(model, handle)
        return model

    def _load_model(self, name):
        import tempfile
        import warnings

        from cnnwidgets.keras_helpers import quiet_keras

        keras = quiet_keras()
        data = _read_file(self.folder, name)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            path.write_bytes(data)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return keras.saving.load_model(path, safe_mode=self.safe)
            except Exception as exc:  # a model file the grader cannot rebuild safely
                raise BridgeError(
                    f"the model could not be rebuilt from its saved form ({type(exc).__name__}: "
                    f"{_first_line(exc)}); build models from keras.layers, without Lambda "
                    "layers or classes of your own"
                ) from None

    def tag_layer(self, depth, config):
        from cnnwidgets.keras_helpers import quiet_keras

        keras = quiet_keras()
        try:
            return keras.saving.deserialize_keras_object(config, safe_mode=self.safe)
        except Exception as exc:
            raise BridgeError(
                f"the layer could not be rebuilt from its config ({type(exc).__name__}: "
                f"{_first_line(exc)})"
            ) from None

    def tag_callable(self, depth, handle, name):
        if self.call is None:
            raise BridgeError("a function handle where only data may come")
        if type(handle) is not int or not isinstance(name, str):
            raise BridgeError("a bad function handle")
        return self.call(handle, name)


def _typed(value, kind):
    if type(value) is not kind:
        raise BridgeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def decode(
    node: Any,
    folder: Path | str,
    call: Callable[[int, str], Any] | None = None,
    safe: bool = True,
    refs: Callable[[int], Any] | None = None,
    on_model: Callable[[Any, int], None] | None = None,
    imports: bool = True,
) -> Any:
    """The value an :func:`encode` tree stands for; :class:`BridgeError` if it is not data.

    With ``imports=False`` modules and library functions named by the other side are
    refused too: what a rule's room answers must be computed there.

    ``call(handle, name)`` makes the stand-in for a function handle; without
    it a handle is refused. ``refs(handle)`` resolves a reference (the kernel's
    side only); ``on_model(model, handle)`` hears of each model that came with
    a handle.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> decode(encode({"shape": (3, 3)}, folder, "x"), folder)
    {'shape': (3, 3)}
    >>> decode(["eval", "__import__('os')"], folder)
    Traceback (most recent call last):
    ...
    cnnwidgets.instructor.isolation.bridge.BridgeError: unknown kind of answer 'eval'
    """
    try:
        return _Reader(Path(folder), call, safe, refs, on_model, imports)(node)
    except RecursionError:
        raise BridgeError("the answer is nested too deeply") from None
    except TypeError as exc:  # a tag with the wrong number of fields
        raise BridgeError(f"a malformed answer ({exc})") from None


# --- the kernel's side ---------------------------------------------------------------------

_HANDLES: dict[int, object] = {}


def _handle(value: object) -> int:
    key = id(value)
    _HANDLES[key] = value
    return key


def fingerprint(model) -> str:
    """A digest of a Keras model's config, trainable flags and weights (to spot changes)."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for layer in _all_layers(model):
        digest.update(f"{layer.name}:{layer.trainable};".encode())
    for variable in model.weights:
        digest.update(np.ascontiguousarray(np.asarray(variable)).tobytes())
    return digest.hexdigest()


def _all_layers(model):
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _all_layers(layer)


def _namespace() -> dict:
    try:
        return get_ipython().user_ns  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        return sys.modules["__main__"].__dict__


def _seed(seed: int) -> None:
    """Seed the kernel's generators as ``keras.utils.set_random_seed`` would."""
    import random

    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed % 2**32)


def serve(request_path: str, callables_by_name: bool = True) -> None:
    """Answer one request of the verifier (run in the student's kernel, or in a rule's room).

    The request (JSON) asks for a name (``get``) or for a call of a function
    handle with arguments (``call``); the answer goes to ``answer`` in the
    folder named by ``reply_dir``. What the student's code raises is reported
    as ``raised`` with its type, message and traceback.
    """
    by_name = callables_by_name
    request = json.loads(Path(request_path).read_text())
    out = Path(request["reply_dir"])
    stem = request["stem"]
    try:
        if request["op"] == "get":
            namespace = _namespace()
            name = request["name"]
            if name not in namespace:
                answer: dict = {"missing": True}
            else:
                value = namespace[name]
                answer = {"value": encode(value, out, stem, _handle, callables_by_name=by_name)}
        elif request["op"] == "call":
            folder = Path(request_path).parent
            function = _HANDLES[request["handle"]]
            args = decode(request["args"], folder, safe=False, refs=_HANDLES.__getitem__)
            kwargs = decode(request["kwargs"], folder, safe=False, refs=_HANDLES.__getitem__)
            if request.get("seed") is not None:
                _seed(request["seed"])
            result = function(*args, **kwargs)
            answer = {"value": encode(result, out, stem, _handle, callables_by_name=by_name)}
        else:
            raise ValueError(f"unknown request {request['op']!r}")
    except Unsupported as exc:
        answer = {"unsupported": str(exc)}
    except BaseException as exc:  # the student's code raised: report it, as data
        if isinstance(exc, KeyboardInterrupt):
            raise
        frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
        answer = {
            "raised": {
                "type": type(exc).__name__,
                "message": str(exc),
                # Drop this module's frame: the student's code starts below it.
                "traceback": "".join(frames[:1] + frames[2:])[-20000:],
            }
        }
    text = json.dumps(answer, allow_nan=False)
    (out / f"{stem}.json").write_text(text)
