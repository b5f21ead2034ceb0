"""Validate in JupyterLab that says "not answered yet" for a task, not its tests' tracebacks.

nbgrader's Validate button runs the notebook and lists every test cell that failed with
its traceback. On an exercise a learner has not started, that is a wall of ``NameError``
and ``NotImplementedError``. This server extension answers Validate's requests instead of
nbgrader's own (the kit's Lab settings swap them, see jupyter/lab/): nbgrader's validator
runs as before, then each task whose answer cell still says ``raise NotImplementedError()``
is reported once, in words, in place of the failures of the tests that wait on it. Any
other failure is reported as nbgrader reports it.
"""

from __future__ import annotations

import html
import re
import textwrap

# nbgrader's stub for a solution region (ClearSolutions.code_stub).
STUB = "raise NotImplementedError()"
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_task(cell) -> bool:
    md = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(md.get("solution")) and not md.get("grade")


def _is_test(cell) -> bool:
    return bool(_nbgrader(cell).get("grade")) and cell.get("cell_type") == "code"


def is_unanswered(cell) -> bool:
    """Whether an answer cell still holds nbgrader's stub line ``raise NotImplementedError()``."""
    return any(line.strip() == STUB for line in str(cell.get("source", "")).splitlines())


def _title(cells: list, index: int) -> str:
    """The heading a task sits under, as the learner reads it (``1. One output value by hand``)."""
    for cell in reversed(cells[:index]):
        if cell.get("cell_type") != "markdown":
            continue
        for line in str(cell.get("source", "")).splitlines():
            match = _HEADING.match(line)
            if match:
                return re.sub(r"[`*_]", "", match.group(1)).strip()
    return ""


def waiting_tests(nb) -> dict[int, list[int]]:
    """For each unanswered task (answer cell index), the test cells that wait on it.

    A test waits on the answer cells between the previous test and itself: exercises put
    each task's answer cell, or a few of them, right above the tests that check them.
    """
    cells = nb["cells"]
    waiting: dict[int, list[int]] = {}
    group: list[int] = []
    after_test = False
    for i, cell in enumerate(cells):
        if _is_task(cell):
            if after_test:
                group, after_test = [], False
            group.append(i)
        elif _is_test(cell):
            after_test = True
            for task in group:
                if is_unanswered(cells[task]):
                    waiting.setdefault(task, []).append(i)
    return waiting


def _message(nb, task: int, tests: int) -> str:
    cells = nb["cells"]
    name = _nbgrader(cells[task]).get("grade_id", "")
    title = _title(cells, task)
    what = f"“{title}” ({name})" if title and name else f"“{title or name}”"
    waits = "1 test waits" if tests == 1 else f"{tests} tests wait"
    text = (
        f"Not answered yet: {what}. This answer cell still says {STUB}: put your answer "
        f"in its place, run the cell, then Validate again. {waits} on it."
    )
    # Validate shows it in a <pre>: lines short enough for its dialog
    return textwrap.fill(text, width=76, break_long_words=False, break_on_hyphens=False)


def regroup(nb, failed: list[dict]) -> list[dict]:
    """nbgrader's list of failed cells, with the tests of each unanswered task replaced by
    one entry for the task (its answer cell and a sentence), in notebook order.

    ``failed`` holds nbgrader's entries (``source``, ``error``, ``raw_error``); each is
    matched to its cell by source, as nbgrader strips it.
    """
    cells = nb["cells"]
    by_source: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        if _is_test(cell):
            by_source.setdefault(str(cell.get("source", "")).strip(), []).append(i)
    waiting = waiting_tests(nb)
    blocked_by = {test: task for task, tests in waiting.items() for test in tests}
    entries: list[tuple[int, dict]] = []
    failed_of: dict[int, int] = {}
    for entry in failed:
        spots = by_source.get(str(entry.get("source", "")).strip())
        index = spots.pop(0) if spots else None
        if index is not None and index in blocked_by:
            task = blocked_by[index]
            failed_of[task] = failed_of.get(task, 0) + 1
            continue
        entries.append((len(cells) if index is None else index, entry))
    for task, count in failed_of.items():
        text = _message(nb, task, count)
        entries.append(
            (
                task,
                {
                    "source": str(cells[task].get("source", "")).strip(),
                    "error": html.escape(text),
                    "raw_error": text,
                    "not_answered": _nbgrader(cells[task]).get("grade_id"),
                },
            )
        )
    entries.sort(key=lambda pair: pair[0])
    return [entry for _, entry in entries]


# ---- the server extension ------------------------------------------------------------------


def _jupyter_server_extension_points():
    return [{"module": "cnnwidgets.lab.validate"}]


def _handlers():
    from pathlib import Path

    import nbformat
    from nbgrader.server_extensions.validate_assignment.handlers import (
        NbGraderVersionHandler,
        ValidateAssignmentHandler,
    )

    class ValidateHandler(ValidateAssignmentHandler):
        """nbgrader's handler, its failures regrouped by task."""

        def validate_notebook(self, path):
            reply = super().validate_notebook(path)
            value = reply.get("value")
            if reply.get("success") and isinstance(value, dict) and value.get("failed"):
                # super() refused a path outside the root, so this one is inside it
                nb = nbformat.read(Path(self.root_dir).resolve() / path, as_version=4)
                value["failed"] = regroup(nb, value["failed"])
            return reply

    return [
        (r"/assignments/validate", ValidateHandler),
        (r"/nbgrader_version", NbGraderVersionHandler),
    ]


def _load_jupyter_server_extension(serverapp):
    from jupyter_server.utils import url_path_join

    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.settings["root_dir"] = serverapp.root_dir  # as nbgrader's extension does
    serverapp.web_app.add_handlers(
        ".*$", [(url_path_join(base, route), handler) for route, handler in _handlers()]
    )
    serverapp.log.info("cnnwidgets.lab.validate: Validate reports unanswered tasks in words")
