"""How one of the grader's own processes ended, in words for a student's cell and the log.

The grader runs a submission across several processes (the student's kernel, the
verifier, a rule's Python: see the map in :mod:`cnnwidgets.instructor`). When one of
them cannot start or stops, the message names the process, says how it ended and
quotes the end of its own error output, instead of the broken pipe its parent met.
"""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

__all__ = ["ended", "failure", "last_lines", "log_since"]


def ended(returncode: int | None) -> str:
    """How a process ended, from its ``returncode`` (negative: the signal that killed it).

    Examples
    --------
    >>> ended(1), ended(-9), ended(None)
    ('it exited with status 1', 'it was killed by SIGKILL (signal 9)', 'it is still running')
    """
    if returncode is None:
        return "it is still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"it was killed by signal {-returncode}"
        return f"it was killed by {name} (signal {-returncode})"
    return f"it exited with status {returncode}"


def last_lines(text: str, lines: int = 8, width: int = 1500) -> str:
    """The last ``lines`` lines of ``text`` that say something, at most ``width`` characters.

    Examples
    --------
    >>> last_lines("Traceback:\\n  x\\n\\nImportError: no\\n", lines=2)
    '  x\\nImportError: no'
    """
    said = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(said[-lines:])[-width:]


def failure(process: str, what_happened: str, returncode: int | None, error_output: str) -> str:
    """One message: which ``process``, ``what_happened``, how it ended, its last error lines.

    The quoted lines start with ``|``, so a reader of the log (and ``cnnkit``'s summary of
    it) takes the message's own first line for the error, not a line it quotes.

    Examples
    --------
    >>> print(failure("the verifier", "could not start", 1, "Traceback:\\nImportError: no"))
    the verifier could not start: it exited with status 1. The last lines of its error output:
      | Traceback:
      | ImportError: no
    >>> failure("the verifier", "stopped", -9, "")
    'the verifier stopped: it was killed by SIGKILL (signal 9), with no error output.'
    """
    tail = last_lines(error_output)
    if not tail:
        return f"{process} {what_happened}: {ended(returncode)}, with no error output."
    return (
        f"{process} {what_happened}: {ended(returncode)}. The last lines of its error output:\n"
        + textwrap.indent(tail, "  | ", lambda line: True)
    )


def log_since(log: Path | None, start: int, most: int = 1 << 16) -> str:
    """What a process wrote to its ``log`` (its stderr) from byte ``start`` on: the last
    ``most`` bytes of it, as text ("" if there is no such file)."""
    if log is None:
        return ""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(start, fh.seek(0, os.SEEK_END) - most))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""
