"""Feedback pages for graded submissions (nbgrader's generate_feedback), hidden tests hidden."""

from __future__ import annotations

from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..course import Course, check

__all__ = ["HideHiddenTests", "feedback", "feedback_steps"]


def feedback(course: Course, assignment: str, student: str | None = None) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/*.html`` for every autograded submission.

    Hidden tests stay hidden: ``nbgrader_config.py`` puts :class:`HideHiddenTests`
    in the feedback steps (:func:`feedback_steps`). Returns the pages written.
    """
    check(
        course.api().generate_feedback(assignment, student_id=student, force=True),
        f"nbgrader generate_feedback {assignment}",
    )
    pattern = f"{student or '*'}/{assignment}/*.html"
    return sorted(course.feedback_dir.glob(pattern))


def feedback_steps() -> list[type]:
    """nbgrader's feedback steps with :class:`HideHiddenTests` after the grades are read."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    return [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]


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
