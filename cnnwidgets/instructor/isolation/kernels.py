"""Grading kernels that talk over Unix sockets instead of TCP ports.

Two kernels started at the same moment by parallel graders can pick the same
free TCP port (jupyter_client#154): one dies or, worse, its client waits for a
reply that never comes. Over Unix sockets each kernel gets names of its own.
A kernel in a sandbox without a network also stays reachable this way.

The kernel's own error output (fd 2) still reaches the grader's, and its last lines are
kept, so a kernel that cannot start can say why (:attr:`SocketKernelManager.error_output`).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
import threading
import uuid

from jupyter_client.manager import AsyncKernelManager

__all__ = ["ErrorOutput", "SocketKernelManager", "socket_dir"]

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


class ErrorOutput:
    """A child's error output (fd 2): passed on to this process's as it comes, and the last
    ``keep`` bytes of it kept to quote when the child fails.

    A thread reads a pipe: give :meth:`open`'s end to the child, then call :meth:`launched`.
    """

    def __init__(self, keep: int = 1 << 14) -> None:
        self._keep = keep
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._write_end: int | None = None

    def open(self) -> int:
        """The pipe's end for the child's fd 2 (the reader starts now)."""
        read_end, self._write_end = os.pipe()
        threading.Thread(target=self._pump, args=(read_end,), name="kernel-stderr",
                         daemon=True).start()  # fmt: skip
        return self._write_end

    def launched(self) -> None:
        """The child has its copy: close ours, so the reader ends when the child's closes."""
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None

    def _pump(self, read_end: int) -> None:
        forward = True
        try:
            while chunk := os.read(read_end, 1 << 16):
                with self._lock:
                    self._tail += chunk
                    del self._tail[: -self._keep]
                if forward:
                    try:
                        _write_all(2, chunk)
                    except OSError:  # ours is closed: keep reading, or the child would block
                        forward = False
        except OSError:
            pass
        finally:
            os.close(read_end)

    def text(self) -> str:
        """The last of it, as text."""
        with self._lock:
            return self._tail.decode(errors="replace")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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

    #: The kernel's error output, the last lines of it (None before the first start).
    error_output: ErrorOutput | None = None
    _process: subprocess.Popen | None = None

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        self.error_output = ErrorOutput()
        if kw.get("stderr") is None:
            kw["stderr"] = self.error_output.open()
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            self.error_output.launched()
        self._process = getattr(self.provisioner, "process", None)

    @property
    def launched(self) -> bool:
        """A kernel process was started (it may have ended since)."""
        return self._process is not None

    def exit_status(self) -> int | None:
        """The kernel process's return code (negative: the signal); None while it runs."""
        return None if self._process is None else self._process.poll()
