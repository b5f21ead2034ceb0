"""Grading throughput on a3: `cnnkit grade --jobs 2` against serial `nbgrader autograde`.

Both grade the same 20 submissions (15 copies of the reference solution and one of
each kind of wrong one from the test samples) in fresh temporary copies of the
course, once each, on this machine. The floor is what every submission pays before
its first cell: a fresh kernel that imports TensorFlow.
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
        if not k.startswith("rule_") and k not in ("slow", "released")
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


def _scores(root: Path) -> dict[str, float]:
    from cnnwidgets.instructor.course import Course

    with Course(root).gradebook() as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(A3)}


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
        scratch = tmp / "scratch"
        scratch.mkdir()

        # cnnkit: parallel workers, then one writer records in the gradebook
        fast = _course(tmp / "cnnkit")
        cnnkit = [str(BIN / "cnnkit"), "--course", str(fast), "grade", A3, "--jobs", "2"]
        t_cnnkit = _run([*cnnkit, "--no-progress"], REPO, scratch)
        sidecar = json.loads((fast / "autograded" / ".cnnkit" / f"{A3}.json").read_text())
        worker_seconds = [r["seconds"] for r in sidecar.values()]

        # plain nbgrader: record the assignment (not timed), then one autograde run
        plain = _course(tmp / "nbgrader")
        nbgrader = str(BIN / "nbgrader")
        _run([nbgrader, "generate_assignment", A3, "--force"], plain, scratch)
        t_nbgrader = _run([nbgrader, "autograde", A3], plain, scratch)

        fast_scores, plain_scores = _scores(fast), _scores(plain)
    floor = kernel_floor()
    ratio = t_nbgrader / t_cnnkit
    n = N_SUBMISSIONS
    rows.append(
        f"{n} a3 submissions ({N_CORRECT} correct, {n - N_CORRECT} wrong in different ways), "
        f"{os.cpu_count()} CPU cores"
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
    return rows
