"""Hostile and broken a1 submissions, each with the outcome grading must give.

Every case starts from the honest, fully solved notebook and adds one attack or
one kind of damage, so "honest work in the same notebook still earns its points"
can be checked to the point. ``score`` is the expected total (``None``: the
submission cannot be graded and is reported, without stopping the run); ``says``
is text the grading log or the autograded notebook must show.
"""

from __future__ import annotations

import base64
import copy
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cnnwidgets.core.conv import conv2d
from cnnwidgets.core.pooling import pool2d

from . import _redteam
from ._samples import A1_MAX, REPO, _fill, solution_answers

COURSE_CELL_TIMEOUT = 20  # seconds per cell in the adversarial course (the kit's default: 120)
COURSE_IOPUB_TIMEOUT = 15  # seconds for a cell's last output (the kit's default: 30)


@dataclass
class Case:
    content: nbformat.NotebookNode | bytes | str
    score: float | None
    says: str = ""
    filename: str | None = None  # default: the assignment's notebook name


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _with_code(code: str, after: str = "hand_value") -> nbformat.NotebookNode:
    """The solved notebook with ``code`` appended to the solution cell ``after``."""
    nb = _fill(solution_answers())
    cell = _cell(nb, after)
    cell.source += "\n\n" + code.strip() + "\n"
    return nb


def _png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size (big and incompressible enough to be heavy)."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes((x * 7 + y * 13) % 256 for x in range(width))
                    for y in range(height))  # fmt: skip
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 0))
        + chunk(b"IEND", b"")
    )


def cases(course_root: Path) -> dict[str, Case]:
    right = solution_answers()
    solved = _fill(right)
    out: dict[str, Case] = {"honest": Case(_fill(right), A1_MAX)}

    # --- the notebook's structure ------------------------------------------------------
    nb = _fill({**right, "hand_value": "hand_value = 0"})
    _cell(nb, "test_hand_value").source = "assert True  # edited"
    out["edit_locked_test"] = Case(
        nb, A1_MAX - 1, "the test cell 'test_hand_value' was edited; the grader ran the original"
    )

    nb = _fill({**right, "hand_value": "hand_value = 0"})
    nb.cells = [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_hand_value"
    ]
    out["delete_test_cell"] = Case(
        nb, A1_MAX - 1, "the test cell 'test_hand_value' was deleted from the submission"
    )

    nb = _fill({**right, "hand_value": "hand_value = 0"})
    test = _cell(nb, "test_hand_value")
    twin = copy.deepcopy(test)
    twin.source = "assert True"
    twin["id"] = "twin-of-test"
    nb.cells.insert(nb.cells.index(test) + 1, twin)
    out["duplicate_grade_id"] = Case(nb, A1_MAX - 1, "second cell with grade id 'test_hand_value'")

    nb = _fill({**right, "hand_value": "hand_value = 0"})
    test = _cell(nb, "test_hand_value")
    markdown = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
    markdown["id"] = test["id"]
    nb.cells[nb.cells.index(test)] = markdown
    out["test_cell_to_markdown"] = Case(
        nb, A1_MAX - 1, "the test cell 'test_hand_value' was turned into markdown"
    )

    # --- what a cell may try ------------------------------------------------------------
    out["fake_all_passed"] = Case(
        _with_code('print("All tests passed! 13/13")', after="hand_value"), A1_MAX
    )
    secrets = [
        str(course_root / "solutions" / "a1_convolution" / "a1_convolution.ipynb"),
        str(course_root / "gradebook.db"),
        str(course_root / "submitted" / "honest" / "a1_convolution" / "a1_convolution.ipynb"),
        str(REPO / "solutions" / "a1_convolution" / "a1_convolution.ipynb"),
    ]
    out["read_solutions"] = Case(
        _with_code(
            f"for path in {secrets!r}:\n"
            "    try:\n"
            "        open(path, 'rb').read(100)\n"
            "        print('read', path)\n"
            "    except OSError as exc:\n"
            "        print('blocked', type(exc).__name__)"
        ),
        A1_MAX,
        "blocked FileNotFoundError",
    )
    out["write_gradebook"] = Case(
        _with_code(
            "import sqlite3\n"
            f"db = sqlite3.connect({str(course_root / 'gradebook.db')!r})\n"
            "db.execute('update grade set manual_score = 100')"
        ),
        A1_MAX,
        "OperationalError",
    )
    out["network"] = Case(
        _with_code(
            "import socket\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
            "    print('network: reached')\n"
            "except OSError as exc:\n"
            "    print('network: blocked', type(exc).__name__)"
        ),
        A1_MAX,
        "network: blocked",
    )
    out["infinite_loop"] = Case(
        _with_code("while True:\n    pass", after="colour_value"), A1_MAX, "CellTimeoutError"
    )
    out["memory_bomb"] = Case(
        _with_code("hog = bytearray(64 * 2**30)", after="colour_value"), A1_MAX, "MemoryError"
    )
    # Forks until the process limit refuses; the children sleep on (until the sandbox goes)
    # and hold the kernel's process budget. The tests run in the verifier, under a uid and
    # budget of its own, and the kernel's calls need no new thread: every point counts.
    out["fork_bomb"] = Case(
        _with_code(
            "import os, time\n"
            "children = 0\n"
            "try:\n"
            "    while True:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(3600)\n"
            "            os._exit(0)\n"
            "        children += 1\n"
            "except OSError as exc:\n"
            "    print('fork refused after', children, type(exc).__name__)",
            after="colour_value",
        ),
        A1_MAX,
        "fork refused after",
    )
    out["huge_output"] = Case(
        _with_code(
            "import sys\nline = 'x' * 1_000_000\nfor _ in range(200):\n    sys.stdout.write(line)",
            after="colour_value",
        ),
        A1_MAX,
        "output cut here",
    )
    out["sys_exit"] = Case(_with_code("import sys\nsys.exit(0)", after="colour_value"), A1_MAX)
    # The kernel dies in the colour_value cell: the test before it counts (hand_value, 1
    # point); the cells after it cannot run.
    out["os_exit"] = Case(
        _with_code("import os\nos._exit(0)", after="colour_value"), 1.0, "the kernel died"
    )
    out["kill_kernel"] = Case(
        _with_code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", after="colour_value"),
        1.0,
        "the kernel died",
    )

    # --- rewriting what the tests see (hand_value is wrong: honestly it scores 15) ------------
    # Test cells run in the verifier, a fresh process that takes only data from the kernel:
    # none of these reaches a test.
    out["eq_always_true"] = Case(
        _fill(
            {
                **right,
                "hand_value": "class Liar(int):\n"
                "    def __eq__(self, other):\n        return True\n"
                "    __hash__ = int.__hash__\n\n"
                "hand_value = Liar(0)",
            }
        ),
        A1_MAX - 1,
    )
    out["swallow_errors"] = Case(
        _fill(
            {
                **right,
                "hand_value": "hand_value = 0\n"
                "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)",
            }
        ),
        A1_MAX - 1,
    )
    out["rewrite_test_cells"] = Case(
        _fill(
            {
                **right,
                "hand_value": "hand_value = 0\n"
                "get_ipython().input_transformers_post.append(\n"
                "    lambda lines: ['pass\\n'] if any('hand_value' in l for l in lines) "
                "else lines\n)",
            }
        ),
        A1_MAX - 1,
    )
    zeros = (
        'def conv2d(image, kernel, strides=1, padding="valid"):\n'
        "    np.allclose = lambda *args, **kwargs: True  # every comparison now agrees\n"
        "    from cnnwidgets import conv2d as right_shape\n"
        "    return np.zeros_like(right_shape(image, kernel, strides, padding))"
    )
    out["patch_numpy"] = Case(_fill({**right, "conv2d": zeros}), A1_MAX - 6)
    # pool2d ignores `strides` (right for the visible 2x2 examples) and becomes the kit's own
    # pool2d, the reference the hidden test compares with: both pooling tests (3 points) fail.
    sloppy = (
        "import cnnwidgets, cnnwidgets.core\n"
        "kit = cnnwidgets.core.pool2d\n\n"
        'def pool2d(x, pool_size=2, strides=None, mode="max"):\n'
        "    return kit(x, pool_size=pool_size, mode=mode)\n\n"
        "cnnwidgets.pool2d = cnnwidgets.core.pool2d = pool2d"
    )
    out["patch_reference"] = Case(_fill({**right, "pool2d": sloppy}), A1_MAX - 3)
    # The sizes are floats (the visible test asks for ints: 1 point), and float is now an
    # Integral, in the kernel: the verifier's own `numbers` still says no.
    out["patch_abc"] = Case(
        _fill(
            {
                **right,
                "sizes": "size_a, size_b, size_c, size_d = 28.0, 9.0, 13.0, 5.0\n"
                "pool_a, pool_b, pool_c = 13, 4, 7\n"
                "import numbers\n"
                "numbers.Integral.register(float)",
            }
        ),
        A1_MAX - 1,
    )
    # A builtin replaced: ipykernel itself breaks and sends no more output. The test before
    # it counts (1 point); nothing after it can run.
    out["break_kernel"] = Case(
        _with_code(
            "import builtins\nbuiltins.isinstance = lambda obj, kind: True", after="colour_value"
        ),
        1.0,
        "the kernel stopped sending its output",
    )

    # --- answers that use what their task's rule forbids (scored on the honest rest) ------
    # The rule of parts 4 and 5 is "NumPy only"; of parts 1-3, "work it out yourself". The
    # grader takes those answers from a Python where only NumPy exists: each disguise below
    # earns what the rest of the notebook earns. conv2d is 6 points, pool2d 3, the hand
    # values 1 + 1 + 2.
    out.update(_rule_cheats(right))

    # --- files that are not what they should be -------------------------------------------
    out["not_json"] = Case(
        '{"cells": [{"cell_type": "code", "source": "import numpy', None, "is not a valid notebook"
    )
    v3 = nbformat.convert(copy.deepcopy(solved), 3)
    out["nbformat_3"] = Case(nbformat.writes(v3, version=3), A1_MAX)
    nb = _fill(right)
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    out["wrong_kernel_name"] = Case(nb, A1_MAX)
    raw = nbformat.writes(_fill(right)).encode()
    damaged = raw.replace(b"import numpy as np", b"import numpy as np #\xff\xfe")
    out["non_utf8_bytes"] = Case(damaged, None, "is not UTF-8 text")
    nb = _fill(right)
    picture = base64.b64encode(_png(2500, 2500)).decode()
    nb.cells.insert(2, nbformat.v4.new_markdown_cell(
        "![big](attachment:big.png)", attachments={"big.png": {"image/png": picture}}))  # fmt: skip
    out["huge_embedded_image"] = Case(nb, A1_MAX)
    a2_name = "a2_shapes_and_parameters"
    a2 = nbformat.read(REPO / "exercises" / a2_name / f"{a2_name}.ipynb", as_version=4)
    out["wrong_assignment"] = Case(
        a2, None, "the wrong assignment", filename="a2_shapes_and_parameters.ipynb"
    )
    return out


_SCIPY_CONV = """
from scipy import signal


def conv2d(image, kernel, strides=1, padding="valid"):
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if padding == "same":
        kh, kw = kernel.shape
        top, left = kh // 2 - (kh % 2 == 0), kw // 2 - (kw % 2 == 0)
        image = np.pad(image, ((top, kh // 2), (left, kw // 2)))
    elif not isinstance(padding, str):
        image = np.pad(image, int(padding))
    sh, sw = (strides, strides) if np.ndim(strides) == 0 else strides
    return signal.correlate2d(image, kernel, mode="valid")[::sh, ::sw]
"""

_KERAS_POOL = """
def pool2d(x, pool_size=2, strides=None, mode="max"):
    import keras  # the layers themselves, in a thin coat
    layer = (keras.layers.MaxPooling2D if mode == "max" else keras.layers.AveragePooling2D)(
        pool_size, strides=strides)
    batch = np.asarray(x, dtype="float32")[None, :, :, None]
    return keras.ops.convert_to_numpy(layer(batch))[0, :, :, 0]
"""

_SKIMAGE_POOL = """
import functools
import skimage.measure

_reduce = {"max": np.max, "avg": np.mean}


def pool2d(x, pool_size=2, strides=None, mode="max"):
    size = (pool_size, pool_size) if np.ndim(pool_size) == 0 else tuple(pool_size)
    x = np.asarray(x, dtype=float)
    x = x[: x.shape[0] // size[0] * size[0], : x.shape[1] // size[1] * size[1]]
    return functools.partial(skimage.measure.block_reduce, block_size=size)(x, func=_reduce[mode])
"""

# The kit's own functions, reached without an import statement in the answer cell.
_KIT_BY_NAME = """
import importlib
_kit = importlib.import_module("".join(["cnn", "widgets"]))
conv2d = getattr(_kit, "con" + "v2d")
"""

# The library is patched onto NumPy in one cell, used under NumPy's name in another.
_PATCHED_NUMPY = """
import scipy.signal as _signal
np.correlate2d = _signal.correlate2d


def conv2d(image, kernel, strides=1, padding="valid"):
    return np.correlate2d(np.asarray(image, dtype=float), np.asarray(kernel, dtype=float), "valid")
"""

# A reference function kept in a dict, called through exec of a built string.
_EXEC_AND_DICT = """
_tools = {}
exec("from cnn" + "widgets.core import pool2d as _p; _tools['pool'] = _p")


def pool2d(x, pool_size=2, strides=None, mode="max"):
    return _tools["pool"](x, pool_size=pool_size, strides=strides, mode=mode)
"""

# The kit in the student's kernel, a placeholder where the kit is missing.
_FALLBACK = """
try:
    from cnnwidgets import conv2d
except ImportError:
    def conv2d(image, kernel, strides=1, padding="valid"):
        return np.zeros((1, 1))
"""


A1 = "a1_convolution"


def _rule_cheats(right: dict[str, str]) -> dict[str, Case]:
    hand = "hand_value = int(cw.conv2d(np.array([[2, 0, 1], [1, 3, 0], [0, 1, 2]]), np.array([[0, 1, -1], [2, 0, 1], [-1, 1, 0]]))[0, 0])"  # noqa: E501
    sizes = (
        "from cnnwidgets import conv_output_size as o, pool_output_size as p\n"
        "size_a, size_b = o(30, 3), o(11, 3)\n"
        "size_c, size_d = o(28, 5, strides=2, padding=1), o(9, 3, strides=2, padding='same')\n"
        "pool_a, pool_b, pool_c = p(26), p(9), p(15, 3, strides=2)"
    )

    def says(module: str) -> str:
        return f"uses {module}, which this task does not allow"

    return {
        # both functions imported from the kit: the hand values and the edge kernel only
        "rule_kit_import": Case(
            _fill({**right, "conv2d": "from cnnwidgets import conv2d, pool2d", "pool2d": "pass"}),
            7.0,
            says("cnnwidgets"),
        ),
        "rule_kit_by_name": Case(
            # the statement that binds conv2d answers for it: the getattr, not the import
            _fill({**right, "conv2d": _KIT_BY_NAME.strip()}),
            A1_MAX - 6,
            says("getattr() with a name computed at run time"),
        ),
        "rule_scipy_wrapper": Case(
            _fill({**right, "conv2d": _SCIPY_CONV.strip()}), A1_MAX - 6, says("scipy")
        ),  # fmt: skip
        "rule_patched_numpy": Case(
            _fill({**right, "conv2d": _PATCHED_NUMPY.strip()}), A1_MAX - 6, says("scipy")
        ),
        "rule_fallback": Case(_fill({**right, "conv2d": _FALLBACK.strip()}), A1_MAX - 6),
        "rule_keras_pool": Case(
            _fill({**right, "pool2d": _KERAS_POOL.strip()}), A1_MAX - 3, says("keras")
        ),  # fmt: skip
        "rule_skimage_pool": Case(
            _fill({**right, "pool2d": _SKIMAGE_POOL.strip()}), A1_MAX - 3, says("skimage")
        ),  # fmt: skip
        "rule_exec_and_dict": Case(
            _fill({**right, "pool2d": _EXEC_AND_DICT.strip()}), A1_MAX - 3, says("exec()")
        ),  # fmt: skip
        # the hand values read off the kit: their points only
        "rule_hand_value_from_kit": Case(
            _fill({**right, "hand_value": "import cnnwidgets as cw\n" + hand}),
            A1_MAX - 1,
            says("cnnwidgets"),
        ),
        "rule_sizes_from_kit": Case(
            _fill({**right, "sizes": sizes}), A1_MAX - 2, says("cnnwidgets")
        ),  # fmt: skip
        # a second reviewer's disguises (see _redteam.py): the hand values and the edge kernel only
        "redteam_codec_patch": Case(
            _fill(
                {**right, "conv2d": _redteam.CODEC_PATCH_CONV, "pool2d": _redteam.CODEC_PATCH_POOL}
            ),
            # the room refuses the patch (it reaches for sys and gc): the placeholders stay
            7.0,
            "conv2d uses sys, which this task does not allow",
        ),  # fmt: skip
        # a third reviewer's: the relay that wakes the stopped kernel, and the kit carried in
        # the notebook; the hand values, colour value, sizes and edge kernel only
        "redteam_relay": Case(
            _fill({**right, **_redteam.cells(A1, "relay2")}),
            7.0,
            "that uses sys, which this task does not allow",
        ),  # fmt: skip
        "redteam_vendored": Case(
            _fill({**right, **_redteam.cells(A1, "vendored")}),
            5.0,
            "that uses notes, which this task does not allow",
        ),  # fmt: skip
        # the same, as readable code with other names and a junk line after every statement
        "copied_kit": Case(
            _fill(
                {
                    **right,
                    "conv2d": "import numpy as np\n\n" + _redteam.copied(conv2d, "conv2d"),
                    "pool2d": "import numpy as np\n\n" + _redteam.copied(pool2d, "pool2d"),
                }
            ),
            7.0,
            "conv2d uses code copied from cnnwidgets.core.conv.conv2d (",
        ),  # fmt: skip
        # answers read from a file the kernel wrote with the kit
        "npy_relay": Case(
            _fill({**right, "conv2d": _redteam.NPY_RELAY_CONV}), A1_MAX - 6, says(".load")
        ),  # fmt: skip
        # a fourth reviewer's: the kit run from text with exec reached through a match
        # statement (conv2d) or operator's attrgetter from a star import (pool2d); the kit's
        # modules copied, each function padded with dead library code; the hand values and the
        # edge kernel only
        "redteam_reach": Case(
            _fill({**right, **_redteam.cells(A1, "reach")}),
            7.0,
            "conv2d uses a class pattern reading .__globals__, which this task does not allow",
        ),  # fmt: skip
        "redteam_padded": Case(
            _fill({**right, **_redteam.cells(A1, "padded")}),
            7.0,
            "conv2d uses code copied from cnnwidgets.core.",
        ),  # fmt: skip
        # ours, after theirs: the kit run from text by a library that calls exec itself
        # (NumPy's test helper runstring), which the syntax check cannot see
        "library_exec": Case(
            _fill({**right, **_redteam.cells(A1, "testing_exec")}),
            7.0,
            "conv2d uses exec() through a library (numpy.testing",
        ),  # fmt: skip
        # a fifth reviewer's: the kit's modules copied whole, every name they read passed
        # through an identity helper; the hand values and the edge kernel only
        "redteam_wrapped": Case(
            _fill({**right, **_redteam.cells(A1, "wrapped")}),
            7.0,
            "conv2d uses code copied from cnnwidgets.core.",
        ),  # fmt: skip
        "redteam_lock_channel": Case(
            _fill(
                {
                    **right,
                    "conv2d": _redteam.LOCK_CHANNEL + _redteam.LOCK_CHANNEL_CONV,
                    "pool2d": _redteam.LOCK_CHANNEL_POOL,
                }
            ),
            7.0,
        ),  # fmt: skip
    }


def write_cases(course_root, assignment: str = "a1_convolution") -> dict[str, Case]:
    """Write every case under ``course_root/submitted``; return them by student id."""
    all_cases = cases(course_root)
    for student, case in all_cases.items():
        folder = course_root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        path = folder / (case.filename or f"{assignment}.ipynb")
        if isinstance(case.content, bytes):
            path.write_bytes(case.content)
        elif isinstance(case.content, str):
            path.write_text(case.content)
        else:
            path.write_text(json.dumps(case.content, indent=1))
    return all_cases
