"""Fixtures for the instructor tools: throw-away copies of the course and a `cnnkit` runner."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ._samples import REPO, write_samples

CNNKIT = Path(sys.executable).parent / "cnnkit"


@dataclass
class Run:
    """One finished `cnnkit` call."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float


# Lines a test leaves for the end of the run (the adversarial corpus's figures).
SUMMARY_LINES = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


def sandbox_missing() -> str | None:
    """Why grading cannot be sandboxed here (None: it can). Under CI=true it must be."""
    from cnnwidgets.instructor.isolation.sandbox import availability

    return availability()


def cnnkit(*args: str, tmpdir: Path | None = None, timeout: float = 900) -> Run:
    """Run the installed `cnnkit` console script (``python -m`` if it is not installed).

    Grading runs in the sandbox. On a machine without bubblewrap it runs with
    ``--unsafe`` instead, except under CI=true, where the suite insists on the sandbox.
    """
    cmd = [str(CNNKIT)] if CNNKIT.exists() else [sys.executable, "-m", "cnnwidgets.instructor.cli"]
    args = _unsafe_if_needed(list(args))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)  # where grading keeps its scratch courses
    start = time.perf_counter()
    proc = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


def _unsafe_if_needed(args: list[str]) -> list[str]:
    commands = [i for i, a in enumerate(args) if a in ("grade", "validate")]
    if not commands or "--unsafe" in args or os.environ.get("CI") == "true":
        return args
    if sandbox_missing() is None:
        return args
    i = commands[0]
    return [*args[: i + 1], "--unsafe", *args[i + 1 :]]


def copy_course(dest: Path, assignments: list[str] | None = None) -> Path:
    """A course folder like the repository's: its config, solutions/ and exercises/."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    for folder in ("solutions", "exercises"):
        for item in sorted((REPO / folder).iterdir()):
            if item.is_dir() and (assignments is None or item.name in assignments):
                shutil.copytree(item, dest / folder / item.name)
    return dest


def tree_hashes(folder: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and permission bits of every file below ``folder``."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass
class GradedCourse:
    root: Path
    expected: dict[str, float | None]
    before: dict[str, tuple[str, int]]
    run: Run
    tmp: Path


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> GradedCourse:
    """A copy of the course with the a1 samples, graded once by `cnnkit grade --jobs 2`."""
    base = tmp_path_factory.mktemp("graded")
    root = copy_course(base / "course", ["a1_convolution"])
    expected = write_samples(root)
    before = tree_hashes(root / "submitted")
    scratch = base / "scratch"
    scratch.mkdir()
    run = cnnkit("--course", str(root), "grade", "a1_convolution", "--jobs", "2", tmpdir=scratch)
    print(f"cnnkit grade, {len(expected)} submissions, --jobs 2: {run.seconds:.1f} s")
    return GradedCourse(root, expected, before, run, scratch)
