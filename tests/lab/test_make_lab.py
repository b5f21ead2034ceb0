"""`make lab` as the README says it, in a clean shell, on a fresh clone of the kit: it makes the
learner's copies, keeps their edits across a kit update (a `git pull`), and the clone stays
clean. Jupyter is asked for its version only, so no server starts."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from cnnwidgets.lab import WORK
from tests.e2e._lab import _GIT, clean_env, copy_course, git_status

pytestmark = pytest.mark.slow

L01, L02 = "course/01_images_and_convolution.ipynb", "course/02_sizes_padding_pooling.ipynb"


def _make_lab(kit: Path, target: str = "lab") -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="cnn-home-") as home:
        run = subprocess.run(
            ["make", "--no-print-directory", target, "LAB_ARGS=--version"],
            cwd=kit,
            env=clean_env(Path(home)),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run


def _kit_update(kit: Path) -> None:
    """What a `git pull` brings: lesson 01 and 02 changed, a lesson 09 new."""
    for rel in (L01, L02):
        path = kit / rel
        path.write_text(path.read_text().replace('"cells": [', '"cells": [\n  ', 1))
    (kit / "course/09_new_lesson.ipynb").write_text((kit / L02).read_text())
    subprocess.run([*_GIT, "add", "-A"], cwd=kit, check=True)
    subprocess.run([*_GIT, "commit", "-q", "-m", "kit update"], cwd=kit, check=True)


def test_make_lab_keeps_a_learners_copies_across_a_kit_update(tmp_path):
    kit = copy_course(tmp_path / "kit")
    work = kit / WORK
    first = _make_lab(kit)
    assert "15 new in my-work/" in first.stdout
    for rel in (L01, "exercises/a1_convolution/a1_convolution.ipynb"):
        assert (work / rel).read_bytes() == (kit / rel).read_bytes()
    assert not (work / "solutions").exists()

    # the learner works in their copy of 01; 02 they only read
    mine = (work / L01).read_text().replace('"source": [', '"source": [\n    "# my note\\n",', 1)
    (work / L01).write_text(mine)
    _kit_update(kit)

    second = _make_lab(kit)
    assert (work / L01).read_text() == mine  # never overwritten
    beside = work / "course/01_images_and_convolution (new version).ipynb"
    assert beside.read_bytes() == (kit / L01).read_bytes()
    assert (work / L02).read_bytes() == (kit / L02).read_bytes()  # untouched: updated
    assert (work / "course/09_new_lesson.ipynb").exists()
    out = second.stdout
    assert "1 new in my-work/: course/09_new_lesson.ipynb" in out
    assert f"updated my-work/{L02}" in out
    assert (
        "your copy is kept, the new version is my-work/course/01_images_and_convolution (new" in out
    )
    assert git_status(kit) == []  # the clone is as pulled: no conflict for the next pull

    # and `make instructor` brings the same copies, changing nothing more
    third = _make_lab(kit, "instructor")
    assert "new in my-work" not in third.stdout and "updated" not in third.stdout
    assert git_status(kit) == []
