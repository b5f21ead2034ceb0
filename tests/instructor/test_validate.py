"""`cnnkit validate`: solutions score full marks, releases 0, exercises/ in sync and leak-free."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from ._samples import A1, A1_MAX
from .conftest import cnnkit, copy_course, tree_hashes

pytestmark = pytest.mark.slow


def test_validate_a1_passes(tmp_path):
    course = copy_course(tmp_path / "course", [A1])
    before = tree_hashes(course)
    run = cnnkit("--course", str(course), "validate", A1, tmpdir=tmp_path)
    print(run.stdout, f"\ncnnkit validate {A1}: {run.seconds:.1f} s")
    assert run.returncode == 0, run.stdout + run.stderr
    row = next(line for line in run.stdout.splitlines() if line.startswith(A1))
    cells = row.split()
    assert cells[2] == f"{A1_MAX:g}/{A1_MAX:g}"  # solution
    assert cells[3] == f"0/{A1_MAX:g}"  # release
    assert cells[4:6] == ["yes", "yes"] and cells[-1] == "ok"
    # validate works in a scratch copy: the course itself is untouched, no gradebook appears
    assert tree_hashes(course) == before
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()


def test_validate_fails_on_a_stale_or_leaky_release(tmp_path):
    course = copy_course(tmp_path / "course", [A1])
    path = course / "exercises" / A1 / f"{A1}.ipynb"
    nb = nbformat.read(path, as_version=4)
    solution = nbformat.read(course / "solutions" / A1 / f"{A1}.ipynb", as_version=4)
    # the hand-worked answer cell, solution included, copied into the student version
    nb.cells[3].source = solution.cells[3].source
    nbformat.write(nb, path)
    run = cnnkit("--course", str(course), "validate", A1, tmpdir=tmp_path)
    assert run.returncode == 1
    row = next(line for line in run.stdout.splitlines() if line.startswith(A1))
    assert row.split()[4:6] == ["NO", "NO"] and row.split()[-1] == "FAIL"
    assert "BEGIN SOLUTION" in run.stdout and "cell 3: source differs" in run.stdout
    # the leaked answer scores its point, and validate says so
    assert "the student version scores 1, not 0" in run.stdout
    shutil.rmtree(course)
