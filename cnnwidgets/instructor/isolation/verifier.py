"""The verifier: graded test cells run here, in a fresh process, never in the student's kernel.

``python -I -m cnnwidgets.instructor.isolation.verifier [--preload-keras] BRIDGE`` runs next to a
student's kernel while nbgrader executes the submission (see
:class:`cnnwidgets.instructor.autograde.execute.VerifiedExecute`). For each graded
test cell the grader sends the cell's source (as the gradebook holds it); the
verifier executes it with pristine modules in a namespace of its own, where a
name the test does not define itself is asked of the student's kernel through
:mod:`cnnwidgets.instructor.isolation.bridge` and arrives as data, or as a stand-in that
runs the student's function in the student's kernel. Whatever the submission
did to its own kernel (a redefined checker, a patched ``numpy``, an input
transformer, an object whose ``__eq__`` always agrees) cannot reach the test.

Protocol: JSON lines. The grader writes ``{"op": "run", "name", "source"}``
and ``{"op": "reply", "stdout", "error"}``; the verifier writes ``{"op": "ready"}``
once it has started (so a verifier that dies before it says it *could not start*),
``{"op": "kernel", "request": PATH}`` (run :func:`bridge.serve` on PATH in the
student's kernel, then reply) and ``{"op": "done", "outputs": [...]}`` with
the cell's nbformat outputs.

Names under a task's rule (:mod:`cnnwidgets.grading.rules`) are never asked of
the kernel: the ``run`` message lists them with their room, a Python where
only what the rule allows exists (:mod:`cnnwidgets.grading.room`), and the
verifier asks that room instead, with ``{"op": "room", "room", "request"}``
(serve a name or a call there) and ``{"op": "room_check", "room", "names",
"example"}`` (the room's report on them).
"""

from __future__ import annotations

import builtins
import io
import json
import linecache
import os
import re
import selectors
import subprocess
import sys
import time
import traceback
import zlib
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from .bridge import BridgeError, Unsupported, _read_file, decode, encode

__all__ = ["KernelCallError", "Verifier", "main"]


class KernelCallError(RuntimeError):
    """The student's kernel did not answer (it died, timed out, or broke the bridge)."""


class Channel:
    """The verifier's line to the grader and, through it, to the student's kernel and rooms."""

    def __init__(self, inp, out, bridge: Path, rooms: dict[str, Path] | None = None):
        self.inp, self.out = inp, out
        self.to_kernel = bridge / "to_kernel"
        self.from_kernel = bridge / "from_kernel"
        self.rooms = dict(rooms or {})  # room key -> its bridge folder
        self.bound: dict[str, tuple[str, str]] = {}  # name -> (rule, room): asked of the room
        self.requests = 0
        self.calls = 0
        # Models that came from the kernel: id -> (model, handle, fingerprint on arrival).
        self.models: dict[int, tuple[Any, int, str]] = {}
        # What came from the kernel never goes to a room (the kernel could hand it the very
        # library the rule keeps out, as text): the objects, kept alive so ids stay theirs.
        self._from_kernel: dict[int, object] = {}
        self.attempts: list[dict] = []  # forbidden imports a room's code tried, this cell

    def remember(self, model: Any, handle: int) -> None:
        from .bridge import fingerprint

        self.models[id(model)] = (model, handle, fingerprint(model))

    def known(self, value: Any) -> int | None:
        """The kernel's handle for ``value`` if it is the kernel's model, unchanged here."""
        from .bridge import fingerprint

        entry = self.models.get(id(value))
        if entry is None or entry[0] is not value:
            return None
        return entry[1] if fingerprint(value) == entry[2] else None

    def send(self, message: dict) -> None:
        self.out.write(json.dumps(message) + "\n")
        self.out.flush()

    def receive(self) -> dict:
        line = self.inp.readline()
        if not line:
            raise SystemExit(0)  # the grader is gone
        return json.loads(line)

    def folders(self, room: str | None) -> tuple[Path, Path]:
        """(where requests go, where answers come from) for the kernel or a room."""
        if room is None:
            return self.to_kernel, self.from_kernel
        return self.rooms[room] / "to_room", self.rooms[room] / "from_room"

    def ask(self, request: dict, room: str | None = None) -> dict:
        """Run one bridge request in the student's kernel (or ``room``); its answer (a dict)."""
        stem = request["stem"]
        inbox, outbox = self.folders(room)
        path = inbox / f"{stem}.json"
        path.write_text(json.dumps({**request, "reply_dir": str(outbox)}))
        if room is None:
            self.send({"op": "kernel", "request": str(path)})
        else:
            self.send({"op": "room", "room": room, "request": str(path)})
        reply = self.receive()
        if reply.get("stdout"):
            sys.stdout.write(reply["stdout"])  # the test cell's output, in order
        if room is not None and isinstance(reply.get("imports"), list):
            self.attempts += [i for i in reply["imports"] if isinstance(i, dict)]
        if reply.get("error"):
            raise KernelCallError(reply["error"])
        where = "the student's kernel" if room is None else "the rule's Python"
        try:
            answer = json.loads(_read_file(outbox, f"{stem}.json"))
        except (BridgeError, ValueError) as exc:
            raise BridgeError(f"{where} gave no readable answer ({exc})") from None
        if not isinstance(answer, dict):
            raise BridgeError(f"{where} gave an answer that is not one")
        return answer

    def next_stem(self) -> str:
        self.requests += 1
        return f"r{self.requests}"

    def fetch(self, name: str) -> Any:
        """The student's ``name`` as data; ``KeyError`` if it has no such name.

        A name under a rule comes from the rule's room, never from the kernel.
        """
        rule, room = self.bound.get(name, (None, None))
        answer = self.ask({"op": "get", "name": name, "stem": self.next_stem()}, room)
        if answer.get("missing") is True:
            if rule is not None:
                self.explain_missing(rule, name)
            raise KeyError(name)
        _refuse_the_kits_own(name, answer.get("value"))
        return self.value(answer, f"`{name}`", room, rule, name)

    def value(
        self, answer: dict, what: str, room: str | None = None, rule: str | None = None,
        name: str | None = None,
    ) -> Any:  # fmt: skip
        if "raised" in answer:
            exc = _student_exception(answer["raised"], what)
            if rule is not None:
                self.explain_raised(rule, name or what, answer["raised"])
            raise exc
        if "unsupported" in answer:
            raise TypeError(f"the grader cannot read {what}: {answer['unsupported']}")
        if "value" not in answer:
            raise BridgeError(f"the student's code gave no value for {what}")
        _, outbox = self.folders(room)
        if room is not None:  # data and the answer's own functions: no library by name
            return decode(answer["value"], outbox, imports=False,
                          call=lambda h, n: StudentFunction(self, h, n, room, rule))  # fmt: skip
        value = decode(answer["value"], outbox, call=self.function, on_model=self.remember)
        self._keep_from_kernel(value)
        return value

    def function(self, handle: int, name: str) -> StudentFunction:
        return StudentFunction(self, handle, name)

    # --- rooms -----------------------------------------------------------------------------

    def _keep_from_kernel(self, value: Any, depth: int = 0) -> None:
        if depth > 8 or len(self._from_kernel) > 100_000:
            return
        if isinstance(value, (list, tuple, set, frozenset, dict, bytes, bytearray)) or (
            isinstance(value, str) and len(value) > 64
        ) or type(value).__module__.split(".")[0] == "numpy":  # fmt: skip
            self._from_kernel[id(value)] = value
        if isinstance(value, dict):
            for item in (*value.keys(), *value.values()):
                self._keep_from_kernel(item, depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                self._keep_from_kernel(item, depth + 1)

    def refuse_for_room(self, value: Any) -> str | None:
        if id(value) in self._from_kernel and self._from_kernel[id(value)] is value:
            return "a value from the student's kernel cannot be handed to an answer under a rule"
        return None

    def room_check(self, rule, names, example) -> dict:
        """The room's report on ``names`` (:func:`cnnwidgets.grading.rules.assert_follows_rule`)."""
        if rule.room not in self.rooms:
            return {"dead": f"the grader has no Python for the rule {rule.name!r} here"}
        self.send({"op": "room_check", "room": rule.room, "names": [str(n) for n in names],
                   "example": example})  # fmt: skip
        reply = self.receive()
        if reply.get("error"):
            return {"dead": str(reply["error"])[:500]}
        report = reply.get("report")
        return report if isinstance(report, dict) else {"dead": "no report from the rule's Python"}

    def _rule(self, rule: str):
        from ...grading.rules import RULES

        return RULES[rule]

    def explain_missing(self, rule: str, name: str) -> None:
        """Raise :class:`RuleViolation` if ``name`` is missing because of the rule."""
        from ...grading.rules import RuleViolation, rule_violation

        spec = self._rule(rule)
        problem = rule_violation(spec, [name], self.room_check(spec, [name], None))
        if problem is not None:
            raise RuleViolation(problem)

    def explain_raised(self, rule: str, name: str, raised: Any) -> None:
        """Raise :class:`RuleViolation` if what the answer raised comes from the rule."""
        from ...grading.rules import RuleViolation, cell_name, explain

        if not isinstance(raised, dict):
            return
        kind, message = str(raised.get("type", "")), str(raised.get("message", ""))
        error: dict[str, Any] = {"type": kind, "message": message}
        quoted = re.search(r"'([\w.]+)'", message)
        if kind in ("ModuleNotFoundError", "ImportError") and quoted:
            error["module"] = quoted.group(1)
        elif kind in ("NameError", "AttributeError") and quoted:
            names = re.findall(r"'([\w.]+)'", message)
            error["name"] = names[-1]  # "module 'numpy' has no attribute 'conv'": the last
        else:
            return
        trace = str(raised.get("traceback") or "")
        lines = re.findall(r'File "<cell ([^>]*)>", line (\d+)[^\n]*\n\s*(.*)', trace)
        where = "the call"
        if lines:
            cell, number, text = lines[-1]
            where = f"the call, at {cell_name(cell)}, line {number} (`{text.strip()}`)"
        spec = self._rule(rule)
        cells = self.room_check(spec, [], None).get("cells") or []
        problem = explain(spec, name, error, where, [c for c in cells if isinstance(c, dict)])
        if problem is not None:
            raise RuleViolation(problem)

    def seed(self) -> int:
        """A seed for the student's code that follows this process's random state.

        A test that seeds its generators (``keras.utils.set_random_seed``) before
        calling the student's ``build_model`` gets the same model weights on every
        run; the state is read, not drawn from, so the test's own draws stay as they were.
        """
        import random

        self.calls += 1
        state = repr(random.getstate()).encode() + str(self.calls).encode()
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            state += numpy.random.get_state()[1].tobytes()
        return zlib.crc32(state)


class StudentFunction:
    """Stands for a function of the submission: calling it runs it in the student's kernel
    (or, for an answer under a rule, in the rule's room)."""

    def __init__(
        self, channel: Channel, handle: int, name: str, room: str | None = None,
        rule: str | None = None,
    ):  # fmt: skip
        self._channel, self._handle, self.__name__ = channel, handle, name
        self._room, self._rule = room, rule
        self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        channel = self._channel
        stem = channel.next_stem()
        inbox, _ = channel.folders(self._room)
        if self._room is None:
            options: dict[str, Any] = {"known": channel.known}
        else:
            options = {"refuse": channel.refuse_for_room}
        try:
            sent_args = encode(list(args), inbox, f"{stem}-a", **options)
            sent_kwargs = encode(kwargs, inbox, f"{stem}-k", **options)
        except Unsupported as exc:
            raise TypeError(f"cannot pass this to {self.__name__}(): {exc}") from None
        answer = channel.ask(
            {
                "op": "call",
                "handle": self._handle,
                "args": sent_args,
                "kwargs": sent_kwargs,
                "seed": channel.seed(),
                "stem": stem,
            },
            self._room,
        )
        return channel.value(
            answer, f"what {self.__name__}() returned", self._room, self._rule, self.__name__
        )

    def __repr__(self) -> str:
        where = "its kernel" if self._room is None else "the rule's Python"
        return f"<function {self.__name__} (the submission's, run in {where})>"


def _refuse_the_kits_own(name: str, node: Any) -> None:
    """A test reads the student's answers: one that is the kit's own function is not one.

    (Tests read only answers from the kernel; the kit's functions they need they import.)
    """
    if (isinstance(node, list) and len(node) == 3 and node[0] == "import"
            and isinstance(node[1], str) and node[1].split(".")[0] == "cnnwidgets"):  # fmt: skip
        raise AssertionError(
            f"{name} is the kit's own {node[1]}.{node[2]}, not an answer: write {name} "
            "yourself (the kit's functions are there to learn from and to check with)"
        )


def _student_exception(raised: Any, what: str) -> Exception:
    """The exception the student's code raised, rebuilt from its report (as data)."""
    if not isinstance(raised, dict):
        return BridgeError(f"a damaged report of an error in {what}")
    name, message = str(raised.get("type", "Exception")), str(raised.get("message", ""))
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and kind is not StopIteration:
        try:
            exc = kind(message)
        except Exception:
            exc = RuntimeError(f"{name}: {message}")
    else:
        exc = RuntimeError(f"{name}: {message}")
    trace = raised.get("traceback")
    if isinstance(trace, str) and trace:
        exc.add_note(f"raised in the submission's code ({what}):\n{trace.rstrip()}")
    return exc


class StudentNamespace(dict):
    """A test cell's globals: its own names, then builtins, then the student's (fetched)."""

    def __init__(self, channel: Channel):
        super().__init__(__name__="__main__", __builtins__=builtins)
        self._channel = channel
        self._absent: set[str] = set()

    def _fetch(self, name: object) -> Any:
        if not isinstance(name, str) or name.startswith("__") or hasattr(builtins, name):
            raise KeyError(name)
        if name in self._absent:
            raise KeyError(name)
        try:
            value = self._channel.fetch(name)
        except KeyError:
            self._absent.add(name)
            raise
        dict.__setitem__(self, name, value)
        return value

    def __missing__(self, name):
        return self._fetch(name)

    def __contains__(self, name) -> bool:
        if dict.__contains__(self, name):
            return True
        try:
            self._fetch(name)
        except KeyError:
            return False
        return True

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default


_PLUMBING = re.compile(r'  File ".*[/\\]cnnwidgets[/\\]instructor[/\\](verifier|bridge)\.py"')


def run_cell(channel: Channel, name: str, source: str) -> list[dict]:
    """Execute one test cell; its outputs as nbformat dicts."""
    out, err = io.StringIO(), io.StringIO()
    filename = f"<test {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = StudentNamespace(channel)
    channel.attempts = []
    error = None
    with redirect_stdout(out), redirect_stderr(err):
        try:
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (the test's code)
        except BaseException as exc:  # noqa: BLE001  (a test's failure is its verdict)
            error = exc
    outputs = []
    for stream, buffer in (("stdout", out), ("stderr", err)):
        if buffer.getvalue():
            outputs.append({"output_type": "stream", "name": stream, "text": buffer.getvalue()})
    if error is not None:
        frames = traceback.format_exception(type(error), error, error.__traceback__.tb_next)
        # The test's lines and the submission's, not the grader's plumbing between them.
        lines = ["Traceback (most recent call last):"] + [
            f.rstrip("\n")
            for f in frames
            if not f.startswith("Traceback") and not _PLUMBING.match(f)
        ]
        evalue = str(error) + _attempted(channel, error)
        outputs.append(
            {
                "output_type": "error",
                "ename": type(error).__name__,
                "evalue": evalue,
                "traceback": lines,
            }
        )
    return outputs


def _attempted(channel: Channel, error: BaseException) -> str:
    """A note on the libraries an answer under a rule reached for (and did not find)."""
    from ...grading.rules import RuleViolation

    tried = sorted({str(a.get("module")) for a in channel.attempts if a.get("module")})
    if not tried or isinstance(error, RuleViolation):
        return ""
    return (
        f" (note: the answer tried to import {', '.join(tried)}, which this task's rule does "
        "not allow: the grader runs it in a Python without it)"
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    preload = "--preload-keras" in argv
    rooms = dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "--room")
    skip = {i + 1 for i, arg in enumerate(argv) if arg == "--room"}
    bridge = Path([a for i, a in enumerate(argv) if not a.startswith("--") and i not in skip][0])
    # The protocol keeps fd 1 for itself; libraries' own writes to fd 1 go to stderr (the log).
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    from .environment import prepare_grading_kernel

    prepare_grading_kernel()  # what a grading kernel gets: quiet frameworks, the grading flag
    import numpy  # noqa: F401  (every test uses it; loaded before the first one)

    preload_thread = None
    if preload:  # while the student's first cells run
        import threading

        from ...keras_helpers import quiet_keras

        preload_thread = threading.Thread(target=quiet_keras, name="preload", daemon=True)
        preload_thread.start()

    channel = Channel(sys.stdin, out, bridge, {k: Path(v) for k, v in rooms.items()})
    from ...grading import hidden, rules

    rules._grader_check = channel.room_check  # the tests' rule checks ask the grading room
    # The course's secret (autograde.secret): hidden tests' random inputs come from it. It
    # comes as the first line on stdin, never on a command line (any user can list those).
    secret = json.loads(sys.stdin.readline()) if "--course-secret" in argv else None
    hidden._use_course_secret(secret if isinstance(secret, str) and secret else None)
    channel.send({"op": "ready"})
    while True:
        message = channel.receive()
        if preload_thread is not None:
            # Done before any test runs: an import in another thread could print its
            # warnings into the test's stderr, or undo the test's warning filters.
            preload_thread.join()
            preload_thread = None
        if message.get("op") == "run":
            bound = message.get("bound") or {}
            channel.bound = {str(k): (str(v[0]), str(v[1])) for k, v in bound.items()}
            outputs = run_cell(channel, str(message["name"]), str(message["source"]))
            channel.send({"op": "done", "outputs": outputs})


# --- the grader's side -------------------------------------------------------------------


class VerifierDied(RuntimeError):
    """The verifier process ended on its own: the message says how, with the end of its log.

    ``starting``: it ended before it said it was ready (it could not start).
    """

    def __init__(self, message: str, starting: bool = False) -> None:
        super().__init__(message)
        self.starting = starting


# Which process a message about the verifier speaks of, for the student and the instructor.
VERIFIER = (
    "the verifier (the grader's process that runs the graded tests, "
    "cnnwidgets.instructor.isolation.verifier)"
)


class Verifier:
    """Runs and talks to one verifier process for one notebook."""

    def __init__(
        self, command: list[str], env: dict[str, str], cwd: str, log: Path,
        secret: str | None = None,
    ):  # fmt: skip
        """``secret``: the course's, handed over first on stdin (``command`` must then hold
        ``--course-secret``)."""
        self.log = log
        self._log_start = log.stat().st_size if log.exists() else 0
        self.ready = False  # it said it has started (its first message)
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                env=env, cwd=cwd,
            )  # fmt: skip
        self._buffer = b""
        if secret is not None:
            try:
                self._write(json.dumps(secret))
            except OSError:  # it died already: the first run() says how
                pass

    def _write(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def _send(self, message: dict) -> None:
        try:
            self._write(json.dumps(message))
        except OSError:  # a broken pipe: the verifier is gone, say why
            raise self._died() from None

    def _died(self) -> VerifierDied:
        """What ended the verifier, in words (once it has exited, so its log is complete)."""
        from ...processes import failure, log_since

        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # its output closed, yet it runs on: stop it
            self.kill()
        if not self.ready:
            what = "could not start"
        elif self.proc.returncode == -9:
            what = "stopped while running this test (a model too big for the memory limit?)"
        else:
            what = "stopped while running this test"
        output = log_since(self.log, self._log_start)
        return VerifierDied(
            failure(VERIFIER, what, self.proc.returncode, output), starting=not self.ready
        )

    def _receive(self, deadline: float) -> dict | None:
        """The next message, or ``None`` once ``deadline`` (monotonic) has passed."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise self._died()
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def run(
        self,
        name: str,
        source: str,
        timeout: float,
        kernel_call: Callable[[str, float], dict],
        room_call: Callable[[dict, float], dict] | None = None,
        bound: dict[str, tuple[str, str]] | None = None,
    ) -> list[dict] | None:
        """The outputs of test cell ``name``; ``None`` if it ran past ``timeout`` seconds.

        ``kernel_call(request_path, seconds_left)`` runs a bridge request in the
        student's kernel and returns ``{"stdout": ..., "error": ...}``;
        ``room_call(message, seconds_left)`` answers a ``room`` or ``room_check``
        message. ``bound``: name -> (rule, room) of the names under a rule.
        """
        deadline = time.monotonic() + timeout
        self._send({"op": "run", "name": name, "source": source, "bound": bound or {}})
        while True:
            message = self._receive(deadline)
            if message is None:
                return None
            op = message.get("op")
            left = deadline - time.monotonic()
            if op == "ready":
                self.ready = True
            elif op == "kernel":
                self._send({"op": "reply", **kernel_call(str(message["request"]), left)})
            elif op in ("room", "room_check"):
                if room_call is None:
                    reply = {"error": "the grader runs no rule's Python here"}
                else:
                    reply = room_call(message, left)
                self._send({"op": "reply", **reply})
            elif op == "done":
                return list(message["outputs"])

    def kill(self) -> None:
        """Stop it now (a test past its time: it may never read its input again)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


if __name__ == "__main__":
    main()
