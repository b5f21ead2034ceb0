"""A throw-away PostgreSQL server for the tests: Debian's binaries, a Unix socket, trust auth.

``postgres_server()`` is a context manager yielding a :class:`Server`; ``server.create(name)``
makes a database and returns its SQLAlchemy URL (``postgresql://postgres@/NAME?host=SOCKETDIR``).
When run as root, initdb, pg_ctl and psql run as the ``postgres`` system user, which owns the
data and socket folders. Nothing listens on TCP.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Debian's postgresql-NN packages, newest first.
_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = [
        Path(d)
        for d in glob.glob(_BIN_GLOB)
        if (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file()
    ]

    def version(path: Path) -> tuple[int, ...]:
        part = path.parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit())

    return max(found, key=version) if found else None


def missing() -> str | None:
    """Why no server can be started here (None: it can)."""
    if find_bin() is None:
        return f"PostgreSQL is not installed (no initdb/pg_ctl in {_BIN_GLOB})"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


@dataclass
class Server:
    bin: Path
    data: Path
    socket_dir: Path
    prefix: list[str]  # runuser -u postgres -- when root, else []
    user: str

    def run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.prefix, *cmd], capture_output=True, text=True, timeout=timeout, check=True
        )

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = self.run(
            str(self.bin / "psql"),
            "-h",
            str(self.socket_dir),
            "-U",
            self.user,
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )
        return out.stdout

    def create(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql://{self.user}@/{name}?host={self.socket_dir}"


@contextmanager
def postgres_server() -> Iterator[Server]:
    """Start a server in a fresh folder under /tmp; stop it and remove the folder at the end."""
    bindir = find_bin()
    if bindir is None:
        raise RuntimeError(missing())
    root = os.geteuid() == 0
    # The socket path must stay under ~100 characters (sun_path): a short folder in /tmp.
    base = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    data, sock = base / "data", base / "sock"
    data.mkdir()
    sock.mkdir()
    if root:
        pw = pwd.getpwnam("postgres")
        for path in (base, data, sock):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        prefix, user = ["runuser", "-u", "postgres", "--"], "postgres"
    else:
        prefix, user = [], pwd.getpwuid(os.geteuid()).pw_name
    os.chmod(data, 0o700)
    server = Server(bindir, data, sock, prefix, user)
    log = base / "server.log"
    started = False
    try:
        _start(server, log)
        started = True
        yield server
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "stop", "-m", "immediate", "-w"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)


def _start(server: Server, log: Path) -> None:
    """initdb, then pg_ctl start -w; a failure raises RuntimeError with the server's log."""
    pg = server.bin
    try:
        server.run(
            str(pg / "initdb"),
            "-D",
            str(server.data),
            "-U",
            server.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        server.run(
            str(pg / "pg_ctl"),
            "-D",
            str(server.data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            # no TCP, sockets in our folder, settings for a short-lived test server
            f"-c listen_addresses='' -c unix_socket_directories='{server.socket_dir}' "
            "-c fsync=off -c max_connections=50",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        text = log.read_text() if log.is_file() else ""
        raise RuntimeError(
            f"PostgreSQL did not start: {exc.cmd}\n{exc.stdout}\n{exc.stderr}\n{text}"
        ) from exc
