"""The learner's working copy: my-work/ holds copies of course/ and exercises/ that are theirs.

The kit's own files stay as committed, so ``git pull`` never meets a learner's edit. Each
run of ``make lab`` brings what is new: a lesson the learner has no copy of is copied; a
lesson the kit changed replaces the learner's copy only if they never touched it, and
otherwise arrives beside it as ``<name> (new version).ipynb``. A copy the learner deleted
comes back fresh, which is how a lesson is started over.

What was delivered is recorded in ``my-work/.kit-copies.json`` (the SHA-256 of each
file as copied), so "never touched" means byte for byte what the kit gave.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

WORK = "my-work"
# What a learner works in; solutions/ is the instructor's and is never copied.
FOLDERS = ("course", "exercises")
MANIFEST = ".kit-copies.json"
_SKIP = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


@dataclass
class SyncReport:
    """What one :func:`sync_work` did, as paths relative to the working copy."""

    copied: list[str] = field(default_factory=list)  # new copies (first run, new lessons)
    updated: list[str] = field(default_factory=list)  # untouched copies the kit replaced
    beside: list[tuple[str, str]] = field(default_factory=list)  # (learner's copy, new version)

    def lines(self) -> list[str]:
        """The report in plain words, one line each, for the terminal."""
        out = []
        if self.copied:
            out.append(f"{len(self.copied)} new in {WORK}/: " + ", ".join(self.copied))
        for path in self.updated:
            out.append(f"updated {WORK}/{path} (you had not changed it)")
        for mine, new in self.beside:
            out.append(
                f"the kit changed {mine}: your copy is kept, the new version is {WORK}/{new}"
            )
        return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kit_files(kit: Path) -> list[str]:
    files = []
    for folder in FOLDERS:
        base = kit / folder
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP)
            for name in sorted(filenames):
                if name not in _SKIP:
                    files.append((Path(dirpath) / name).relative_to(kit).as_posix())
    return files


def _beside_name(path: str, work: Path, delivered: dict) -> str:
    """Where a new version goes next to the learner's copy: ``01_x (new version).ipynb``,
    or ``(new version 2)`` when the learner has started working in the first one."""
    rel = Path(path)
    stem, suffix = rel.stem, rel.suffix
    for n in range(1, 1000):
        label = "new version" if n == 1 else f"new version {n}"
        candidate = (rel.parent / f"{stem} ({label}){suffix}").as_posix()
        target = work / candidate
        if not target.exists():
            return candidate
        if candidate in delivered and _digest(target) == delivered[candidate]:
            return candidate  # ours and untouched: replace it
    raise RuntimeError(f"too many new versions of {path} in {work}")


def _copy(src: Path, dest: Path) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return _digest(dest)


def sync_work(kit: str | os.PathLike, work: str | os.PathLike | None = None) -> SyncReport:
    """Bring the learner's working copy up to date with the kit, never overwriting an edit.

    Parameters
    ----------
    kit : path
        The kit's root (it holds ``course/`` and ``exercises/``).
    work : path, optional
        The working copy; ``<kit>/my-work`` by default.

    Returns
    -------
    SyncReport
        What was copied, updated, or put beside a learner's copy.

    Examples
    --------
    >>> report = sync_work(".")  # doctest: +SKIP
    >>> print("\\n".join(report.lines()))  # doctest: +SKIP
    """
    kit = Path(kit)
    work = Path(work) if work is not None else kit / WORK
    work.mkdir(parents=True, exist_ok=True)
    record = work / MANIFEST
    delivered: dict[str, str] = {}
    if record.exists():
        try:
            delivered = dict(json.loads(record.read_text()))
        except (ValueError, TypeError):
            delivered = {}  # a damaged record: treat every existing copy as the learner's
    report = SyncReport()
    for path in _kit_files(kit):
        src, mine = kit / path, work / path
        new = _digest(src)
        if not mine.exists():
            delivered[path] = _copy(src, mine)
            report.copied.append(path)
            continue
        if delivered.get(path) == new:
            continue  # the kit has not changed it since it was copied
        current = _digest(mine)
        if current == new:
            delivered[path] = new  # the same file, e.g. the record was lost
        elif path in delivered and current == delivered[path]:
            delivered[path] = _copy(src, mine)  # never touched: the new version replaces it
            report.updated.append(path)
        else:
            other = _beside_name(path, work, delivered)
            delivered[other] = _copy(src, work / other)
            delivered[path] = new  # offered once; the learner's copy stays as it is
            report.beside.append((path, other))
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps(delivered, indent=1, sort_keys=True) + "\n")
    tmp.replace(record)
    return report
