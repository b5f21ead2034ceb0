"""The other autograde steps of the kit, and the one list of them that nbgrader runs.

- :class:`FilterFrameworkNoise`: TensorFlow's own stderr lines never fail a test cell.
- :class:`ReplayOutputs`: records a worker's executed notebook in the real gradebook.
- :func:`autograde_steps`: nbgrader's autograde steps with the kit's in place, used by
  ``nbgrader_config.py`` (``VerifiedExecute``) and by ``cnnkit grade``'s recording stage
  (``ReplayOutputs``) alike.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..isolation.environment import strip_noise

__all__ = ["FilterFrameworkNoise", "ReplayOutputs", "autograde_steps", "last_error_line"]


def autograde_steps(execute: type) -> list[type]:
    """nbgrader's default autograde steps with ``execute`` in place of its ``Execute``,
    followed by :class:`FilterFrameworkNoise`.

    Examples
    --------
    >>> from cnnwidgets.instructor.autograde.execute import VerifiedExecute
    >>> steps = autograde_steps(VerifiedExecute)  # doctest: +SKIP
    """
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    steps[steps.index(Execute)] = execute
    steps.insert(steps.index(execute) + 1, FilterFrameworkNoise)
    return steps


class FilterFrameworkNoise(NbGraderPreprocessor):
    """Remove known TensorFlow/Keras/absl lines from stderr outputs after execution.

    nbgrader scores a test cell that wrote anything to stderr as failed
    (``nbgrader.utils.determine_grade``). nbgrader's own ``IgnorePattern`` drops
    a whole stderr output when a pattern matches anywhere in it; this one works
    line by line on all stderr output of a cell joined together (the kernel
    may split one warning over several messages), so noise goes and any other
    stderr text stays and still counts.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.get("outputs"):
            return cell, resources
        stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        if not stderr:
            return cell, resources
        kept = strip_noise("".join(o.text for o in stderr))
        outputs = []
        for out in cell.outputs:
            if out in stderr:
                # The first stderr output carries what is left, in its place.
                if out is stderr[0] and kept.strip():
                    out.text = kept
                    outputs.append(out)
                continue
            outputs.append(out)
        cell.outputs = outputs
        return cell, resources


class ReplayOutputs(NbGraderPreprocessor):
    """Stand-in for nbgrader's ``Execute``: copy outputs from an already executed notebook.

    ``cnnkit grade`` executes submissions in parallel worker processes, each in
    a private copy of the course with its own gradebook. It then records each
    result in the real gradebook with nbgrader's ordinary ``autograde``, run
    one student at a time, where this preprocessor takes the place of
    execution. Both runs sanitise the same submission against the same source
    cells, so the notebooks match cell for cell; a mismatch is an error, never
    a guess.
    """

    executed_directory = Unicode(
        "", help="Folder holding the executed notebooks, named like the submitted ones."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        name = resources["nbgrader"]["notebook"]
        path = Path(self.executed_directory) / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"No executed notebook {path} to take the outputs from.")
        executed = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if len(executed.cells) != len(nb.cells):
            raise ValueError(
                f"{name}: the executed notebook has {len(executed.cells)} cells, "
                f"the sanitised submission {len(nb.cells)}."
            )
        for index, (cell, done) in enumerate(zip(nb.cells, executed.cells, strict=True)):
            if cell.cell_type != done.cell_type or cell.source != done.source:
                raise ValueError(f"{name}: cell {index} differs from the executed notebook.")
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
        # nbclient records the kernel's language_info once the kernel is up.
        if "language_info" in executed.metadata:
            nb.metadata["language_info"] = executed.metadata["language_info"]
        return nb, resources


def last_error_line(output: NotebookNode) -> str:
    """The message of an error output: ``ename: evalue``, ANSI colours removed."""
    text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip()
