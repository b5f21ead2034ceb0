"""nbgrader preprocessors of the kit: drop framework noise, replay outputs, hide hidden tests."""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Dict, Integer, Unicode

from .quiet import strip_noise

__all__ = ["FilterFrameworkNoise", "HideHiddenTests", "LimitedExecute", "ReplayOutputs"]


class LimitedExecute(Execute):
    """nbgrader's ``Execute`` with a cap on the output a notebook may produce.

    A submission that prints gigabytes would otherwise pile them up in the
    grading process's memory and in the autograded notebook. Past
    ``max_output_mb`` of output (text and display data, counted over the whole
    notebook) further outputs are dropped and the cell that crossed the limit
    says so on stdout; stdout, so that the cut itself never fails a test cell.
    """

    max_output_mb = Integer(
        16, help="Megabytes of output a notebook may produce before the rest is dropped."
    ).tag(config=True)

    verify_tests = Bool(
        True,
        help="Run graded test cells in the verifier, a fresh process that asks the student's "
        "kernel for data only (cnnwidgets.instructor.verifier), instead of in that kernel.",
    ).tag(config=True)

    cell_notes = Dict(
        help="Grade id -> a note shown first in that cell's output (what the student did to "
        "a locked cell, found at intake)."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._output_bytes = 0
        self._cut_cells: set[int] = set()
        self._died_in: int | None = None
        self._verifier = None
        self._own_dirs: list[str] = []
        self._rooms: dict = {}
        self._room_bridges: dict[str, str] = {}
        tests = [c.source for c in nb.cells if _is_test(c) and c.source.strip()]
        self._bound, self._room_rules = _rules_of(tests) if self.verify_tests else ({}, {})
        self._verify_from = next(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None
        ) if self.verify_tests and tests else None  # fmt: skip
        # Tests that use Keras: the verifier imports it while the student's cells run.
        self._preload = any("keras" in source or "model" in source for source in tests)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._verifier is not None:
                self._verifier.close()
            for room in self._rooms.values():
                room.close()
            for folder in self._own_dirs:
                shutil.rmtree(folder, ignore_errors=True)

    def preprocess_cell(self, cell, resources, index):
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
        if self._died_in is not None:
            cell.outputs = [
                _error("KernelDied", f"not run: the kernel stopped in cell {self._died_in}")
            ]
            return cell, resources
        if index == self._verify_from and self._verifier is None:
            self._verifier = self._start_verifier()  # started early: its imports overlap
        if self.verify_tests and _is_test(cell) and cell.source.strip():
            return self._verify(cell, resources, index)
        for room in self._rooms.values():  # the same cell, at the same time, under the rule
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            room.run_cell(grade_id or f"cell {index + 1}", cell.source, self.timeout or 120)
        try:
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            self._died_in = index
            cell.outputs.append(_error("KernelDied", _stopped(exc)))
            return cell, resources

    # --- graded test cells, run by the verifier ----------------------------------------------

    def _start_verifier(self):
        from .sandbox import make_bridge
        from .verifier import Verifier

        argv = [sys.executable, "-I", "-m", "cnnwidgets.instructor.verifier"]
        if self._preload:
            argv.append("--preload-keras")
        for key, rule in self._room_rules.items():  # the rooms first: the verifier needs them
            self._rooms[key] = self._start_room(rule)
            argv += ["--room", f"{key}={self._room_bridges[key]}"]
        launch = getattr(self.km, "verifier_launch", None)
        if launch is not None:  # a sandboxed kernel: the verifier gets a sandbox of its own
            bridge = self.km.bridge_dir
            command, env, cwd = launch([*argv, bridge], shared=tuple(self._room_bridges.values()))
        else:
            bridge = make_bridge(None, None)
            self._own_dirs.append(bridge)
            command, cwd = [*argv, bridge], bridge
            env = _unconfined_env()
        self._bridge = bridge
        return Verifier(command, env, cwd, Path(bridge) / "verifier.log")

    def _start_room(self, rule):
        """A Python where only what ``rule`` allows exists, fed the notebook's cells."""
        import tempfile

        from ..grading import room
        from .sandbox import make_bridge

        launch = getattr(self.km, "room_launch", None)
        if launch is not None:  # in a sandbox of its own, next to the kernel's
            command, env, cwd, bridge = launch(rule.allowed)
        else:  # no sandbox (--unsafe): the rule is checked, but not walled in
            bridge = make_bridge(None, None, inbox="to_room", outbox="from_room")
            cwd = tempfile.mkdtemp(prefix="r-")
            self._own_dirs += [bridge, cwd]
            site = room.local_site(rule.allowed, Path(cwd) / "site")
            codec = str(Path(__file__).with_name("bridge.py"))
            command, env = room.command(rule.allowed, str(site), codec=codec), _unconfined_env()
        self._room_bridges[rule.room] = bridge
        return room.Room(command, env=env, cwd=cwd, log=Path(bridge) / "room.log")

    def _kernel_pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None) if provisioner is not None else None
        return pid if isinstance(pid, int) else None

    def _kernels_frozen(self):
        """The kernel stopped while its room answers a test: what the kernel computes can then
        never reach the room in time, whatever the channel (see ``sandbox.frozen``)."""
        from .sandbox import frozen

        own = self._kernel_pid()
        return frozen([own] if own else [])

    def _room_call(self, message: dict, left: float) -> dict:
        """Answer the verifier's ``room`` / ``room_check`` message from that room."""
        from ..grading.room import RoomDead

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
            return {"error": f"RuleRoomStopped: {exc}"}

    def _verify(self, cell, resources, index):
        """Run test ``cell`` in the verifier; its outputs replace the cell's."""
        from .verifier import VerifierDied

        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        if self._verifier is None:
            self._verifier = self._start_verifier()
        try:
            outputs = self._verifier.run(
                name, cell.source, self.timeout or 600,
                lambda request, left: self._kernel_call(request, left, index),
                self._room_call, self._bound,
            )  # fmt: skip
        except VerifierDied as exc:
            self._verifier = None
            outputs = [
                _error_dict(
                    "GraderError",
                    "the process running this test stopped (a model too big for the memory "
                    f"limit?): {exc}",
                )
            ]
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
            f"__import__('cnnwidgets.instructor.bridge', fromlist=['serve']).serve({request!r})"
        )
        saved, cell = self.timeout, self.nb.cells[index]
        self.timeout = max(1, math.ceil(left))
        try:
            self.execute_cell(call, index, store_history=False)
        except (DeadKernelError, CellTimeoutError) as exc:
            self._died_in = index
            return {"error": _stopped(exc)}
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


def _rules_of(tests: list[str]) -> tuple[dict[str, tuple[str, str]], dict]:
    """The names the tests declare under a rule, with their rooms: (name -> (rule, room),
    room -> rule). Read from the grader's copy of the tests, never from the submission."""
    from ..grading.rules import RULES, declared_rules

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


def _unconfined_env() -> dict[str, str]:
    from ..grading.training import GRADING_ENV
    from .quiet import KERNEL_ENV

    return {**os.environ, **KERNEL_ENV, GRADING_ENV: "1", "PYTHONHASHSEED": "0"}


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


class FilterFrameworkNoise(NbGraderPreprocessor):
    """Remove known TensorFlow/Keras/absl lines from stderr outputs after execution.

    nbgrader scores a test cell that wrote anything to stderr as failed
    (``nbgrader.utils.determine_grade``). nbgrader's own ``IgnorePattern`` drops
    a whole stderr output when a pattern matches anywhere in it; this one works
    line by line on all stderr output of a cell joined together (the kernel
    may split one warning over several messages), so noise goes and any other
    stderr text stays and still counts.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.get("outputs"):
            return cell, resources
        stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        if not stderr:
            return cell, resources
        kept = strip_noise("".join(o.text for o in stderr))
        outputs = []
        for out in cell.outputs:
            if out in stderr:
                # The first stderr output carries what is left, in its place.
                if out is stderr[0] and kept.strip():
                    out.text = kept
                    outputs.append(out)
                continue
            outputs.append(out)
        cell.outputs = outputs
        return cell, resources


class ReplayOutputs(NbGraderPreprocessor):
    """Stand-in for nbgrader's ``Execute``: copy outputs from an already executed notebook.

    ``cnnkit grade`` executes submissions in parallel worker processes, each in
    a private copy of the course with its own gradebook. It then records each
    result in the real gradebook with nbgrader's ordinary ``autograde``, run
    one student at a time, where this preprocessor takes the place of
    execution. Both runs sanitise the same submission against the same source
    cells, so the notebooks match cell for cell; a mismatch is an error, never
    a guess.
    """

    executed_directory = Unicode(
        "", help="Folder holding the executed notebooks, named like the submitted ones."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        name = resources["nbgrader"]["notebook"]
        path = Path(self.executed_directory) / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"No executed notebook {path} to take the outputs from.")
        executed = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if len(executed.cells) != len(nb.cells):
            raise ValueError(
                f"{name}: the executed notebook has {len(executed.cells)} cells, "
                f"the sanitised submission {len(nb.cells)}."
            )
        for index, (cell, done) in enumerate(zip(nb.cells, executed.cells, strict=True)):
            if cell.cell_type != done.cell_type or cell.source != done.source:
                raise ValueError(f"{name}: cell {index} differs from the executed notebook.")
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
        # nbclient records the kernel's language_info once the kernel is up.
        if "language_info" in executed.metadata:
            nb.metadata["language_info"] = executed.metadata["language_info"]
        return nb, resources


_TRACEBACK_HIDDEN = "(traceback hidden: it would show hidden test code)"


class HideHiddenTests(NbGraderPreprocessor):
    """Keep hidden tests hidden in feedback (nbgrader shows them by design, nbgrader#917).

    Removes the ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` regions
    from test cells and, for test cells that had such a region, shortens each
    error to its last line (``AssertionError: conv2d differs from Keras …``): a
    full traceback quotes the failing hidden line. The student still reads
    every message the tests wrote for them.
    """

    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("END HIDDEN TESTS").tag(config=True)

    def _strip(self, source: str) -> tuple[str, bool]:
        lines, inside, found = [], False, False
        for line in source.split("\n"):
            if self.begin in line:
                inside = found = True
            elif self.end in line:
                inside = False
            elif not inside:
                lines.append(line)
        return "\n".join(lines), found

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        cell.source, had_hidden = self._strip(cell.source)
        if had_hidden:
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    out.traceback = [f"{out.ename}: {out.evalue}", _TRACEBACK_HIDDEN]
        return cell, resources


def last_error_line(output: NotebookNode) -> str:
    """The message of an error output: ``ename: evalue``, ANSI colours removed."""
    text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip()
