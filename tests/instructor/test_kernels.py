"""Grading kernels over Unix sockets: no port races between parallel graders."""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cnnwidgets.instructor.isolation.kernels import SocketKernelManager, socket_dir


async def _start_two_and_run(tmp_path: Path) -> list[dict]:
    managers = [SocketKernelManager() for _ in range(2)]
    try:
        for i, km in enumerate(managers):
            folder = tmp_path / f"notebook{i}"
            folder.mkdir()
            await km.start_kernel(cwd=str(folder))  # the kernel runs where the notebook is
        infos = [km.get_connection_info() for km in managers]
        for i, km in enumerate(managers):
            client = km.client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            reply = await client.execute_interactive(f"answer = {i} * 7", timeout=30)
            assert reply["content"]["status"] == "ok"
            client.stop_channels()
    finally:
        for km in managers:
            await km.shutdown_kernel(now=True)
    return infos


def test_kernels_started_together_get_their_own_sockets_and_answer(tmp_path):
    # A thread of its own: an event loop may already run in this one (Playwright's sync API).
    with ThreadPoolExecutor(1) as pool:
        infos = pool.submit(asyncio.run, _start_two_and_run(tmp_path)).result()
    assert all(info["transport"] == "ipc" for info in infos)
    assert all(os.path.isabs(info["ip"]) for info in infos)
    assert infos[0]["ip"] != infos[1]["ip"]
    assert all(len(f"{info['ip']}-{info['hb_port']}") < 100 for info in infos)
    leftovers = list(Path(socket_dir()).iterdir())
    assert leftovers == [], "shutting a kernel down removes its sockets"


def test_a_kernels_error_output_is_passed_on_and_its_end_kept(capfd):
    import subprocess
    import sys

    from cnnwidgets.instructor.isolation.kernels import ErrorOutput

    output = ErrorOutput(keep=1000)
    code = "import sys; sys.stderr.write('x' * 100_000 + '\\nthe end\\n')"
    child = subprocess.Popen([sys.executable, "-c", code], stderr=output.open())
    output.launched()
    assert child.wait(timeout=60) == 0
    for _ in range(100):  # the reader thread drains the pipe after the child is gone
        if output.text().endswith("the end\n"):
            break
        time.sleep(0.05)
    assert len(output.text()) == 1000 and output.text().endswith("x\nthe end\n")
    assert capfd.readouterr().err.endswith("x" * 10 + "\nthe end\n")  # as before: in our log
