"""Plain-text tables for the terminal, columns padded to their widest cell."""

from __future__ import annotations

__all__ = ["table"]


def table(head: list[str], rows: list[list[str]]) -> str:
    """Format ``rows`` under ``head`` with two spaces between columns.

    Examples
    --------
    >>> print(table(["a", "bb"], [["xyz", "1"]]))
    a    bb
    ---  --
    xyz  1
    """
    cells = [[str(c) for c in head]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])
