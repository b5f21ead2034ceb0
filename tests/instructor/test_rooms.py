"""A rule's room in the grading sandbox: what a task forbids is not there, whatever the disguise.

Each disguise defines ``conv2d`` with a library the rule ``numpy_only`` forbids, in a
way a static check would miss. In the room (bubblewrap, the base Python with NumPy
only, no site-packages of any Python on the machine, no view of the venv, the kit or
the course) it must neither compute a convolution nor go unnamed: the report names
the package the answer reached for.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from cnnwidgets.grading import room as rooms
from cnnwidgets.grading.rules import RULES, rule_violation

from .conftest import sandbox_missing

pytestmark = pytest.mark.skipif(
    sandbox_missing() is not None and os.environ.get("CI") != "true",
    reason=f"no grading sandbox here: {sandbox_missing()}",
)

REPO = Path(__file__).resolve().parents[2]
RULE = RULES["numpy_only"]
SITE = os.path.dirname(os.__file__) + "/site-packages"  # the base Python's own
EXAMPLE = "import numpy as np; out = conv2d(np.arange(16.0).reshape(4, 4), np.eye(2))"

# name -> the cells of a disguise (cell id, source)
DISGUISES: dict[str, list[tuple[str, str]]] = {
    "kit_import": [("conv2d", "from cnnwidgets import conv2d")],
    "kit_alias": [("conv2d", "import cnnwidgets.core.conv as maths\nconv2d = maths.conv2d")],
    "getattr_import": [("conv2d", "conv2d = getattr(__import__('cnnwidgets'), 'conv2d')")],
    "importlib_built_name": [
        ("conv2d", "import importlib\nconv2d = importlib.import_module('cnn' + 'widgets').conv2d")
    ],
    "exec_built_string": [
        (
            "conv2d",
            "exec('from sci' + 'py.signal import correlate2d as _c')\n"
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    return _c(image, kernel, mode='valid')",
        ),
    ],  # fmt: skip
    "helper_in_another_cell": [
        ("cell 2", "from scipy import signal"),
        (
            "conv2d",
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    return signal.correlate2d(image, kernel, mode='valid')",
        ),
    ],  # fmt: skip
    "import_when_called": [
        (
            "conv2d",
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    import skimage.filters\n"
            "    return skimage.filters.correlate_sparse(image, kernel, mode='valid')",
        ),
    ],  # fmt: skip
    "partial": [
        (
            "conv2d",
            "import functools, scipy.signal\n"
            "conv2d = functools.partial(scipy.signal.correlate2d, mode='valid')",
        ),
    ],  # fmt: skip
    "kept_in_a_class": [
        (
            "conv2d",
            "class Tools:\n    pick = {'c': __import__('scipy.signal').signal}\n"
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    return Tools.pick['c'].correlate2d(image, kernel, mode='valid')",
        ),
    ],  # fmt: skip
    "patched_numpy_attribute": [
        ("cell 1", "import numpy as np"),
        (
            "cell 2",
            "import keras\nnp.conv = lambda i, k: keras.ops.conv(i[None, :, :, None], "
            "k[:, :, None, None])[0, :, :, 0]",
        ),
        (
            "conv2d",
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    return np.conv(image, kernel)",
        ),
    ],  # fmt: skip
    "site_packages_put_back": [
        (
            "conv2d",
            "import sys, site, glob\n"
            "sys.path += glob.glob('/usr/*/python3*/*-packages')"
            " + glob.glob('/usr/local/*/python3*/*-packages')"
            " + glob.glob(sys.base_prefix + '/lib/python3*/*-packages')\n"
            f"sys.path += [{str(REPO)!r}, {SITE!r}]\n"
            "site.main()\n"
            "from scipy.signal import correlate2d\n"
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    return correlate2d(image, kernel, mode='valid')",
        ),
    ],  # fmt: skip
    "kit_source_from_disk": [
        (
            "conv2d",
            f"source = open({str(REPO / 'cnnwidgets' / 'core' / 'conv.py')!r}).read()\n"
            "exec(source)",
        ),
    ],  # fmt: skip
    "torch_or_opencv": [
        (
            "conv2d",
            "try:\n    import torch\nexcept ImportError:\n    import cv2\n"
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    return cv2.filter2D(image, -1, kernel)",
        ),
    ],  # fmt: skip
}


@pytest.fixture
def sandboxed_room():
    """A room next to a (never started) sandboxed kernel, as the grader launches it."""
    from cnnwidgets.instructor.isolation.sandbox import SandboxKernelManager, sandbox_uid

    manager = SandboxKernelManager()
    manager._private = tempfile.mkdtemp(prefix="k-", dir="/tmp")
    manager._uid = sandbox_uid(manager._private)
    command, env, cwd, _ = manager.room_launch(RULE.allowed)
    room = rooms.Room(command, env=env, cwd=cwd, log=Path(cwd) / "room.log")
    yield room
    room.kill()
    for folder in [manager._private, *manager._homes, *manager._bridges]:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("disguise", sorted(DISGUISES))
def test_no_disguise_reaches_a_forbidden_library(sandboxed_room, disguise):
    for cell_id, source in DISGUISES[disguise]:
        sandboxed_room.run_cell(cell_id, source, timeout=30)
    report = sandboxed_room.check(["conv2d"], EXAMPLE, timeout=60)
    assert report["example"]["error"] is not None, f"{disguise} computed a convolution: {report}"
    problem = rule_violation(RULE, ["conv2d"], report)
    assert problem is not None and "which this task does not allow" in problem, report
    print(f"{disguise}: {problem[:160]}")


def test_an_honest_answer_runs_in_the_sandboxed_room(sandboxed_room):
    sandboxed_room.run_cell("cell 1", "import numpy as np", timeout=30)
    sandboxed_room.run_cell(
        "conv2d",
        "def conv2d(image, kernel, strides=1, padding='valid'):\n"
        "    kh, kw = np.shape(kernel)\n"
        "    rows, cols = np.shape(image)[0] - kh + 1, np.shape(image)[1] - kw + 1\n"
        "    return np.array([[np.sum(image[r:r + kh, c:c + kw] * kernel) for c in range(cols)]"
        " for r in range(rows)])",
        timeout=30,
    )
    report = sandboxed_room.check(["conv2d"], EXAMPLE, timeout=60)
    assert report["example"] == {"error": None}, report
    assert rule_violation(RULE, ["conv2d"], report) is None


def test_the_room_sees_nothing_of_the_kernel_the_course_or_the_machines_packages(tmp_path):
    """The room's sandbox itself, probed by a plain Python in it (the runner would refuse the
    probe's own imports and opens: its checks are another defence than this one)."""
    import json
    import shutil

    from cnnwidgets.instructor.isolation.sandbox import (
        SandboxKernelManager,
        sandbox_uid,
        site_folders,
    )

    from ._sandboxes import room_process

    probe = (
        "import os, sys, glob\n"
        f"seen = {{'repo': os.path.exists({str(REPO)!r}),\n"
        f"        'venv': os.path.exists({os.path.realpath(os.sys.prefix)!r}),\n"
        f"        'site': [p for d in {site_folders()!r} for p in glob.glob(d + '/*')],\n"
        "        'uid': os.getuid(), 'pids': sorted(int(p) for p in os.listdir('/proc')"
        " if p.isdigit())}"
    )
    probe += (
        "\ndef refused(attempt):\n"
        "    try:\n        attempt()\n    except (OSError, ImportError):\n        return True\n"
        "    return False\n"
        "seen['no_writing'] = all(refused(lambda p=p: open(p + '/mine.py', 'w')) for p in"
        " ('/tmp', os.getcwd(), '/dev/shm'))\n"
        "seen['no_memfd'] = refused(lambda: os.memfd_create('lib'))\n"
        "seen['no_ctypes'] = refused(lambda: __import__('ctypes'))\n"
        "seen['no_proc_writes'] = refused(lambda: open('/proc/self/mem', 'wb'))\n"
    )
    probe += "\nprint(json.dumps(seen))".replace("json.dumps", "__import__('json').dumps")
    manager = SandboxKernelManager()
    manager._private = tempfile.mkdtemp(prefix="k-", dir="/tmp")
    manager._uid = sandbox_uid(manager._private)
    try:
        proc, _, _ = room_process(manager, probe, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=60)
        seen = json.loads(out.decode().strip().splitlines()[-1])
    finally:
        for folder in [manager._private, *manager._homes, *manager._bridges]:
            shutil.rmtree(folder, ignore_errors=True)
    assert seen["repo"] is False and seen["venv"] is False and seen["site"] == [], seen
    assert seen["uid"] != 0, seen
    assert seen["no_writing"] and seen["no_memfd"] and seen["no_ctypes"], seen
    assert seen["no_proc_writes"], seen
