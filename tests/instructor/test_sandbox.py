"""The grading sandbox: what a submission's kernel can see, reach and use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cnnwidgets.instructor.isolation.sandbox import SandboxKernelManager, availability

from ._samples import REPO

pytestmark = pytest.mark.skipif(
    availability() is not None and os.environ.get("CI") != "true",
    reason=f"no grading sandbox here: {availability()}",
)


def run_in_sandbox(folder: Path, *sources: str, timeout: int = 60, **limits) -> list[str]:
    """Execute cells in a sandboxed kernel whose notebook lives in ``folder``; return outputs."""
    assert availability() is None, f"CI must grade in the sandbox: {availability()}"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    km = SandboxKernelManager(limits=limits)
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        allow_errors=True,
        # as nbgrader's Execute: a cell past its time shows an error, the next cells run
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    shown = []
    for cell in nb.cells:
        text = ""
        for out in cell.outputs:
            text += out.get("text", "") or f"{out.get('ename')}: {out.get('evalue')}"
        shown.append(text)
    return shown


def test_the_kernel_sees_no_course_no_network_and_writes_only_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "submission"
    folder.mkdir()
    (tmp_path / "next_to_it.txt").write_text("another student's file")
    monkeypatch.setenv("CNNKIT_TEST_SECRET", "instructor-token")
    probe = f"""
import os, socket
def attempt(what, fn):
    try:
        fn()
        print(what, "allowed")
    except Exception as exc:
        print(what, "blocked", type(exc).__name__)
attempt("solutions", lambda: os.listdir({str(REPO / "solutions")!r}))
attempt("neighbour", lambda: open({str(tmp_path / "next_to_it.txt")!r}).read())
attempt("network", lambda: socket.create_connection(("127.0.0.1", 22), timeout=2))
attempt("usr", lambda: open("/usr/evil.txt", "w"))
attempt("own folder", lambda: open("answer.txt", "w").write("42"))
attempt("tmp", lambda: open("/tmp/scratch.txt", "w").write("x"))
print("secret", os.environ.get("CNNKIT_TEST_SECRET"))
print("uid", os.getuid())
print("grading", os.environ.get("CNNKIT_GRADING"))
"""
    (out,) = run_in_sandbox(folder, probe)
    assert "solutions blocked FileNotFoundError" in out
    assert "neighbour blocked FileNotFoundError" in out
    assert "network blocked" in out and "network allowed" not in out
    assert "usr blocked" in out
    assert "own folder allowed" in out and (folder / "answer.txt").read_text() == "42"
    assert "tmp allowed" in out
    assert "secret None" in out
    assert "grading 1" in out
    if os.geteuid() == 0:
        assert "uid 0" not in out, "kernels never run as root"


def test_limits_stop_memory_and_process_bombs(tmp_path):
    (memory, forks) = run_in_sandbox(
        tmp_path,
        "hog = bytearray(3 * 2**30)",
        "import os\nn = 0\ntry:\n    while n < 10_000:\n        pid = os.fork()\n"
        "        if pid == 0:\n            import time; time.sleep(30); os._exit(0)\n"
        "        n += 1\nexcept OSError as exc:\n    print('refused after', n, type(exc).__name__)",
        memory_mb=2048,
        processes=64,
    )
    assert memory.startswith("MemoryError")
    assert "refused after" in forks and "BlockingIOError" in forks
    assert int(forks.split()[2]) < 64


def test_a_cell_past_its_time_is_interrupted_and_the_next_one_runs(tmp_path):
    loop, after = run_in_sandbox(tmp_path, "while True:\n    pass", "print('after')", timeout=5)
    assert "KeyboardInterrupt" in loop or "CellTimeoutError" in loop
    assert after == "after\n"


def test_cnnkit_refuses_to_grade_without_a_sandbox_unless_unsafe(tmp_path):
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir)  # no bwrap, prlimit or setpriv on PATH
    cmd = [sys.executable, "-m", "cnnwidgets.instructor.cli", "--course", str(REPO)]
    refused = subprocess.run(
        [*cmd, "grade", "a1_convolution", "--student", "nobody"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "Refusing to run students' code without a sandbox" in refused.stderr
    assert "--unsafe" in refused.stderr


def test_frozen_stops_a_kernel_and_all_its_children_then_lets_them_go(tmp_path):
    """While a rule's room answers, kernels run nothing, not even processes they forked."""
    import subprocess
    import sys
    import time

    from cnnwidgets.instructor.isolation.sandbox import frozen

    ticks = tmp_path / "ticks"
    counter = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"  # a child that keeps counting on its own
        "    path = sys.argv[1] + '.child'\n"
        "else:\n"
        "    path = sys.argv[1]\n"
        "n = 0\n"
        "while True:\n"
        "    n += 1\n"
        "    open(path + '.tmp', 'w').write(str(n))\n"
        "    os.replace(path + '.tmp', path)\n"  # whole numbers only, for the reader
        "    time.sleep(0.01)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", counter, str(ticks)])
    try:
        time.sleep(0.5)
        with frozen([proc.pid]):
            before = [ticks.read_text(), (tmp_path / "ticks.child").read_text()]
            time.sleep(0.3)
            during = [ticks.read_text(), (tmp_path / "ticks.child").read_text()]
        time.sleep(0.3)
        after = [ticks.read_text(), (tmp_path / "ticks.child").read_text()]
        assert during == before, "a frozen process went on counting"
        assert all(int(a) > int(b) for a, b in zip(after, during, strict=True)), "not thawed"
    finally:
        subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
        proc.kill()
        proc.wait()
