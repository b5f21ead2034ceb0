"""Processes in the grader's sandboxes, started directly (no notebook), for the isolation tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cnnwidgets.grading.rules import RULES
from cnnwidgets.instructor.isolation import seccomp
from cnnwidgets.instructor.isolation.sandbox import (
    Limits,
    SandboxKernelManager,
    command,
    sandbox_uid,
)


def kernel_process(folder: Path, code: str, **popen) -> subprocess.Popen:
    """``python -c code`` in a kernel's sandbox and filter, with ``folder`` (made here) as its
    working folder, the one it may write."""
    folder.mkdir()
    os.chmod(folder, 0o777)
    cmd = command([sys.executable, "-c", code], cwd=str(folder), private_dir=str(folder),
                  env={"PATH": "/usr/bin:/bin"}, limits=Limits(),
                  uid=sandbox_uid(str(folder)), background=True)  # fmt: skip
    return subprocess.Popen(seccomp.with_filter(cmd, seccomp.KERNEL), **popen)


def room_process(
    manager: SandboxKernelManager, code: str, **popen
) -> tuple[subprocess.Popen, str, str]:
    """``code`` run by the room's Python in a rule's room next to ``manager``'s kernel: the
    room's sandbox and filter exactly, with ``python -I -S -c code`` in place of the runner
    (whose own checks on a cell's code are another defence, not the one tested with this).
    Returns the process, the room's home and its bridge."""
    cmd, env, cwd, bridge = manager.room_launch(RULES["numpy_only"].allowed)
    runner = len(cmd) - 1 - cmd[::-1].index("/opt/cnnkit-room/room.py")
    assert cmd[runner - 2 : runner] == ["-I", "-S"], cmd
    return subprocess.Popen([*cmd[:runner], "-c", code], env=env, cwd=cwd, **popen), cwd, bridge
