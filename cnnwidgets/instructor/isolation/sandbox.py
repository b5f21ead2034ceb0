"""Run grading kernels in a bubblewrap sandbox, with resource limits.

A submission's code runs in its kernel, and only there; the nbgrader process
that drives the kernel never executes it. :class:`SandboxKernelManager` starts
each kernel as::

    bwrap <a new root holding only the system, Python and the kit, read-only>
          --unshare-net --unshare-pid ... --die-with-parent
      setpriv <an unprivileged uid, when cnnkit runs as root>
        prlimit --as --cpu --nproc --fsize --core
          python -m ipykernel_launcher -f <connection file>

Inside, the kernel sees the system and Python read-only, its notebook's folder
(a scratch copy of the submission) as the only writable folder besides a small
private ``/tmp``, and nothing of the course: no ``solutions/``, no gradebook, no
other submission. It has no network (it talks to nbgrader over Unix sockets),
a memory, CPU-time, process and file-size limit per process, a seccomp filter
(:mod:`.seccomp`), and a minimal environment (no tokens or database URLs of the
instructor's shell). A :class:`~.watchdog.Watchdog` holds all its processes to the
memory limit together and its folders to the disk limit. Killing the grading
worker takes the whole sandbox down (``--die-with-parent`` and the PID namespace).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from traitlets import Dict as DictTrait

from . import seccomp
from .bridge import bridge_path
from .environment import kernel_env
from .kernels import SocketKernelManager
from .watchdog import Watchdog

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "SandboxKernelManager",
    "SandboxUnavailable",
    "availability",
    "command",
    "frozen",
]

MB = 1024 * 1024

# Readable system paths, bound where they exist. /etc only in part: what libc,
# TLS and time zones need; nothing of the host's configuration or secrets.
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/alternatives",
    "/etc/fonts",
    "/etc/mime.types",
)
# The uid kernels run as when cnnkit runs as root: unprivileged, so that the process
# limit applies (the kernel exempts uid 0) and root-only files stay closed.
_FIRST_UID = 61000
_UIDS = 1000


class SandboxUnavailable(RuntimeError):
    """Grading needs a sandbox and none works on this machine (the message says why)."""


@dataclass(frozen=True)
class Limits:
    """What one grading kernel may use.

    Attributes
    ----------
    memory_mb : int
        Address space of each process (``RLIMIT_AS``; TensorFlow needs about 2 GiB of it
        to start), and resident memory of all the sandbox's processes together (its
        :class:`~.watchdog.Watchdog`).
    cpu_seconds : int
        CPU time over all threads (``RLIMIT_CPU``), a backstop to the per-cell timeout.
    processes : int
        Processes and threads of the kernel's user (``RLIMIT_NPROC``); TensorFlow
        starts a few dozen threads.
    file_mb : int
        Largest file the kernel may write (``RLIMIT_FSIZE``).
    tmp_mb : int
        Size of the kernel's private ``/tmp`` (also its ``HOME``).
    disk_mb : int
        Disk the sandbox's writable host folders may take together (its notebook's folder
        and its half of the bridge), watched by its :class:`~.watchdog.Watchdog`.
    """

    memory_mb: int = 4096
    cpu_seconds: int = 1800
    processes: int = 512
    file_mb: int = 256
    tmp_mb: int = 512
    disk_mb: int = 1024


DEFAULT_LIMITS = Limits()


def _bwrap() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
@functools.cache
def availability() -> str | None:
    """``None`` when sandboxed grading works here; otherwise the reason it does not.

    Tries the real thing once per process (the answer is kept): a sandbox with no
    network and a new PID namespace that runs ``true``.
    """
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (bubblewrap); this is {sys.platform}"
    bwrap = _bwrap()
    if bwrap is None:
        return (
            "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; "
            "Fedora: dnf install bubblewrap)"
        )
    for tool in ("prlimit", "setpriv", "chrt"):
        if shutil.which(tool) is None:
            return f"{tool} (util-linux) is not installed"
    probe = [bwrap, *_ro_binds([*_SYSTEM]), "--proc", "/proc", "--dev", "/dev",
             "--unshare-net", "--unshare-pid", "--die-with-parent", "true"]  # fmt: skip
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        return (
            f"bubblewrap cannot create a sandbox here ({detail or f'exit {proc.returncode}'}); "
            "unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone)"
        )
    return None


def _ro_binds(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        if os.path.islink(p):  # merged /usr: /bin -> usr/bin
            out += ["--symlink", os.readlink(p), p]
        elif os.path.exists(p):
            out += ["--ro-bind", p, p]
    return out


def _parents(paths: list[str]) -> list[str]:
    made: list[str] = []
    for path in paths:
        for parent in reversed(Path(path).parents):
            p = str(parent)
            if p not in ("/", "/tmp") and p not in made:
                made.append(p)
    return [item for p in made for item in ("--perms", "0755", "--dir", p)]


def _python_paths() -> list[str]:
    """Folders the kernel's Python needs: its installation, the venv, and the kit."""
    import cnnwidgets

    paths = {
        os.path.realpath(sys.base_prefix),
        os.path.realpath(sys.prefix),
        # An editable install imports the package from the source tree: bind the
        # package folder only, never the repository (solutions/ lives there).
        os.path.realpath(Path(cnnwidgets.__file__).parent),
    }
    # The interpreter may live elsewhere than base_prefix (a symlinked venv python).
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    # Keep the outermost folders only (binding a folder and its child twice is harmless
    # but noisy).
    kept = []
    for p in sorted(paths):
        if not any(p == k or p.startswith(k + os.sep) for k in kept):
            kept.append(p)
    return kept


def sandbox_uid(key: str) -> int | None:
    """The unprivileged uid for a kernel when running as root; ``None`` otherwise."""
    if os.geteuid() != 0:
        return None
    return _FIRST_UID + zlib.crc32(key.encode()) % _UIDS


def command(
    kernel_cmd: list[str],
    *,
    cwd: str,
    private_dir: str,
    env: dict[str, str],
    limits: Limits,
    uid: int | None,
    shared: tuple[str, ...] = (),
    python: list[str] | None = None,
    extra: tuple[tuple[str, str], ...] = (),
    hidden: tuple[str, ...] = (),
    sealed: bool = False,
    background: bool = False,
) -> list[str]:
    """The command line that runs ``kernel_cmd`` inside the sandbox.

    ``cwd`` (the notebook's folder), ``private_dir`` (the kernel's connection
    file and sockets) and the ``shared`` folders (the bridge to the verifier,
    writable where their owners allow) are the only host folders it can write.
    ``python`` replaces the Python folders it can read (by default the
    interpreter, the venv and the kit); ``extra`` binds more files or folders
    read-only (``(source, where inside)``); ``hidden`` folders are covered with
    an empty file system (a rule's room: site-packages it must not see).
    ``sealed`` (a rule's room): ``private_dir`` is the only writable folder (``cwd``,
    ``/tmp`` and ``/proc`` are read-only, there is no ``/dev/shm``), and ``extra``
    may bind ``/dev/null`` over a file to take it away. ``background`` (kernels and rooms)
    runs it at ``SCHED_IDLE``: only on CPU time no other process wants, so that busy loops
    in any number of its processes and threads cannot slow the grader or its verifiers
    (``nice`` is a weight per thread, and 500 threads at nice 10 outweigh one at 0).
    """
    bwrap = _bwrap()
    if bwrap is None:
        raise SandboxUnavailable(availability() or "bubblewrap is not installed")
    # No --new-session: the kernel stays in the process group jupyter_client signals, so
    # interrupting a cell that overran its time reaches it (it has no terminal to abuse).
    args = [bwrap, "--die-with-parent"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--hostname", "grader"]
    if os.geteuid() == 0:
        # Only what setpriv needs to switch to the kernel's uid; switching clears them.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += _ro_binds(list(_SYSTEM)) + _ro_binds(list(_ETC))
    python = _python_paths() if python is None else python
    # /tmp first: the folders below are often inside it, and a tmpfs mounted later
    # would hide them.
    args += ["--perms", "1777", "--size", str(limits.tmp_mb * MB), "--tmpfs", "/tmp"]
    # bwrap creates missing parents of a mount point with mode 0700 (root's): make them
    # traversable for the kernel's uid first.
    args += _parents([*python, private_dir, cwd, *shared, *(dest for _, dest in extra)])
    args += [item for p in python for item in ("--ro-bind", p, p)]
    args += [item for p in hidden if os.path.isdir(p) for item in ("--tmpfs", p)]
    args += [item for src, dest in extra for item in ("--ro-bind", src, dest)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    if sealed:
        args += ["--bind", private_dir, private_dir, "--ro-bind", cwd, cwd]
    else:
        # Shared memory for Python's multiprocessing locks (joblib warns on stderr without it).
        args += ["--perms", "1777", "--size", str(64 * MB), "--tmpfs", "/dev/shm"]
        args += ["--bind", private_dir, private_dir, "--bind", cwd, cwd]
    args += [item for p in shared for item in ("--bind", p, p)]
    if sealed:  # last: the folders above are mounted on /tmp's file system
        args += ["--remount-ro", "/proc", "--remount-ro", "/tmp"]
    args += ["--chdir", cwd]
    args += ["--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    args.append("--")
    if uid is not None:
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--no-new-privs", "--"]  # fmt: skip
    if background:
        args += ["chrt", "--idle", "0"]
    args += [
        "prlimit",
        f"--as={limits.memory_mb * MB}",
        f"--cpu={limits.cpu_seconds}",
        f"--nproc={_nproc_limit(limits.processes, uid)}",
        f"--fsize={limits.file_mb * MB}",
        f"--nofile={_OPEN_FILES}",
        "--core=0",
        "--",
    ]
    return args + list(kernel_cmd)


# Open files of each process (a TensorFlow kernel holds a few hundred): with the buffers of a
# socket at their default (see .seccomp) and each counted by the watchdog, enough.
_OPEN_FILES = 4096


def _nproc_limit(processes: int, uid: int | None) -> int:
    # RLIMIT_NPROC counts every process and thread of the user. A kernel with a uid of
    # its own gets the limit as is; one running as the instructor's own user (cnnkit not
    # run as root) must leave room for everything else that user runs.
    if uid is not None:
        return processes
    try:
        mine = sum(
            1
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and p.stat().st_uid == os.getuid()
            for _ in (p / "task").iterdir()
        )
    except OSError:
        mine = 4096
    return mine + processes


class SandboxKernelManager(SocketKernelManager):
    """A :class:`SocketKernelManager` whose kernel runs in a bubblewrap sandbox.

    Configure the limits with ``SandboxKernelManager.limits`` (a dict of
    :class:`Limits` fields), e.g. ``{"memory_mb": 2048}``.
    """

    limits = DictTrait(help="Limits fields overriding the defaults.").tag(config=True)

    def _limits(self) -> Limits:
        return Limits(**{**asdict(Limits()), **self.limits})

    async def _async_pre_start_kernel(self, **kw):
        reason = availability()
        if reason is not None:
            raise SandboxUnavailable(reason)
        # A private folder for the connection file and sockets, owned by the kernel's uid.
        self._private = tempfile.mkdtemp(prefix="k-", dir=_short_tmp())
        self.connection_file = os.path.join(self._private, "kernel.json")
        self.ip = os.path.join(self._private, "s")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        cwd = self._cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        uid = self._uid = sandbox_uid(self._private)
        self.bridge_dir = make_bridge(uid, verifier_uid(self._private, uid))
        if uid is not None:
            for path in (self._private, self.connection_file):
                os.chown(path, uid, uid)
            _chown_tree(cwd, uid)
            # bwrap enters the folder before dropping to the uid, with no capabilities left.
            os.chmod(cwd, os.stat(cwd).st_mode | 0o755)
        kw["env"] = kernel_env(kw.get("env") or dict(os.environ))
        cmd = command(
            kernel_cmd,
            cwd=cwd,
            private_dir=self._private,
            env=kw["env"],
            limits=self._limits(),
            uid=uid,
            shared=(self.bridge_dir,),
            # Below the verifier, which trains the tests' models: busy loops in a
            # submission take spare time only, from its own and other graders' tests.
            background=True,
        )
        return seccomp.with_filter(cmd, seccomp.KERNEL), kw

    async def _async_post_start_kernel(self, **kw) -> None:
        await super()._async_post_start_kernel(**kw)
        pid = getattr(self.provisioner, "pid", None)
        if isinstance(pid, int):
            folders = (self._cwd, self._private, os.path.join(self.bridge_dir, "from_kernel"))
            self.watchdog = self.watch(pid, folders, "the submission's processes")

    def watch(self, pid: int, folders: tuple[str, ...], who: str) -> Watchdog:
        """A :class:`~.watchdog.Watchdog` (started) over the sandbox of process ``pid``, which
        may write ``folders``: this kernel's limits hold for all its processes together."""
        limits = self._limits()
        dog = Watchdog(pid, folders, memory_mb=limits.memory_mb, disk_mb=limits.disk_mb, who=who)
        self._watchdogs = [*getattr(self, "_watchdogs", []), dog]
        return dog.start()

    def verifier_launch(
        self, argv: list[str], shared: tuple[str, ...] = ()
    ) -> tuple[list[str], dict[str, str], str]:
        """Command, environment and folder of this kernel's verifier, in a sandbox of its own.

        The verifier gets the same limits and a uid of its own: a fork bomb in the
        submission exhausts the kernel's process budget, never the verifier's.
        ``shared``: the rooms' bridges, which the verifier talks to besides the kernel's.
        """
        uid = verifier_uid(self._private, self._uid)
        home = self._home("v-", uid)
        env = kernel_env(dict(os.environ))
        env["PYTHONHASHSEED"] = "0"
        cmd = command(argv, cwd=home, private_dir=self.bridge_dir, env=env,
                      limits=self._limits(), uid=uid, shared=shared)  # fmt: skip
        return cmd, env, home

    def _home(self, prefix: str, uid: int | None) -> str:
        home = tempfile.mkdtemp(prefix=prefix, dir=_short_tmp())
        self._homes = [*getattr(self, "_homes", []), home]
        os.chmod(home, 0o755)  # bwrap enters it before dropping to the uid
        if uid is not None:
            os.chown(home, uid, uid)
        return home

    def room_launch(
        self, allowed: tuple[str, ...], bridge: str | None = None
    ) -> tuple[list[str], dict[str, str], str, str]:
        """Command, environment, folder and bridge of a rule's room next to this kernel.

        The room is a Python with the standard library and the ``allowed``
        packages only: the venv, the kit, the course and every site-packages
        folder of the machine stay out of it, so a library a task forbids does
        not exist there. It has a uid, a home and a bridge of its own; nothing
        of the kernel's (its folder, its bridge, its /tmp) is visible in it, so
        the kernel cannot hand it anything. Its seccomp filter (:data:`.seccomp.ROOM`)
        refuses file locks and watches. ``bridge``: the bridge of a room that died, for the
        one that takes its place (the verifier talking to it need not change).
        """
        from ...grading import room

        taken = {self._uid, verifier_uid(self._private, self._uid)}
        uid = sandbox_uid(f"{self._private}/room/{'+'.join(allowed)}")
        while uid is not None and uid in taken:
            uid = _FIRST_UID + (uid - _FIRST_UID + 1) % _UIDS
        if bridge is None:
            bridge = make_bridge(uid, verifier_uid(self._private, self._uid),
                                 inbox="to_room", outbox="from_room")  # fmt: skip
            self._bridges = [*getattr(self, "_bridges", []), bridge]
        else:  # nothing the dead room left behind is an answer of the new one
            _empty(os.path.join(bridge, "from_room"))
        home = self._home("r-", uid)
        env = kernel_env(dict(os.environ))
        env["PYTHONHASHSEED"] = "0"
        inside = "/opt/cnnkit-room"
        extra = [(room.runner_path(), f"{inside}/room.py"),
                 (bridge_path(), f"{inside}/bridge.py")]  # fmt: skip
        extra += [(path, f"{inside}/site/{name}") for path, name in room.allowed_paths(allowed)]
        python = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
        argv = room.command(allowed, f"{inside}/site", codec=f"{inside}/bridge.py", python=python)
        argv[3] = f"{inside}/room.py"  # the runner as bound inside
        # No foreign machine code: no ctypes, and (seccomp) no memfd to load a library from.
        extra += [("/dev/null", path) for path in _ctypes_files()]
        folders = sorted({os.path.realpath(sys.base_prefix), os.path.dirname(python)})
        cmd = command(argv, cwd=home, private_dir=bridge, env=env, limits=self._limits(),
                      uid=uid, python=folders, extra=tuple(extra),
                      hidden=tuple(site_folders()), sealed=True, background=True)  # fmt: skip
        return seccomp.with_filter(cmd, seccomp.ROOM), env, home, bridge

    async def _async_interrupt_kernel(self) -> None:
        # jupyter_client signals the process group, which holds bwrap too: bwrap dies of
        # SIGINT and takes the kernel with it. Signal the kernel process alone.
        pid = self._kernel_pid()
        if pid is None:
            return await super()._async_interrupt_kernel()
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    # AsyncKernelManager binds the public name to its own coroutine: rebind it to this one.
    interrupt_kernel = _async_interrupt_kernel

    def _kernel_pid(self) -> int | None:
        """The kernel's process id as seen from here: bwrap -> bwrap's init -> kernel."""
        provisioner = self.provisioner
        pid = getattr(provisioner, "pid", None) if provisioner is not None else None
        for _ in range(2):
            children = _children(pid) if pid else []
            if not children:
                return None
            pid = children[0]
        return pid

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        for dog in getattr(self, "_watchdogs", []):
            dog.stop()
        self._watchdogs = []
        await super()._async_cleanup_resources(restart)
        if not restart:
            folders = [getattr(self, "_private", None), getattr(self, "bridge_dir", None)]
            for folder in [*folders, *getattr(self, "_homes", []), *getattr(self, "_bridges", [])]:
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)


def verifier_uid(key: str, kernel_uid: int | None) -> int | None:
    """The verifier's uid next to a kernel with ``kernel_uid``: never the same one."""
    uid = sandbox_uid(key + "/verifier")
    if uid is not None and uid == kernel_uid:
        uid = _FIRST_UID + (uid - _FIRST_UID + 1) % _UIDS
    return uid


def _ctypes_files() -> list[str]:
    import glob
    import sysconfig

    dynload = os.path.join(sysconfig.get_path("platstdlib", vars={"platbase": sys.base_prefix}),
                           "lib-dynload")  # fmt: skip
    return sorted(glob.glob(os.path.join(os.path.realpath(dynload), "_ctypes*.so")))


def site_folders() -> list[str]:
    """Every site-packages or dist-packages folder of this machine's Pythons (a room hides them)."""
    import glob
    import sysconfig

    found = {
        os.path.realpath(sysconfig.get_path(key, vars={"base": sys.base_prefix,
                                                       "platbase": sys.base_prefix}))
        for key in ("purelib", "platlib")
    }  # fmt: skip
    for pattern in (
        "/usr/lib/python3*/*-packages",
        "/usr/local/lib/python3*/*-packages",
        "/usr/lib64/python3*/*-packages",
        "/usr/local/lib64/python3*/*-packages",
    ):
        found.update(os.path.realpath(p) for p in glob.glob(pattern))
    return sorted(p for p in found if os.path.isdir(p))


def make_bridge(
    kernel_uid: int | None,
    verifier_uid: int | None,
    *,
    inbox: str = "to_kernel",
    outbox: str = "from_kernel",
) -> str:
    """A folder for the verifier's requests (``inbox``) and the kernel's (or room's) answers.

    Each side may write only its own half; both may read both.
    """
    bridge = tempfile.mkdtemp(prefix="b-", dir=_short_tmp())
    os.chmod(bridge, 0o755)
    for name, uid in ((inbox, verifier_uid), (outbox, kernel_uid)):
        folder = os.path.join(bridge, name)
        os.mkdir(folder, 0o755)
        if uid is not None:
            os.chown(folder, uid, uid)
    return bridge


def _short_tmp() -> str:
    # Unix socket names are limited to 107 bytes; TMPDIR may be long (pytest's).
    return "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()


def _empty(folder: str) -> None:
    """Remove what ``folder`` holds, keeping the folder."""
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def _chown_tree(folder: str, uid: int) -> None:
    for root, dirs, files in os.walk(folder):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc; oldest first)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append((int(fields[19]), int(entry)))  # start time, pid
    return [p for _, p in sorted(found)]


# --- freezing a kernel while its rule's room answers -----------------------------------------
# A room answers a test's call with the submission's kernel stopped: code in the kernel cannot
# answer for the room through a channel no sandbox closes (locks on a shared read-only file,
# CPU timing). Kernels of other submissions graded at the same time are not stopped (one
# student's slow answer must never stall another's grading): `--jobs 1` leaves none running.


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _trees(roots: list[int]) -> list[int]:
    """``roots`` and all their descendants, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], list(roots)
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


@contextmanager
def frozen(roots: list[int]) -> Iterator[None]:
    """Every process under ``roots`` stopped (SIGSTOP) for the block, then continued."""
    stopped: list[int] = []
    for _ in range(50):  # until no new process appears (one could fork meanwhile)
        new = [p for p in _trees(roots) if p not in stopped]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(
        _state(p) not in ("T", "t", "Z", "X", None) for p in stopped
    ):
        time.sleep(0.001)
    try:
        yield
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except (ProcessLookupError, PermissionError):
                pass
