"""The grading pipeline: intake, parallel workers, nbgrader's steps, and recording.

- ``grade``: one assignment's submissions, graded in parallel and recorded by one writer.
- ``worker``: a long-lived process that autogrades one job after another.
- ``intake``: what is read of a submission before it is graded.
- ``execute``: the execute step (the student's cells in the kernel, the tests apart).
- ``steps``: the other nbgrader steps of the kit, and the one list nbgrader runs.
- ``secret``: the course's grading secret, which the hidden tests' random inputs come from.
"""
