"""Seccomp filters of the sandboxes: the system calls a kernel or a rule's room may not make.

bubblewrap loads a classic BPF program from a file descriptor (``--seccomp FD``);
:func:`with_filter` gives it one on fd 9. A refused call fails with ``EPERM``, as a
call on a read-only file would: the process goes on, and library code that tries
something optional falls back. Everything else is allowed. On a machine this module
has no numbers for (neither x86_64 nor aarch64) there is no filter.

Why these calls. While a rule's room answers a test, the student's kernel is stopped
(:func:`.sandbox.frozen`), so that nothing it computes can reach the room in time.
A stopped process runs again on a SIGCONT, and the kernel must not be able to have
the operating system send it one when something happens elsewhere: a file read in a
folder it watches (``fcntl(F_NOTIFY)`` with ``F_SETSIG``), a lease broken or I/O on a
file (``F_SETOWN``/``F_SETSIG``/``F_SETLEASE``), a timer (``timer_create`` takes any
signal). The room, for its part, may not use file locks, the channel two sandboxes
that share nothing writable still share (record locks on a file both can read), nor
watch files. inotify and fanotify watches go in both, as a way to notice the other
side without a signal. Memory no process shows as its own (a memfd or a System V
segment nobody maps) would escape the :mod:`.watchdog`, so both refuse those too, and
neither may grow a socket's buffers past the system's default (``setsockopt`` of
``SO_SNDBUF``/``SO_RCVBUF``): bytes queued in a socket belong to no process, so the
watchdog counts each socket at what its default buffers can hold.
"""

from __future__ import annotations

import atexit
import errno
import os
import platform
import shutil
import struct
import tempfile
from dataclasses import dataclass

__all__ = ["KERNEL", "ROOM", "Profile", "program", "with_filter"]

# fcntl commands (asm-generic/fcntl.h, the same on x86_64 and aarch64)
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_SETLEASE, F_NOTIFY = 1024, 1026

_SIGNAL_ROUTING = (F_NOTIFY, F_SETSIG, F_SETOWN, F_SETOWN_EX, F_SETLEASE)
_RECORD_LOCKS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
_WATCHES = ("inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_init", "fanotify_mark")
_HIDDEN_MEMORY = ("memfd_create", "memfd_secret", "shmget")
# setsockopt(fd, SOL_SOCKET, optname): the buffer sizes (asm-generic/socket.h; the same on
# x86_64 and aarch64)
SOL_SOCKET = 1
SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE = 7, 8, 32, 33
_BUFFER_SIZES = (SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE)


@dataclass(frozen=True)
class Profile:
    """What one kind of sandbox may not do: whole system calls, and ``fcntl`` commands."""

    name: str
    calls: tuple[str, ...]
    fcntl: tuple[int, ...]
    socket_options: tuple[int, ...] = _BUFFER_SIZES  # SOL_SOCKET options setsockopt refuses


#: The student's kernel: no signal routing, timers or watches; file locks stay (IPython keeps
#: its history in SQLite, which locks its file).
KERNEL = Profile("kernel", (*_WATCHES, "timer_create", *_HIDDEN_MEMORY), _SIGNAL_ROUTING)
#: A rule's room: besides the kernel's, no file locks of any kind (nor memfd to load machine
#: code from: the room has no ctypes either).
ROOM = Profile(
    "room", (*_WATCHES, "timer_create", *_HIDDEN_MEMORY, "flock"), _SIGNAL_ROUTING + _RECORD_LOCKS
)


@dataclass(frozen=True)
class _Abi:
    arch: int  # AUDIT_ARCH_* of the native system calls
    numbers: dict[str, int]
    x32: bool = False  # numbers from 0x40000000 up are another ABI (x32) on the same arch


_ABIS = {
    "x86_64": _Abi(
        0xC000003E,
        {
            "fcntl": 72,
            "flock": 73,
            "setsockopt": 54,
            "shmget": 29,
            "timer_create": 222,
            "inotify_init": 253,
            "inotify_add_watch": 254,
            "inotify_init1": 294,
            "fanotify_init": 300,
            "fanotify_mark": 301,
            "memfd_create": 319,
            "memfd_secret": 447,
        },
        x32=True,
    ),  # fmt: skip
    "aarch64": _Abi(
        0xC00000B7,
        {  # asm-generic numbers; there is no inotify_init
            "fcntl": 25,
            "flock": 32,
            "setsockopt": 208,
            "shmget": 194,
            "timer_create": 107,
            "inotify_init1": 26,
            "inotify_add_watch": 27,
            "fanotify_init": 262,
            "fanotify_mark": 263,
            "memfd_create": 279,
            "memfd_secret": 447,
        },
    ),  # fmt: skip
}

_ALLOW = 0x7FFF0000  # SECCOMP_RET_ALLOW
_REFUSE = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
# Offsets in struct seccomp_data: nr, arch, then args[6] (8 bytes each) from 16. fcntl's
# command is args[1], an unsigned int to the kernel: its low half (both machines are
# little-endian) is all that counts.
_NR, _ARCH, _ARG1_LOW, _ARG2_LOW = 0, 4, 24, 32


def program(profile: Profile, machine: str | None = None) -> bytes | None:
    """The BPF program that refuses ``profile`` on ``machine`` (this one by default), or
    ``None`` where the numbers are not known.

    Calls of another ABI (32-bit ``int 0x80`` or x32 on x86_64, AArch32 on aarch64) are
    refused as a whole: their numbers differ, and nothing in a sandbox needs them.
    """
    abi = _ABIS.get(machine or platform.machine())
    if abi is None:
        return None
    # (code, k, jump if true, jump if false): 0 goes on, "allow"/"refuse" jump to the end
    code: list[tuple[int, int, int | str, int | str]] = [
        (_LD_W_ABS, _ARCH, 0, 0),
        (_JEQ_K, abi.arch, 0, "refuse"),
        (_LD_W_ABS, _NR, 0, 0),
    ]
    if abi.x32:
        code.append((_JGE_K, 0x40000000, "refuse", 0))
    refused = sorted({abi.numbers[c] for c in profile.calls if c in abi.numbers})
    code += [(_JEQ_K, number, "refuse", 0) for number in refused]
    # Calls refused for some arguments only: each jumps to its own block, which ends allowed.
    blocks: list[tuple[str, list[tuple[int, int, int | str, int | str]]]] = []
    if profile.fcntl:
        commands = sorted(set(profile.fcntl))
        blocks.append(("fcntl", [(_LD_W_ABS, _ARG1_LOW, 0, 0),
                                 *((_JEQ_K, c, "refuse", 0) for c in commands)]))  # fmt: skip
    if profile.socket_options:
        options = sorted(set(profile.socket_options))
        blocks.append(("setsockopt", [(_LD_W_ABS, _ARG1_LOW, 0, 0),
                                      (_JEQ_K, SOL_SOCKET, 0, "allow"),
                                      (_LD_W_ABS, _ARG2_LOW, 0, 0),
                                      *((_JEQ_K, o, "refuse", 0) for o in options)]))  # fmt: skip
    code += [(_JEQ_K, abi.numbers[call], call, 0) for call, _ in blocks]
    code.append((_RET_K, _ALLOW, 0, 0))
    target: dict[str, int] = {}
    for call, block in blocks:
        target[call] = len(code)
        code += [*block, (_RET_K, _ALLOW, 0, 0)]
    code += [(_RET_K, _ALLOW, 0, 0), (_RET_K, _REFUSE, 0, 0)]
    target.update({"allow": len(code) - 2, "refuse": len(code) - 1})
    out = []
    for i, (op, k, jt, jf) in enumerate(code):
        jt, jf = (target[j] - i - 1 if isinstance(j, str) else j for j in (jt, jf))
        assert 0 <= jt < 256 and 0 <= jf < 256
        out.append(struct.pack("=HBBI", op, jt, jf, k))
    return b"".join(out)


_FOLDER: str | None = None


def _filter_file(profile: Profile) -> str | None:
    """The program in a file of this process's own (a folder no sandbox sees, mode 0700)."""
    global _FOLDER
    code = program(profile)
    if code is None:
        return None
    if _FOLDER is None or not os.path.isdir(_FOLDER):
        _FOLDER = tempfile.mkdtemp(prefix="cnnkit-seccomp-")
        atexit.register(_remove, _FOLDER, os.getpid())
    path = os.path.join(_FOLDER, f"{profile.name}.bpf")
    if not os.path.exists(path):
        with open(path + ".new", "wb") as fh:
            fh.write(code)
        os.replace(path + ".new", path)
    return path


def _remove(folder: str, owner: int) -> None:
    if os.getpid() == owner:  # not in a forked child that inherited the handler
        shutil.rmtree(folder, ignore_errors=True)


def with_filter(cmd: list[str], profile: Profile) -> list[str]:
    """``cmd`` (``bwrap ...``) with ``profile``'s filter on fd 9: a shell opens the file there
    and execs bwrap, so the sandbox's process is still the one started."""
    path = _filter_file(profile)
    if path is None:
        return cmd
    return ["/bin/sh", "-c", 'exec "$@" 9<"$0"', path, cmd[0], "--seccomp", "9", *cmd[1:]]
