"""nbgrader settings: the repository root is the course (solutions/ -> exercises/)."""

import os
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, GetGrades

from cnnwidgets.instructor.preprocessors import (
    FilterFrameworkNoise,
    HideHiddenTests,
    LimitedExecute,
)
from cnnwidgets.instructor.quiet import KERNEL_ENV

# Kernels inherit this process's environment and TensorFlow reads these once, at
# import; setting them here quiets `nbgrader autograde`, the formgrader and `cnnkit`.
os.environ.update(KERNEL_ENV)

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

# --- the course -------------------------------------------------------------
c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# submitted/, autograded/, feedback/ and the gradebook keep nbgrader's names and
# are git-ignored. The gradebook defaults to sqlite:///<root>/gradebook.db;
# `cnnkit ... --db URL` (or `nbgrader ... --db URL`) points elsewhere, e.g. PostgreSQL.

# --- execution: TensorFlow needs more time than nbgrader's 30 s default ----------
c.Execute.timeout = 120  # seconds per cell; a cell that takes longer scores 0
c.Execute.startup_timeout = 60  # seconds for a kernel to start
# After a cell's reply, outputs may still be on their way; on a busy machine 4 s
# (nbclient's default) is not always enough, and nbgrader then fails the whole notebook.
c.Execute.iopub_timeout = 30
# Kernels talk over Unix sockets named after their connection file, not TCP ports:
# kernels started at the same moment by parallel graders can no longer pick the same
# port (jupyter_client#154), and a kernel in a network-less sandbox stays reachable.
c.Execute.kernel_manager_class = "cnnwidgets.instructor.kernels.SocketKernelManager"
c.Execute.extra_arguments = [
    # Before the first cell: warning filters and log levels, and the grading flag that
    # skips students' self-check training (hidden tests train). Binds no name.
    "--IPKernelApp.exec_lines="
    "__import__('cnnwidgets.instructor.kernels').instructor.kernels.prepare_grading_kernel()",
]

# --- framework noise never costs points ---------------------------------------
# nbgrader fails a test cell that wrote anything to stderr; strip the lines
# TensorFlow, Keras and absl write on their own, right after execution.
_steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
# Execution with a cap on output (a submission printing gigabytes), then the noise filter.
_steps[_steps.index(Execute)] = LimitedExecute
_steps.insert(_steps.index(LimitedExecute) + 1, FilterFrameworkNoise)
c.Autograde.autograde_preprocessors = _steps

# A student who deleted a test cell is still graded on it.
c.OverwriteCells.add_missing_cells = True

# --- feedback: hidden tests stay hidden ----------------------------------------
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
