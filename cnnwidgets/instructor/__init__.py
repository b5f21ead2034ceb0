"""Instructor tools behind `cnnkit`: validate, release, grade, feedback, exchange, report.

The map: who runs where, and how they talk (``cnnkit grade A --jobs 2``)::

  cnnkit (cli) ── validate, release ── course: nbgrader's API on the course folder
    │ autograde.grade.grade: intake → one job per submission → record, one writer
    ├─ worker ×jobs   `python -m …autograde.worker`    JSON job lines on stdin/stdout
    │   └─ nbgrader autograde, steps from autograde.steps.autograde_steps
    │       └─ autograde.execute.VerifiedExecute drives, per submission:
    │           ├─ kernel    the student's cells; sandboxed (isolation.sandbox)
    │           │            answers requests with isolation.bridge.serve
    │           ├─ verifier  each graded test cell   `python -I -m …isolation.verifier`
    │           │            names and student functions come from the kernel as data:
    │           │            isolation.verifier.StudentFunction → isolation.bridge.serve
    │           └─ room ×rule  answers under a rule   `python -I -S grading/room.py`
    │                         (cnnwidgets.grading.room.Room), JSON lines
    └─ record: autograde.steps.ReplayOutputs in the real gradebook
  classroom: exchange (collect, release, feedback), roster, export, report

Rooms of this package, each importing only from those above it in this list:

- the top (``course``, ``release``, ``table``): the course folder and nbgrader's API;
- ``isolation/``: what keeps a submission in its box (sandbox, kernels, verifier, bridge,
  environment);
- ``autograde/``: the grading pipeline (grade, worker, intake, execute, steps, secret);
- ``classroom/``: the class around it (exchange, roster, feedback, export, report);
- ``validate`` and ``cli``, which use all of them.
"""
