"""`cnnkit grade --cluster` on a real Dask cluster: a scheduler and workers started by their
command line on localhost, as a department would start them on its nodes.

- a1's samples score as the `--jobs 2` run scores them (``graded_course``), and so do two a3
  samples graded both ways here;
- a worker without bubblewrap is left out, with the reason, and the others grade;
- a submission whose processes outgrow the worker's memory limit is reported, the rest graded;
- a worker SIGKILLed mid-run: its task runs again on the other one, every submission ends
  graded exactly once, and the grading processes under the dead worker stop too;
- a client killed mid-run: the next run skips what was graded and grades the rest.

Runs are kept small (a few a1 submissions, two of a3); no wall-clock time is asserted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import psutil
import pytest

from cnnwidgets.instructor.course import Course

from ._samples import A1, REPO, _fill, solution_answers, write_samples
from ._samples_a3 import a3_samples
from ._samples_a3 import write_samples as write_a3_samples
from .conftest import CNNKIT, Run, cnnkit, copy_course, sandbox_missing, tree_hashes

pytestmark = pytest.mark.slow

A3 = "a3_digit_classifier"
BIN = Path(sys.executable).parent
# Each worker's memory limit: the a1 and a3 samples' grading processes stay far below it
# (a1: about 0.9 GB resident together), the memory hog goes past it.
WORKER_MEMORY = "2.5GB"
HOG = "hog"
# 200 MB more every 50 ms, up to 6 GB: past the worker's limit long before the end.
_HOG_CODE = """import time
import numpy as np
blocks = []
for _ in range(30):
    blocks.append(np.ones(25_000_000))
    time.sleep(0.05)
hand_value = 27"""


# --- a Dask cluster of our own ------------------------------------------------------------
class Dask:
    """A scheduler and workers started with `dask scheduler` / `dask worker`, on localhost."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []

    def _start(self, args: list[str], log: str, env: dict | None = None) -> subprocess.Popen:
        env = dict(env or os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
        with open(self.folder / log, "ab") as out:
            proc = subprocess.Popen(
                [str(BIN / "dask"), *args], cwd=self.folder, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.procs.append(proc)
        return proc

    def start_scheduler(self) -> None:
        self._start(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.file)], "scheduler.log",
        )  # fmt: skip
        _wait(self.file.is_file, 60, "the scheduler did not write its file")

    @property
    def address(self) -> str:
        return json.loads(self.file.read_text())["address"]

    def start_worker(self, name: str, env: dict | None = None) -> subprocess.Popen:
        proc = self._start(
            ["worker", "--scheduler-file", str(self.file), "--nworkers", "1", "--nthreads",
             "1", "--memory-limit", WORKER_MEMORY, "--no-dashboard", "--name", name],
            f"worker-{name}.log", env,
        )  # fmt: skip
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(count, timeout=120)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _wait(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.2)


@contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[Dask]:
    folder.mkdir(parents=True, exist_ok=True)
    cluster = Dask(folder)
    try:
        cluster.start_scheduler()
        for i in range(workers):
            cluster.start_worker(f"w{i}")
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Dask]:
    if os.environ.get("CI") != "true" and sandbox_missing() is not None:
        pytest.skip(f"the workers cannot sandbox here: {sandbox_missing()}")
    with dask_cluster(tmp_path_factory.mktemp("dask")) as started:
        yield started


# --- helpers --------------------------------------------------------------------------------
def _scores(root: Path, assignment: str) -> dict[str, float]:
    with Course(root).gradebook() as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(assignment)}


def _sidecar(root: Path, assignment: str) -> dict[str, dict]:
    return json.loads((root / "autograded" / ".cnnkit" / f"{assignment}.json").read_text())


def _rows(root: Path, assignment: str) -> dict[str, int]:
    """How many rows of each kind the gradebook holds for ``assignment``: one per student."""
    with Course(root).gradebook() as gb:
        subs = gb.assignment_submissions(assignment)
        ids = [s.student.id for s in subs]
        grades = sum(len(nb.grades) for s in subs for nb in s.notebooks)
        per = sum(len(nb.grade_cells) for nb in gb.find_assignment(assignment).notebooks)
    return {"submissions": len(ids), "distinct": len(set(ids)), "grades": grades, "per": per}


def _grade(root: Path, assignment: str, *args: str, scratch: Path) -> Run:
    scratch.mkdir(parents=True, exist_ok=True)
    return cnnkit("--course", str(root), "grade", assignment, "--no-progress", *args,
                  tmpdir=scratch)  # fmt: skip


def _write_hog(root: Path) -> None:
    nb = _fill({**solution_answers(), "hand_value": _HOG_CODE})
    folder = root / "submitted" / HOG / A1
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{A1}.ipynb")


# --- what travels ----------------------------------------------------------------------------
def test_a_task_carries_no_solution_and_no_other_student(tmp_path):
    from cnnwidgets.instructor.autograde.cluster import shared_input, task_input
    from cnnwidgets.instructor.autograde.grade import _Run

    root = copy_course(tmp_path / "course", [A1])
    write_samples(root)
    (tmp_path / "work").mkdir()
    run = _Run(Course(root), A1, tmp_path / "work", 600, None, "s3cret")
    run.register(False)  # the real gradebook now holds the assignment, and a graded student:
    assert run.course.api().autograde(A1, "partial", force=True, create=True)["success"]
    common = shared_input(run)
    release = nbformat.read(REPO / "exercises" / A1 / f"{A1}.ipynb", as_version=4)
    released = "\n".join(cell.source for cell in release.cells)
    solution_lines = {
        line.strip()
        for code in solution_answers().values()
        for line in code.splitlines()
        if len(line.strip()) > 20 and line.strip() not in released
    }
    assert solution_lines
    for part in (common["gradebook"], *common["source"].values()):
        assert not [line for line in solution_lines if line.encode() in part]
    assert b"partial" not in common["gradebook"]  # no student, no score
    assert not [name for name in common["source"] if name.endswith(".ipynb")]
    prepared = run.prepare("correct")
    task = task_input(run, "correct", *prepared)
    assert all(name.startswith("submitted/correct/") for name in task["files"])
    assert task["job"]["secret"] == "s3cret" and task["job"]["student"] == "correct"


# --- a1 and a3 through the cluster score as through --jobs 2 ------------------------------
# a1's samples of each kind: right, partly right, an edited test, a file that is no notebook
CLUSTER_STUDENTS = ("correct", "partial", "tamper", "garbled")


@pytest.fixture(scope="module")
def a1_on_cluster(cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("a1-cluster")
    root = copy_course(base / "course", [A1])
    expected = {s: v for s, v in write_samples(root).items() if s in CLUSTER_STUDENTS}
    _write_hog(root)
    before = tree_hashes(root / "submitted")
    # A worker that cannot sandbox (no bubblewrap on its PATH) joins first: it is left out.
    env = dict(os.environ, PATH=str(BIN))
    cluster.start_worker("nobwrap", env=env)
    cluster.wait_for_workers(3)
    picks = [a for s in [*CLUSTER_STUDENTS, HOG] for a in ("--student", s)]
    run = _grade(root, A1, "--cluster", cluster.address, "--memory", "8192", *picks,
                 scratch=base / "scratch")  # fmt: skip
    cluster.workers.pop().send_signal(signal.SIGTERM)  # the others' fixture again: two workers
    return root, expected, before, run


def test_a1_scores_on_the_cluster_equal_the_jobs_run(a1_on_cluster, graded_course):
    root, expected, before, run = a1_on_cluster
    assert run.returncode == 1, run.stdout + run.stderr  # garbled and the hog: not graded
    on_cluster = {s: v for s, v in _scores(root, A1).items() if s != HOG}
    jobs = _scores(graded_course.root, A1)
    assert on_cluster == {s: jobs[s] for s in CLUSTER_STUDENTS if s in jobs}
    assert on_cluster == {s: v for s, v in expected.items() if v is not None}
    assert tree_hashes(root / "submitted") == before


def test_a_worker_without_bubblewrap_is_left_out_with_the_reason(a1_on_cluster):
    root = a1_on_cluster[0]
    log = (root / "autograded" / ".cnnkit" / "logs" / A1 / "cluster.log").read_text()
    assert "left out: it cannot make the grading sandbox: bubblewrap is not installed" in log
    workers = {
        line.rsplit(" ", 1)[-1]
        for student in _sidecar(root, A1)
        for line in Path(_sidecar(root, A1)[student]["log"]).read_text().splitlines()
        if line.startswith("cnnkit: graded on Dask worker")
    }
    assert workers and not any(w in log for w in workers), (workers, log)


def test_a_submission_over_the_worker_memory_limit_is_reported(a1_on_cluster):
    root, expected, _, run = a1_on_cluster
    record = _sidecar(root, A1)[HOG]
    assert record["status"] == "error", record
    assert "more than the Dask worker's memory limit allows a task (2.3 GB)" in record["message"]
    assert HOG in run.stdout
    graded = {s for s, r in _sidecar(root, A1).items() if r["status"] == "graded"}
    assert graded == {s for s, v in expected.items() if v is not None}


def test_a3_scores_on_the_cluster_equal_the_jobs_run(cluster, tmp_path):
    """The scores test_a2_a3 asserts for the --jobs 2 run of the same samples."""
    samples = a3_samples()
    chosen = {s: samples[s] for s in ("correct", "weak")}
    root = copy_course(tmp_path / "course", [A3])
    write_a3_samples(root, A3, chosen)
    run = _grade(root, A3, "--cluster", cluster.address, scratch=tmp_path / "scratch")
    assert run.returncode == 0, run.stdout + run.stderr
    assert _scores(root, A3) == {s: v for s, (_, v) in chosen.items()}


# --- a worker killed, a client killed --------------------------------------------------------
KILL_STUDENTS = ["correct", "partial", "syntax"]


def _grading_worker(cluster: Dask) -> subprocess.Popen | None:
    """A `dask worker` whose processes are grading a submission now (a kernel is up)."""
    for proc in cluster.workers:
        try:
            below = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            continue
        if any("ipykernel" in " ".join(p.cmdline()) for p in below if _alive(p)):
            return proc
    return None


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_worker_killed_mid_run_every_submission_graded_once(tmp_path):
    if os.environ.get("CI") != "true" and sandbox_missing() is not None:
        pytest.skip(f"the workers cannot sandbox here: {sandbox_missing()}")
    root = copy_course(tmp_path / "course", [A1])
    expected = {s: v for s, v in write_samples(root).items() if s in KILL_STUDENTS}
    picks = [a for s in KILL_STUDENTS for a in ("--student", s)]
    with dask_cluster(tmp_path / "dask") as cluster:
        cmd = [str(CNNKIT)] if CNNKIT.exists() else [sys.executable, "-m",
                                                     "cnnwidgets.instructor.cli"]  # fmt: skip
        args = ["--course", str(root), "grade", A1, "--no-progress", "--cluster",
                cluster.address, *picks]  # fmt: skip
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TMPDIR=str(tmp_path))
        client = subprocess.Popen([*cmd, *args], cwd=REPO, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and client.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            victim = _grading_worker(cluster)
        assert victim is not None, "no worker was seen grading"
        below = psutil.Process(victim.pid).children(recursive=True)
        os.killpg(victim.pid, signal.SIGKILL)  # the nanny and its worker, mid-task
        out, err = client.communicate(timeout=600)
    assert client.returncode == 0, out + err
    assert f"{len(KILL_STUDENTS)} graded, 0 not graded" in out, out + err
    assert _scores(root, A1) == expected
    rows = _rows(root, A1)
    assert rows["submissions"] == rows["distinct"] == len(KILL_STUDENTS), rows
    assert rows["grades"] == rows["per"] * len(KILL_STUDENTS), rows
    assert {s: r["status"] for s, r in _sidecar(root, A1).items()} == dict.fromkeys(
        KILL_STUDENTS, "graded"
    )
    # The grading processes under the dead worker (its own session's) stop with it.
    left = "the grading processes under the killed worker were left running"
    _wait(lambda: not any(_alive(p) for p in below), 60, left)


def test_a_killed_client_resumes_where_it_stopped(cluster, tmp_path):
    root = copy_course(tmp_path / "course", [A1])
    expected = {s: v for s, v in write_samples(root).items() if s in KILL_STUDENTS}
    picks = [a for s in KILL_STUDENTS for a in ("--student", s)]
    cmd = [str(CNNKIT)] if CNNKIT.exists() else [sys.executable, "-m", "cnnwidgets.instructor.cli"]
    args = ["--course", str(root), "grade", A1, "--no-progress", "--cluster", cluster.address,
            *picks]  # fmt: skip
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TMPDIR=str(tmp_path))
    client = subprocess.Popen([*cmd, *args], cwd=REPO, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    sidecar = root / "autograded" / ".cnnkit" / f"{A1}.json"
    try:
        _wait(lambda: sidecar.is_file() or client.poll() is not None, 300, "nothing graded")
        assert client.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(client.pid, signal.SIGKILL)
        client.wait(30)
    first = {s for s, r in _sidecar(root, A1).items() if r["status"] == "graded"}
    assert first

    run = _grade(root, A1, "--cluster", cluster.address, *picks, scratch=tmp_path / "s")
    assert run.returncode == 0, run.stdout + run.stderr
    rest = len(KILL_STUDENTS) - len(first)
    assert f"{rest} graded, 0 not graded, {len(first)} skipped (graded before)" in run.stdout
    assert _scores(root, A1) == expected
    rows = _rows(root, A1)
    assert rows["submissions"] == rows["distinct"] == len(KILL_STUDENTS), rows

    # A submission that changed since is graded again; --regrade grades all of them again.
    (root / "submitted" / "partial" / A1 / "notes.txt").write_text("one more file")
    two = ["--student", "partial", "--student", "correct"]
    run = _grade(root, A1, "--cluster", cluster.address, *two, scratch=tmp_path / "s")
    assert "1 graded, 0 not graded, 1 skipped (graded before)" in run.stdout, run.stdout
    run = _grade(root, A1, "--cluster", cluster.address, *two, "--regrade",
                 scratch=tmp_path / "s")  # fmt: skip
    assert "2 graded, 0 not graded;" in run.stdout, run.stdout + run.stderr
    assert _scores(root, A1) == expected
