"""nbgrader settings: the repository root is the course (solutions/ -> exercises/)."""

from pathlib import Path

from cnnwidgets.environment import quiet_framework
from cnnwidgets.instructor.autograde.execute import VerifiedExecute
from cnnwidgets.instructor.autograde.steps import autograde_steps
from cnnwidgets.instructor.classroom.feedback import feedback_steps

# Kernels inherit this process's environment and TensorFlow reads these once, at
# import; setting them here quiets `nbgrader autograde`, the formgrader and `cnnkit`.
quiet_framework(force=True)

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
c.Execute.kernel_manager_class = "cnnwidgets.instructor.isolation.kernels.SocketKernelManager"
c.Execute.extra_arguments = [
    # Before the first cell: warning filters and log levels, and the grading flag that
    # skips students' self-check training (hidden tests train). Binds no name.
    "--IPKernelApp.exec_lines="
    "__import__('cnnwidgets.instructor.isolation.environment', fromlist=['_'])"
    ".prepare_grading_kernel()",
]

# --- the autograde steps ---------------------------------------------------------
# Execution with the tests run apart (the verifier), rules enforced in their rooms and a cap
# on output, then the noise filter: nbgrader fails a test cell that wrote anything to stderr,
# so the lines TensorFlow, Keras and absl write on their own go. `cnnkit grade` records
# with the same list, its replay step in place of execution.
c.Autograde.autograde_preprocessors = autograde_steps(VerifiedExecute)

# A student who deleted a test cell is still graded on it.
c.OverwriteCells.add_missing_cells = True

# --- feedback: hidden tests stay hidden ----------------------------------------
c.GenerateFeedback.preprocessors = feedback_steps()
