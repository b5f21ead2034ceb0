"""Students attack the folder exchange; collect keeps only the hand-ins it can trust (issue 12).

Real Unix users (root under ``CI=true``; skipped otherwise, since ownership is the
point), each with an attack of their own, in a class with an honest student:

- alice hands in the full solution on time; mallory hands in a blank notebook in
  her name, later (impersonation). alice keeps her 16/16.
- lena hands in late, then rewrites timestamp.txt and the files' times to before the
  due date; hana makes a hand-in folder by hand, with an early name, timestamp.txt and
  times. Both are late.
- eddie hands in a blank notebook on time, then overwrites it with the full solution
  after the due date and puts its mtime back. He counts as handing in at the change:
  late, and with nbgrader's "zero" late penalty his export is 0.
- sol links his notebook to the instructor's solution, peek to alice's collected
  notebook, dirl makes his hand-in folder a link to alice's collected one. They get
  nothing, and nothing is read through a link (a hard link, which the kernel refuses
  here, is a file of another owner: see test_collect.py).
- zero links his notebook to /dev/zero, fifo hands in a FIFO, big a file of 150 MB
  (sparse): refused unread, and collect stays quick.
- kim hands in honestly, and also leaves a folder named ``kim+a1_convolution+soon+x``:
  skipped with a line, kim is collected.
- the course starts readable by everybody (solutions/ 0755): ``cnnkit exchange`` refuses,
  a student can read the hidden tests until the printed fix is applied; ``cnnkit grade``
  refuses when submitted/ is opened again.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import nbformat
import pytest

from cnnwidgets.instructor.classroom.exchange import parse_due
from cnnwidgets.instructor.course import Course

from ._accounts import Account, Classroom, classroom, real_users_wanted
from ._samples import A1, A1_MAX, samples
from .conftest import cnnkit, copy_course

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not real_users_wanted(), reason="needs real Unix users: run as root with CI=true"
    ),
]

COURSE_ID = "cnn-course"
LABELS = ["alice", "mallory", "lena", "hana", "eddie", "sol", "peek", "dirl"]
LABELS += ["zero", "fifo", "big", "kim"]
_TIME = "%Y-%m-%d %H:%M:%S.%f UTC"

# Run as a student: make a hand-in folder by hand. argv: inbound, folder name, then
# (path inside, kind, value) triples: kind 'text' (value: file content), 'link'
# (value: target), 'fifo', 'sparse' (value: size), 'folder-link'.
_MAKE = r"""
import json, os, sys
inbound, name, *rest = sys.argv[1:]
folder = os.path.join(inbound, name)
done = {}
triples = [rest[i:i + 3] for i in range(0, len(rest), 3)]
if triples and triples[0][1] == "folder-link":
    os.symlink(triples[0][2], folder)
    print(json.dumps({"made": folder}))
    sys.exit()
os.mkdir(folder)
os.chmod(folder, 0o777)  # as nbgrader submit leaves it
for inside, kind, value in triples:
    path = os.path.join(folder, inside)
    try:
        if kind == "text":
            with open(path, "w") as fh:
                fh.write(value)
        elif kind == "link":
            os.symlink(value, path)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "sparse":
            with open(path, "wb") as fh:
                fh.truncate(int(value))
        done[inside] = "made"
    except OSError as exc:
        done[inside] = f"{type(exc).__name__}: {exc.strerror}"
print(json.dumps({"made": folder, "done": done}))
"""

# Run as a student: rewrite files of an existing hand-in and set their times back.
# argv: the hand-in folder, an ISO time for every mtime, then (path, content) pairs.
_REWRITE = r"""
import json, os, sys
from datetime import datetime, timezone
folder, when, *pairs = sys.argv[1:]
t = datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp()
for inside, content in zip(pairs[::2], pairs[1::2]):
    with open(os.path.join(folder, inside), "w") as fh:
        fh.write(content)
for base, dirs, files in os.walk(folder):
    for f in files:
        os.utime(os.path.join(base, f), (t, t))
os.utime(folder, (t, t))
print(json.dumps({"ok": True}))
"""

# Run as a student: read what must stay the instructor's; prints what each attempt gave.
_READ = r"""
import json, sys
seen = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as fh:
            fh.read(64)
        seen[path] = "read"
    except OSError as exc:
        seen[path] = type(exc).__name__
print(json.dumps(seen))
"""


def _ok(run) -> str:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _submit(room: Classroom, account: Account, notebook) -> str:
    """The notebook saved in the student's copy, then nbgrader submit; its inbound folder."""
    path = account.home / A1 / f"{A1}.ipynb"
    nbformat.write(notebook, path)
    room.give(account, path)
    proc = room.nbgrader(account, "submit", A1)
    found = re.search(r"Destination: (\S.*)$", proc.stdout + proc.stderr, re.MULTILINE)
    assert found, proc.stdout + proc.stderr
    return found.group(1).strip()


def _rows(out: str) -> dict[str, list[str]]:
    """collect's table by its first column (a student may have several rows)."""
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        cells = line.split()
        if cells:
            rows.setdefault(cells[0], []).append(line)
    return rows


def _name(student: str, when: datetime, tail: str = "x") -> str:
    return f"{student}+{A1}+{when.strftime(_TIME)}+{tail}"


def test_collect_keeps_only_hand_ins_it_can_trust(tmp_path):
    start = time.perf_counter()
    notebooks = samples()
    blank, full = (nbformat.writes(notebooks[k][0]) for k in ("empty", "correct"))

    with classroom(LABELS, real=True) as room:
        by = dict(zip(LABELS, room.students, strict=True))
        alice, mallory, lena, hana, eddie = (by[k] for k in LABELS[:5])
        # The course where a teacher following the old guide put it: readable by everybody.
        root = copy_course(room.base / "course", [A1])
        os.chmod(room.base / "course", 0o755)
        with open(root / "nbgrader_config.py", "a") as fh:
            fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
        course = ["--course", str(root)]
        ex = ["--exchange", str(room.exchange)]
        inbound = room.exchange / COURSE_ID / "inbound"
        solution = root / "solutions" / A1 / f"{A1}.ipynb"

        # --- a readable course: refused, with the fix --------------------------------
        assert room.probe(mallory, _READ, str(solution))[str(solution)] == "read"
        run = cnnkit(*course, "exchange", "release", A1, "--due", "2099-01-01 12:00", *ex)
        assert run.returncode == 1, run.stdout + run.stderr
        assert "solutions/" in run.stderr and "readable by any user" in run.stderr
        fix = [line for line in run.stderr.splitlines() if line.strip().startswith("chmod ")]
        assert len(fix) == 1, run.stderr
        subprocess.run(shlex.split(fix[0]), check=True)
        _ok(cnnkit(*course, "exchange", "release", A1, "--due", "2099-01-01 12:00", *ex))
        gradebook = root / "gradebook.db"
        assert stat.S_IMODE(gradebook.stat().st_mode) == 0o600  # made by release: closed
        seen = room.probe(mallory, _READ, str(solution), str(gradebook))
        assert set(seen.values()) == {"PermissionError"}, seen

        # --- before the due date ------------------------------------------------------
        fetchers = [alice, lena, eddie, by["kim"]]
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda a: room.nbgrader(a, "fetch_assignment", A1), fetchers))
        folders = {}
        for account, nb in ((alice, full), (eddie, blank), (by["kim"], blank)):
            folders[account.name] = _submit(room, account, nbformat.reads(nb, as_version=4))
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        made = {}

        def make(label: str, name: str, *triples: str) -> None:
            made[label] = room.probe(by[label], _MAKE, str(inbound), name, *triples)

        # impersonation: a blank notebook in alice's name, an hour "later"
        make(
            "mallory",
            _name(alice.name, later),
            f"{A1}.ipynb",
            "text",
            blank,
            "timestamp.txt",
            "text",
            later.strftime(_TIME),
        )
        make("sol", _name(by["sol"].name, later), f"{A1}.ipynb", "link", str(solution))
        make("zero", _name(by["zero"].name, later), f"{A1}.ipynb", "link", "/dev/zero")
        make("fifo", _name(by["fifo"].name, later), f"{A1}.ipynb", "fifo", "-")
        make(
            "big",
            _name(by["big"].name, later),
            f"{A1}.ipynb",
            "text",
            blank,
            "data.bin",
            "sparse",
            str(150_000_000),
        )
        make("kim", f"{by['kim'].name}+{A1}+soon+x", f"{A1}.ipynb", "text", full)

        run = cnnkit(*course, "exchange", "collect", A1, *ex)
        first = _ok(run)
        print(first)
        rows = _rows(first)
        assert run.seconds < 60  # no device, FIFO or big file was read
        assert re.search(r"\snew\s+1\s.*on time", rows[alice.name][0])
        refusal = next(r for r in rows[alice.name] if "refused" in r)
        assert f"the hand-in folder belongs to {mallory.name}, not to the student" in refusal
        for label, says in (
            ("sol", f"is a link (to {solution})"),
            ("zero", "is a link (to /dev/zero)"),
            ("fifo", "is a FIFO"),
            ("big", "data.bin is 150.0 MB, over the limit"),
        ):
            line = " ".join(rows[by[label].name])
            assert "refused" in line and says in line, line
        kim = " ".join(rows[by["kim"].name])
        assert re.search(r"\snew\s+1\s.*on time", kim)
        assert "skipped" in first and f"{by['kim'].name}+{A1}+soon+x" in first

        submitted = root / "submitted"
        kept = {p.name for p in submitted.iterdir() if not p.name.startswith(".")}
        assert kept == {alice.name, eddie.name, by["kim"].name}
        for path in [submitted, *submitted.rglob("*")]:
            st = path.lstat()
            assert not stat.S_ISLNK(st.st_mode) and st.st_uid == os.geteuid(), path
            assert stat.S_IMODE(st.st_mode) == (0o700 if path.is_dir() else 0o600), path
            if path.is_file():
                assert b"BEGIN HIDDEN TESTS" not in path.read_bytes(), path

        # --- the deadline passes ----------------------------------------------------------
        due = datetime.now(timezone.utc)
        _ok(cnnkit(*course, "exchange", "due", A1, due.strftime(_TIME)))
        time.sleep(1.1)
        early = (due - timedelta(days=1)).replace(tzinfo=None)
        # lena: late with nbgrader, then her timestamp.txt and times set a day back
        lena_folder = _submit(room, lena, nbformat.reads(full, as_version=4))
        room.probe(
            lena, _REWRITE, lena_folder, early.isoformat(), "timestamp.txt", early.strftime(_TIME)
        )
        # hana: a hand-in made by hand with an early name, timestamp.txt and times
        hana_name = _name(hana.name, early)
        make(
            "hana",
            hana_name,
            f"{A1}.ipynb",
            "text",
            full,
            "timestamp.txt",
            "text",
            early.strftime(_TIME),
        )
        room.probe(hana, _REWRITE, str(inbound / hana_name), early.isoformat())
        # eddie: his on-time blank hand-in becomes the full solution, mtime put back
        on_time = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
        room.probe(eddie, _REWRITE, folders[eddie.name], on_time.isoformat(), f"{A1}.ipynb", full)
        # alice touches her hand-in (times only): nothing in it changed, she stays on time
        room.probe(alice, _REWRITE, folders[alice.name], on_time.isoformat())
        # links to alice's collected notebook, and a hand-in folder that is a link to it
        alice_kept = submitted / alice.name / A1
        make(
            "peek",
            _name(by["peek"].name, later),
            f"{A1}.ipynb",
            "link",
            str(alice_kept / f"{A1}.ipynb"),
        )
        make("dirl", _name(by["dirl"].name, later), ".", "folder-link", str(alice_kept))

        second = _ok(cnnkit(*course, "exchange", "collect", A1, *ex))
        print(second)
        rows = _rows(second)
        assert re.search(r"\sunchanged\s+1\s.*on time", rows[alice.name][0])
        assert re.search(r"\snew\s+1\s.*late by", rows[lena.name][0])
        assert "its timestamp.txt says" in rows[lena.name][0]
        assert re.search(r"\snew\s+1\s.*late by", rows[hana.name][0])
        changed = r"\supdated\s+1\s.*late by.*changed after it was handed in"
        assert re.search(changed, rows[eddie.name][0])
        assert f"is a link (to {alice_kept / A1}.ipynb)" in rows[by["peek"].name][0]
        assert f"the hand-in folder is a link (to {alice_kept})" in rows[by["dirl"].name][0]
        kept = {p.name for p in submitted.iterdir() if not p.name.startswith(".")}
        assert kept == {alice.name, eddie.name, by["kim"].name, lena.name, hana.name}

        with Course(root).gradebook() as gb:
            late = {
                a.name: gb.find_submission(A1, a.name).total_seconds_late
                for a in (alice, lena, hana, eddie, by["kim"])
            }
        assert late[alice.name] == 0 and late[by["kim"].name] == 0
        assert all(late[a.name] > 0 for a in (lena, hana, eddie)), late
        for account in (lena, hana, eddie):  # the kept time is the kernel's, after the due date
            kept_time = parse_due((submitted / account.name / A1 / "timestamp.txt").read_text())
            assert kept_time > due.replace(tzinfo=None)
        ledger = json.loads((submitted / ".cnnkit" / "exchange.json").read_text())
        assert len(ledger["hand_ins"][A1]) == 5  # the trusted ones, never the refused

        # --- grading refuses while submitted/ is open, then grades --------------------------
        os.chmod(submitted, 0o755)
        run = cnnkit(*course, "grade", A1, "--student", alice.name, "--no-progress")
        assert run.returncode == 1 and "submitted/" in run.stderr, run.stdout + run.stderr
        os.chmod(submitted, 0o700)
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        run = cnnkit(
            *course,
            "grade",
            A1,
            "--student",
            alice.name,
            "--student",
            eddie.name,
            "--jobs",
            "2",
            "--no-progress",
            tmpdir=scratch,
        )
        print(run.stdout, run.stderr, f"cnnkit grade: {run.seconds:.0f} s")
        _ok(run)
        with Course(root).gradebook() as gb:
            alice_sub = gb.find_submission(A1, alice.name)
            eddie_sub = gb.find_submission(A1, eddie.name)
            assert (alice_sub.score, alice_sub.late_submission_penalty) == (A1_MAX, 0)
            assert (eddie_sub.score, eddie_sub.late_submission_penalty) == (A1_MAX, A1_MAX)
        canvas = _ok(cnnkit(*course, "export", "--format", "canvas"))
        print(canvas)
        lines = {line.split(",")[3]: line for line in canvas.splitlines()[2:]}
        assert lines[alice.name].endswith(f",{A1_MAX:g}") and lines[eddie.name].endswith(",0")
        assert lines[lena.name].endswith(",")  # not graded: left alone in Canvas

        # --- nobody else reads the course's private parts -----------------------------------
        secret = [
            str(solution),
            str(gradebook),
            str(alice_kept / f"{A1}.ipynb"),
            str(root / "autograded" / alice.name / A1 / f"{A1}.ipynb"),
        ]
        seen = room.probe(mallory, _READ, *secret)
        assert set(seen.values()) == {"PermissionError"}, seen
    print(f"attacks, {len(LABELS)} students: {time.perf_counter() - start:.0f} s")
