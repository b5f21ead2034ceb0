"""Student accounts for the exchange round trip: real Unix users, or homes of their own.

As root under ``CI=true`` each student is a Unix user (``useradd``) and runs
nbgrader through ``runuser`` with a clean environment, so nbgrader finds the
student id the way it does on a server (the process's user) and the OS enforces
the exchange's permissions. Otherwise every student is the current user with
``HOME`` switched to a folder of their own (nbgrader's cache and config live
there) and ``--student ID`` on submit and fetch_feedback, since nbgrader takes
the student id from the process's Unix user.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# nbgrader commands that take the student id from the Unix user unless given one.
_ID_COMMANDS = ("submit", "fetch_feedback", "list")
# Big packages of the kit that nbgrader never imports: left out of a copy for students.
_NOT_FOR_STUDENTS = (
    "tensorflow*",
    "keras*",
    "playwright*",
    "scipy*",
    "sklearn*",
    "skimage*",
    "plotly*",
    "clang*",
    "jax*",
    "torch*",
    "_pytest",
    "pytest*",
)
_PROBE = "import nbgrader.apps.nbgraderapp"


def real_users_wanted() -> bool:
    """Whether to create Unix users: running as root under CI."""
    return os.geteuid() == 0 and os.environ.get("CI", "").lower() in ("true", "1", "yes")


@dataclass(eq=False)  # hashable by identity: tests key dicts by account
class Account:
    """One student: an id (also the Unix name when real) and a home folder."""

    name: str
    home: Path
    real: bool
    uid: int = -1
    gid: int = -1


class Classroom:
    """An exchange folder and student accounts around it; use :func:`classroom`."""

    def __init__(self, base: Path, real: bool) -> None:
        self.base = base
        self.real = real
        self.exchange = base / "exchange"
        self.students: list[Account] = []
        self.python = sys.executable  # the interpreter students run nbgrader with
        self.notes: list[str] = []  # workarounds taken, for the test's report

    # --- set-up ----------------------------------------------------------------
    def add_student(self, label: str) -> Account:
        if self.real:
            name = f"cnnkit_{label}_{secrets.token_hex(3)}"
            home = self.base / "home" / name
            subprocess.run(
                [
                    "useradd",
                    "--no-create-home",
                    "--home-dir",
                    str(home),
                    "--user-group",
                    "--shell",
                    shutil.which("nologin") or "/usr/sbin/nologin",
                    name,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            import pwd

            entry = pwd.getpwnam(name)
            account = Account(name, home, True, entry.pw_uid, entry.pw_gid)
            self.students.append(account)  # registered before anything else can fail
        else:
            name = label
            account = Account(name, self.base / "home" / name, False)
            self.students.append(account)
        account.home.mkdir(parents=True)
        # Homes are private, as on a well-run server: nbgrader keeps a copy of every
        # hand-in in ~/.local/share/jupyter/nbgrader_cache.
        os.chmod(account.home, 0o700)
        config = account.home / ".jupyter" / "nbgrader_config.py"
        config.parent.mkdir()
        config.write_text(
            "c = get_config()  # noqa: F821\n"
            "c.CourseDirectory.course_id = 'cnn-course'\n"
            f"c.Exchange.root = {str(self.exchange)!r}\n"
        )
        self.give(account, account.home)
        return account

    def give(self, account: Account, path: Path) -> None:
        """Make ``path`` (and everything below it) the student's own."""
        if not account.real:
            return
        for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.chown(p, account.uid, account.gid, follow_symlinks=False)

    def remove(self) -> None:
        for account in self.students:
            if account.real:
                done = subprocess.run(["userdel", account.name], capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"could not remove user {account.name}: {done.stderr}", file=sys.stderr)
        shutil.rmtree(self.base, ignore_errors=True)

    # --- running as a student ---------------------------------------------------------
    def command(self, account: Account, argv: list[str]) -> tuple[list[str], dict | None]:
        if account.real:
            env = [
                f"HOME={account.home}",
                f"PATH={Path(self.python).parent}:/usr/local/bin:/usr/bin:/bin",
                "LANG=C.UTF-8",
                "TF_CPP_MIN_LOG_LEVEL=3",
                "TF_ENABLE_ONEDNN_OPTS=0",
            ]
            return ["runuser", "-u", account.name, "--", "env", "-i", *env, *argv], None
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "XDG_", "IPYTHON"))
        }
        env.update(HOME=str(account.home), TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
        return argv, env

    def run(self, account: Account, argv: list[str], timeout: float = 300):
        cmd, env = self.command(account, argv)
        return subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=account.home, timeout=timeout
        )

    def nbgrader(self, account: Account, *args: str) -> subprocess.CompletedProcess:
        """Run nbgrader's own command line as ``account``, in their home; fail loudly."""
        argv = [self.python, "-m", "nbgrader", *args]
        if not account.real and args[0] in _ID_COMMANDS:
            argv.append(f"--student={account.name}")
        proc = self.run(account, argv)
        if proc.returncode != 0:
            raise AssertionError(
                f"nbgrader {' '.join(args)} as {account.name} failed ({proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def probe(self, account: Account, code: str, *args: str) -> dict:
        """Run Python ``code`` as ``account``; it prints one JSON object, returned here."""
        proc = self.run(account, [self.python, "-c", code, *args], timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"probe as {account.name} failed:\n{proc.stderr}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    # --- an nbgrader the students can run ---------------------------------------------
    def _can_import(self, account: Account, python: str) -> bool:
        try:
            proc = self.run(account, [python, "-c", _PROBE], timeout=120)
        except OSError:
            return False
        return proc.returncode == 0

    def prepare_python(self) -> None:
        """Find or make an interpreter with nbgrader that the student users can run.

        The kit's venv may sit where other users cannot go: its base Python in
        root's home (pyenv), or the clone under /root. Then students get a venv
        of their own, made from a system Python of the same version, whose
        site-packages point at the kit's (or, if those are unreadable too, at a
        hard-linked copy of them without the big packages nbgrader never imports).
        """
        if not self.real or self._can_import(self.students[0], sys.executable):
            return
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        candidates = [
            p
            for p in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}")
            if Path(p).is_file()
        ]
        venv = self.base / "student-venv"
        for base_python in candidates:
            shutil.rmtree(venv, ignore_errors=True)
            made = subprocess.run(
                [base_python, "-m", "venv", "--without-pip", str(venv)],
                capture_output=True,
                text=True,
            )
            if made.returncode != 0:
                continue
            python = str(venv / "bin" / "python")
            site = Path(sysconfig.get_paths()["purelib"])
            pth = next((venv / "lib").glob("python*/site-packages")) / "_cnnkit_kit.pth"
            pth.write_text(f"import site; site.addsitedir({str(site)!r})\n")
            if self._can_import(self.students[0], python):
                self.python = python
                self.notes.append(
                    f"students run nbgrader with {base_python} and the kit's site-packages "
                    f"({sys.executable} is not reachable by other users)"
                )
                return
            copy = self.base / "site-packages"
            if not copy.exists():
                _readable_copy(site, copy)
            pth.write_text(f"import site; site.addsitedir({str(copy)!r})\n")
            if self._can_import(self.students[0], python):
                self.python = python
                self.notes.append(
                    f"students run nbgrader with {base_python} and a hard-linked copy of the "
                    f"kit's site-packages ({site} is not readable by other users)"
                )
                return
        raise RuntimeError(
            f"No Python {version} with nbgrader that other users can run: {sys.executable} "
            f"is out of their reach and none of {candidates or ['/usr/bin/python' + version]} "
            "works. Install python3-venv, or clone the kit where other users can read it."
        )


def _link_or_copy(src: str, dst: str) -> None:
    mode = os.stat(src).st_mode
    if mode & stat.S_IROTH:
        try:
            os.link(src, dst)
            return
        except OSError:  # another file system
            pass
    shutil.copy2(src, dst)
    os.chmod(dst, stat.S_IMODE(mode) | 0o444 | (0o111 if mode & stat.S_IXUSR else 0))


def _readable_copy(src: Path, dst: Path) -> None:
    shutil.copytree(
        src,
        dst,
        symlinks=True,
        copy_function=_link_or_copy,
        ignore=shutil.ignore_patterns(*_NOT_FOR_STUDENTS),
    )
    for folder, _, _ in os.walk(dst):
        os.chmod(folder, os.stat(folder).st_mode | 0o555)


@contextmanager
def classroom(labels: list[str], real: bool | None = None) -> Iterator[Classroom]:
    """An exchange folder and one student account per label, removed afterwards.

    The exchange is made as nbgrader's documentation says: world-writable with
    the sticky bit (students create hand-ins, nobody deletes others' files).
    """
    real = real_users_wanted() if real is None else real
    parent = Path(tempfile.gettempdir()).resolve()
    if real and not all(p.stat().st_mode & stat.S_IXOTH for p in (parent, *parent.parents)):
        parent = Path("/tmp")  # TMPDIR is private: students could not reach the exchange
    base = Path(tempfile.mkdtemp(prefix="cnnkit-class-", dir=parent))
    os.chmod(base, 0o755)  # students reach the exchange and their homes through it
    room = Classroom(base, real)
    try:
        room.exchange.mkdir()
        os.chmod(room.exchange, 0o1777)
        (base / "home").mkdir()
        os.chmod(base / "home", 0o755)
        for label in labels:
            room.add_student(label)
        room.prepare_python()
        yield room
    finally:
        room.remove()
