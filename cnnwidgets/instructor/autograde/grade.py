"""Autograde all submissions of an assignment in parallel, then record them in the gradebook.

How it stays correct with parallel workers and one gradebook
-------------------------------------------------------------
nbgrader's ``autograde`` writes to the gradebook before and after it runs a
notebook; several processes writing one SQLite file at once fail with
"database is locked". So grading happens in two stages:

0. **Record the source.** nbgrader's ``generate_assignment`` stores the
   assignment's current ``solutions/`` (grade cells, hidden tests, points) in
   the real gradebook, releasing into a scratch folder; a snapshot of that
   gradebook is the template for the workers.
1. **Execute, in parallel.** ``jobs`` long-lived worker processes
   (``python -m cnnwidgets.instructor.autograde.worker``; nbgrader imported once each)
   autograde one submission at a time with nbgrader, each inside a private copy
   of the course: a copy of the submission, the real ``solutions/`` and a copy
   of the template gradebook. No two workers share a file. A submission that
   runs past ``timeout`` gets its worker killed (kernel included) and reported;
   a new worker takes the next submission.
2. **Record, one at a time.** As each worker finishes, the main process runs
   nbgrader's ordinary ``autograde`` for that student on the real course, with
   execution replaced by :class:`~cnnwidgets.instructor.autograde.steps.ReplayOutputs`,
   which copies the outputs the worker produced. Every gradebook write, the
   autograded notebook and the late-penalty logic are therefore nbgrader's own,
   made by a single writer, whatever the database (SQLite or PostgreSQL).

Submissions are only ever read (workers get copies); re-grading overwrites the
student's previous autograded notebook and scores (nbgrader's ``--force``), so it
is idempotent. Per-submission timings and statuses are kept in
``autograded/.cnnkit/<assignment>.json`` for ``cnnkit report``.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from traitlets.config import Config

from ..course import Course, NbgraderError, check
from ..isolation.sandbox import DEFAULT_LIMITS, Limits, SandboxUnavailable, availability
from ..release import folder_differences, generate, scratch_course
from .intake import changed_locked_cells, inspect, repair_copy
from .secret import course_secret
from .steps import ReplayOutputs, autograde_steps

__all__ = ["GradeRun", "Outcome", "grade", "load_sidecar", "sidecar_path"]

# A killed worker gets this long to shut its kernel down before SIGKILL.
_GRACE_SECONDS = 5


@dataclass
class Outcome:
    """What grading one submission gave."""

    student: str
    status: str  # "graded", "error" (the grader could not grade it) or "timeout"
    seconds: float
    score: float | None = None
    max_score: float | None = None
    message: str = ""
    log: str = ""
    # What was graded (the submission's files and the assignment's source): a run that
    # resumes skips a graded submission whose fingerprint is still the same.
    fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "graded"


@dataclass
class GradeRun:
    """The outcomes of one ``grade`` call, in student order, and what it noticed on the way."""

    outcomes: list[Outcome]
    release_drift: list[str]  # how exercises/ differs from a fresh generation ([] = in sync)
    # Graded by an earlier run from the same files, left as they are (``resume``).
    skipped: list[str] = field(default_factory=list)


def sidecar_path(course: Course, assignment: str) -> Path:
    """Where ``grade`` keeps per-submission timings and statuses (hidden from nbgrader's globs)."""
    return course.autograded_dir / ".cnnkit" / f"{assignment}.json"


def load_sidecar(course: Course, assignment: str) -> dict[str, dict]:
    """Per-student records of the last ``grade`` runs: status, seconds, score, message."""
    path = sidecar_path(course, assignment)
    return json.loads(path.read_text()) if path.is_file() else {}


def _save_sidecar(course: Course, assignment: str, outcomes: list[Outcome]) -> None:
    path = sidecar_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = load_sidecar(course, assignment)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for o in outcomes:
        records[o.student] = {**asdict(o), "graded_at": stamp}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=1, sort_keys=True))
    tmp.replace(path)


def _folder_hash(folder: Path, salt: str = "") -> str:
    """SHA-256 of every file's path and bytes below ``folder`` (and ``salt``)."""
    digest = hashlib.sha256(salt.encode())
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


_EXC_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit)): (.+)$")


def short_error(text: str) -> str:
    """The most telling exception line of an nbgrader log (not its generic wrapper)."""
    lines = [m for m in (_EXC_LINE.match(t) for t in text.splitlines()) if m]
    useful = [m for m in lines if m.group(1) not in ("NbGraderException",)]
    pick = (useful or lines)[-1] if (useful or lines) else None
    if pick is None:
        tail = [t.strip() for t in text.strip().splitlines() if t.strip()]
        return tail[-1][:300] if tail else "unknown error"
    return f"{pick.group(1)}: {pick.group(2)}"[:300]


class _Slot:
    """One long-lived worker process (``python -m cnnwidgets.instructor.autograde.worker``)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        log.unlink(missing_ok=True)  # kernel chatter of this run only
        self.proc: subprocess.Popen | None = None
        self._buffer = b""

    def _start(self) -> subprocess.Popen:
        with open(self.log, "ab") as log:
            # A session of its own, so a timeout can stop this worker and its kernel only.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cnnwidgets.instructor.autograde.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        self._buffer = b""
        return self.proc

    def run(self, job: dict, timeout: float) -> tuple[str, float, dict | None]:
        """Send ``job``; return (``"done"``/``"timeout"``/``"crashed"``, seconds, result)."""
        start = time.perf_counter()
        proc = self.proc if self.proc and self.proc.poll() is None else self._start()
        try:
            proc.stdin.write((json.dumps(job) + "\n").encode())
            proc.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return "crashed", time.perf_counter() - start, None
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop(kill=True)
                return "timeout", time.perf_counter() - start, None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:  # the worker died (killed by the OS, out of memory, ...)
                    self.stop()
                    return "crashed", time.perf_counter() - start, None
                self._buffer += chunk
        _, self._buffer = self._buffer.split(b"\n", 1)
        path = Path(job["result"])
        result = json.loads(path.read_text()) if path.is_file() else None
        return "done", time.perf_counter() - start, result

    def stop(self, kill: bool = False) -> None:
        """End the worker: close its input (it exits), or kill it with its kernel."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if not kill:
            try:
                proc.stdin.close()
                proc.wait(_GRACE_SECONDS)
                return
            except (OSError, subprocess.TimeoutExpired):
                pass
        for sig, wait in ((signal.SIGTERM, _GRACE_SECONDS), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _register(course: Course, assignment: str, scratch: Path) -> Path:
    """Record the assignment's current source in the real gradebook (nbgrader's generate step).

    The student version produced on the way goes to ``scratch`` (the committed
    exercises/ are never rewritten by grading); returns its folder, a fresh generation.
    """
    extra = Config()
    extra.CourseDirectory.release_directory = str(scratch)
    check(
        course.api(extra).generate_assignment(assignment, force=True, create=True),
        f"recording {assignment} in the gradebook",
    )
    return scratch / assignment


def _sqlite_snapshot(source: Path, dest: Path) -> None:
    # SQLite's backup API copies a consistent state even if someone else is writing.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(dest)) as dst:
        src.backup(dst)


def _sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise ValueError(f"expected a SQLite gradebook URL, got {url}")
    return Path(url.removeprefix("sqlite:///"))


def _replay_config(executed: Path, submitted: Path) -> Config:
    cfg = Config()
    cfg.Autograde.autograde_preprocessors = autograde_steps(ReplayOutputs)
    cfg.ReplayOutputs.executed_directory = str(executed)
    # Record from the worker's copy of the submission (repaired, if intake repaired it);
    # the submission itself is never read by nbgrader here, nor ever written.
    cfg.CourseDirectory.submitted_directory = str(submitted)
    return cfg


def _score(course: Course, assignment: str, student: str) -> tuple[float, float]:
    with course.gradebook() as gb:
        sub = gb.find_submission(assignment, student)
        return float(sub.score), float(sub.max_score)


class _Workers:
    """``count`` long-lived worker processes; :meth:`run` hands a job to the next free one."""

    def __init__(self, count: int, logs: Path) -> None:
        self.slots = [_Slot(logs / f"worker-{i}.log") for i in range(max(1, count))]
        self._free: queue.Queue[_Slot] = queue.Queue()
        for slot in self.slots:
            self._free.put(slot)
        self.stopping = False

    def run(self, job: dict, timeout: float) -> tuple[str, float, dict | None]:
        slot = self._free.get()
        try:
            if self.stopping:
                return "crashed", 0.0, None
            return slot.run(job, timeout)
        finally:
            self._free.put(slot)

    def stop(self, kill: bool) -> None:
        self.stopping = True
        for slot in self.slots:
            slot.stop(kill=kill)


class _Run:
    """One ``grade`` call, in named steps: :meth:`register` the source once, then for each
    student :meth:`intake` (read the submission, make the worker's private course) and, once
    a worker has executed it, :meth:`record` (one writer for the gradebook)."""

    def __init__(
        self, course: Course, assignment: str, tmp: Path, timeout: float,
        sandbox: Limits | None, secret: str | None = None,
    ) -> None:  # fmt: skip
        self.course, self.assignment, self.tmp = course, assignment, tmp
        self.timeout, self.sandbox = timeout, sandbox
        self.secret = secret  # the course's grading secret, for the workers' verifiers
        self.logs = sidecar_path(course, assignment).parent / "logs" / assignment
        self.logs.mkdir(parents=True, exist_ok=True)
        self.template_db = tmp / "template.db"
        self.names = course.notebooks(assignment)
        self.notes: dict[str, list[str]] = {}
        self._prints: dict[str, str] = {}

    def register(self, registered: bool) -> list[str]:
        """Record the assignment's source in the gradebook (unless ``registered``) and keep a
        snapshot of it as the workers' template; returns how exercises/ differs from it."""
        course, assignment, drift = self.course, self.assignment, []
        if not registered:
            fresh = _register(course, assignment, self.tmp / "release")
            drift = folder_differences(fresh, course.release_dir / assignment)
        if course.gradebook_url.startswith("sqlite:///"):
            # The gradebook now records the assignment: a snapshot of it is the template.
            _sqlite_snapshot(_sqlite_path(course.gradebook_url), self.template_db)
        else:
            with scratch_course(course, [assignment]) as template:
                generate(template, assignment)
                _sqlite_snapshot(_sqlite_path(template.gradebook_url), self.template_db)
        return drift

    def _submitted(self, student: str, root: Path | None = None) -> Path:
        folder = self.course.folder("submitted_directory", student, self.assignment)
        return folder if root is None else self._under(root, folder)

    def _under(self, root: Path, folder: Path) -> Path:
        """``folder`` of the course as it lies under ``root`` (a worker's private copy)."""
        return root / folder.relative_to(self.course.root)

    def prepare(self, student: str) -> tuple[Path, dict[str, str]] | str:
        """Read ``student``'s submission and make the grader's private copy of it (repaired,
        if intake could): the root of the private course and the notes for locked cells the
        student changed, or why the submission cannot be graded."""
        course, assignment = self.course, self.assignment
        found = inspect(self._submitted(student), self.names)
        if found.fatal:
            return found.fatal
        notes = self.notes[student] = list(found.notes)
        root = self.tmp / "jobs" / student / "course"
        copy = self._submitted(student, root)
        shutil.copytree(self._submitted(student), copy)
        notes.extend(repair_copy(copy, self.names))
        cell_notes = changed_locked_cells(
            self._submitted(student), course.release_dir / assignment, self.names
        )
        notes.extend(cell_notes.values())
        return root, cell_notes

    def job(self, student: str, root: Path, cell_notes: dict[str, str]) -> dict:
        """The job a worker runs for ``student`` in the private course at ``root``."""
        course = self.course
        job = {
            "root": str(root),
            "db_url": f"sqlite:///{root / 'gradebook.db'}",
            "config_file": str(course.config_file or course.root / "nbgrader_config.py"),
            "assignment": self.assignment,
            "student": student,
            "result": str(root.parent / "result.json"),
            "log": str(self.logs / f"{student}.log"),
            "sandbox": asdict(self.sandbox) if self.sandbox is not None else None,
            "cell_notes": cell_notes,
            # Through the worker's stdin to its verifier's command line: never a file here.
            "secret": self.secret,
        }
        Path(job["log"]).unlink(missing_ok=True)
        return job

    def intake(self, student: str) -> dict | str:
        """The worker's job for ``student``, or why the submission cannot be graded."""
        prepared = self.prepare(student)
        if isinstance(prepared, str):
            return prepared
        root, cell_notes = prepared
        course = self.course
        source = root / course.source_dir.relative_to(course.root)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.symlink_to(course.source_dir, target_is_directory=True)
        shutil.copy(self.template_db, root / "gradebook.db")
        return self.job(student, root, cell_notes)

    def fingerprint(self, student: str) -> str:
        """What grading ``student`` depends on: the submission's files and the assignment's
        source (its notebooks and the files nbgrader copies next to them)."""
        if student not in self._prints:  # read once, before grading: what was graded
            if not hasattr(self, "_source_print"):
                self._source_print = _folder_hash(self.course.source_dir / self.assignment)
            self._prints[student] = _folder_hash(self._submitted(student), self._source_print)
        return self._prints[student]

    def record(self, student: str, status: str, seconds: float, result: dict | None) -> Outcome:
        """Turn a worker's result into an :class:`Outcome`; a graded one goes into the real
        gradebook through nbgrader's own autograde, with the worker's outputs replayed."""
        course, assignment, timeout = self.course, self.assignment, self.timeout
        log = str(self.logs / f"{student}.log")

        def failed(message: str) -> Outcome:
            return Outcome(student, "error", seconds, message=message, log=log)

        if status in ("timeout", "crashed"):
            with open(log, "a") as fh:
                fh.write(f"\ncnnkit: the worker {status} (limit {timeout:g} s per submission)\n")
            if status == "timeout":
                return Outcome(student, "timeout", seconds, message=f"stopped after "
                               f"{timeout:g} s", log=log)  # fmt: skip
            return failed("the grading worker died")
        if status == "rejected":
            assert result is not None
            with open(log, "a") as fh:
                fh.write(f"cnnkit: not graded: {result['error']}\n")
            return failed(result["error"])
        if not result or not result.get("success"):
            return failed(short_error((result or {}).get("log", "") + (result or {}).get(
                "error", "")))  # fmt: skip
        job_root = self.tmp / "jobs" / student / "course"
        executed = self._under(job_root, course.folder("autograded_directory", student, assignment))
        copy = self._under(job_root, course.folder("submitted_directory", ".", "."))
        outcome = course.api(_replay_config(executed, copy)).autograde(
            assignment, student, force=True, create=True
        )
        if not outcome.get("success"):
            text = outcome.get("log", "") + outcome.get("error", "")
            return failed("recording failed: " + short_error(text))
        score, max_score = _score(course, assignment, student)
        # The worker's own clock: autograding only, not waiting for a free worker.
        seconds = float(result.get("seconds", seconds))
        message = "; ".join(self.notes.get(student, []))
        return Outcome(student, "graded", seconds, score, max_score, message, log=log)

    def execute(self, student: str, workers: _Workers) -> tuple[str, float, dict | None]:
        """Intake, then a worker: (status, seconds, the worker's result)."""
        start = time.perf_counter()
        job = self.intake(student)
        if isinstance(job, str):
            return "rejected", time.perf_counter() - start, {"error": job}
        return workers.run(job, self.timeout)


def grade(
    course: Course,
    assignment: str,
    students: list[str] | None = None,
    jobs: int = 1,
    timeout: float = 600,
    progress: bool = True,
    on_outcome: Callable[[Outcome], None] | None = None,
    registered: bool = False,
    sandbox: Limits | None = DEFAULT_LIMITS,
    cluster: str | None = None,
    resume: bool = False,
) -> GradeRun:
    """Autograde ``students``' submissions of ``assignment`` (all of ``submitted/`` by default).

    Parameters
    ----------
    course : Course
    assignment : str
    students : list of str, optional
    jobs : int
        Worker processes executing notebooks at the same time.
    timeout : float
        Seconds one submission may take (kernel start to last cell); past it the
        worker is killed and the submission reported as ``"timeout"``.
    progress : bool
        Show a progress bar on stderr.
    on_outcome : callable, optional
        Called with each :class:`Outcome` as soon as it is recorded.
    registered : bool
        The course's gradebook already records the assignment's current source
        (``cnnkit validate`` has just generated it in a scratch course): skip
        recording it again.
    sandbox : Limits or None
        Run each submission's kernel in the bubblewrap sandbox with these limits
        (see :mod:`cnnwidgets.instructor.isolation.sandbox`); ``None`` runs kernels
        unconfined (``cnnkit --unsafe``). Raises :class:`SandboxUnavailable` when a
        sandbox is asked for and cannot be created here.
    cluster : str, optional
        Grade on a Dask cluster instead of ``jobs`` local workers: a scheduler's address
        (``tcp://host:8786``) or ``local:N`` (see :mod:`.cluster`). The sandbox is then the
        workers' to make; this machine needs none.
    resume : bool
        Skip submissions an earlier run graded from the same files (the sidecar's record
        and the gradebook agree); they are listed in :attr:`GradeRun.skipped`.

    Returns
    -------
    GradeRun
    """
    if assignment not in course.assignments():
        raise NbgraderError(f"No assignment {assignment!r} in {course.source_dir}.")
    if cluster is None and sandbox is not None and (reason := availability()) is not None:
        raise SandboxUnavailable(reason)
    students = course.students(assignment) if students is None else students
    # The hidden tests' random inputs come from it: the same on every re-grade of this course.
    secret = course_secret(course)
    with tempfile.TemporaryDirectory(prefix="cnnkit-grade-") as tmp:
        run = _Run(course, assignment, Path(tmp), timeout, sandbox, secret)
        for student in students:
            run.fingerprint(student)
        skipped = _graded_before(run, students) if resume else []
        todo = [s for s in students if s not in skipped]
        drift = run.register(registered)
        if cluster is not None:
            from .cluster import on_cluster

            completed = on_cluster(run, todo, cluster)
        else:
            completed = _locally(run, todo, jobs)
        outcomes = _each(run, completed, len(todo), progress, on_outcome)
    outcomes.sort(key=lambda o: o.student)
    return GradeRun(outcomes, drift, skipped)


def _graded_before(run: _Run, students: list[str]) -> list[str]:
    """Students whose submission an earlier run graded from the files there now, and whose
    score the gradebook holds."""
    records = load_sidecar(run.course, run.assignment)
    with run.course.gradebook() as gb:
        try:
            scored = {s.student.id for s in gb.assignment_submissions(run.assignment)}
        except Exception:  # no such assignment in the gradebook yet: nothing was graded
            scored = set()
    return [
        s
        for s in students
        if s in scored
        and records.get(s, {}).get("status") == "graded"
        and records[s].get("fingerprint") == run.fingerprint(s)
    ]


# What a way of executing jobs hands back, one per student as each finishes: the student, and
# a call that gives (status, seconds, the worker's result) or raises what went wrong.
Completed = Iterator[tuple[str, Callable[[], tuple[str, float, "dict | None"]]]]


def _locally(run: _Run, students: list[str], jobs: int) -> Completed:
    """Every student through intake and one of ``jobs`` local workers, in parallel."""
    if not students:
        return
    workers = _Workers(min(jobs, len(students)), run.logs)
    pool = ThreadPoolExecutor(max_workers=len(workers.slots))
    finished = 0
    try:
        futures = {pool.submit(run.execute, student, workers): student for student in students}
        for future in as_completed(futures):
            finished += 1
            yield futures[future], future.result
    finally:
        # Normally the workers are idle here; after Ctrl-C they are killed, which
        # also releases the threads waiting on them.
        pool.shutdown(wait=False, cancel_futures=True)
        workers.stop(kill=finished < len(students))
        pool.shutdown(wait=True)


def _each(
    run: _Run, completed: Completed, total: int, progress: bool,
    on_outcome: Callable[[Outcome], None] | None,
) -> list[Outcome]:  # fmt: skip
    """Record each student as their job finishes, here, one at a time, with a progress bar
    and the sidecar kept up to date."""
    from tqdm import tqdm

    outcomes: list[Outcome] = []
    bar = tqdm(
        total=total, desc=f"grading {run.assignment}", unit="submission",
        file=sys.stderr, disable=not progress, dynamic_ncols=True,
    )  # fmt: skip
    counts = {"graded": 0, "failed": 0}
    try:
        # Recording happens here, in this one thread: the gradebook has one writer.
        for student, result in completed:
            try:
                outcome = run.record(student, *result())
            except Exception as exc:  # one bad submission never stops the others
                outcome = Outcome(student, "error", 0.0, message=f"{exc!r}"[:300])
            if outcome.ok:
                outcome.fingerprint = run.fingerprint(student)
            outcomes.append(outcome)
            # kept even if the run is cut short
            _save_sidecar(run.course, run.assignment, [outcome])
            counts["graded" if outcome.ok else "failed"] += 1
            bar.set_postfix(counts, refresh=False)
            bar.update()
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        close = getattr(completed, "close", None)
        if close is not None:
            close()
        bar.close()
    return outcomes
