"""A grading worker: nbgrader autograde of one submission after another, each in a private course.

``python -m cnnwidgets.instructor.autograde.worker`` reads one JSON job per line on
stdin, autogrades it, writes the job's result file and answers ``done`` on
stdout. Staying alive between jobs saves importing nbgrader (seconds) per
submission; a job that overruns is handled by the parent killing the whole
worker and starting a new one.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from traitlets.config import Config

from ..course import Course
from ..isolation.sandbox import SandboxKernelManager

DONE = "done"

# A kernel that dies or stays silent at start-up (a crowded machine, or, over TCP, ports
# another process took first: jupyter_client#154; the course config uses Unix sockets)
# has run no cell yet, so starting it again is safe.
_KERNEL_START_FAILURES = ("Kernel died before replying to kernel_info", "Kernel didn't respond")
_ATTEMPTS = 3


def _stop(signum, frame):
    # SystemExit unwinds nbclient, which then shuts the kernel down; the kernel
    # also exits by itself once this process is gone (ipykernel's parent poller).
    raise SystemExit(128 + signum)


def _exit_with_parent(grace: float = 5) -> None:
    """Stop this worker and its kernel when cnnkit dies without stopping it (SIGKILL, OOM).

    The worker has a session of its own, so a kill of cnnkit's process group misses it;
    left alone it would finish the notebook at hand, for as long as that runs, for nobody.
    This stops it as cnnkit's timeout does: SIGTERM (the kernel shut down), then SIGKILL.
    """
    parent = os.getppid()
    # cnnkit starts each worker as a group leader; anywhere else, stop this process only.
    leader = os.getpgid(0) == os.getpid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            os.killpg(0, sig) if leader else os.kill(os.getpid(), sig)
            time.sleep(grace)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _execution_config(job: dict) -> Config:
    """Where the kernel runs (the sandbox with ``job["sandbox"]``'s limits, unless None),
    the notes that go next to cells the student tampered with, and the course's secret."""
    cfg = Config()
    if job.get("cell_notes"):
        cfg.VerifiedExecute.cell_notes = dict(job["cell_notes"])
    if job.get("secret"):  # the hidden tests' random inputs (cnnwidgets.grading.hidden_rng)
        cfg.VerifiedExecute.course_secret = str(job["secret"])
    if job.get("sandbox") is not None:
        cfg.Execute.kernel_manager_class = SandboxKernelManager
        cfg.SandboxKernelManager.limits = dict(job["sandbox"])
    return cfg


def run(job: dict) -> dict:
    """Autograde ``job["student"]``'s ``job["assignment"]`` in the course at ``job["root"]``.

    The course is a private copy (its own submitted/, autograded/ and SQLite
    gradebook), so any number of jobs can run at the same time. Writes the
    nbgrader log to ``job["log"]`` and the result to ``job["result"]``.
    """
    start = time.perf_counter()
    notes = ""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            course = Course(Path(job["root"]), job["db_url"], Path(job["config_file"]))
            result = course.api(_execution_config(job)).autograde(
                job["assignment"], job["student"], force=True, create=True
            )
        except Exception as exc:  # report, never die: the next job needs this worker
            result = {"success": False, "error": f"{type(exc).__name__}: {exc}", "log": ""}
        text = (result.get("log") or "") + (result.get("error") or "")
        started = not any(failure in text for failure in _KERNEL_START_FAILURES)
        if result.get("success") or started or attempt == _ATTEMPTS:
            break
        notes += f"cnnkit: the kernel died while starting (attempt {attempt}); starting it again\n"
    result["seconds"] = time.perf_counter() - start
    Path(job["log"]).write_text(notes + result.get("log", "") + (result.get("error") or ""))
    Path(job["result"]).write_text(json.dumps(result))
    return result


def serve() -> None:
    """Answer jobs from stdin until it closes."""
    signal.signal(signal.SIGTERM, _stop)
    _exit_with_parent()
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    # Kernels and libraries inherit fd 1; point it at stderr (the worker's log)
    # so nothing but replies reaches the parent's pipe.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    import nbgrader.apps  # noqa: F401  (import once, before the first job arrives)

    for line in sys.stdin:
        if line.strip():
            run(json.loads(line))
            replies.write(DONE + "\n")


if __name__ == "__main__":
    serve()
