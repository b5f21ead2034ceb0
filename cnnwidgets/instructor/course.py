"""The nbgrader course at the repository root: its configuration, folders and gradebook."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..environment import quiet_framework

if TYPE_CHECKING:  # nbgrader is imported on first use: it takes seconds
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

__all__ = [
    "Course",
    "NbgraderError",
    "check",
    "find_course_root",
    "prepare_environment",
    "quiet_logger",
]

CONFIG_NAME = "nbgrader_config.py"


class NbgraderError(RuntimeError):
    """An nbgrader step reported failure; the message carries its captured log."""


def find_course_root(start: Path | None = None) -> Path:
    """The folder holding ``nbgrader_config.py``: the nearest one above ``start`` (or cwd).

    Falls back to the repository this package is installed from, so ``cnnkit``
    works from any folder of a clone.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    repo = Path(__file__).resolve().parents[2]
    if (repo / CONFIG_NAME).is_file():
        return repo
    raise FileNotFoundError(
        f"No {CONFIG_NAME} in {here} or above: run cnnkit inside the course, or pass --course DIR."
    )


def prepare_environment() -> None:
    """Set what nbgrader's child processes need: a quiet TensorFlow, and ``alembic`` on PATH.

    Kernels inherit this process's environment. nbgrader creates a new
    gradebook by running the ``alembic`` command found on PATH, which is missing
    when ``cnnkit`` is called as ``.venv/bin/cnnkit`` without activating the venv.
    """
    quiet_framework(force=True)
    # nbgrader 0.9 with SQLAlchemy 2 warns about its own session use on every autograde.
    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session")
    # nbgrader re-adds a deleted test cell without a cell id; nbformat then warns on every read.
    warnings.filterwarnings("ignore", message="Cell is missing an id field")
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(p for p in (bin_dir, path) if p)


def quiet_logger(name: str = "cnnkit.nbgrader") -> logging.Logger:
    """A logger that keeps nbgrader's log off the terminal (``capture_log`` still collects it)."""
    log = logging.getLogger(name)
    log.propagate = False
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.setLevel(logging.INFO)
    return log


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder and the configuration to run nbgrader on it.

    Parameters
    ----------
    root : path
        The course folder (``solutions/``, ``exercises/``, ``submitted/``, …).
    db_url : str, optional
        The gradebook; ``None`` keeps the configured one (``sqlite:///<root>/gradebook.db``).
    config_file : path, optional
        The ``nbgrader_config.py`` to load; defaults to ``root / "nbgrader_config.py"``.
        A temporary copy of a course passes the real course's file here.

    Examples
    --------
    >>> course = Course(find_course_root())  # doctest: +SKIP
    >>> course.assignments()  # doctest: +SKIP
    ['a1_convolution']
    """

    root: Path
    db_url: str | None = None
    config_file: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())
        prepare_environment()

    # --- configuration ----------------------------------------------------------
    def config(self, extra: Config | None = None) -> Config:
        """The nbgrader configuration: the file, then ``root`` and ``db_url``, then ``extra``."""
        path = Path(self.config_file) if self.config_file else self.root / CONFIG_NAME
        cfg = Config()
        if path.is_file():
            cfg.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
        cfg.CourseDirectory.root = str(self.root)
        if self.db_url:
            cfg.CourseDirectory.db_url = self.db_url
        if extra is not None:
            cfg.merge(extra)
        return cfg

    def coursedir(self, extra: Config | None = None) -> CourseDirectory:
        """nbgrader's ``CourseDirectory`` for this course."""
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config(extra))

    def api(self, extra: Config | None = None) -> NbGraderAPI:
        """An ``NbGraderAPI`` on this course, logging into a quiet logger."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        cfg = self.config(extra)
        return NbGraderAPI(CourseDirectory(config=cfg), config=cfg, log=quiet_logger())

    # --- folders -------------------------------------------------------------
    def folder(self, step: str, student: str = ".", assignment: str = ".") -> Path:
        """Path of a course step (``source_directory``, ``submitted_directory``, …)."""
        cd = self._coursedir
        return Path(os.path.normpath(cd.format_path(getattr(cd, step), student, assignment)))

    # The top of each step's folder tree: solutions/, exercises/, submitted/, ...
    source_dir = property(lambda self: self.folder("source_directory"))
    release_dir = property(lambda self: self.folder("release_directory"))
    submitted_dir = property(lambda self: self.folder("submitted_directory"))
    autograded_dir = property(lambda self: self.folder("autograded_directory"))
    feedback_dir = property(lambda self: self.folder("feedback_directory"))

    @property
    def gradebook_url(self) -> str:
        return self._coursedir.db_url

    @property
    def course_id(self) -> str:
        return self._coursedir.course_id

    @property
    def _coursedir(self) -> CourseDirectory:
        # Loading the config file runs it; do that once per Course.
        cached = self.__dict__.get("_cd")
        if cached is None:
            cached = self.coursedir()
            object.__setattr__(self, "_cd", cached)
        return cached

    def gradebook(self) -> Gradebook:
        """nbgrader's ``Gradebook`` on this course's database (use it in a ``with`` block)."""
        from nbgrader.api import Gradebook

        return Gradebook(self.gradebook_url, self.course_id)

    def assignments(self) -> list[str]:
        """Assignments in the source folder: sub-folders holding at least one notebook."""
        if not self.source_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.source_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb"))
        )

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without ``.ipynb``) of ``assignment`` in the source folder."""
        return sorted(p.stem for p in (self.source_dir / assignment).glob("*.ipynb"))

    def students(self, assignment: str) -> list[str]:
        """Students with a submission of ``assignment`` under ``submitted/``."""
        base = self.submitted_dir
        if not base.is_dir():
            return []
        return sorted(
            p.name
            for p in base.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / assignment).is_dir()
        )


def check(result: dict, what: str) -> str:
    """Raise ``NbgraderError`` if an ``NbGraderAPI`` call failed; return its log."""
    if not result.get("success"):
        detail = (result.get("log") or "") + (result.get("error") or "")
        raise NbgraderError(f"{what} failed:\n{detail.strip()}")
    return result.get("log", "")
