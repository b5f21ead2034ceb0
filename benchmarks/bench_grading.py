"""Grading throughput on a3: `cnnkit grade --jobs 2` against serial `nbgrader autograde`,
and the same through Dask: `--cluster local:2` against `--jobs 2`, from 1 to 2 workers.

All grade the same 20 submissions (15 copies of the reference solution and one of
each kind of wrong one from the test samples) in fresh temporary copies of the
course, once each, on this machine. The floor is what every submission pays before
its first cell: a fresh kernel that imports TensorFlow.

Dask's own cost per task is measured apart, on 1,000 tasks of a no-op notebook (the
released a1, unanswered) with the grading step stubbed out on the workers: intake,
packing, scheduling, the worker writing the task's course and the reply coming back.
The figure is the slope between a 100-task and a 1,000-task run, so that starting
the cluster and making the task's shared input do not count.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
A3 = "a3_digit_classifier"
N_SUBMISSIONS = 20
N_CORRECT = 15
TARGET_RATIO = 1.8
CLUSTER_TARGET = 1.05  # --cluster local:2 over --jobs 2, wall time
OVERHEAD_TASKS = (100, 1000)
BIN = Path(sys.executable).parent


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", TMPDIR=str(tmp))
    # nbgrader creates a gradebook by running `alembic`, found on PATH
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


def _course(dest: Path) -> Path:
    """A course folder like the repository's, holding a3 and the 20 submissions."""
    if str(REPO) not in sys.path:  # the samples live in the test suite
        sys.path.insert(0, str(REPO))
    from tests.instructor._samples_a3 import a3_samples, write_samples

    dest.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    for folder in ("solutions", "exercises"):
        shutil.copytree(REPO / folder / A3, dest / folder / A3)
    samples = a3_samples()
    correct = samples.pop("correct")
    # the five kinds of wrong model of the earlier figures; the cheats are the corpus's
    samples = {
        k: v
        for k, v in samples.items()
        if not k.startswith(("rule_", "redteam_")) and k not in ("slow", "released")
    }
    chosen = {f"correct{i:02d}": correct for i in range(N_CORRECT)}
    chosen.update(samples)
    if len(chosen) != N_SUBMISSIONS:
        raise RuntimeError(f"{len(chosen)} submissions, expected {N_SUBMISSIONS}")
    write_samples(dest, A3, chosen)
    return dest


def _run(cmd: list[str], cwd: Path, tmp: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(tmp), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-2000:]
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {proc.returncode}:\n{tail}")
    return seconds


def _scores(root: Path, assignment: str = A3) -> dict[str, float]:
    from cnnwidgets.instructor.course import Course

    with Course(root).gradebook() as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(assignment)}


def _grade(tmp: Path, name: str, *how: str) -> tuple[float, dict[str, float], list[float]]:
    """``cnnkit grade`` of the 20 submissions in a fresh course: wall seconds, scores, and
    each submission's seconds inside its worker."""
    root = _course(tmp / name)
    cmd = [str(BIN / "cnnkit"), "--course", str(root), "grade", A3, *how, "--no-progress"]
    seconds = _run(cmd, REPO, tmp / "scratch")
    sidecar = json.loads((root / "autograded" / ".cnnkit" / f"{A3}.json").read_text())
    return seconds, _scores(root), [r["seconds"] for r in sidecar.values()]


def _noop_run(job, timeout, budget):
    return "done", 0.0, {"success": True, "seconds": 0.0}, None


def _noop_grade_task(common: dict, task: dict) -> dict:
    """The cluster's task with everything but the grading itself (runs on a worker)."""
    from cnnwidgets.instructor.autograde import cluster

    cluster._run_watched = _noop_run
    return cluster.grade_task(common, task)


def scheduling_overhead(tmp: Path, workers: int = 2) -> tuple[float, float, float]:
    """(ms per task through the kit's Dask path, grading stubbed; ms per task of a bare
    ``client.submit`` of a no-op; seconds of fixed start-up), from 100- and 1,000-task runs."""
    from cnnwidgets.instructor.autograde import cluster
    from cnnwidgets.instructor.autograde.grade import _Run
    from cnnwidgets.instructor.course import Course

    a1 = "a1_convolution"
    root = tmp / "noop"
    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for folder in ("solutions", "exercises"):
        shutil.copytree(REPO / folder / a1, root / folder / a1)
    released = REPO / "exercises" / a1 / f"{a1}.ipynb"
    students = [f"s{i:04d}" for i in range(max(OVERHEAD_TASKS))]
    for student in students:
        (root / "submitted" / student / a1).mkdir(parents=True)
        shutil.copy(released, root / "submitted" / student / a1 / f"{a1}.ipynb")
    course = Course(root)
    real = cluster.grade_task
    cluster.grade_task = _noop_grade_task
    walls = {}
    try:
        for n in OVERHEAD_TASKS:
            work = tmp / f"noop-{n}"
            work.mkdir()
            run = _Run(course, a1, work, timeout=600, sandbox=None, secret=None)
            run.register(registered=n != OVERHEAD_TASKS[0])
            start = time.perf_counter()
            done = 0
            for _, result in cluster.on_cluster(run, students[:n], f"local:{workers}"):
                status, _, _ = result()
                done += status == "done"
            walls[n] = time.perf_counter() - start
            if done != n:
                raise RuntimeError(f"{n - done} of {n} no-op tasks did not come back done")
    finally:
        cluster.grade_task = real
    small, large = OVERHEAD_TASKS
    per_task = (walls[large] - walls[small]) / (large - small)
    fixed = walls[small] - small * per_task
    return 1000 * per_task, 1000 * _bare_dask(workers, large), fixed


def _inc(x: int) -> int:
    return x + 1


def _bare_dask(workers: int, n: int) -> float:
    """Seconds per task of ``n`` no-op tasks on a LocalCluster, submitted one by one."""
    from distributed import Client, LocalCluster, as_completed

    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as lc:
        with Client(lc) as client:
            client.submit(_inc, -1).result()  # warm
            start = time.perf_counter()
            futures = [client.submit(_inc, i, pure=False) for i in range(n)]
            for _ in as_completed(futures):
                pass
            return (time.perf_counter() - start) / n


def kernel_floor(repeats: int = 3) -> float:
    """Median seconds to start a kernel, run `import tensorflow` in it and shut it down."""
    from jupyter_client.manager import start_new_kernel

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120)
        try:
            reply = kc.execute_interactive(
                "import tensorflow", timeout=120, output_hook=lambda m: None
            )
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"import tensorflow failed in the kernel: {reply['content']}")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "scratch").mkdir()
        load_before = os.getloadavg()[0]

        # cnnkit: parallel workers, then one writer records in the gradebook
        t_cnnkit, fast_scores, worker_seconds = _grade(tmp, "jobs2", "--jobs", "2")
        # the same through Dask: a LocalCluster of 2, then of 1, single-threaded workers
        t_cluster, cluster_scores, _ = _grade(tmp, "cluster2", "--cluster", "local:2")
        t_cluster1, cluster1_scores, _ = _grade(tmp, "cluster1", "--cluster", "local:1")

        # plain nbgrader: record the assignment (not timed), then one autograde run
        plain = _course(tmp / "nbgrader")
        nbgrader = str(BIN / "nbgrader")
        _run([nbgrader, "generate_assignment", A3, "--force"], plain, tmp / "scratch")
        t_nbgrader = _run([nbgrader, "autograde", A3], plain, tmp / "scratch")
        plain_scores = _scores(plain)

        overhead, bare, fixed = scheduling_overhead(tmp)
        load_after = os.getloadavg()[0]
    floor = kernel_floor()
    ratio = t_nbgrader / t_cnnkit
    n = N_SUBMISSIONS
    rows.append(
        f"{n} a3 submissions ({N_CORRECT} correct, {n - N_CORRECT} wrong in different ways), "
        f"{os.cpu_count()} CPU cores; load average {load_before:.1f} before, "
        f"{load_after:.1f} after (other runs on the machine make the figures noisy)"
    )
    rows.append(
        f"cnnkit grade --jobs 2        {t_cnnkit:7.1f} s   {t_cnnkit / n:5.1f} s/submission"
    )
    rows.append(
        f"nbgrader autograde (serial)  {t_nbgrader:7.1f} s   {t_nbgrader / n:5.1f} s/submission"
    )
    rows.append(
        f"ratio {ratio:.2f}x faster   target >= {TARGET_RATIO}x "
        f"({'met' if ratio >= TARGET_RATIO else 'NOT met'})"
    )
    rows.append(
        f"floor: fresh kernel + import tensorflow {floor:.1f} s; per submission in a worker "
        f"median {statistics.median(worker_seconds):.1f} s "
        f"({statistics.median(worker_seconds) / floor:.1f}x the floor), "
        f"nbgrader serial {t_nbgrader / n / floor:.1f}x the floor"
    )
    same = fast_scores == plain_scores
    rows.append(
        f"scores agree between the two runs: {'yes' if same else 'NO'} "
        f"(total {sum(fast_scores.values()):g} and {sum(plain_scores.values()):g})"
    )
    over = t_cluster / t_cnnkit
    rows.append(
        f"cnnkit grade --cluster local:2 {t_cluster:7.1f} s   {t_cluster / n:5.1f} s/submission; "
        f"{over:.3f}x --jobs 2's time, target <= {CLUSTER_TARGET}x "
        f"({'met' if over <= CLUSTER_TARGET else 'NOT met'})"
    )
    rows.append("Dask workers  wall      s/submission  speed-up")
    for workers, wall in ((1, t_cluster1), (2, t_cluster)):
        rows.append(f"{workers:>12}  {wall:7.1f} s  {wall / n:8.1f}      {t_cluster1 / wall:5.2f}x")
    agree = cluster_scores == cluster1_scores == fast_scores
    rows.append(f"scores agree between --jobs 2 and --cluster local:1, local:2: "
                f"{'yes' if agree else 'NO'}")  # fmt: skip
    rows.append(
        f"Dask scheduling overhead: {overhead:.1f} ms/task through cnnkit's cluster path "
        f"({OVERHEAD_TASKS[1]:,} tasks of a no-op notebook, grading stubbed, 2 workers; "
        f"start-up {fixed:.1f} s once); a bare client.submit of a no-op: {bare:.2f} ms/task"
    )
    return rows
