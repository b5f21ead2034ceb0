"""The course's grading secret: hidden tests' random inputs, the same on every re-grade of a
course, different in another course, and never where a student can read it.

A tiny assignment whose hidden test hands ``hidden_rng(1)``'s numbers to the student's
function, which prints them (as a student who wants next year's inputs would), is graded
in two copies of a course; a spy submission looks for the secret wherever its sandbox
lets it look.
"""

from __future__ import annotations

import ast
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cnnwidgets.instructor.autograde.secret import SECRET_FILE, course_secret, secret_path
from cnnwidgets.instructor.course import Course
from cnnwidgets.instructor.isolation.sandbox import make_bridge
from cnnwidgets.instructor.isolation.verifier import Verifier
from cnnwidgets.instructor.release import release

from ._samples import REPO
from .conftest import cnnkit, copy_course, sandbox_missing

PROBE = "z9_probe"

# --- the secret file -------------------------------------------------------------------------


def test_a_course_gets_its_secret_on_first_use_and_keeps_it(tmp_path):
    course = Course(copy_course(tmp_path / "one", []))
    path = secret_path(course)
    assert path == course.root / SECRET_FILE  # next to the SQLite gradebook
    assert not path.exists()
    secret = course_secret(course)
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert course_secret(course) == secret  # read, not made again
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no draft
    other = Course(copy_course(tmp_path / "two", []))
    assert course_secret(other) != secret


def test_a_secret_others_can_read_is_closed_and_a_damaged_one_refused(tmp_path):
    course = Course(copy_course(tmp_path / "c", []))
    secret = course_secret(course)
    path = secret_path(course)
    os.chmod(path, 0o644)  # restored from a backup, say
    assert course_secret(course) == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("not a secret\n")
    with pytest.raises(ValueError, match="is not a grading secret"):
        course_secret(course)


def test_the_secret_is_git_ignored():
    run = subprocess.run(
        ["git", "check-ignore", "-q", SECRET_FILE], cwd=REPO, capture_output=True, text=True
    )
    assert run.returncode == 0, f"{SECRET_FILE} is not in .gitignore"


# --- the verifier's hook ---------------------------------------------------------------------

_DRAW = "from cnnwidgets.grading import hidden_rng\nprint(hidden_rng(1).integers(10**9, size=3))\n"


def _drawn_by_a_verifier(secret: str | None = None) -> str:
    folder = make_bridge(None, None)
    argv = [sys.executable, "-I", "-m", "cnnwidgets.instructor.isolation.verifier"]
    if secret is not None:
        argv.append("--course-secret")
    verifier = Verifier([*argv, folder], dict(os.environ), folder, Path(folder) / "v.log",
                        secret=secret)  # fmt: skip
    try:
        outputs = verifier.run("draw", _DRAW, 60, lambda request, left: {"error": "no kernel"})
    finally:
        verifier.close()
    assert outputs is not None and outputs[0]["name"] == "stdout", outputs
    return outputs[0]["text"]


def test_the_verifier_draws_from_the_secret_it_is_handed_first():
    """The secret comes first on the verifier's stdin: never on a command line, which any
    user of the machine can list."""
    plain = _drawn_by_a_verifier()
    assert plain == f"{np.random.default_rng(1).integers(10**9, size=3)}\n"
    one = _drawn_by_a_verifier("1" * 64)
    assert one != plain
    assert _drawn_by_a_verifier("1" * 64) == one
    assert _drawn_by_a_verifier("2" * 64) not in (one, plain)


# --- grading: a probe assignment ---------------------------------------------------------------

_ANSWER = '''
def echo(values):
    """Hands back what it gets, and prints it: the inputs leak into the feedback."""
    print("echo got", list(values))
    return list(values)
'''

_TEST = """assert echo([1, 2]) == [1, 2]
### BEGIN HIDDEN TESTS
from cnnwidgets.grading import hidden_rng

drawn = [int(v) for v in hidden_rng(1).integers(0, 10**9, 4)]
assert echo(drawn) == drawn
### END HIDDEN TESTS"""

# Looks for the secret wherever its sandbox lets it: the course's file (its real path given
# away), its environment, every process's command line and environment, its folders.
_SPY = """
import glob as _glob
import os as _os

def _show(label, read):
    try:
        print(label, read())
    except Exception as exc:
        print(label, "unreadable:", type(exc).__name__)

_show("secret file:", lambda: open(SECRET_PATH).read())
_show("environment:", lambda: dict(_os.environ))
for _proc in sorted(_glob.glob("/proc/[0-9]*")):
    for _part in ("cmdline", "environ"):
        _show(f"{_proc}/{_part}:", lambda: open(f"{_proc}/{_part}", "rb").read())
for _folder in (".", "..", "../..", "/tmp", _os.path.expanduser("~")):
    for _path in _glob.glob(_os.path.join(_folder, "**", "*"), recursive=True)[:2000]:
        if _os.path.isfile(_path) and _os.path.getsize(_path) < 100_000:
            _show(f"{_path}:", lambda: open(_path, "rb").read())
"""


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    meta = {"schema_version": 3, "grade": False, "solution": False, "locked": False,
            "task": False, **nbgrader}  # fmt: skip
    return make(source, metadata={"nbgrader": meta})


def _probe_course(root: Path) -> Path:
    """A course with one assignment, ``z9_probe``, released; returns its root."""
    copy_course(root, [])
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    answer = "def echo(values):\n    ### BEGIN SOLUTION\n    return list(values)\n"
    answer += "    ### END SOLUTION"
    nb.cells = [
        _cell("markdown", "# Probe", grade_id="intro", locked=True),
        _cell("code", answer, grade_id="echo", solution=True),
        _cell("code", _TEST, grade_id="test_echo", grade=True, locked=True, points=1),
    ]
    folder = root / "solutions" / PROBE
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{PROBE}.ipynb")
    release(Course(root), PROBE)
    return root


def _submit(root: Path, student: str, answer: str) -> None:
    nb = nbformat.read(root / "exercises" / PROBE / f"{PROBE}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "echo":
            cell.source = answer.strip()
    folder = root / "submitted" / student / PROBE
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{PROBE}.ipynb")


def _grade(root: Path, tmp: Path, *students: str) -> None:
    args = [arg for s in students for arg in ("--student", s)]
    run = cnnkit("--course", str(root), "grade", PROBE, *args, "--jobs", "2", "--no-progress",
                 tmpdir=tmp)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def _inputs(root: Path, student: str) -> list[int]:
    """What the hidden test handed the student's function, as the student's print shows it."""
    nb = nbformat.read(root / "autograded" / student / PROBE / f"{PROBE}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata["nbgrader"].get("grade_id") == "test_echo")
    text = "".join(o.get("text", "") for o in cell.outputs)
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    calls = [ast.literal_eval(m) for m in re.findall(r"echo got (\[.*\])", text)]
    assert calls[0] == [1, 2] and len(calls) == 2, text
    return calls[1]


@pytest.mark.slow
def test_hidden_inputs_come_from_the_course_secret_and_never_reach_the_student(tmp_path):
    one = _probe_course(tmp_path / "one" / "course")
    spying = sandbox_missing() is None  # without a sandbox (--unsafe) nothing is secret
    _submit(one, "student", _ANSWER)
    if spying:
        path = repr(str(one / SECRET_FILE))
        _submit(one, "spy", _ANSWER + f"\nSECRET_PATH = {path}\n" + _SPY)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _grade(one, scratch)
    secret = (one / SECRET_FILE).read_text().strip()
    assert stat.S_IMODE((one / SECRET_FILE).stat().st_mode) == 0o600
    first = _inputs(one, "student")
    plain = [int(v) for v in np.random.default_rng(1).integers(0, 10**9, 4)]
    assert first != plain  # drawn from the secret, not from the test's number alone

    # the same course grades identically twice
    _grade(one, scratch, "student")
    assert _inputs(one, "student") == first
    if spying:
        assert _inputs(one, "spy") == first  # every student of a course gets the same inputs

    # another course, another secret, other inputs
    two = _probe_course(tmp_path / "two" / "course")
    _submit(two, "student", _ANSWER)
    _grade(two, scratch)
    assert (two / SECRET_FILE).read_text().strip() != secret
    assert _inputs(two, "student") != first

    # the secret is nowhere a student sees: submission, autograded notebook, logs, feedback
    run = cnnkit("--course", str(one), "feedback", PROBE, tmpdir=scratch)
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted((one / "feedback").glob(f"*/{PROBE}/{PROBE}.html"))
    seen = []
    for path in sorted(one.rglob("*")):
        if path.is_file() and path.name != SECRET_FILE and path.suffix != ".db":
            if secret.encode() in path.read_bytes():
                seen.append(str(path.relative_to(one)))
    assert seen == []
    if spying:
        spy = nbformat.read(one / "autograded" / "spy" / PROBE / f"{PROBE}.ipynb", as_version=4)
        shown = "".join(o.get("text", "") for c in spy.cells for o in c.get("outputs", []))
        assert "secret file: unreadable" in shown, shown[:2000]
        assert "environment:" in shown and secret not in shown
