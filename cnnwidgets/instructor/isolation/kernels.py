"""Grading kernels that talk over Unix sockets instead of TCP ports.

Two kernels started at the same moment by parallel graders can pick the same
free TCP port (jupyter_client#154): one dies or, worse, its client waits for a
reply that never comes. Over Unix sockets each kernel gets names of its own.
A kernel in a sandbox without a network also stays reachable this way.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid

from jupyter_client.manager import AsyncKernelManager

__all__ = ["SocketKernelManager", "socket_dir"]

_DIR: str | None = None


def socket_dir() -> str:
    """A private folder (mode 0700) for this process's kernel sockets, created once.

    It sits in the system temporary folder, so socket paths stay well under the
    107-byte limit of a Unix socket name wherever the course lives.
    """
    global _DIR
    if _DIR is None or not os.path.isdir(_DIR):
        _DIR = tempfile.mkdtemp(prefix="cnnkit-kernels-")
        atexit.register(_remove_if_empty, _DIR)
    return _DIR


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:  # a kernel still running, or already gone
        pass


class SocketKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` (nbgrader's kind) whose kernel listens on Unix sockets.

    The sockets are ``<socket_dir>/<random>-<n>``.

    jupyter_client's own ``transport="ipc"`` names the sockets relative to the
    current folder, which differs between nbclient and the kernel it starts in the
    notebook's folder; here the names are absolute and unique per kernel.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)

    def _ip_default(self) -> str:
        if self.transport == "ipc":
            return os.path.join(socket_dir(), uuid.uuid4().hex[:16])
        return super()._ip_default()
