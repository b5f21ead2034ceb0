"""A watchdog over one sandbox: the memory of all its processes and its folders' disk, together.

The sandbox's own limits are per process (``RLIMIT_AS``, ``RLIMIT_FSIZE``), while a
submission may start hundreds of processes and write any number of files into the
host folders it may write (its notebook's folder, its half of the bridge). A
:class:`Watchdog` is a thread in the process that started the sandbox: every quarter of
a second it adds up

- the resident memory of every process in the sandbox: anonymous and shared memory
  (``RssAnon`` + ``RssShmem`` of ``/proc/PID/status``; the libraries' code, which every
  Python on the machine shares, is not the submission's), and when that sum is over the
  limit, each page once, split between the processes that share it (PSS, as a fork shares
  its parent's pages: a fork bomb holds next to nothing);
- the disk its writable host folders take (each file or folder at least one block), and
  the files deleted there that one of its processes still holds open or mapped,

and kills the whole sandbox when a total passes its limit, keeping why in words
(:attr:`Watchdog.reason`) for the student's cell, the feedback and the grading log.

The processes are those of the sandbox's PID namespace, listed from the ``/proc``
bubblewrap mounts inside it (reached through its init's root): a process that forks and
lets its parent exit is still counted. Measuring costs a few hundred microseconds of one
core per tick for a kernel; a sandbox with very many processes or files is measured less
often (never more than a twentieth of a core).
"""

from __future__ import annotations

import functools
import os
import signal
import stat
import threading
import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass

__all__ = ["Usage", "Watchdog"]

MB = 1024 * 1024
_BLOCK = 4096  # the least a file or folder takes on disk: its inode and its entry
_DEEP_EVERY = 8  # ticks between reads of the processes' memory maps (deleted files mapped)
_MAX_SHARE = 1 / 20  # of one core, at most, whatever the sandbox holds


@dataclass
class Usage:
    """One measurement of a sandbox: bytes of memory and of disk, processes and files."""

    memory: int = 0
    disk: int = 0
    processes: int = 0
    files: int = 0
    sockets: int = 0


def size_text(n: float, other: float | None = None) -> str:
    """Bytes in words: ``4.8 GB``, ``4 GB``, ``512 MB``, ``24 KB``; with as many decimals as
    it takes to differ in words from ``other`` (a total just past its limit)."""
    if n < MB and other is None:
        return f"{round(n / 1024):g} KB"
    unit, name = (1 << 30, "GB") if n >= 1 << 30 else (MB, "MB")
    digits = 1 if unit > MB else 0
    while (
        other is not None
        and digits < 3
        and (round(n / unit, digits) == round(other / unit, digits))
    ):
        digits += 1
    return f"{round(n / unit, digits):g} {name}"


class Watchdog:
    """Watch the sandbox whose outermost process is ``pid`` (bwrap), with its ``folders``.

    Parameters
    ----------
    pid : int
        The process that started the sandbox (``bwrap``, or a shell that execs it).
    folders : iterable of str
        The host folders the sandbox may write.
    memory_mb, disk_mb : int
        The limits, for all its processes and all its folders together. Memory counts
        each socket at what its default buffers hold (bytes queued in a socket belong to
        no process; :mod:`.seccomp` keeps its buffers at the default).
    who : str
        The sandbox in the message, e.g. ``"the submission's processes"``.

    Examples
    --------
    >>> dog = Watchdog(proc.pid, [folder], memory_mb=4096, disk_mb=1024).start()  # doctest: +SKIP
    >>> dog.reason  # after it killed the sandbox  # doctest: +SKIP
    "the submission's processes used 4.8 GB of memory together; the limit is 4 GB"
    """

    def __init__(
        self, pid: int, folders: Iterable[str], *, memory_mb: int, disk_mb: int,
        who: str = "the submission's processes", interval: float = 0.25,
    ) -> None:  # fmt: skip
        self.pid = pid
        self.folders = [os.path.realpath(f) for f in folders]
        self.memory_limit = memory_mb * MB
        self.disk_limit = disk_mb * MB
        self.who = who
        self.interval = interval
        self.reason: str | None = None  # why it killed the sandbox, in words
        self.peak = Usage()
        self.ticks = 0
        self.cpu_seconds = 0.0  # spent measuring, this thread's CPU time
        self._started = time.monotonic()
        self._root = (pid, _start_time(pid))
        self._init: tuple[int, int | None] | None = None  # the namespace's init, once checked
        self._mapped: dict[tuple[int, int], int] = {}  # deleted files mapped, from the last read
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watchdog-{pid}", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def share(self) -> float:
        """CPU seconds spent measuring per second watched (0.001: a thousandth of a core)."""
        return self.cpu_seconds / max(time.monotonic() - self._started, 1e-9)

    # --- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            if not _same(*self._root):
                return  # the sandbox is over
            start = time.thread_time()
            try:
                usage = self.measure(deep=self.ticks % _DEEP_EVERY == 0)
            except Exception:  # noqa: BLE001  (a process or file gone oddly: measure again)
                usage = Usage()
            spent = time.thread_time() - start
            self.ticks += 1
            self.cpu_seconds += spent
            self.peak = Usage(*map(max, astuple(self.peak), astuple(usage)))
            problem = self.verdict(usage)
            if problem is not None:
                self.reason = problem
                self.kill()
                return
            wait = max(self.interval, spent / _MAX_SHARE)

    def verdict(self, usage: Usage) -> str | None:
        """What is over its limit in ``usage``, in words; ``None`` when nothing is."""
        if usage.memory > self.memory_limit:
            used = size_text(usage.memory, self.memory_limit)
            return (f"{self.who} used {used} of memory together; "
                    f"the limit is {size_text(self.memory_limit)}")  # fmt: skip
        if usage.disk > self.disk_limit:
            wrote = size_text(usage.disk, self.disk_limit)
            return (f"{self.who} wrote {wrote} to disk together "
                    f"({usage.files:,} files); "
                    f"the limit is {size_text(self.disk_limit)}")  # fmt: skip
        return None

    def kill(self) -> None:
        """Kill the whole sandbox: its namespace's init (every process in it goes too)."""
        targets = [self._init] if self._init is not None else []
        if self._init is None:  # not found yet: every process under the root
            targets += [(p, _start_time(p)) for p in _tree(self.pid)]
        for pid, started in [*targets, self._root]:
            if _same(pid, started):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    # --- measuring -----------------------------------------------------------------------

    def measure(self, deep: bool = True) -> Usage:
        """The sandbox's memory and disk now (``deep``: read memory maps too)."""
        procs = self._processes()
        usage = Usage(processes=len(procs))
        for proc in procs:
            usage.memory += _resident(proc)
        sockets = set().union(*(_sockets(proc) for proc in procs)) if procs else set()
        usage.sockets = len(sockets)
        usage.memory += usage.sockets * _socket_bytes()
        if usage.memory > self.memory_limit:
            # Resident pages a fork still shares with its parent count in both: over the
            # limit by that measure, count each page once, split between its sharers (PSS;
            # slower to read, so only then). A fork bomb holds next to nothing.
            usage.memory = sum(_proportional(proc) for proc in procs)
            usage.memory += usage.sockets * _socket_bytes()
        seen: set[tuple[int, int]] = set()
        devices: set[int] = set()
        for folder in self.folders:
            try:
                devices.add(os.lstat(folder).st_dev)
            except OSError:
                continue
            self._walk(folder, seen, usage)
            if usage.disk > self.disk_limit:
                return usage  # no need to count further
        for proc in procs:
            for key, blocks in _deleted_open(proc, devices):
                if key not in seen:
                    seen.add(key)
                    usage.disk += blocks
                    usage.files += 1
        if deep:
            mapped: dict[tuple[int, int], int] = {}
            for proc in procs:
                for key, extent in _deleted_mapped(proc, devices):
                    mapped[key] = max(mapped.get(key, 0), extent)
            self._mapped = mapped
        for key, extent in self._mapped.items():
            if key not in seen:
                usage.disk += extent
                usage.files += 1
        return usage

    def _walk(self, folder: str, seen: set[tuple[int, int]], usage: Usage) -> None:
        todo = [folder]
        while todo:
            try:
                entries = os.scandir(todo.pop())
            except OSError:
                continue
            with entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    key = (st.st_dev, st.st_ino)
                    if key in seen:  # a hard link: the same bytes
                        continue
                    seen.add(key)
                    usage.files += 1
                    usage.disk += max(st.st_blocks * 512, _BLOCK)
                    if stat.S_ISDIR(st.st_mode):
                        todo.append(entry.path)
            if usage.disk > self.disk_limit:
                return

    def _processes(self) -> list[str]:
        """The ``/proc`` folders of every process in the sandbox, as this process reaches them."""
        if self._init is None:
            self._init = _namespace_init(self.pid)
        if self._init is not None:
            base = f"/proc/{self._init[0]}/root/proc"
            try:
                return [f"{base}/{e}" for e in os.listdir(base) if e.isdigit()]
            except OSError:
                pass
        return [f"/proc/{p}" for p in _tree(self.pid)]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _same(pid: int, started: int | None) -> bool:
    """``pid`` is still the process that started at ``started``, and not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X") and int(fields[19]) == started


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo and len(found) < 100_000:
        current = todo.pop()
        found.append(current)
        todo.extend(_children(current))
    return found


def _namespace_init(root: int) -> tuple[int, int | None] | None:
    """The init of the sandbox's PID namespace (bwrap's child), once the ``/proc`` mounted
    inside shows that namespace (before that, its root is still the host's)."""
    for child in _children(root):
        try:
            own = os.stat(f"/proc/{child}/ns/pid").st_ino
            inside = os.stat(f"/proc/{child}/root/proc/1/ns/pid").st_ino
        except OSError:
            continue
        if own == inside:
            return child, _start_time(child)
    return None


def _resident(proc: str) -> int:
    """Anonymous and shared memory a process holds, in bytes (0 if it is gone)."""
    total = 0
    try:
        with open(f"{proc}/status", "rb") as fh:
            for line in fh:
                if line.startswith((b"RssAnon:", b"RssShmem:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return total


def _sockets(proc: str) -> set[int]:
    """The inodes of the sockets a process holds open."""
    found = set()
    try:
        fds = os.listdir(f"{proc}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(f"{proc}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


@functools.cache
def _socket_bytes() -> int:
    """What one socket can queue at its default buffer sizes (sent and received)."""
    total = 0
    for name in ("wmem_default", "rmem_default"):
        try:
            with open(f"/proc/sys/net/core/{name}") as fh:
                total += int(fh.read())
        except (OSError, ValueError):
            total += 212_992  # Linux's default
    return total


def _proportional(proc: str) -> int:
    """A process's share of the anonymous and shared memory it holds (PSS), in bytes."""
    found: dict[bytes, int] = {}
    try:
        with open(f"{proc}/smaps_rollup", "rb") as fh:
            for line in fh:
                key = line.split(b":", 1)[0]
                if key in (b"Pss_Anon", b"Pss_Shmem", b"Pss"):
                    found[key] = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    if b"Pss_Anon" in found:
        return found[b"Pss_Anon"] + found.get(b"Pss_Shmem", 0)
    return found.get(b"Pss", 0)  # an older kernel: the libraries' share too


def _deleted_open(proc: str, devices: set[int]) -> list[tuple[tuple[int, int], int]]:
    """Files on ``devices`` that were deleted while ``proc`` holds them open: (key, bytes)."""
    found = []
    try:
        names = os.listdir(f"{proc}/fd")
    except OSError:
        return found
    for name in names:
        try:
            st = os.stat(f"{proc}/fd/{name}")
        except OSError:
            continue
        if st.st_nlink == 0 and stat.S_ISREG(st.st_mode) and st.st_dev in devices:
            found.append(((st.st_dev, st.st_ino), max(st.st_blocks * 512, _BLOCK)))
    return found


def _deleted_mapped(proc: str, devices: set[int]) -> list[tuple[tuple[int, int], int]]:
    """Files on ``devices`` deleted while ``proc`` maps them: (key, the extent mapped)."""
    found = []
    try:
        with open(f"{proc}/maps", "rb") as fh:
            lines = [line for line in fh if line.rstrip().endswith(b"(deleted)")]
    except OSError:
        return found
    for line in lines:
        try:
            span, _, offset, dev, inode = line.split()[:5]
            start, end = (int(v, 16) for v in span.split(b"-"))
            major, minor = (int(v, 16) for v in dev.split(b":"))
        except ValueError:
            continue
        device = os.makedev(major, minor)
        if device in devices:
            found.append(((device, int(inode)), int(offset, 16) + end - start))
    return found
