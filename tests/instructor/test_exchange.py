"""A class round trip through nbgrader's exchange: release, fetch, submit, collect, grade, feedback.

Three students (real Unix users as root under CI, else homes of their own, see
``_accounts.py``) fetch and submit with nbgrader's own command line: one solves
a1 fully, one partly (after a blank first hand-in, past the due date), one not
at all (and is missing from the roster). The instructor side is ``cnnkit``.
"""

from __future__ import annotations

import html
import os
import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import nbformat
import pytest

from cnnwidgets.instructor.classroom.exchange import _hand_ins, parse_due
from cnnwidgets.instructor.course import Course, NbgraderError

from ._accounts import Account, Classroom, classroom
from ._samples import A1, A1_MAX, A1_SOURCE, samples
from .conftest import cnnkit, copy_course

COURSE_ID = "cnn-course"

# What a student may run to spy on the others, as that student; prints JSON.
_SPY = """
import glob, json, os, sys
inbound, feedback, other_home = sys.argv[1:4]
def attempt(fn):
    try:
        fn()
        return "allowed"
    except PermissionError:
        return "denied"
    except FileNotFoundError:
        return "missing"
print(json.dumps({
    "list_inbound": attempt(lambda: os.listdir(inbound)),
    "list_feedback": attempt(lambda: os.listdir(feedback)),
    "list_other_home": attempt(lambda: os.listdir(other_home)),
    "glob_inbound": glob.glob(os.path.join(inbound, "*")),
}))
"""


def _spy(room: Classroom, student: Account, other: Account) -> dict:
    """What ``student`` can see of the exchange's hand-ins and feedback and of ``other``'s home."""
    course_dir = room.exchange / COURSE_ID
    folders = (course_dir / "inbound", course_dir / "feedback", other.home)
    return room.probe(student, _SPY, *map(str, folders))


def _parallel(fn, items):
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(fn, items))


def _ok(run) -> str:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _hand_in(room: Classroom, account: Account, notebook) -> None:
    """The student's notebook as they saved it, then nbgrader submit as the student."""
    path = account.home / A1 / f"{A1}.ipynb"
    nbformat.write(notebook, path)
    room.give(account, path)
    room.nbgrader(account, "submit", A1)


def _hidden_lines() -> set[str]:
    """Lines of a1's hidden tests that appear nowhere else in the source notebook."""
    hidden, public = set(), set()
    region = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.DOTALL)
    for cell in nbformat.read(A1_SOURCE, as_version=4).cells:
        for match in region.finditer(cell.source):
            hidden |= {line.strip() for line in match.group(1).split("\n")}
        public |= {line.strip() for line in region.sub("", cell.source).split("\n")}
    return {line for line in hidden - public if len(line) >= 12}


def _page_text(page: str) -> str:
    """What a reader sees of a feedback page: tags removed, entities decoded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@pytest.mark.slow
def test_class_round_trip(tmp_path):
    start = time.perf_counter()
    root = copy_course(tmp_path / "course", [A1])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    notebooks = {name: nb for name, (nb, _) in samples().items()}
    course = ["--course", str(root)]

    with classroom(["full", "part", "none"]) as room:
        full, part, none = room.students
        ex = ["--exchange", str(room.exchange)]
        # One account for all (no root): hand-ins are taken by their names, on their word.
        collect = ["exchange", "collect", A1, *ex, *([] if room.real else ["--shared-account"])]
        print(f"students are {'Unix users' if room.real else 'homes with HOME switched'}")
        for note in room.notes:
            print("workaround:", note)

        # --- the roster (the third student is missing) and the release ---------------
        roster = tmp_path / "roster.csv"
        roster.write_text(
            "id,first_name,last_name,email\n"
            f"{full.name},Ada,Lovelace,ada@example.org\n"
            f'{part.name},Grace,"Hopper, Jr.",grace@example.org\n'
        )
        assert "2 student(s) added" in _ok(cnnkit(*course, "roster", "import", str(roster)))
        out = _ok(cnnkit(*course, "exchange", "release", A1, "--due", "2099-01-01 12:00", *ex))
        assert "due 2099-01-01 12:00:00 UTC" in out

        course_dir = room.exchange / COURSE_ID
        mode = {p: stat.S_IMODE((course_dir / p).stat().st_mode) for p in ("outbound", "inbound")}
        assert mode["outbound"] == 0o755
        # Students may create hand-ins in inbound but never list it (setgid, -wx for others).
        assert mode["inbound"] == stat.S_ISGID | 0o733

        # --- students fetch; two hand in blank notebooks, one the full solution ---------
        _parallel(lambda a: room.nbgrader(a, "fetch_assignment", A1), room.students)
        released = (root / "exercises" / A1 / f"{A1}.ipynb").read_bytes()
        for account in room.students:
            assert (account.home / A1 / f"{A1}.ipynb").read_bytes() == released
        plan = {full: notebooks["correct"], part: notebooks["empty"], none: notebooks["empty"]}
        _parallel(lambda a: _hand_in(room, a, plan[a]), room.students)

        out = _ok(cnnkit(*course, *collect))
        print(out)
        gradebook = Course(root)
        with gradebook.gradebook() as gb:
            assert gb.find_student(full.name).last_name == "Lovelace"
            assert gb.find_student(part.name).last_name == "Hopper, Jr."
            # Not on the roster: added by collect, before any grading.
            assert gb.find_student(none.name).first_name is None
            for account in room.students:
                sub = gb.find_submission(A1, account.name)
                assert sub.timestamp is not None and sub.total_seconds_late == 0
        assert re.search(rf"{none.name}\s+new\s+1 .*on time\s+added to the gradebook", out)

        # --- the deadline passes; the partial solution arrives late, as a second hand-in ---
        due = datetime.now(timezone.utc)
        stamp = due.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        _ok(cnnkit(*course, "exchange", "due", A1, stamp))
        _hand_in(room, part, notebooks["partial"])
        out = _ok(cnnkit(*course, *collect))
        print(out)
        assert re.search(rf"{part.name}\s+updated\s+2 .*late by", out)
        assert re.search(rf"{full.name}\s+unchanged\s+1 .*on time", out)
        assert re.search(rf"{none.name}\s+unchanged\s+1 .*on time", out)
        assert "refused" not in out and "skipped" not in out  # every hand-in its maker's
        with gradebook.gradebook() as gb:
            sub = gb.find_submission(A1, part.name)
            assert sub.timestamp > parse_due(stamp)
            assert 0 < sub.total_seconds_late < timedelta(hours=1).total_seconds()
            assert gb.find_submission(A1, full.name).total_seconds_late == 0
        # The time kept is the kernel's (the hand-in's newest ctime), in the instructor's
        # copy; the student's own timestamp.txt, written as submit began, is a moment earlier.
        newest = _hand_ins(course_dir / "inbound", A1)[part.name][0]
        kept = root / "submitted" / part.name / A1
        trusted = parse_due((kept / "timestamp.txt").read_text())
        assert trusted == sub.timestamp
        said = parse_due((newest / "timestamp.txt").read_text())
        assert timedelta(0) <= trusted - said < timedelta(seconds=30)
        # ...and the copies are the instructor's alone
        me = os.geteuid()
        for path in [root / "submitted", *(root / "submitted").rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert path.lstat().st_uid == me, path
            assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {mode:o}"

        # --- nobody reads anybody else's hand-in -----------------------------------------
        if room.real:
            seen = _spy(room, full, part)
            assert seen["list_inbound"] == "denied"
            assert seen["glob_inbound"] == []
            assert seen["list_other_home"] == "denied"  # nbgrader's cache of part's hand-ins

        # --- grade, then feedback back through the exchange -------------------------------
        run = cnnkit(*course, "grade", A1, "--jobs", "2", "--no-progress", tmpdir=scratch)
        print(run.stdout, run.stderr)
        print(f"cnnkit grade: {run.seconds:.0f} s")
        _ok(run)
        with gradebook.gradebook() as gb:
            scores = {a: gb.find_submission(A1, a.name).score for a in room.students}
        assert scores == {full: A1_MAX, part: samples()["partial"][1], none: 0.0}

        out = _ok(cnnkit(*course, "exchange", "feedback", A1, *ex))
        assert "3 feedback page(s) for 3 student(s)" in out
        assert stat.S_IMODE((course_dir / "feedback").stat().st_mode) == 0o711
        if room.real:
            seen = _spy(room, part, full)
            assert seen["list_feedback"] == "denied"

        _parallel(lambda a: room.nbgrader(a, "fetch_feedback", A1), room.students)
        pages = {}
        for account in room.students:
            found = list((account.home / A1 / "feedback").glob(f"*/{A1}.html"))
            assert len(found) == 1, f"{account.name}: {found}"
            pages[account] = _page_text(found[0].read_text())
        # part's feedback is for the hand-in that was graded: the late, second one (nbgrader
        # files it under the time in the hand-in's name)
        graded_stamp = newest.name.rsplit("+", 2)[1]
        assert [p.name for p in (part.home / A1 / "feedback").iterdir()] == [graded_stamp]

    print(f"round trip, {len(pages)} students: {time.perf_counter() - start:.0f} s")

    # --- what the feedback shows -------------------------------------------------------
    for student, score in ((full, A1_MAX), (part, samples()["partial"][1]), (none, 0)):
        assert re.search(rf"Score:\s*{score:g}(\.0)?\s*/\s*{A1_MAX:g}", pages[student])
    # a failure message a hidden test wrote for the student...
    assert "colour_value adds the bias once per channel" in pages[part]
    assert "traceback hidden" in pages[part]
    # ...but not one line of hidden test code, while the visible tests are shown
    hidden = _hidden_lines()
    assert len(hidden) > 20
    assert "assert isinstance(hand_value, numbers.Real), (" in pages[part]
    for account, text in pages.items():
        assert "HIDDEN TESTS" not in text
        leaked = sorted(line for line in hidden if line in text)
        assert not leaked, f"{account.name}'s feedback shows hidden test code: {leaked[:3]}"


def test_due_dates_read_like_nbgrader():
    assert parse_due("2025-12-01 17:00 Europe/Berlin") == datetime(2025, 12, 1, 16, 0)
    assert parse_due("2025-12-01T17:00+01:00") == datetime(2025, 12, 1, 16, 0)
    assert parse_due("2025-12-01 17:00") == datetime(2025, 12, 1, 17, 0)  # no zone: UTC
    with pytest.raises(NbgraderError, match="Cannot read the due date 'next friday'"):
        parse_due("next friday")


def test_hand_ins_newest_first(tmp_path):
    for name in (
        "ada+a1+2025-11-20 10:00:00.000000 UTC+x1",
        "ada+a1+2025-11-21 10:00:00.000000 UTC+x2",
        "bob+a1+2025-11-20 09:00:00.000000 UTC+x3",
        "bob+a2+2025-11-22 09:00:00.000000 UTC+x4",
        "a+b+a1+2025-11-20 09:00:00.000000 UTC",  # a '+' in the id, no random suffix
    ):
        (tmp_path / name).mkdir()
    found = _hand_ins(tmp_path, "a1")
    assert sorted(found) == ["a+b", "ada", "bob"]
    assert [p.name[-2:] for p in found["ada"]] == ["x2", "x1"]
    assert len(found["bob"]) == 1


def test_exchange_root_option_and_help(tmp_path):
    root = copy_course(tmp_path / "course", [A1])
    run = cnnkit(
        "--course", str(root), "exchange", "collect", A1, "--exchange", str(tmp_path / "nowhere")
    )
    assert run.returncode == 1
    assert "nowhere/cnn-course/inbound" in run.stderr and "cnnkit exchange release" in run.stderr
    assert "A class, in order" in _ok(cnnkit("exchange", "--help"))
