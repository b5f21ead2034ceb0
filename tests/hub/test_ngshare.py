"""ngshare, the exchange for hubs where every server runs as one uid (issue 12, item 3).

Everything here runs as one Unix user, as in containers that are all ``jovyan``: only the
hub token each server carries tells students apart. ngshare 0.6.0 runs as a hub service
from a venv of its own with SQLAlchemy<2, ngshare_exchange 0.5.3 is installed with
``--no-deps`` beside the kit (docs/instructor-guide.md says why). The attacks that apply:

- impersonation: mallory hands in a blank notebook claiming to be alice (``--student``,
  ``JUPYTERHUB_USER``, a ``user`` field in a request of her own): it is hers, or refused;
  alice keeps her 16/16.
- forged time: a ``timestamp`` sent with a hand-in is ignored; the service's clock counts.
- edit after submit: a hand-in cannot be changed; mallory's full solution, handed in after
  the due date, is a new hand-in, late, and it is the one collected.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.instructor._samples import A1, A1_MAX, samples

from . import _hub

pytestmark = [pytest.mark.slow]

NGSHARE = "ngshare==0.6.0"
EXCHANGE = "ngshare_exchange==0.5.3"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cnnkit-tests"
KIT_BIN = Path(sys.executable).parent


def _installed(folder: Path, argv: list[str]) -> Path:
    """``argv`` (a pip install into ``folder``) once; the folder, kept between runs."""
    done = folder / ".complete"
    if not done.exists():
        run = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, f"{' '.join(argv)} failed:\n{run.stdout}\n{run.stderr}"
        done.touch()
    return folder


def _ngshare_venv() -> Path:
    venv = CACHE / "ngshare-0.6.0-sqlalchemy1"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    return _installed(venv, [*pip, NGSHARE, "sqlalchemy<2", "jupyterhub>=5,<7"])


def _exchange_site() -> Path:
    site = CACHE / "ngshare_exchange-0.5.3"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
    return _installed(site, [*pip, EXCHANGE])


class Ngshare:
    """A hub with ngshare, its users' tokens, the course and one home per student."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.url = f"http://127.0.0.1:{_hub.free_port()}"
        self.token = secrets.token_hex(16)
        self.python = _ngshare_venv() / "bin" / "python"
        self.site = _exchange_site()
        self.tokens: dict[str, str] = {}
        self.etc = base / "etc"
        self.etc.mkdir()
        (self.etc / "nbgrader_config.py").write_text(
            "import ngshare_exchange\n"
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {_hub.COURSE_ID!r}\n"
            f"ngshare_exchange.configureExchange(c, {self.url + '/services/ngshare'!r})\n"
        )
        from tests.instructor.conftest import copy_course

        self.course = copy_course(base / "course", [A1])
        for name in ("submitted", "autograded", "feedback"):
            (self.course / name).mkdir(mode=0o700)
        os.chmod(self.course / "solutions", 0o700)
        state = base / "ngshare"
        state.mkdir()
        env = {
            "CNN_NGSHARE_URL": self.url,
            "CNN_NGSHARE_PYTHON": str(self.python),
            "CNN_NGSHARE_STATE": str(state),
            "CNN_NGSHARE_TEST_TOKEN": self.token,
        }
        config = Path(__file__).with_name("ngshare_hub_config.py")
        self.hub = _hub.Hub(base / "hub", env, [], config).start()

    def add_user(self, name: str) -> None:
        self._hub_api(f"users/{name}")
        self.tokens[name] = self._hub_api(f"users/{name}/tokens", {"note": "test"})["token"]

    def _hub_api(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.hub.url}/hub/api/{path}",
            method="POST",
            data=json.dumps(body or {}).encode(),
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read().decode() or "{}")

    def api(self, user: str, path: str, data: dict | None = None) -> dict:
        """A request of ``user``'s own to ngshare (POST with ``data``), its JSON answer."""
        body = None if data is None else urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(
            f"{self.url}/services/ngshare/{path}",
            data=body,
            headers={"Authorization": f"token {self.tokens[user]}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return json.loads(reply.read().decode())
        except urllib.error.HTTPError as err:
            return json.loads(err.read().decode())

    def run(self, user: str, argv: list[str], *, cwd: Path, extra: dict | None = None):
        """``argv`` as the shared uid, with ``user``'s hub token as their server has it."""
        home = self.base / "home" / user
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": f"{KIT_BIN}:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(self.site),
            "JUPYTER_CONFIG_PATH": str(self.etc),
            "JUPYTERHUB_USER": user,
            "JUPYTERHUB_API_TOKEN": self.tokens[user],
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "TF_ENABLE_ONEDNN_OPTS": "0",
            **(extra or {}),
        }
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)

    def ok(self, user: str, argv: list[str], *, cwd: Path, extra: dict | None = None) -> str:
        run = self.run(user, argv, cwd=cwd, extra=extra)
        assert run.returncode == 0, f"{argv} as {user}: {run.returncode}\n{run.stdout}{run.stderr}"
        return run.stdout + run.stderr

    def home(self, user: str) -> Path:
        return self.base / "home" / user

    def cnnkit(self, *args: str) -> str:
        return self.ok("grader", [str(KIT_BIN / "cnnkit"), *args], cwd=self.course)

    def hand_in(self, user: str, notebook, *extra_args: str, env: dict | None = None):
        nbformat.write(notebook, self.home(user) / A1 / f"{A1}.ipynb")
        argv = [str(KIT_BIN / "nbgrader"), "submit", A1, *extra_args]
        return self.run(user, argv, cwd=self.home(user), extra=env)


@pytest.fixture(scope="module")
def ngshare(hub_possible):
    base = Path(tempfile.mkdtemp(prefix="cnnkit-ngshare-"))
    room = None
    try:
        room = Ngshare(base)
        for user in ("admin", "grader", "alice", "mallory"):
            room.add_user(user)
        management = [str(KIT_BIN / "python"), "-m", "ngshare_exchange.course_management"]
        room.ok("admin", [*management, "create_course", _hub.COURSE_ID, "grader"], cwd=base)
        for student in ("alice", "mallory"):
            argv = [*management, "add_student", _hub.COURSE_ID, student]
            argv += ["-f", student.title(), "-l", "Test", "-e", f"{student}@example.org"]
            room.ok("grader", argv, cwd=room.course)
        yield room
    finally:
        if room is not None:
            room.hub.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_one_uid_class_through_ngshare(ngshare):
    room = ngshare
    room.cnnkit("exchange", "release", A1)
    fetch = [str(KIT_BIN / "nbgrader"), "fetch_assignment", A1]
    for student in ("alice", "mallory"):
        room.ok(student, fetch, cwd=room.home(student))
    full, blank = samples()["correct"][0], samples()["empty"][0]

    assert room.hand_in("alice", full).returncode == 0
    # impersonation: mallory says she is alice every way the client lets her
    claims = {"JUPYTERHUB_USER": "alice", "USER": "alice"}
    room.hand_in("mallory", blank, "--student", "alice", env=claims)
    raw = json.dumps([{"path": f"{A1}.ipynb", "content": ""}])
    # forged time and name in a request of her own
    answer = room.api(
        "mallory",
        f"submission/{_hub.COURSE_ID}/{A1}",
        {"files": raw, "user": "alice", "timestamp": "2020-01-01 00:00:00.000000 UTC"},
    )
    assert answer["success"], answer
    assert not answer["timestamp"].startswith("2020"), answer
    # nor can she read alice's hand-in or the class's list
    assert room.api("mallory", f"submission/{_hub.COURSE_ID}/{A1}/alice")["success"] is False
    assert room.api("mallory", f"submissions/{_hub.COURSE_ID}/{A1}")["success"] is False
    listed = room.api("grader", f"submissions/{_hub.COURSE_ID}/{A1}")["submissions"]
    assert [s["student_id"] for s in listed].count("alice") == 1, listed

    # the due date passes; mallory hands in the full solution: a new, late hand-in
    room.cnnkit("exchange", "due", A1, answer["timestamp"] + " UTC")
    assert room.hand_in("mallory", full).returncode == 0
    listed = room.api("grader", f"submissions/{_hub.COURSE_ID}/{A1}")["submissions"]
    times = sorted(s["timestamp"] for s in listed if s["student_id"] == "mallory")
    assert len(times) >= 2 and times[0] == answer["timestamp"], listed

    table = room.cnnkit("exchange", "collect", A1)
    rows = {line.split()[0]: line for line in table.splitlines() if line.split()}
    assert "on time" in rows["alice"], table
    assert "late" in rows["mallory"] and "on time" not in rows["mallory"], table
    room.cnnkit("grade", A1, "--jobs", "1")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{room.course / 'gradebook.db'}") as gb:
        assert gb.find_submission(A1, "alice").score == pytest.approx(A1_MAX)
        assert gb.find_submission(A1, "mallory").score == pytest.approx(A1_MAX)
        assert gb.find_submission(A1, "mallory").total_seconds_late > 0

    room.cnnkit("exchange", "feedback", A1)
    room.ok("alice", [str(KIT_BIN / "nbgrader"), "fetch_feedback", A1], cwd=room.home("alice"))
    pages = list((room.home("alice") / A1 / "feedback").glob(f"*/{A1}.html"))
    assert len(pages) == 1, pages
    assert f"Score: {A1_MAX:g}" in pages[0].read_text()
