"""Feedback pages for graded submissions, with nbgrader's generate_feedback."""

from __future__ import annotations

from pathlib import Path

from .course import Course, check

__all__ = ["feedback"]


def feedback(course: Course, assignment: str, student: str | None = None) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/*.html`` for every autograded submission.

    Hidden tests stay hidden: ``nbgrader_config.py`` adds
    :class:`~cnnwidgets.instructor.preprocessors.HideHiddenTests` to the feedback steps.
    Returns the pages written.
    """
    check(
        course.api().generate_feedback(assignment, student_id=student, force=True),
        f"nbgrader generate_feedback {assignment}",
    )
    pattern = f"{student or '*'}/{assignment}/*.html"
    return sorted(course.feedback_dir.glob(pattern))
