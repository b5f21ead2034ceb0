"""Collect's reader and its record, one hand-in at a time, and the course-privacy check.

The class with real students attacking the exchange is test_exchange_attacks.py; here
the hand-ins are made by hand as the current user (other owners as root only).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import stat
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cnnwidgets.instructor.classroom.exchange import (
    _read_name,
    _Reader,
    _Refuse,
    collect,
    parse_due,
)
from cnnwidgets.instructor.classroom.privacy import exposures, private_course
from cnnwidgets.instructor.course import Course, NbgraderError

from ._samples import A1
from .conftest import copy_course

MB = 1_000_000
IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]


def _read(folder: Path, uid: int | None = None, max_file: int = MB, max_total: int = 3 * MB):
    fd = os.open(folder.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return _Reader(uid, max_file, max_total, IGNORE).read(fd, folder.name)
    finally:
        os.close(fd)


def _refused(folder: Path, **kw) -> str:
    with pytest.raises(_Refuse) as caught:
        _read(folder, **kw)
    return caught.value.reason


def _hand_in(base: Path, name: str, files: dict[str, bytes | str]) -> Path:
    folder = base / name
    folder.mkdir()
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data.encode() if isinstance(data, str) else data)
    return folder


def test_names_as_nbgrader_reads_them():
    stamp = "2025-11-20 10:00:00.000000 UTC"
    assert _read_name(f"ada+{A1}+{stamp}+x1", A1) == ("ada", datetime(2025, 11, 20, 10))
    assert _read_name(f"a+b+{A1}+{stamp}", A1) == ("a+b", datetime(2025, 11, 20, 10))
    assert _read_name(f"ada+a2+{stamp}+x", A1) is None  # another assignment
    assert "cannot read the time" in _read_name(f"kim+{A1}+soon+x", A1)
    assert "cannot be a student id" in _read_name(f"..+{A1}+{stamp}+x", A1)
    assert "cannot be a student id" in _read_name(f"+{A1}+{stamp}+x", A1)


def test_reader_takes_files_and_folders_and_leaves_out_what_nbgrader_ignores(tmp_path):
    folder = _hand_in(tmp_path, "h", {"a.ipynb": "{}", "data/x.csv": "1,2", "timestamp.txt": "t"})
    (folder / ".ipynb_checkpoints").symlink_to("/etc")  # ignored: never opened
    tree = _read(folder, uid=os.geteuid())
    assert sorted(tree.files) == ["a.ipynb", "data/x.csv", "timestamp.txt"]
    assert tree.dirs == ["data"]
    assert tree.ctime_ns >= folder.stat().st_ctime_ns


def test_reader_refuses_links_devices_fifos_sockets_and_big_files(tmp_path):
    secret = tmp_path / "secret.ipynb"
    secret.write_text("hidden tests")
    cases = {}
    cases["link"] = _hand_in(tmp_path, "link", {})
    (cases["link"] / "a.ipynb").symlink_to(secret)
    cases["zero"] = _hand_in(tmp_path, "zero", {})
    (cases["zero"] / "a.ipynb").symlink_to("/dev/zero")
    cases["deep link"] = _hand_in(tmp_path, "deep", {"sub/ok.txt": "x"})
    (cases["deep link"] / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)
    cases["fifo"] = _hand_in(tmp_path, "fifo", {})
    os.mkfifo(cases["fifo"] / "a.ipynb")
    cases["socket"] = _hand_in(tmp_path, "sock", {})
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(cases["socket"] / "a.ipynb"))
    cases["big"] = _hand_in(tmp_path, "big", {"a.ipynb": "{}"})
    with open(cases["big"] / "data.bin", "wb") as fh:
        fh.truncate(50 * MB)  # sparse: refused from its size, never read
    cases["too much"] = _hand_in(tmp_path, "much", {f"f{i}": b"x" * (MB - 1) for i in range(4)})
    cases["stamp folder"] = _hand_in(tmp_path, "stamp", {"timestamp.txt/x": "1"})
    (tmp_path / "folder-link").symlink_to(cases["deep link"], target_is_directory=True)
    cases["folder link"] = tmp_path / "folder-link"
    cases["not a folder"] = tmp_path / "secret.ipynb"

    said = {what: _refused(folder, uid=os.geteuid()) for what, folder in cases.items()}
    assert said["link"] == f"a.ipynb is a link (to {secret}); links are never followed"
    assert said["zero"].startswith("a.ipynb is a link (to /dev/zero)")
    assert said["deep link"].startswith(f"sub/up is a link (to {tmp_path})")
    assert said["fifo"] == "a.ipynb is a FIFO (named pipe); it was not opened"
    assert said["socket"] == "a.ipynb is a socket; it was not opened"
    assert said["big"].startswith("data.bin is 50.0 MB, over the limit of 1.0 MB a file")
    assert said["too much"].startswith("the hand-in holds over 3.0 MB in all")
    assert said["folder link"].startswith("the hand-in folder is a link (to ")
    assert said["stamp folder"] == "timestamp.txt is a folder"
    assert said["not a folder"] == "it is a file, not a folder"


@pytest.mark.skipif(os.geteuid() != 0, reason="files of another owner need root")
def test_reader_refuses_files_of_another_owner(tmp_path):
    """What a hard link to the instructor's solution (or a file slipped into another's
    hand-in) looks like: a file in the student's folder that is not the student's."""
    nobody = pwd.getpwnam("nobody")
    folder = _hand_in(tmp_path, "h", {"a.ipynb": "{}", "sub/b.txt": "x"})
    for p in (folder, folder / "a.ipynb", folder / "sub"):
        os.chown(p, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(_Refuse) as caught:  # sub/b.txt is still root's
        _read(folder, uid=nobody.pw_uid)
    assert caught.value.reason.startswith("sub/b.txt belongs to root, not to the student")
    assert caught.value.owner_uid == 0
    os.chown(folder / "sub" / "b.txt", nobody.pw_uid, nobody.pw_gid)
    assert _read(folder, uid=nobody.pw_uid).files["sub/b.txt"] == b"x"
    assert "the hand-in folder belongs to nobody" in _refused(folder, uid=os.geteuid())


@pytest.fixture
def exchange_course(tmp_path):
    """A copy of the course (a1) and an exchange whose inbound is made by hand."""
    root = copy_course(tmp_path / "course", [A1])
    inbound = tmp_path / "exchange" / "cnn-course" / "inbound"
    inbound.mkdir(parents=True)
    return Course(root), tmp_path / "exchange", inbound


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _stamp(when: datetime) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S.%f} UTC"


def test_collect_times_come_from_the_kernel(exchange_course):
    course, exchange, inbound = exchange_course
    now = _utcnow()
    # named in the future, made first; named in the past, made last: the last one is newest
    future = _stamp(now + timedelta(days=300))
    past = _stamp(now - timedelta(days=300))
    _hand_in(inbound, f"ada+{A1}+{future}+a", {f"{A1}.ipynb": "first", "timestamp.txt": future})
    time.sleep(0.05)
    made = _hand_in(inbound, f"ada+{A1}+{past}+b", {f"{A1}.ipynb": "second", "timestamp.txt": past})
    _hand_in(inbound, f"kim+{A1}+soon+x", {f"{A1}.ipynb": "x"})
    (inbound / f"bob+{A1}+{past}+c").symlink_to(made, target_is_directory=True)

    done = collect(course, A1, root=exchange, shared_account=True)
    (ada,) = done.collected
    kept = course.submitted_dir / "ada" / A1
    assert (kept / f"{A1}.ipynb").read_text() == "second"
    trusted = parse_due((kept / "timestamp.txt").read_text())
    assert trusted == ada.timestamp
    assert abs((trusted - now).total_seconds()) < 60
    assert any("timestamp.txt says" in note for note in ada.notes)
    assert {r.student: r.reason for r in done.refused} == {
        None: "skipped: nbgrader cannot read the time in its name ('soon')",
        "bob": f"the hand-in folder is a link (to {made}); links are never followed",
    }
    for path in [course.submitted_dir, *course.submitted_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path

    # Times only (utime, chmod): the content is the same, so is the time.
    os.utime(made / f"{A1}.ipynb", (0, 0))
    os.chmod(made, 0o755)
    again = collect(course, A1, root=exchange, shared_account=True).collected[0]
    assert (again.status, again.timestamp) == ("unchanged", trusted)
    # A changed content: handed in at the change, whatever the times say.
    time.sleep(0.05)
    (made / f"{A1}.ipynb").write_text("edited")
    os.utime(made / f"{A1}.ipynb", (0, 0))
    edited = collect(course, A1, root=exchange, shared_account=True).collected[0]
    assert edited.status == "updated" and edited.timestamp > trusted
    assert any("changed after it was handed in" in note for note in edited.notes)
    assert (kept / f"{A1}.ipynb").read_text() == "edited"
    ledger = json.loads((course.submitted_dir / ".cnnkit" / "exchange.json").read_text())
    assert sorted(ledger["hand_ins"][A1]) == sorted(
        p.name for p in inbound.iterdir() if p.name.startswith("ada+")
    )


def test_collect_without_a_user_of_that_name_refuses(exchange_course):
    course, exchange, inbound = exchange_course
    _hand_in(inbound, f"no-such-user-x7+{A1}+{_stamp(_utcnow())}+a", {"a.ipynb": "{}"})
    done = collect(course, A1, root=exchange)
    assert done.collected == []
    assert done.refused[0].reason == "no Unix user is named no-such-user-x7"


def test_a_course_others_can_read_is_refused_with_the_fix():
    base = Path(tempfile.mkdtemp(prefix="cnnkit-privacy-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        root = copy_course(base / "course", [A1])
        os.chmod(root, 0o755)
        course = Course(root)
        (root / "gradebook.db").write_text("")
        os.chmod(root / "gradebook.db", 0o644)
        found = {e.path.name: e for e in exposures(course)}
        assert set(found) == {"solutions", "gradebook.db"}
        assert found["solutions"].readers == ["any user"]
        with pytest.raises(NbgraderError) as caught, private_course(course, exchange=True):
            pass
        message = str(caught.value)
        assert "solutions/ (mode 0755, the solutions and hidden tests): readable by any user" in (
            message
        )
        assert f"chmod go-rwx {root / 'solutions'} {root / 'gradebook.db'}" in message
        # no exchange, no check (a laptop, a test's copy), nor for make lab's own exchange
        with private_course(course):
            pass
        with private_course(course, exchange=True, root=root / ".lab" / "exchange"):
            pass
        os.chmod(root / "solutions", 0o700)
        os.chmod(root / "gradebook.db", 0o600)
        with private_course(course, exchange=True):
            (root / "submitted").mkdir()  # made during the command: closed after it
            (root / "submitted").chmod(0o755)
        assert stat.S_IMODE((root / "submitted").stat().st_mode) == 0o700
        # unchecked (a hub service's exchange, or none), what it creates is closed too
        with private_course(course):
            (root / "autograded").mkdir()
            (root / "autograded").chmod(0o755)
        assert stat.S_IMODE((root / "autograded").stat().st_mode) == 0o700
        # a closed course folder closes everything in it
        os.chmod(root / "solutions", 0o755)
        os.chmod(root, 0o700)
        assert exposures(course) == []
    finally:
        shutil.rmtree(base)
