"""``python -m cnnwidgets.lab [--instructor] [jupyter lab options]``: what `make lab` runs.

Brings the learner's copies in ``my-work/`` up to date, says what changed, then replaces
itself with JupyterLab (so a signal to this process reaches the server).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .faces import lab_command
from .workspace import WORK, sync_work


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    face = "learner"
    if args[:1] == ["--instructor"]:
        face, args = "instructor", args[1:]
    kit = Path.cwd()
    if not (kit / "course").is_dir():
        sys.exit(f"run this from the kit's folder (the one with course/), not {kit}")
    report = sync_work(kit)
    for line in report.lines():
        print(line, flush=True)
    print(
        f"Your copies of the lessons and exercises are in {WORK}/: edit and run those; "
        "course/ and exercises/ stay as the kit ships them.",
        flush=True,
    )
    cmd, env = lab_command(kit, face, args, dict(os.environ))
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
