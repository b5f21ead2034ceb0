"""What `make lab` and `make instructor` run: the learner's copies, two faces of Lab, Validate.

``python -m cnnwidgets.lab`` (``make lab``) keeps a working copy of ``course/`` and
``exercises/`` in ``my-work/`` and opens JupyterLab on it, without nbgrader's instructor
tools; ``python -m cnnwidgets.lab --instructor`` (``make instructor``) opens the whole kit
with them.
"""

from .workspace import WORK, SyncReport, sync_work

__all__ = ["WORK", "SyncReport", "sync_work"]
