"""The two faces of the kit's JupyterLab: the learner's (``make lab``) and the instructor's.

Both run the kit's own ``.venv`` with its ``bin/`` first on PATH (nbgrader's formgrader
runs ``alembic`` from PATH; terminals and kernels find the kit's tools), TensorFlow's C++
log off, and Validate that says which task is not answered yet.

* learner: the server's root is ``my-work/``, the learner's copies; nbgrader's instructor
  tools (Create Assignment, Formgrader, Course List) are switched off, in the page and on
  the server. The Assignments panel and Validate stay.
* instructor: the server's root is the kit, every nbgrader tool is on; it opens on
  ``my-work/course`` too, so looking at a lesson never changes a tracked file.

Settings come from folders in ``jupyter/`` put on ``JUPYTER_CONFIG_PATH`` (before the
venv's own, after the user's ``~/.jupyter``), so nothing is installed or changed for
other uses of the venv.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from .workspace import WORK

FACES = ("learner", "instructor")
# Settings folders for each face, highest priority first (see jupyter/README.md).
_CONFIG_DIRS = {"learner": ("jupyter/learner", "jupyter/lab"), "instructor": ("jupyter/lab",)}
# nbgrader's exchange when nothing names one (nbgrader.exchange.default.Exchange.root).
NBGRADER_DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"
# What `make lab` keeps for itself, git-ignored: a private exchange, each face's settings.
STATE = ".lab"
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def _names_an_exchange(path: Path) -> bool:
    """Whether an nbgrader config file sets the exchange (its root, or another exchange)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError:
            return False
        return bool(data.get("Exchange", {}).get("root") or data.get("ExchangeFactory"))
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return bool(re.search(r"\bExchange\.root\b|\bExchangeFactory\b", code))


def _config_dirs(env: dict) -> list[Path]:
    from jupyter_core.paths import jupyter_config_path

    saved = os.environ.copy()
    try:  # jupyter_config_path reads the environment it will run with
        os.environ.clear()
        os.environ.update(env)
        return [Path(p) for p in jupyter_config_path()]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _needs_private_exchange(kit: Path, env: dict) -> bool:
    """Whether nothing names an exchange and nbgrader's default folder cannot be written."""
    candidates = [kit / "nbgrader_config.py", kit / "nbgrader_config.json"]
    for folder in _config_dirs(env):
        if kit / STATE in folder.parents:
            continue  # what an earlier run wrote (e.g. `make lab` from Lab's terminal)
        candidates += [folder / "nbgrader_config.py", folder / "nbgrader_config.json"]
    if any(_names_an_exchange(p) for p in candidates):
        return False
    default = Path(NBGRADER_DEFAULT_EXCHANGE)
    return not (default.is_dir() and os.access(default, os.W_OK | os.X_OK))


def nbgrader_settings(kit: Path, face: str, env: dict) -> Path:
    """A folder with the nbgrader settings this face adds, written for this run.

    * A private exchange, ``.lab/exchange``, when the machine has none: a class names its
      exchange in ``/etc/jupyter/nbgrader_config.py`` or the course's ``nbgrader_config.py``
      (docs/instructor-guide.md) and then that one is used; on one laptop nbgrader's default
      folder does not exist, and the formgrader would warn and refuse to release, the
      Assignments panel show an error. With it, release, fetch, submit and collect work on
      this machine.
    * For learners, assignments fetched from the Assignments panel land in ``my-work/``,
      the folder Lab serves (nbgrader would put them in the server's working folder).
    """
    lines = ["# Written by `make lab` for this run (cnnwidgets/lab/faces.py); git-ignored."]
    if _needs_private_exchange(kit, env):
        exchange = kit / STATE / "exchange"
        exchange.mkdir(parents=True, exist_ok=True)
        lines += [
            "# No exchange is set up on this machine: the kit's own (a class sets one up in",
            "# /etc/jupyter/nbgrader_config.py, see docs/instructor-guide.md).",
            f"c.Exchange.root = {str(exchange)!r}",
        ]
    if face == "learner":
        lines.append(f"c.Exchange.assignment_dir = {str(kit / WORK)!r}")
    folder = kit / STATE / face
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    target = folder / "nbgrader_config.py"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return folder


def lab_command(kit: str | os.PathLike, face: str, args: list[str], env: dict) -> tuple:
    """The ``jupyter lab`` command and environment of one face of the kit.

    Returns ``(argv, env)``; ``env`` is the given environment with the kit's additions.
    """
    if face not in FACES:
        raise ValueError(f"face must be one of {FACES}, not {face!r}")
    kit = Path(kit).resolve()
    bindir = Path(sys.executable).parent  # the venv's bin/ (not resolved: keep the venv)
    env = dict(env)
    env.update(QUIET)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != str(bindir)]
    env["PATH"] = os.pathsep.join([str(bindir), *path])
    dirs = [str(kit / d) for d in _CONFIG_DIRS[face]]
    dirs.append(str(nbgrader_settings(kit, face, env)))
    before = [
        p
        for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep)
        if p and p not in dirs and kit / STATE not in Path(p).parents
    ]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([*dirs, *before])
    if face == "learner":
        root, start = kit / WORK, "/lab/tree/course"
    else:
        root, start = kit, f"/lab/tree/{WORK}/course"
    argv = [
        str(bindir / "jupyter"),
        "lab",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.default_url={start}",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        argv.append("--allow-root")  # containers often run as root, which Jupyter refuses
    return [*argv, *args], env
