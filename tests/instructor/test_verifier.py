"""The verifier and its bridge: test cells run apart from the student's kernel, on data only.

The bridge's reader must take nothing but data (no pickle, no links, no forged
kinds); the verifier must run a test cell with the student's names fetched
through it, keep its own builtins and modules, and report failures as the
kernel would. The kernel's side runs here in-process on a plain dict standing
for the student's namespace; ``test_adversarial.py`` runs the real thing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnwidgets.instructor.autograde.execute import VerifiedExecute
from cnnwidgets.instructor.isolation import bridge
from cnnwidgets.instructor.isolation.bridge import BridgeError, decode, encode
from cnnwidgets.instructor.isolation.sandbox import make_bridge
from cnnwidgets.instructor.isolation.verifier import VERIFIER, Verifier, VerifierDied

# --- the bridge ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        -(2**70),
        0.1,
        float("inf"),
        1 - 2j,
        "héllo",
        b"\x00\xff",
        (1, [2, (3,)], {"a": None, 4: "b"}),
        {1, 2},
        [],
        (),
    ],
)
def test_data_arrives_as_it_left(tmp_path, value):
    back = decode(encode(value, tmp_path, "x"), tmp_path)
    assert back == value and type(back) is type(value)


def test_arrays_and_scalars_keep_dtype_and_shape(tmp_path):
    for value in (np.arange(12, dtype=np.int16).reshape(3, 4), np.zeros((0, 2)), np.bool_(True)):
        back = decode(encode(value, tmp_path, "x"), tmp_path)
        assert back.dtype == value.dtype and np.shape(back) == np.shape(value)
        assert np.array_equal(back, value)
    assert type(decode(encode(np.float32(2.5), tmp_path, "s"), tmp_path)) is np.float32


def test_subclasses_arrive_as_their_plain_type(tmp_path):
    class Liar(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    class Sneaky(list):
        pass

    back = decode(encode([Liar(0), Sneaky([1])], tmp_path, "x"), tmp_path)
    assert back == [0, [1]] and type(back[0]) is int and type(back[1]) is list
    assert back[0] != -1


def test_objects_that_are_not_data_are_refused(tmp_path):
    with pytest.raises(bridge.Unsupported, match="not data"):
        encode(object(), tmp_path, "x")
    with pytest.raises(bridge.Unsupported, match="dtype=object"):
        encode(np.array([{}], dtype=object), tmp_path, "x")
    with pytest.raises(bridge.Unsupported, match="cannot be passed"):
        encode(lambda: 1, tmp_path, "x")  # no handle: the verifier does not send functions


def test_trusted_functions_and_modules_cross_by_name(tmp_path):
    import numbers

    import cnnwidgets

    node = encode([np, cnnwidgets.conv2d, numbers.Real], tmp_path, "x")
    assert node[1][0] == ["module", "numpy"]
    assert decode(node, tmp_path) == [np, cnnwidgets.conv2d, numbers.Real]


@pytest.mark.parametrize(
    "node, message",
    [
        (["eval", "1"], "unknown kind"),
        (["int", 1.5], "an int that is not one"),
        (["bool", 1], "expected bool"),
        (["module", "subprocess_not_really"], "not one the grader imports"),
        (["module", "os.path.../x"], "cannot import"),
        (["import", "numpy", "no_such_thing"], "does not exist"),
        (["callable", 1, "f"], "a function handle where only data may come"),
        (["array", "../secret.npy"], "bad file name"),
        (["array", "missing.npy"], "cannot open"),
        (["list", [["list", [["none"]] * 2]] * 1 + [5]], "not an answer"),
        (["dict", [[["int", 1]]]], "not a pair"),
        (["tuple"], "malformed"),
        ("__import__('os')", "not an answer"),
    ],
)
def test_forged_answers_are_refused(tmp_path, node, message):
    with pytest.raises(BridgeError, match=message):
        decode(node, tmp_path)


def test_nesting_is_bounded(tmp_path):
    node: list = ["none"]
    for _ in range(bridge.MAX_DEPTH + 5):
        node = ["list", [node]]
    with pytest.raises(BridgeError, match="nested too deeply"):
        decode(node, tmp_path)


def test_pickled_arrays_links_and_pipes_are_refused(tmp_path):
    np.save(tmp_path / "p.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BridgeError, match="not a NumPy array file"):
        decode(["array", "p.npy"], tmp_path)
    np.save(tmp_path / "real.npy", np.ones(3))
    (tmp_path / "link.npy").symlink_to(tmp_path / "real.npy")
    with pytest.raises(BridgeError, match="cannot open"):
        decode(["array", "link.npy"], tmp_path)
    os.mkfifo(tmp_path / "pipe.npy")
    with pytest.raises(BridgeError, match="not a plain file"):
        decode(["array", "pipe.npy"], tmp_path)


def test_models_cross_with_weights_and_lambda_layers_are_refused(tmp_path):
    from cnnwidgets.keras_helpers import quiet_keras

    keras = quiet_keras()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
         keras.layers.Dense(3, activation="softmax")]
    )  # fmt: skip
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    back = decode(encode(model, tmp_path, "m"), tmp_path)
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in model.layers]
    assert [layer.trainable for layer in back.layers] == [False, True, True]
    assert back.compiled and back.count_params() == model.count_params()
    pairs = zip(back.get_weights(), model.get_weights(), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)

    sly = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 0)])
    with pytest.raises(BridgeError, match="without Lambda layers"):
        decode(encode(sly, tmp_path, "l"), tmp_path)


# --- the verifier ----------------------------------------------------------------------------


class FakeKernel:
    """The kernel's side of the bridge, run in this process on ``namespace``."""

    def __init__(self, namespace: dict, monkeypatch):
        self.namespace = namespace
        self.requests = 0
        monkeypatch.setattr(bridge, "_namespace", lambda: self.namespace)

    def __call__(self, request: str, left: float) -> dict:
        self.requests += 1
        bridge.serve(request)
        return {"stdout": "", "error": None}


def _start() -> Verifier:
    folder = make_bridge(None, None)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    argv = [sys.executable, "-I", "-m", "cnnwidgets.instructor.isolation.verifier", folder]
    return Verifier(argv, env, folder, Path(folder) / "verifier.log")


@pytest.fixture(scope="module")
def verifier():
    running = _start()  # one for the module: each test cell starts with fresh names anyway
    yield running
    running.close()


def _errors(outputs: list[dict]) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]


def test_a_test_cell_reads_the_students_names_as_data(verifier, monkeypatch):
    def conv(image, kernel):
        print("student's print")
        return np.ones((2, 2)) * image.sum()

    kernel = FakeKernel({"size_a": 26, "conv": conv, "shapes": [(3, 3), (1,)]}, monkeypatch)
    source = (
        "import numpy as np\n"
        "assert 'size_a' in globals() and 'size_z' not in globals()\n"
        "assert globals()['size_a'] == 26 and type(size_a) is int\n"
        "assert shapes == [(3, 3), (1,)]\n"
        "out = conv(np.ones((3, 3)), np.eye(2))\n"
        "assert isinstance(out, np.ndarray) and np.allclose(out, 9), out\n"
        "def helper():\n"
        "    return size_a + 1\n"
        "assert helper() == 27\n"
        "print('checked')\n"
    )
    outputs = verifier.run("test_a", source, 60, kernel)
    assert _errors(outputs) == []
    assert outputs[0] == {"output_type": "stream", "name": "stdout", "text": "checked\n"}
    assert kernel.requests >= 4


def test_failures_name_the_test_line_and_the_students_error(verifier, monkeypatch):
    def build():
        raise NotImplementedError("not yet")

    kernel = FakeKernel({"hand_value": 0, "build": build}, monkeypatch)
    outputs = verifier.run("t1", "assert hand_value == -1, f'got {hand_value}'", 60, kernel)
    assert _errors(outputs) == ["AssertionError: got 0"]
    assert any("<test t1>" in line for line in outputs[-1]["traceback"])
    outputs = verifier.run("t2", "build()", 60, kernel)
    assert _errors(outputs) == ["NotImplementedError: not yet"]
    assert "in build" in "\n".join(outputs[-1]["traceback"])
    assert "instructor/verifier.py" not in "\n".join(outputs[-1]["traceback"])
    outputs = verifier.run("t3", "missing_name", 60, kernel)
    assert _errors(outputs) == ["NameError: name 'missing_name' is not defined"]


def test_the_students_namespace_cannot_reach_the_tests_builtins_or_modules(verifier, monkeypatch):
    import builtins

    fake_np = type(sys)("numpy")  # a "numpy" whose allclose always agrees
    fake_np.allclose = lambda *args, **kwargs: True
    kernel = FakeKernel(
        {"isinstance": lambda *a: True, "np": np, "value": "text", "AssertionError": Exception},
        monkeypatch,
    )
    assert builtins.isinstance is isinstance
    outputs = verifier.run("t", "assert isinstance(value, int), 'value is text'", 60, kernel)
    assert _errors(outputs) == ["AssertionError: value is text"]
    # a module crosses by name: the verifier imports its own numpy
    outputs = verifier.run("t", "assert not np.allclose(1, 2)", 60, kernel)
    assert _errors(outputs) == []


def test_each_test_cell_starts_with_fresh_names(verifier, monkeypatch):
    kernel = FakeKernel({"x": 1}, monkeypatch)
    assert _errors(verifier.run("a", "assert x == 1\nx = 5", 60, kernel)) == []
    kernel.namespace["x"] = 2
    assert _errors(verifier.run("b", "assert x == 2, x", 60, kernel)) == []


def test_a_test_past_its_time_is_stopped(monkeypatch):
    kernel = FakeKernel({}, monkeypatch)
    own = _start()
    try:
        assert own.run("slow", "while True:\n    pass", 1.5, kernel) is None
    finally:
        own.kill()
    assert own.proc.returncode is not None


def test_a_kernel_that_fails_the_call_fails_the_test(verifier, monkeypatch):
    def dead(request: str, left: float) -> dict:
        return {"stdout": "", "error": "the kernel died"}

    outputs = verifier.run("t", "assert answer == 1", 60, dead)
    assert _errors(outputs) == ["KernelCallError: the kernel died"]


def test_the_kernels_model_goes_back_by_reference_unless_the_test_changed_it(verifier, monkeypatch):
    from cnnwidgets.keras_helpers import quiet_keras

    keras = quiet_keras()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    kernel = FakeKernel(
        {"model": model, "same": lambda m: m is model, "kernel_of": lambda m: m.get_weights()[0]},
        monkeypatch,
    )
    source = (
        "import numpy as np\n"
        "assert same(model), 'an unchanged model goes back as the very object'\n"
        "model.layers[0].trainable = False\n"
        "assert not same(model), 'a changed model goes back as a copy'\n"
        "model.layers[0].trainable = True\n"
        "model.set_weights([w + 1 for w in model.get_weights()])\n"
        "assert np.allclose(kernel_of(model), model.get_weights()[0]), 'the copy has the change'\n"
    )
    assert _errors(verifier.run("refs", source, 120, kernel)) == []


# --- in nbgrader's execution ---------------------------------------------------------------


def _graded(source: str, grade_id: str, solution: bool = False, grade: bool = True) -> dict:
    import nbformat

    meta = {"grade": grade, "solution": solution, "grade_id": grade_id, "locked": not solution,
            "points": 1, "schema_version": 3}  # fmt: skip
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


def test_stuck_code_fails_its_test_and_the_next_tests_still_run(tmp_path):
    """A student's function that never returns, and a test that never ends, each cost one test."""
    import nbformat

    from cnnwidgets.instructor.autograde.execute import VerifiedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _graded(
            "def stuck():\n    while True:\n        pass\n\ndef fine():\n    return 1",
            "answer",
            solution=True,
            grade=False,
        ),  # fmt: skip
        _graded("stuck()", "test_stuck"),
        _graded("assert fine() == 1", "test_after_the_interrupt"),
        _graded("while True:\n    pass", "test_endless"),
        _graded("assert fine() == 1", "test_with_a_new_verifier"),
    ]
    client = VerifiedExecute(
        timeout=3,
        kernel_manager_class="cnnwidgets.instructor.isolation.kernels.SocketKernelManager",
    )
    nb, _ = client.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    errors = {
        c.metadata["nbgrader"]["grade_id"]: [o.ename for o in c.outputs if o.output_type == "error"]
        for c in nb.cells[1:]
    }
    assert errors == {
        "test_stuck": ["CellTimeoutError"],  # the kernel was interrupted, and answers again
        "test_after_the_interrupt": [],
        "test_endless": ["CellTimeoutError"],
        "test_with_a_new_verifier": [],
    }, errors


def test_a_test_past_its_time_under_a_rule_costs_that_test_only(tmp_path):
    """S6: the rule's room that was answering when time ran out is replaced by one that is
    sent the notebook's cells again; the tests after it find the student's names there."""
    import nbformat

    from cnnwidgets.instructor.autograde.execute import VerifiedExecute

    rule = "from cnnwidgets.grading import assert_follows_rule\n"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _graded(
            "def twice(x):\n    if isinstance(x, int) and x == 2:\n        while True:\n"
            "            pass\n"
            "    return 2 * x",
            "answer",
            solution=True,
            grade=False,
        ),  # fmt: skip
        _graded(
            rule + "assert_follows_rule('numpy_only', 'twice')\nassert twice(1) == 2", "test_rule"
        ),  # fmt: skip
        _graded("assert twice(2) == 4", "test_slow"),
        _graded("assert twice(3) == 6", "test_after"),
        _graded(
            "import numpy as np\nassert twice(np.arange(3)).tolist() == [0, 2, 4]",
            "test_after_that",
        ),  # fmt: skip
    ]
    client = VerifiedExecute(
        timeout=5,
        kernel_manager_class="cnnwidgets.instructor.isolation.kernels.SocketKernelManager",
    )
    nb, _ = client.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    errors = {
        c.metadata["nbgrader"]["grade_id"]: [o.ename for o in c.outputs if o.output_type == "error"]
        for c in nb.cells[1:]
    }
    assert errors["test_slow"], errors  # it ran out of time
    assert {k: v for k, v in errors.items() if k != "test_slow"} == {
        "test_rule": [], "test_after": [], "test_after_that": [],
    }, errors  # fmt: skip


# --- plumbing that fails says what failed ----------------------------------------------------


class _OtherCopyOfTheKit(VerifiedExecute):
    """A grader whose isolated verifier imports a copy of the kit without the verifier (as
    when a course folder holds a copy of the package the grader runs from)."""

    def _verifier_argv(self) -> list[str]:
        return [sys.executable, "-I", "-m", "cnnwidgets.instructor.isolation.no_such_verifier"]


@pytest.mark.parametrize("answer_seconds", [0, 1], ids=["at-once", "after-it-exited"])
def test_a_verifier_that_cannot_start_says_so_in_every_test_and_in_the_log(
    tmp_path, caplog, answer_seconds
):
    """Not `BrokenPipeError: [Errno 32] Broken pipe`: which process, how it ended, its last
    lines; the notebook is still graded, and the verifier is not started again for each test."""
    import logging

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _graded(f"import time\ntime.sleep({answer_seconds})\nx = 1", "answer", solution=True,
                grade=False),
        _graded("assert x == 1", "test_one"),
        _graded("assert x == 1", "test_two"),
    ]  # fmt: skip
    client = _OtherCopyOfTheKit(
        timeout=30,
        kernel_manager_class="cnnwidgets.instructor.isolation.kernels.SocketKernelManager",
        log=logging.getLogger("cnnkit-test"),
    )
    with caplog.at_level(logging.ERROR, logger="cnnkit-test"):
        nb, _ = client.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    for cell in nb.cells[1:]:
        (error,) = [o for o in cell.outputs if o.output_type == "error"]
        assert error.ename == "GraderError"
        assert error.evalue.startswith(f"{VERIFIER} could not start: it exited with status 1.")
        assert "  | " in error.evalue and "No module named" in error.evalue
        assert "no_such_verifier" in error.evalue
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and "could not start" in logged[0] and "No module named" in logged[0]


def test_a_verifier_that_dies_in_a_test_says_how():
    own = _start()
    try:
        with pytest.raises(VerifierDied) as died:
            own.run("t", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", 60, None)
    finally:
        own.close()
    assert not died.value.starting
    assert str(died.value).startswith(
        f"{VERIFIER} stopped while running this test (a model too big for the memory limit?): "
        "it was killed by SIGKILL (signal 9)"
    )


def test_a_kernel_that_cannot_start_says_so_with_its_last_lines(tmp_path):
    import nbformat

    from cnnwidgets.instructor.autograde.execute import KERNEL, KernelStartError
    from cnnwidgets.instructor.isolation.kernels import SocketKernelManager

    class Broken(SocketKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            code = (
                "import sys; sys.stderr.write('Traceback:\\nImportError: no ipykernel\\n'); exit(4)"
            )
            return [sys.executable, "-c", code]

    nb = nbformat.v4.new_notebook()
    nb.cells = [_graded("x = 1", "answer", solution=True, grade=False)]
    client = VerifiedExecute(timeout=30, startup_timeout=30, kernel_manager_class=Broken)
    with pytest.raises(KernelStartError) as failed:
        client.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    message = str(failed.value)
    # the worker starts a kernel again on nbclient's words: they stay in the message
    assert message.startswith(f"{KERNEL} could not start (RuntimeError: Kernel died before")
    assert message.endswith(
        "it exited with status 4. The last lines of its error output:\n"
        "  | Traceback:\n  | ImportError: no ipykernel"
    )
