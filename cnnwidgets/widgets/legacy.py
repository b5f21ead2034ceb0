"""The lectures' code that Keras 3 no longer runs, shown as a table beside what replaces it."""

from __future__ import annotations

import html

import ipywidgets as W

from ..core.keras3 import lecture_code

__all__ = ["keras3_table"]

_WHAT = {
    "ImportError": "ImportError: the module or name is gone",
    "ValueError": "ValueError",
    "UserWarning": "runs, with a warning",
}


def _code(text: str) -> str:
    return (
        "<pre style='margin:0;font-size:12px;white-space:pre-wrap;background:#f7f7f7;"
        f"padding:4px'>{html.escape(text)}</pre>"
    )


def keras3_table(lesson: str | None = None) -> W.HTML:
    """A table of the lecture constructs a lesson (``"04"``) meets: old code, what Keras 3
    does with it, and the code to write instead. Every row is run by the kit's tests.

    Examples
    --------
    >>> "np_utils" in keras3_table("04").value
    True
    """
    rows = []
    for entry in lecture_code(lesson):
        rows.append(
            "<tr style='vertical-align:top;border-top:1px solid #d1d5db'>"
            f"<td style='padding:4px;max-width:300px'>{_code(entry.old)}"
            f"<div style='font-size:11px;color:#57606a'>{html.escape(entry.source)}</div></td>"
            f"<td style='padding:4px'>{html.escape(_WHAT.get(entry.fails_with, entry.fails_with))}"
            "</td>"
            f"<td style='padding:4px;max-width:320px'>{_code(entry.new)}"
            f"<div style='font-size:12px'>{html.escape(entry.note)}</div></td></tr>"
        )
    head = "".join(
        f"<th style='text-align:left;padding:4px'>{h}</th>"
        for h in ("In the lecture", "In Keras 3", "Write instead")
    )
    return W.HTML(
        "<table style='border-collapse:collapse;font-size:13px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
