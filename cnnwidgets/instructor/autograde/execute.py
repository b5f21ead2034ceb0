"""The execute step of autograding: the student's cells in their kernel, the tests apart.

:class:`VerifiedExecute` takes the place of nbgrader's ``Execute`` in the
autograde steps (:func:`.steps.autograde_steps`). It drives three processes per
submission: the student's kernel (sandboxed), the verifier that runs the graded
test cells, and one room per rule the tests declare; see the map in
:mod:`cnnwidgets.instructor`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer, Unicode

from ..isolation.bridge import BRIDGE_MODULE, bridge_path
from ..isolation.environment import unconfined_env
from .steps import last_error_line

__all__ = ["KERNEL", "KernelStartError", "VerifiedExecute"]

# Which process a message about the kernel speaks of, for the student and the instructor.
KERNEL = "the student's kernel (the process that runs the submission's cells)"


class KernelStartError(RuntimeError):
    """The student's kernel could not start: the message says how it ended, and quotes it."""


class VerifiedExecute(Execute):
    """nbgrader's ``Execute`` step, with the graded test cells run apart from the submission.

    - The student's cells run in their kernel, as with nbgrader.
    - Each graded test cell runs in the **verifier** (:mod:`..isolation.verifier`),
      a fresh process that asks the kernel for the student's names as data only.
    - Answers under a task's rule are read from that rule's **room**
      (:mod:`cnnwidgets.grading.room`), a Python where only what the rule allows
      exists, fed the same cells as the kernel, in step with it.
    - Output is capped: a submission that prints gigabytes would otherwise pile
      them up in memory and in the autograded notebook. Past ``max_output_mb``
      (text and display data, over the whole notebook) further outputs are
      dropped and the cell that crossed the limit says so on stdout (stdout, so
      that the cut itself never fails a test cell).
    - A kernel that dies or stops answering marks its cell and the cells after it; one
      its watchdog killed (memory or disk of all its processes together) says so.
    - A room that died (a test past its time while the room answered) is replaced by a new
      one that is sent the notebook's cells again, so that the tests after it still count.
    """

    max_output_mb = Integer(
        16, help="Megabytes of output a notebook may produce before the rest is dropped."
    ).tag(config=True)

    verify_tests = Bool(
        True,
        help="Run graded test cells in the verifier, a fresh process that asks the student's "
        "kernel for data only (cnnwidgets.instructor.isolation.verifier), instead of in that "
        "kernel.",
    ).tag(config=True)

    cell_notes = Dict(
        help="Grade id -> a note shown first in that cell's output (what the student did to "
        "a locked cell, found at intake)."
    ).tag(config=True)

    course_secret = Unicode(
        "",
        help="The course's grading secret (cnnwidgets.instructor.autograde.secret), handed to "
        "the verifier: hidden tests draw their random inputs from it "
        "(cnnwidgets.grading.hidden_rng). Empty: their plain seeds.",
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._output_bytes = 0
        self._cut_cells: set[int] = set()
        self._died_in: int | None = None
        self._verifier = None
        self._verifier_failed: str | None = None  # why the verifier could not start
        self._own_dirs: list[str] = []
        self._rooms: dict = {}
        self._room_bridges: dict[str, str] = {}
        self._room_dogs: dict = {}  # room key -> its watchdog (sandboxed rooms)
        self._room_starts: dict[str, int] = {}
        # Every cell sent to the rooms, in order: a room that takes a dead one's place gets them.
        self._room_cells: list[tuple[str, str, float]] = []
        self._reported: set[str] = set()
        self._kernel_dog = None  # the kernel's watchdog (nbclient lets go of the manager)
        self._kernel_started = False  # it answered: the notebook's cells are running
        tests = [c.source for c in nb.cells if _is_test(c) and c.source.strip()]
        self._bound, self._room_rules = _rules_of(tests) if self.verify_tests else ({}, {})
        self._verify_from = next(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None
        ) if self.verify_tests and tests else None  # fmt: skip
        # Tests that use Keras: the verifier imports it while the student's cells run.
        self._preload = any("keras" in source or "model" in source for source in tests)
        try:
            return super().preprocess(nb, resources, km)
        except Exception as exc:
            if self._kernel_started:
                raise
            message = self._kernel_failure(exc)
            self.log.error("cnnkit: %s", message)
            raise KernelStartError(message) from exc
        finally:
            if self._verifier is not None:
                self._verifier.close()
            for room in self._rooms.values():
                room.close()
            for dog in self._room_dogs.values():
                dog.stop()
            self._log_peaks()
            for folder in self._own_dirs:
                shutil.rmtree(folder, ignore_errors=True)

    def create_kernel_manager(self):
        # Kept: nbclient lets go of the manager when the kernel fails to start, and the
        # manager holds the kernel's error output.
        self._kernel_manager = super().create_kernel_manager()
        return self._kernel_manager

    def _kernel_failure(self, exc: Exception) -> str:
        """Why the kernel did not start: nbclient's reason, how it ended, its last lines."""
        from ...processes import failure

        km = getattr(self, "_kernel_manager", None)
        if not getattr(km, "launched", False):  # no process to tell of: the launch failed
            return f"{KERNEL} could not start: {type(exc).__name__}: {exc}"
        return failure(
            KERNEL, f"could not start ({type(exc).__name__}: {exc})", km.exit_status(),
            km.error_output.text(),
        )  # fmt: skip

    def preprocess_cell(self, cell, resources, index):
        self._kernel_started = True
        cell, resources = self._run_cell(cell, resources, index)
        note = self.cell_notes.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if note and cell.cell_type == "code":
            cell.outputs.insert(
                0, nbformat.v4.new_output("stream", name="stdout", text=f"[cnnkit: {note}]\n")
            )
        return cell, resources

    def _run_cell(self, cell, resources, index):
        # A kernel that dies (os._exit, a signal, the memory limit) or stops sending its
        # output (a cell that broke ipykernel's own machinery) would end nbgrader's run with
        # no grade at all. Instead the cell says so, the cells after it show that they did
        # not run, and the tests passed before still count.
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        if cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        self._kernel_dog = getattr(self.km, "watchdog", None) or self._kernel_dog
        if self._died_in is not None:
            cell.outputs = [
                _error("KernelDied", f"not run: the kernel stopped in cell {self._died_in}")
            ]
            return cell, resources
        if index == self._verify_from and self._verifier is None:
            self._verifier = self._start_verifier()  # started early: its imports overlap
        if self.verify_tests and _is_test(cell) and cell.source.strip():
            return self._verify(cell, resources, index)
        if self._room_rules:  # the same cell, at the same time, under the rule
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            sent = (grade_id or f"cell {index + 1}", cell.source, self.timeout or 120)
            self._room_cells.append(sent)
            for room in self._rooms.values():
                room.run_cell(*sent)
        try:
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            self._died_in = index
            cell.outputs.append(_error("KernelDied", self._stopped(exc)))
            return cell, resources

    def _stopped(self, exc: Exception) -> str:
        """:func:`_stopped`, or what the kernel's watchdog killed it for (also logged)."""
        reason = self._watchdog_reason(getattr(self.km, "watchdog", None))
        if reason is None:
            return _stopped(exc)
        return f"the grader stopped the kernel: {reason}; the cells after it were not run"

    def _log_peaks(self) -> None:
        """What each sandbox used at most, for the grading log (to set the limits by)."""
        from ..isolation.watchdog import size_text

        dogs = [("kernel", self._kernel_dog)]
        dogs += [(f"rule's Python ({key})", dog) for key, dog in self._room_dogs.items()]
        for what, dog in dogs:
            if getattr(dog, "ticks", 0):
                self.log.info(
                    "cnnkit: the %s's sandbox used at most %s of memory and %s of disk, "
                    "%d processes; watching it took %.2f%% of a core", what,
                    size_text(dog.peak.memory), size_text(dog.peak.disk), dog.peak.processes,
                    100 * dog.share(),
                )  # fmt: skip

    def _watchdog_reason(self, dog) -> str | None:
        reason = getattr(dog, "reason", None)
        if isinstance(reason, str) and reason not in self._reported:
            self._reported.add(reason)
            self.log.error("cnnkit: the grader stopped a sandbox of this submission: %s", reason)
        return reason if isinstance(reason, str) else None

    # --- graded test cells, run by the verifier ----------------------------------------------

    def _start_verifier(self):
        """A new verifier, or None if it cannot be started (:attr:`_verifier_failed` says
        why: a verifier that could not start once is not started again for this notebook)."""
        from ..isolation.verifier import VERIFIER

        if self._verifier_failed is not None:
            return None
        try:
            return self._new_verifier()
        except OSError as exc:  # no such program, a sandbox that could not be made, ...
            self._verifier_failed = f"{VERIFIER} could not start: {exc}"
            self.log.error("cnnkit: %s", self._verifier_failed)
            return None

    def _verifier_argv(self) -> list[str]:
        """The verifier's program; its options and bridge come after."""
        return [sys.executable, "-I", "-m", "cnnwidgets.instructor.isolation.verifier"]

    def _new_verifier(self):
        from ..isolation.sandbox import make_bridge
        from ..isolation.verifier import Verifier

        argv = self._verifier_argv()
        if self._preload:
            argv.append("--preload-keras")
        if self.course_secret:  # the hidden tests' inputs; no sandbox but the verifier's sees it
            argv.append("--course-secret")  # the secret itself goes first on its stdin
        self._revive_rooms()  # the rooms first: the verifier needs them
        for key in self._rooms:
            argv += ["--room", f"{key}={self._room_bridges[key]}"]
        launch = getattr(self.km, "verifier_launch", None)
        if launch is not None:  # a sandboxed kernel: the verifier gets a sandbox of its own
            bridge = self.km.bridge_dir
            command, env, cwd = launch([*argv, bridge], shared=tuple(self._room_bridges.values()))
        else:
            bridge = make_bridge(None, None)
            self._own_dirs.append(bridge)
            command, cwd = [*argv, bridge], bridge
            env = unconfined_env()
        self._bridge = bridge
        return Verifier(command, env, cwd, Path(bridge) / "verifier.log",
                        secret=self.course_secret or None)  # fmt: skip

    def _revive_rooms(self) -> None:
        """A room for every rule: those alive stay (they ran the notebook's cells so far); one
        that died is replaced, on the same bridge, and sent those cells again. Not one the
        watchdog stopped (it would only fill up again), nor more than a few times."""
        for key, rule in self._room_rules.items():
            old = self._rooms.get(key)
            if old is not None and old.dead is None and old.proc.poll() is None:
                continue
            dog = self._room_dogs.get(key)
            if old is not None and (
                getattr(dog, "reason", None) or self._room_starts.get(key, 0) > _ROOM_REVIVALS
            ):
                continue
            if old is not None:
                old.kill()
                self.log.warning("cnnkit: a new rule's Python (%s) in place of one that "
                                 "stopped: %s", key, old.dead or "it exited")  # fmt: skip
            self._rooms[key] = room = self._start_room(rule, self._room_bridges.get(key))
            self._room_starts[key] = self._room_starts.get(key, 0) + 1
            for sent in self._room_cells:
                room.run_cell(*sent)

    def _start_room(self, rule, bridge: str | None = None):
        """A Python where only what ``rule`` allows exists (``bridge``: a dead room's, reused)."""
        import tempfile

        from ...grading import room
        from ..isolation.sandbox import _empty, make_bridge

        launch = getattr(self.km, "room_launch", None)
        if launch is not None:  # in a sandbox of its own, next to the kernel's
            command, env, cwd, bridge = launch(rule.allowed, bridge)
        else:  # no sandbox (--unsafe): the rule is checked, but not walled in
            if bridge is None:
                bridge = make_bridge(None, None, inbox="to_room", outbox="from_room")
                self._own_dirs.append(bridge)
            else:  # nothing the dead room left behind is an answer of the new one
                _empty(os.path.join(bridge, "from_room"))
            cwd = tempfile.mkdtemp(prefix="r-")
            self._own_dirs.append(cwd)
            site = room.local_site(rule.allowed, Path(cwd) / "site")
            codec = bridge_path()
            command, env = room.command(rule.allowed, str(site), codec=codec), unconfined_env()
        self._room_bridges[rule.room] = bridge
        started = room.Room(command, env=env, cwd=cwd, log=Path(bridge) / "room.log")
        watch = getattr(self.km, "watch", None)
        if launch is not None and watch is not None:
            old = self._room_dogs.pop(rule.room, None)
            if old is not None:
                old.stop()
            self._room_dogs[rule.room] = watch(
                started.proc.pid, (cwd, bridge), "the submission's code in the rule's Python"
            )
        return started

    def _kernel_pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None) if provisioner is not None else None
        return pid if isinstance(pid, int) else None

    def _kernels_frozen(self):
        """The kernel stopped while its room answers a test: what the kernel computes can then
        never reach the room in time, whatever the channel (see ``sandbox.frozen``)."""
        from ..isolation.sandbox import frozen

        own = self._kernel_pid()
        return frozen([own] if own else [])

    def _room_call(self, message: dict, left: float) -> dict:
        """Answer the verifier's ``room`` / ``room_check`` message from that room."""
        from ...grading.room import RoomDead

        key = message.get("room")
        room = self._rooms.get(key) if isinstance(key, str) else None
        if room is None:
            return {"error": f"the grader runs no rule's Python {key!r}"}
        if left <= 0:
            return {"error": f"CellTimeoutError: the test ran longer than {self.timeout} s"}
        try:
            if message.get("op") == "room_check":
                names = [str(n) for n in message.get("names") or []][:100]
                example = message.get("example")
                with self._kernels_frozen():
                    report = room.check(names, example if isinstance(example, str) else None,
                                        timeout=left)  # fmt: skip
                return {"report": report}
            request = str(message.get("request"))
            folder = os.path.join(self._room_bridges[key], "to_room")
            if os.path.dirname(request) != folder or not re.fullmatch(
                r"[\w.-]+", Path(request).name
            ):
                return {"error": f"the grader refused a request outside the bridge: {request!r}"}
            with self._kernels_frozen():
                reply = room.serve(request, timeout=left)
            imports = reply.get("imports") if isinstance(reply.get("imports"), list) else []
            error = reply.get("error")
            return {"imports": imports[:50], "error": str(error)[:500] if error else None}
        except RoomDead as exc:
            reason = self._watchdog_reason(self._room_dogs.get(key))
            if reason is not None:
                return {"error": f"RuleRoomStopped: the grader stopped it: {reason}"}
            if str(exc) not in self._reported:  # the grading log says it once
                self._reported.add(str(exc))
                self.log.error("cnnkit: %s", exc)
            return {"error": f"RuleRoomStopped: {exc}"}

    def _verify(self, cell, resources, index):
        """Run test ``cell`` in the verifier; its outputs replace the cell's."""
        from ..isolation.verifier import VerifierDied

        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        if self._verifier is None:
            self._verifier = self._start_verifier()
        else:
            self._revive_rooms()
        verifier = self._verifier
        try:
            if verifier is None:
                raise VerifierDied(self._verifier_failed or "the verifier is not running")
            outputs = verifier.run(
                name, cell.source, self.timeout or 600,
                lambda request, left: self._kernel_call(request, left, index),
                self._room_call, self._bound,
            )  # fmt: skip
        except VerifierDied as exc:
            self._verifier = None
            if verifier is not None:  # news: the grading log says it once
                self.log.error("cnnkit: test %s: %s", name, exc)
                if exc.starting:  # it would fail the same way again
                    self._verifier_failed = str(exc)
            outputs = [_error_dict("GraderError", str(exc))]
        if outputs is None:  # past the cell's time: the verifier's state is lost with it
            self._verifier.kill()
            self._verifier = None
            late = f"the test ran longer than {self.timeout} s"
            outputs = [_error_dict("CellTimeoutError", late)]
        cell.outputs = [_output(o) for o in outputs]
        cell.execution_count = None
        return cell, resources

    def _kernel_call(self, request: str, left: float, index: int) -> dict:
        """Run one bridge request in the student's kernel (for the verifier)."""
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        if self._died_in is not None:
            return {"error": "the submission's kernel is not running any more"}
        folder = os.path.join(self._bridge, "to_kernel")
        if os.path.dirname(request) != folder or not re.fullmatch(r"[\w.-]+", Path(request).name):
            return {"error": f"the grader refused a request outside the bridge: {request!r}"}
        if left <= 0:
            return {"error": f"CellTimeoutError: the test ran longer than {self.timeout} s"}
        call = nbformat.v4.new_code_cell(
            f"__import__('{BRIDGE_MODULE}', fromlist=['serve']).serve({request!r})"
        )
        saved, cell = self.timeout, self.nb.cells[index]
        self.timeout = max(1, math.ceil(left))
        try:
            self.execute_cell(call, index, store_history=False)
        except (DeadKernelError, CellTimeoutError) as exc:
            self._died_in = index
            return {"error": self._stopped(exc)}
        finally:
            # nbclient stores the cell it ran in the notebook, at the index it was given.
            self.timeout, self.nb.cells[index] = saved, cell
        stdout = "".join(
            o.text for o in call.outputs if o.output_type == "stream" and o.name == "stdout"
        )
        errors = [o for o in call.outputs if o.output_type == "error"]
        return {"stdout": stdout, "error": last_error_line(errors[-1]) if errors else None}

    def output(self, outs, msg, display_id, cell_index):
        size = _content_size(msg.get("content", {}))
        limit = self.max_output_mb * 1024 * 1024
        if self._output_bytes + size > limit and msg["msg_type"] != "error":
            if cell_index not in self._cut_cells:
                self._cut_cells.add(cell_index)
                outs.append(
                    nbformat.v4.new_output(
                        "stream",
                        name="stdout",
                        text=f"\n[cnnkit: output cut here: the notebook printed more than "
                        f"{self.max_output_mb} MB; the rest was dropped]\n",
                    )
                )
            return None
        self._output_bytes += size
        return super().output(outs, msg, display_id, cell_index)


_ROOM_REVIVALS = 3  # new rooms in place of dead ones, per rule and notebook


def _rules_of(tests: list[str]) -> tuple[dict[str, tuple[str, str]], dict]:
    """The names the tests declare under a rule, with their rooms: (name -> (rule, room),
    room -> rule). Read from the grader's copy of the tests, never from the submission."""
    from ...grading.rules import RULES, declared_rules

    bound: dict[str, tuple[str, str]] = {}
    rooms: dict = {}
    for source in tests:
        for name, names in declared_rules(source):
            rule = RULES.get(name)
            if rule is None:  # the test's own call says so, in words
                continue
            rooms[rule.room] = rule
            bound.update({n: (rule.name, rule.room) for n in names})
    return bound, rooms


def _error(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _stopped(exc: Exception) -> str:
    """Why the kernel can run nothing more, for the cell where it happened."""
    if "IOPub" in str(exc):
        return (
            "the kernel stopped sending its output (did this cell break Python or IPython "
            "itself, e.g. by replacing a builtin?); the cells after it were not run"
        )
    return (
        "the kernel died while running this cell (os._exit, a signal, or the memory "
        "limit); the cells after it were not run"
    )


def _error_dict(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": [f"{ename}: {evalue}"]}  # fmt: skip


def _output(data: dict) -> NotebookNode:
    """A verifier's output as an nbformat output, with only the fields nbformat knows."""
    kind = data.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=str(data["name"]), text=str(data["text"]))
    if kind == "error":
        return nbformat.v4.new_output(
            "error", ename=str(data["ename"]), evalue=str(data["evalue"]),
            traceback=[str(line) for line in data["traceback"]],
        )  # fmt: skip
    raise ValueError(f"unexpected output from the verifier: {kind!r}")


def _is_test(cell) -> bool:
    """A graded test cell (autograder tests), as opposed to an answer cell."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _content_size(content: dict) -> int:
    if "text" in content:
        return len(content["text"])
    data = content.get("data") or {}
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values())
