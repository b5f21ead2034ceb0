"""Grading kernels over Unix sockets: no port races between parallel graders."""

from __future__ import annotations

import os
from pathlib import Path

from cnnwidgets.instructor.kernels import SocketKernelManager, socket_dir


def test_kernels_started_together_get_their_own_sockets_and_answer(tmp_path):
    managers = [SocketKernelManager() for _ in range(2)]
    try:
        for i, km in enumerate(managers):
            folder = tmp_path / f"notebook{i}"
            folder.mkdir()
            km.start_kernel(cwd=str(folder))  # the kernel runs where the notebook is
        infos = [km.get_connection_info() for km in managers]
        assert all(info["transport"] == "ipc" for info in infos)
        assert all(os.path.isabs(info["ip"]) for info in infos)
        assert infos[0]["ip"] != infos[1]["ip"]
        assert all(len(f"{info['ip']}-{info['hb_port']}") < 100 for info in infos)
        for i, km in enumerate(managers):
            client = km.client()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            reply = client.execute_interactive(f"answer = {i} * 7", timeout=30)
            assert reply["content"]["status"] == "ok"
            client.stop_channels()
    finally:
        for km in managers:
            km.shutdown_kernel(now=True)
    leftovers = [p for p in Path(socket_dir()).iterdir()]
    assert leftovers == [], "shutting a kernel down removes its sockets"
