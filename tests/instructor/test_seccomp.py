"""The sandboxes' seccomp filters: what a kernel and a rule's room may not ask of the system.

The red team's relay (S3): the kernel has the system wake it (dnotify on a folder both
sandboxes read, its signal set to SIGCONT) while it is stopped for a room's answer, and
answers the room through record locks on a file both can read. Here the relay's parts run
in a real kernel and a real room next to it, and none of them works any more.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cnnwidgets.instructor.isolation import seccomp
from cnnwidgets.instructor.isolation.sandbox import (
    Limits,
    SandboxKernelManager,
    command,
    frozen,
    sandbox_uid,
)

from ._sandboxes import room_process
from .conftest import sandbox_missing

pytestmark = pytest.mark.skipif(
    sandbox_missing() is not None and os.environ.get("CI") != "true",
    reason=f"no grading sandbox here: {sandbox_missing()}",
)

# A folder of files both sandboxes can read (the standard library's json package), and one
# file both can open (os.py): the relay's doorbell and its mailbox.
BELL = os.path.dirname(json.__file__)
MAILBOX = os.__file__


# --- the programs --------------------------------------------------------------------------


def test_programs_for_both_machines_and_none_elsewhere():
    for machine in ("x86_64", "aarch64"):
        for profile in (seccomp.KERNEL, seccomp.ROOM):
            code = seccomp.program(profile, machine)
            assert code is not None and len(code) % 8 == 0
            assert len(code) // 8 < 64  # a few comparisons per system call
    assert seccomp.program(seccomp.ROOM, "riscv64") is None
    assert seccomp.program(seccomp.KERNEL, "ppc64le") is None
    # the kernel keeps its file locks (IPython's SQLite history); the room has none
    assert seccomp.F_SETLK not in seccomp.KERNEL.fcntl and "flock" not in seccomp.KERNEL.calls
    assert seccomp.F_SETLK in seccomp.ROOM.fcntl and "flock" in seccomp.ROOM.calls


PROBE = r"""
import ctypes, errno, fcntl, json, os, signal, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
out = {}

def attempt(name, call):
    try:
        value = call()
    except OSError as exc:
        out[name] = errno.errorcode.get(exc.errno, exc.errno)
        return
    if isinstance(value, int) and value < 0:  # a libc call: -1 and errno
        out[name] = errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())
    else:
        out[name] = "allowed"

lock = struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 1, 0)
mailbox = os.open(sys.argv[2], os.O_RDONLY)
bell = os.open(sys.argv[1], os.O_RDONLY)
attempt("F_GETLK", lambda: fcntl.fcntl(mailbox, fcntl.F_GETLK, lock))
attempt("F_SETLK", lambda: fcntl.fcntl(mailbox, fcntl.F_SETLK, lock))
attempt("F_SETLKW", lambda: fcntl.fcntl(mailbox, fcntl.F_SETLKW, lock))
attempt("F_OFD_SETLK", lambda: fcntl.fcntl(mailbox, 37, lock))
attempt("flock", lambda: fcntl.flock(mailbox, fcntl.LOCK_SH | fcntl.LOCK_NB))
attempt("F_SETSIG", lambda: fcntl.fcntl(bell, fcntl.F_SETSIG, signal.SIGCONT))
attempt("F_NOTIFY", lambda: fcntl.fcntl(bell, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT))
attempt("F_SETOWN", lambda: fcntl.fcntl(bell, fcntl.F_SETOWN, os.getpid()))
attempt("F_SETOWN_EX", lambda: fcntl.fcntl(bell, 15, struct.pack("ii", 1, os.getpid())))
attempt("F_SETLEASE", lambda: fcntl.fcntl(mailbox, fcntl.F_SETLEASE, fcntl.F_RDLCK))
attempt("F_GETFL", lambda: fcntl.fcntl(bell, fcntl.F_GETFL))  # the rest of fcntl still works
# the command is an unsigned int: bits above it do not make another command
attempt("F_SETSIG_high_bits", lambda: libc.syscall(72 if os.uname().machine == "x86_64" else 25,
                                                   bell, (1 << 32) | 10, 18))
attempt("inotify_init1", lambda: libc.inotify_init1(0))
attempt("fanotify_init", lambda: libc.fanotify_init(0, 0))
attempt("memfd_create", lambda: os.memfd_create("library"))
attempt("timer_create", lambda: libc.timer_create(1, None, ctypes.byref(ctypes.c_void_p())))
attempt("shmget", lambda: libc.shmget(0, 4096, 0o1600))
if os.uname().machine == "x86_64":  # the same calls through the other ABIs
    import mmap
    def machine_code(hex_code):
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(bytes.fromhex(hex_code))
        run = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
        return run(), page
    # getpid: mov eax, 20; int 0x80; ret  (i386)  |  mov eax, 0x40000027; syscall; ret  (x32)
    out["i386_getpid"] = machine_code("b814000000cd80c3")[0]
    out["x32_getpid"] = machine_code("b8270000400f05c3")[0]
import socket
a, b = socket.socketpair()  # a socket's buffers stay at the default; its other options work
attempt("SO_SNDBUF", lambda: a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20))
attempt("SO_RCVBUF", lambda: b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20))
attempt("SO_SNDBUFFORCE", lambda: a.setsockopt(socket.SOL_SOCKET, 32, 4 << 20))
attempt("SO_KEEPALIVE", lambda: a.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
import sqlite3
try:  # SQLite locks its file, as IPython's history does
    db = sqlite3.connect("history.sqlite")
    db.execute("create table t (x)"); db.execute("insert into t values (1)"); db.commit()
    out["sqlite"] = db.execute("select count(*) from t").fetchone()[0]
except sqlite3.Error as exc:
    out["sqlite"] = type(exc).__name__
import numpy as np
out["numpy"] = float(np.linalg.solve(np.eye(3) * 2, np.ones(3)).sum())
print(json.dumps(out))
"""


def _probe(profile: seccomp.Profile, tmp_path: Path) -> dict:
    """Run PROBE in a sandbox under ``profile``'s filter (a Python with ctypes, to reach every
    call; the room itself has no ctypes)."""
    home = tmp_path / profile.name
    home.mkdir()
    os.chmod(home, 0o777)
    cmd = command([sys.executable, "-c", PROBE, BELL, MAILBOX], cwd=str(home),
                  private_dir=str(home), env={"PATH": "/usr/bin:/bin"}, limits=Limits(),
                  uid=sandbox_uid(str(home)))  # fmt: skip
    proc = subprocess.run(seccomp.with_filter(cmd, profile), capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


ROUTING = ["F_SETSIG", "F_NOTIFY", "F_SETOWN", "F_SETOWN_EX", "F_SETLEASE", "F_SETSIG_high_bits"]
WATCHES = ["inotify_init1", "fanotify_init", "timer_create", "memfd_create", "shmget"]
BUFFERS = ["SO_SNDBUF", "SO_RCVBUF", "SO_SNDBUFFORCE"]
LOCKS = ["F_GETLK", "F_SETLK", "F_SETLKW", "F_OFD_SETLK", "flock"]


def test_the_rooms_filter_refuses_locks_watches_and_signal_routing_numpy_runs(tmp_path):
    if seccomp.program(seccomp.ROOM) is None:
        pytest.skip(f"no seccomp numbers for {platform.machine()}")
    seen = _probe(seccomp.ROOM, tmp_path)
    refused = {name: seen[name] for name in LOCKS + ROUTING + WATCHES + BUFFERS}
    assert refused == dict.fromkeys(refused, "EPERM"), seen
    assert seen["F_GETFL"] == "allowed"
    assert seen["numpy"] == 1.5
    assert seen["sqlite"] == "OperationalError"  # no locks: no SQLite file either
    if platform.machine() == "x86_64":  # -EPERM, whatever the other ABIs would have answered
        assert seen["i386_getpid"] == -1 and seen["x32_getpid"] == -1, seen


def test_the_kernels_filter_refuses_signal_routing_and_keeps_file_locks(tmp_path):
    if seccomp.program(seccomp.KERNEL) is None:
        pytest.skip(f"no seccomp numbers for {platform.machine()}")
    seen = _probe(seccomp.KERNEL, tmp_path)
    refused = {name: seen[name] for name in ROUTING + WATCHES + BUFFERS}
    assert seen["SO_KEEPALIVE"] == "allowed", seen
    assert refused == dict.fromkeys(refused, "EPERM"), seen
    assert {name: seen[name] for name in LOCKS} == dict.fromkeys(LOCKS, "allowed"), seen
    assert seen["sqlite"] == 1 and seen["numpy"] == 1.5
    if platform.machine() == "x86_64":
        assert seen["i386_getpid"] == -1 and seen["x32_getpid"] == -1, seen


# --- the relay, in a real kernel and room --------------------------------------------------

KERNEL_SIDE = f"""
import fcntl, os, signal, struct, threading, time
BELL, MAILBOX = {BELL!r}, {MAILBOX!r}
set_up = {{}}
def attempt(name, call):
    try:
        call()
        set_up[name] = "allowed"
    except OSError as exc:
        set_up[name] = type(exc).__name__
bell = os.open(BELL, os.O_RDONLY)
attempt("F_SETSIG", lambda: fcntl.fcntl(bell, fcntl.F_SETSIG, signal.SIGCONT))
attempt("F_NOTIFY", lambda: fcntl.fcntl(bell, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT))
mailbox = os.open(MAILBOX, os.O_RDONLY)
# the answer, as the length of a read lock far into the file
attempt("F_SETLK", lambda: fcntl.fcntl(mailbox, fcntl.F_SETLK,
                                       struct.pack("hhqqi", fcntl.F_RDLCK, 0, 1 << 40, 4242, 0)))

def tick():  # what the kernel does when it runs: count
    n = 0
    while True:
        n += 1
        with open("ticks.tmp", "w") as fh:
            fh.write(str(n))
        os.replace("ticks.tmp", "ticks")
        time.sleep(0.005)

threading.Thread(target=tick, daemon=True).start()
print(set_up)
"""

ROOM_SIDE = f"""
import fcntl, os, struct, time
seen = {{}}
for _ in range(30):  # ring: read a file in the folder the kernel watches, and wait for it
    with open(os.path.join({BELL!r}, "__init__.py"), "rb") as fh:
        fh.read(1)
    time.sleep(0.01)
mailbox = os.open({MAILBOX!r}, os.O_RDONLY)
try:
    got = fcntl.fcntl(mailbox, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 1 << 40, 1, 0))
    seen["F_GETLK"] = struct.unpack("hhqqi", got)[3]
except OSError as exc:
    seen["F_GETLK"] = type(exc).__name__
try:
    fcntl.flock(mailbox, fcntl.LOCK_EX | fcntl.LOCK_NB)
    seen["flock"] = "allowed"
except OSError as exc:
    seen["flock"] = type(exc).__name__
print(repr(seen))
"""


def test_the_relay_cannot_wake_a_frozen_kernel_nor_pass_it_answers(tmp_path):
    """S3: the kernel's doorbell and mailbox are refused, and a frozen kernel stays frozen
    while a process in its room reads the folder it tried to watch."""
    folder = tmp_path / "submission"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(KERNEL_SIDE)])
    km = SandboxKernelManager()
    client = NotebookClient(nb, km=km, timeout=60, allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})  # fmt: skip
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        set_up = ast.literal_eval(nb.cells[0].outputs[0]["text"])
        ticks = folder / "ticks"
        time.sleep(0.3)
        with frozen([km.provisioner.pid]):
            before = ticks.read_text()
            room, _, _ = room_process(km, ROOM_SIDE, stdout=subprocess.PIPE, text=True)
            out, _ = room.communicate(timeout=60)
            during = ticks.read_text()
        time.sleep(0.3)
        after = ticks.read_text()
    seen = ast.literal_eval(out.strip().splitlines()[-1])
    print("kernel:", set_up, "room:", seen, "ticks:", before, during, after)
    assert during == before, "the kernel ran while it was frozen"
    assert int(after) > int(during), "the kernel was not thawed"
    assert set_up == {"F_SETSIG": "PermissionError", "F_NOTIFY": "PermissionError",
                      "F_SETLK": "allowed"}, set_up  # fmt: skip
    assert seen == {"F_GETLK": "PermissionError", "flock": "PermissionError"}, seen
