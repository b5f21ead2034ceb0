"""A real JupyterHub on localhost for the tests: Unix accounts, the kit's venv, the hub itself.

The hub is started with the guide's own configuration, docs/hub/jupyterhub_config.py; only
what belongs to a site differs (the CNN_HUB_* variables it reads: folders, the grader
account, the Unix groups) and the ports, given on the command line. Accounts are real
Unix users with passwords, so the hub's PAM authenticator logs them in as it would on a
server, and its LocalProcessSpawner starts each server as its user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "docs" / "hub" / "jupyterhub_config.py"
COURSE_ID = "cnn-course"
ARTIFACTS = Path(os.environ.get("CNN_HUB_ARTIFACTS", REPO / "test-artifacts" / "hub"))
NOLOGIN = shutil.which("nologin") or "/usr/sbin/nologin"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing() -> str | None:
    """What this machine lacks for a hub test, in one line, or None."""
    if os.geteuid() != 0:
        return "not root: the hub and its Unix users need root"
    if shutil.which("configurable-http-proxy") is None:
        return "configurable-http-proxy is not installed (npm install -g configurable-http-proxy)"
    try:
        import jupyterhub  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as err:
        return f"the Python package {err.name} is not installed (pip install -e '.[test]')"
    if not Path("/usr/bin/chromium").exists():
        return "Chromium not found at /usr/bin/chromium (apt-get install chromium)"
    from cnnwidgets.instructor.isolation.sandbox import availability

    sandbox = availability()
    if sandbox is not None:
        return f"grading cannot be sandboxed: {sandbox}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- accounts -------------------------------------------------------------------------------
@dataclass(eq=False)
class User:
    name: str
    uid: int
    gid: int
    home: Path
    password: str


@dataclass
class Site:
    """Unix users and groups made for one test, removed with :meth:`remove`."""

    base: Path
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    users: list[User] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def group(self, label: str) -> str:
        name = f"cnnhub_{label}_{self.tag}"
        subprocess.run(["groupadd", name], check=True, capture_output=True, text=True)
        self.groups.append(name)
        return name

    def user(self, label: str, groups: tuple[str, ...] = (), home_mode: int = 0o700) -> User:
        name = f"cnnhub_{label}_{self.tag}"
        home = self.base / "home" / name
        argv = ["useradd", "--no-create-home", "--home-dir", str(home), "--user-group"]
        argv += ["--shell", NOLOGIN, *(["--groups", ",".join(groups)] if groups else []), name]
        subprocess.run(argv, check=True, capture_output=True, text=True)
        entry = pwd.getpwnam(name)
        password = secrets.token_urlsafe(12)
        subprocess.run(
            ["chpasswd"], input=f"{name}:{password}\n", check=True, capture_output=True, text=True
        )
        user = User(name, entry.pw_uid, entry.pw_gid, home, password)
        self.users.append(user)
        home.mkdir(parents=True)
        os.chown(home, user.uid, user.gid)
        os.chmod(home, home_mode)
        return user

    def give(self, user: User, path: Path) -> None:
        for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.chown(p, user.uid, user.gid, follow_symlinks=False)

    def processes(self) -> list[int]:
        """Processes still running as one of this site's users."""
        uids = {u.uid for u in self.users}
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid in uids:
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found

    def remove(self) -> None:
        for pid in self.processes():  # servers and kernels the hub left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        for user in self.users:
            subprocess.run(["userdel", user.name], capture_output=True)
        for name in self.groups:
            subprocess.run(["groupdel", name], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

    def run(
        self,
        user: User,
        argv: list[str],
        *,
        bindir: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        prefix: tuple[str, ...] | list[str] = (),
        timeout: float = 600,
    ) -> subprocess.CompletedProcess:
        """``argv`` as ``user``, with a clean environment (and ``env``), ``bindir`` first on
        PATH; ``prefix`` before it all (SharedPython.prefix)."""
        variables = [
            f"HOME={user.home}",
            f"USER={user.name}",
            f"PATH={bindir}:/usr/local/bin:/usr/bin:/bin",
            "LANG=C.UTF-8",
            "TF_CPP_MIN_LOG_LEVEL=3",
            "TF_ENABLE_ONEDNN_OPTS=0",
            *(f"{k}={v}" for k, v in (env or {}).items()),
        ]
        return subprocess.run(
            [*prefix, "runuser", "-u", user.name, "--", "env", "-i", *variables, *argv],
            capture_output=True,
            text=True,
            cwd=cwd or user.home,
            timeout=timeout,
        )


# --- the kit's Python, for every account -----------------------------------------------------
def _blocked_folder(path: Path) -> Path | None:
    """The folder nearest to / on the way to ``path`` that other users cannot pass."""
    for folder in reversed(path.parents):
        if not os.stat(folder).st_mode & 0o001:
            return folder
    return None


class SharedPython:
    """A mount namespace where every account can run the kit's Python; empty if it can anyway.

    The kit's venv links to its base interpreter, which may sit where other users cannot
    go (pyenv in root's home, /root 0700). Another interpreter will not do (with Debian's
    Python 3.11.2, soupsieve cannot compile the CSS selector nbconvert's HTML export uses,
    so feedback fails), and a copy of the interpreter loads the system's libpython. So the
    hub, its servers and ``cnnkit`` run in a mount namespace of their own in which the
    blocked folder (/root) is an empty tmpfs holding only the interpreter, bound at its own
    path: the same files, at the same paths, reachable by all; nothing outside changes.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.holder: subprocess.Popen | None = None

    @property
    def prefix(self) -> list[str]:
        """What to put before a command to run it in the namespace."""
        if self.holder is None:
            return []
        return ["nsenter", f"--mount=/proc/{self.holder.pid}/ns/mnt", "--"]

    def start(self) -> SharedPython:
        python = Path(os.path.realpath(sys.executable))
        blocked = _blocked_folder(python)
        if blocked is None:
            return self
        prefix = Path(os.path.realpath(sys.base_prefix))
        if blocked not in prefix.parents:
            raise RuntimeError(f"{python} is out of other users' reach ({blocked})")
        stage = self.base / "python-stage"
        stage.mkdir()
        script = (
            "set -e\n"
            f"mount --bind '{prefix}' '{stage}'\n"
            f"mount -t tmpfs -o mode=0755 cnnkit-hub '{blocked}'\n"
            f"mkdir -p '{prefix}'\n"
            f"mount --bind '{stage}' '{prefix}'\n"
            "echo ready\n"
            "exec sleep infinity\n"
        )
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
        if shutil.which("setpriv"):  # gone with the test
            argv = ["setpriv", "--pdeathsig", "KILL", "--", *argv]
        self.holder = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline().strip()
        if line != "ready":
            self.stop()
            raise RuntimeError(f"could not make {prefix} reachable in a mount namespace")
        return self

    def stop(self) -> None:
        holder, self.holder = self.holder, None
        if holder is not None:
            holder.kill()
            holder.wait(timeout=10)


# --- the hub --------------------------------------------------------------------------------
class Hub:
    """``jupyterhub -f docs/hub/jupyterhub_config.py`` as root, on free localhost ports."""

    def __init__(
        self, state: Path, env: dict[str, str], prefix: list[str], config: Path = CONFIG
    ) -> None:
        self.state = state
        self.env = env
        self.prefix = prefix  # SharedPython.prefix
        self.config = config
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = state / "jupyterhub.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Hub:
        self.state.mkdir(parents=True, exist_ok=True)
        hub = Path(sys.executable).parent / "jupyterhub"
        self.port = free_port()
        argv = [
            *self.prefix,
            str(hub),
            "-f",
            str(self.config),
            f"--JupyterHub.bind_url=http://127.0.0.1:{self.port}",
            f"--JupyterHub.hub_bind_url=http://127.0.0.1:{free_port()}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
        ]
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.state),
            **self.env,
        }
        if shutil.which("setpriv"):  # the hub (and so its servers) stop if the test dies
            argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.state,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterHub exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"JupyterHub did not answer within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        # SIGTERM: the hub stops every server it spawned, its services and the proxy.
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:  # what is left in its session (the proxy, a service)
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
