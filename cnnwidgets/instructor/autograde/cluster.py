"""Grade on a Dask cluster: one task per submission, the same worker, sandbox and limits as --jobs.

``cnnkit grade A --cluster ADDRESS`` (:func:`on_cluster`, called by
:func:`.grade.grade`) runs the steps of a local run with Dask in the middle:

- **Intake, here.** Each submission is read and copied (repaired if it can be) by
  :meth:`.grade._Run.prepare`, as for ``--jobs``.
- **A task per submission, there.** The task carries what grading it needs and nothing
  more; a worker needs no shared file system. What nbgrader's ``autograde`` reads is:

  - the submission (its files, the private copy made at intake);
  - a gradebook recording the assignment: every graded and locked cell's source, hidden
    tests included, which nbgrader writes over the submission's (``OverwriteCells``), and
    its points. It is a fresh one, made from ``solutions/`` in a scratch course, holding
    this assignment only: no student, no score and no other assignment travel;
  - the files next to the source notebooks that nbgrader copies beside each submission
    (data files; none in this course), but **not the source notebooks**: autograding never
    reads them, and a worker never sees ``solutions/``;
  - the course's ``nbgrader_config.py`` (the kit's steps: verifier, rooms, noise filter),
    and the job as ``--jobs`` sends it: limits, notes on changed cells, the course secret.

  The gradebook, the config and those files are one shared input of every task (sent once
  per worker, recomputable by the scheduler if a worker holding it dies). On the worker
  the task writes them into a private course in a temporary folder and hands the job to a
  long-lived ``python -m cnnwidgets.instructor.autograde.worker`` process of that Dask
  worker, exactly as a ``--jobs`` run does, with its timeout. So each submission gets the
  same sandbox, verifier and rooms; the isolation between students is the same.
- **The record, here.** The task returns the executed notebooks and the log; this process
  alone writes them into the gradebook (:meth:`.grade._Run.record`), as futures complete.

What can go wrong on a worker, and what is reported:

- A Dask worker killed while grading (SIGKILL, the nanny's memory limit, a lost node): the
  scheduler runs the task again elsewhere, up to its ``allowed-failures`` (``local:N``:
  :data:`ALLOWED_FAILURES`); past that the submission is reported as not graded, in words.
  Tasks only write their own temporary folder, so a task run twice records once.
- A submission whose processes (the worker's grading process, kernel, verifier, rooms)
  together use more than the Dask worker's memory limit (per thread): they are stopped and
  the submission is reported as not graded, without killing the Dask worker (the nanny
  watches the worker process alone and would never see them).
- A worker without bubblewrap (unless ``--unsafe``), without the kit, or with another
  version of it refuses, with the reason: before the run (:func:`check_workers`) and again
  in each task.
"""

from __future__ import annotations

import itertools
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ..course import NbgraderError
from . import _probe
from .grade import Completed, _Run, _Slot

__all__ = ["ALLOWED_FAILURES", "check_workers", "connect", "grade_task", "on_cluster"]

# Workers a task may see die under it before it is reported (``local:N``; a scheduler of
# your own has its ``distributed.scheduler.allowed-failures``, 3 by default).
ALLOWED_FAILURES = 2
# Seconds to wait for a first worker to join a scheduler with none.
WORKER_WAIT = 120
_WATCH_SECONDS = 0.5  # how often a task's processes are measured against the memory limit


# --- on the client -----------------------------------------------------------------------
def connect(address: str, workers_wait: float = WORKER_WAIT):
    """A Dask client for ``address`` and the call that lets it go (and ends a local cluster).

    ``local:N`` starts a :class:`distributed.LocalCluster` of ``N`` worker processes with
    one thread each; anything else is a scheduler's address (``tcp://host:8786``).
    """
    import dask
    from distributed import Client, LocalCluster

    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise NbgraderError(f"--cluster local:N needs a number of workers, got {address!r}")
        import logging

        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
            cluster = LocalCluster(
                n_workers=int(count), threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR,
            )  # fmt: skip
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise NbgraderError(f"No Dask scheduler answers at {address}: {exc}") from exc
    try:
        client.wait_for_workers(1, timeout=workers_wait)
    except TimeoutError as exc:
        client.close()
        raise NbgraderError(
            f"The Dask scheduler at {address} has had no worker for {workers_wait:g} s."
        ) from exc
    return client, client.close


def check_workers(client, sandbox: bool) -> tuple[list[str], dict[str, str], list[str]]:
    """Ask every worker what it can grade with: (the addresses that can, {address: why
    another cannot}, warnings). Raises :class:`NbgraderError` when none can."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(_probe)  # it must answer where the kit is missing
    try:
        answers = client.run(_probe.probe, sandbox)
    finally:
        cloudpickle.unregister_pickle_by_value(_probe)
    version, files = _probe.kit_version(), _probe.kit_fingerprint()
    able, refused, warnings = [], {}, []
    for address, answer in sorted(answers.items()):
        if answer.get("kit") is None:
            why = answer.get("error") or "No module named 'cnnwidgets'"
            refused[address] = f"the kit (cnnwidgets) is not installed there ({why})"
        elif answer.get("version") != version:
            refused[address] = (
                f"it has version {answer.get('version')} of the kit, this machine {version} "
                "(install the same version on the workers)"
            )
        elif answer.get("sandbox") is not None:
            refused[address] = (
                f"it cannot make the grading sandbox: {answer['sandbox']} "
                "(or pass --unsafe to grade there unconfined)"
            )
        else:
            able.append(address)
            if answer["kit"] != files:  # an edited checkout, or a build of other files
                warnings.append(f"{address}: the kit's files differ from this machine's")
    if not able:
        reasons = "; ".join(f"{a}: {why}" for a, why in refused.items()) or "no workers"
        raise NbgraderError(f"No Dask worker can grade: {reasons}.")
    return able, refused, warnings


def shared_input(run: _Run) -> dict:
    """What every task of ``run`` needs: the course's config, a gradebook recording the
    assignment (and nothing else) and the non-notebook files of its source folder."""
    from ..release import generate, scratch_course
    from .grade import _sqlite_path

    course, assignment = run.course, run.assignment
    config = Path(course.config_file or course.root / "nbgrader_config.py")
    with scratch_course(course, [assignment]) as template:
        generate(template, assignment)
        gradebook = _sqlite_path(template.gradebook_url).read_bytes()
    source = course.source_dir / assignment
    files = {
        str(path.relative_to(course.root)): path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file() and path.suffix != ".ipynb" and not _ignored(path, source)
    }
    return {
        "config": config.read_text(),
        "gradebook": gradebook,
        "source": files,
        "source_dir": str(source.relative_to(course.root)),
        "kit": _probe.kit_version(),
    }


def _ignored(path: Path, top: Path) -> bool:
    return any(
        part in (".ipynb_checkpoints", "__pycache__") or part.startswith(".")
        for part in path.relative_to(top).parts
    )


def task_input(run: _Run, student: str, root: Path, cell_notes: dict[str, str]) -> dict:
    """The part of a task that is ``student``'s: the private copy made at intake, the job."""
    course = run.course
    job = run.job(student, root, cell_notes)
    copy = run._submitted(student, root)
    files = {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(copy.rglob("*"))
        if path.is_file()
    }
    autograded = course.folder("autograded_directory", student, run.assignment)
    return {
        "job": {k: job[k] for k in ("assignment", "student", "sandbox", "cell_notes", "secret")},
        "files": files,
        "autograded": str(autograded.relative_to(course.root)),
        "timeout": run.timeout,
    }


def on_cluster(run: _Run, students: list[str], address: str) -> Completed:
    """Every student through intake here and a task on the Dask cluster at ``address``;
    each student as their task completes (see :data:`.grade.Completed`)."""
    from distributed import as_completed

    if not students:
        return
    client, close = connect(address)
    futures: dict = {}
    try:
        able, refused, warnings = check_workers(client, run.sandbox is not None)
        for worker, why in refused.items():
            _note(run, f"cnnkit: Dask worker {worker} left out: {why}")
        for warning in warnings:
            _note(run, f"cnnkit: warning: {warning}")
        # Only the workers that can grade get tasks, when some cannot.
        where = {"workers": able, "allow_other_workers": False} if refused else {}
        nonce = uuid.uuid4().hex[:8]
        common = client.submit(
            _identity, shared_input(run), key=f"cnnkit-{run.assignment}-input-{nonce}", pure=False
        )
        pending = as_completed()
        for student in students:
            prepared = run.prepare(student)
            if isinstance(prepared, str):
                yield student, _constant(("rejected", 0.0, {"error": prepared}))
                continue
            future = client.submit(
                grade_task, common, task_input(run, student, *prepared),
                key=f"cnnkit-{run.assignment}-{student}-{nonce}", pure=False, retries=1, **where,
            )  # fmt: skip
            futures[future] = student
            pending.add(future)
        for future in pending:
            student = futures.pop(future)
            yield student, _reply(run, student, future)
    finally:
        if futures:  # cut short: the rest is for nobody
            client.cancel(list(futures), force=True)
        close()


def _identity(value):
    return value


def _constant(value) -> Callable[[], tuple]:
    return lambda: value


def _note(run: _Run, text: str) -> None:
    with open(run.logs / "cluster.log", "a") as fh:
        fh.write(text + "\n")


def _reply(run: _Run, student: str, future) -> Callable[[], tuple]:
    """What ``student``'s finished task gives, as (status, seconds, result) for the record:
    the log and executed notebooks written where the record step reads them."""

    def result() -> tuple[str, float, dict | None]:
        from distributed import KilledWorker

        log = run.logs / f"{student}.log"
        try:
            reply = future.result()
        except KilledWorker as exc:
            why = (
                f"its Dask worker died while grading it, {_attempts(exc)} times (killed, "
                "or over the worker's memory limit); the scheduler gave up on it"
            )
            log.write_text(f"cnnkit: not graded: {why}\n{exc}\n")
            return "rejected", 0.0, {"error": why}
        except Exception as exc:  # the task could not run there (no kit, a full disk, ...)
            why = f"the Dask worker could not grade it: {type(exc).__name__}: {exc}"[:300]
            if isinstance(exc, ModuleNotFoundError) and "cnnwidgets" in str(exc):
                why = "a Dask worker without the kit (cnnwidgets) took it"
            log.write_text(f"cnnkit: not graded: {why}\n")
            return "rejected", 0.0, {"error": why}
        log.write_text(
            reply.get("log", "") + f"\ncnnkit: graded on Dask worker {reply['worker']}\n"
        )
        if reply["status"] in ("refused", "memory"):
            return "rejected", reply["seconds"], {"error": reply["error"]}
        autograded = run.course.folder("autograded_directory", student, run.assignment)
        folder = run._under(run.tmp / "jobs" / student / "course", autograded)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in reply["executed"].items():
            (folder / name).write_bytes(data)
        return reply["status"], reply["seconds"], reply["result"]

    return result


def _attempts(exc) -> str:
    allowed = getattr(exc, "allowed_failures", None)
    return str(allowed + 1) if isinstance(allowed, int) else "several"


# --- on a worker ---------------------------------------------------------------------------
_idle: list[_Slot] = []  # this Dask worker's grading processes, waiting for a task
_idle_lock = threading.Lock()
_numbers = itertools.count()


def _take_slot() -> _Slot:
    with _idle_lock:
        if _idle:
            return _idle.pop()
    folder = Path(tempfile.gettempdir()) / f"cnnkit-dask-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    return _Slot(folder / f"worker-{next(_numbers)}.log")


def _give_back(slot: _Slot) -> None:
    with _idle_lock:
        _idle.append(slot)


def _memory_budget() -> int | None:
    """Bytes a task of this Dask worker may use: its memory limit over its threads."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    limit = getattr(worker.memory_manager, "memory_limit", None)
    return int(limit / max(1, worker.state.nthreads)) if limit else None


def _address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _refusal(common: dict, task: dict) -> str | None:
    """Why this worker must not grade the task (a worker may join after the run's check)."""
    if _probe.kit_version() != common["kit"]:
        return (
            f"the Dask worker {_address()} has version {_probe.kit_version()} of the kit, "
            f"the client {common['kit']} (install the same version on the workers)"
        )
    if task["job"]["sandbox"] is not None:
        from ..isolation.sandbox import availability

        reason = availability()
        if reason is not None:
            return f"the Dask worker {_address()} cannot make the grading sandbox: {reason}"
    return None


def _inside(root: Path, relative: str) -> Path:
    path = root / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise ValueError(f"a task's file outside its course: {relative!r}")
    return path


def grade_task(common: dict, task: dict) -> dict:
    """Grade one submission on this Dask worker (see the module's docstring); returns its
    status, the worker's result, the log and the executed notebooks."""
    start = time.perf_counter()
    reply = {"worker": _address(), "seconds": 0.0, "log": "", "executed": {}, "result": None}
    refusal = _refusal(common, task)
    if refusal is not None:
        return {**reply, "status": "refused", "error": refusal}
    with tempfile.TemporaryDirectory(prefix="cnnkit-task-") as tmp:
        root = Path(tmp) / "course"
        for relative, data in [*common["source"].items(), *task["files"].items()]:
            path = _inside(root, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (root / common["source_dir"]).mkdir(parents=True, exist_ok=True)
        config = root / "nbgrader_config.py"
        config.write_text(common["config"])
        (root / "gradebook.db").write_bytes(common["gradebook"])
        job = {
            **task["job"],
            "root": str(root),
            "db_url": f"sqlite:///{root / 'gradebook.db'}",
            "config_file": str(config),
            "result": str(Path(tmp) / "result.json"),
            "log": str(Path(tmp) / "job.log"),
        }
        status, seconds, result, over = _run_watched(job, task["timeout"], _memory_budget())
        log = Path(job["log"])
        reply["log"] = log.read_text(errors="replace") if log.is_file() else ""
        reply["seconds"] = seconds
        if over is not None:
            return {**reply, "status": "memory", "error": over}
        reply["result"] = result
        executed = _inside(root, task["autograded"])
        if status == "done" and executed.is_dir():
            reply["executed"] = {p.name: p.read_bytes() for p in sorted(executed.glob("*.ipynb"))}
    reply["seconds"] = reply["seconds"] or time.perf_counter() - start
    return {**reply, "status": status}


def _run_watched(job: dict, timeout: float, budget: int | None):
    """``job`` in one of this worker's grading processes, its processes watched against
    ``budget`` bytes: (status, seconds, result, why it was stopped for memory or None)."""
    slot = _take_slot()
    watch = _MemoryWatch(slot, budget) if budget else None
    try:
        status, seconds, result = slot.run(job, timeout)
    finally:
        if watch is not None:
            watch.stop()
        _give_back(slot)
    return status, seconds, result, watch.reason if watch is not None else None


class _MemoryWatch:
    """Stops a grading process and everything under it when together they use more than
    ``budget`` bytes (resident; proportional, so shared pages count once, when over)."""

    def __init__(self, slot: _Slot, budget: int) -> None:
        self.slot, self.budget, self.reason = slot, budget, None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cnnkit-memory", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._done.wait(_WATCH_SECONDS):
            proc = self.slot.proc
            if proc is None:
                continue
            try:
                top = psutil.Process(proc.pid)
                tree = [top, *top.children(recursive=True)]
            except psutil.Error:
                continue
            used = _sum(tree, lambda p: p.memory_info().rss)
            if used > self.budget:
                used = _sum(tree, lambda p: p.memory_full_info().pss)
            if used <= self.budget:
                continue
            from ..isolation.watchdog import size_text

            self.reason = (
                f"the submission's processes used {size_text(used, self.budget)} of memory "
                f"together, more than the Dask worker's memory limit allows a task "
                f"({size_text(self.budget)}); "
                "they were stopped"
            )
            for p in tree:
                try:
                    p.send_signal(signal.SIGKILL)
                except psutil.Error:
                    pass
            return


def _sum(processes, measure) -> int:
    import psutil

    total = 0
    for p in processes:
        try:
            total += measure(p)
        except psutil.Error:
            pass
    return total
