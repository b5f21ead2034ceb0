"""What students must never read (solutions/, the gradebook, hand-ins), checked before a class runs.

The kit is cloned where students can read it (they import ``cnnwidgets`` and
run nbgrader from its venv), so the course's private parts must be closed one by
one. :func:`private_course` refuses to run a command while any other user can
read them, and says how to fix it; what the command itself creates there is
made the instructor's alone.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..course import Course, NbgraderError

__all__ = [
    "Exposure",
    "class_exchange",
    "exposures",
    "has_exchange",
    "private_course",
    "private_paths",
]

# The ledger `cnnkit exchange collect` keeps: it says the course has a class, and where.
LEDGER = Path(".cnnkit") / "exchange.json"  # under submitted/


@dataclass
class Exposure:
    """One private part of the course that someone besides its owner can read."""

    path: Path
    what: str  # what it holds, in words
    readers: list[str]  # who can read it ("any user", "user bob", ...)
    mode: int


def private_paths(course: Course) -> list[tuple[Path, str]]:
    """The course's private parts and what each holds (existing or not)."""
    from ..autograde.secret import secret_path

    paths = [
        (course.source_dir, "the solutions and hidden tests"),
        (course.submitted_dir, "the students' hand-ins"),
        (course.autograded_dir, "graded hand-ins, with the hidden tests"),
        (course.feedback_dir, "the students' feedback"),
        (secret_path(course), "the grading secret"),
    ]
    url = course.gradebook_url
    if url.startswith("sqlite:///"):
        paths.insert(1, (Path(url.removeprefix("sqlite:///")), "the gradebook"))
    return paths


def class_exchange(course: Course, root: str | os.PathLike | None = None) -> bool:
    """Whether the exchange ``root`` (default: nbgrader's configured one) is a class's:
    one outside the course folder. ``make lab`` keeps its own, for one machine, inside
    the kit (``.lab/exchange``)."""
    from .exchange import exchange_root

    try:
        folder = Path(os.path.realpath(exchange_root(course, root)))
    except OSError:
        return False
    return not folder.is_relative_to(course.root)


def has_exchange(course: Course) -> bool:
    """Whether students hand in to this course: `cnnkit exchange collect` collected it from
    a class's exchange, or nbgrader's configured exchange (a class's) holds it."""
    from .exchange import exchange_root

    ledger = course.submitted_dir / LEDGER
    if ledger.is_file():
        try:
            used = json.loads(ledger.read_text()).get("exchange")
        except (OSError, ValueError):
            return True  # unreadable: count it as a class's
        if used is None or class_exchange(course, used):
            return True
    try:
        return class_exchange(course) and (exchange_root(course) / course.course_id).is_dir()
    except OSError:
        return False


# --- who can read a path ------------------------------------------------------------
def _has_acl(path: Path) -> bool:
    try:
        return "system.posix_acl_access" in os.listxattr(path, follow_symlinks=False)
    except OSError:
        return False


def _allowed(st: os.stat_result, acl: bool, uid: int | None, groups: set[int], bits: int) -> bool:
    """Whether a user (``uid`` None: any user at all, in no group of ours) has ``bits``
    (4 read, 1 search) on a file with status ``st``."""
    mode = st.st_mode
    if uid is not None and uid == st.st_uid:
        return (mode >> 6) & bits == bits
    group_bits = (mode >> 3) & 7
    if acl and group_bits & bits == bits:  # named users and groups may get up to the mask
        return True
    if uid is not None and st.st_gid in groups:
        return group_bits & bits == bits
    return mode & bits == bits


def _users() -> list[tuple[str, int, set[int]]]:
    """Accounts on this machine besides root and the one running this, with their groups."""
    me = os.geteuid()
    found = []
    for entry in pwd.getpwall():
        if entry.pw_uid in (0, me):
            continue
        try:
            groups = set(os.getgrouplist(entry.pw_name, entry.pw_gid))
        except OSError:
            groups = {entry.pw_gid}
        found.append((entry.pw_name, entry.pw_uid, groups))
    return found


def _readers(path: Path, users: list[tuple[str, int, set[int]]]) -> list[str]:
    """Who besides root and us can read ``path`` (a folder: look inside it)."""
    real = Path(os.path.realpath(path))
    chain = [real, *real.parents]
    stats = [(p.stat(), _has_acl(p)) for p in chain]
    st_path, acl_path = stats[0]
    # A folder is open when it can be listed or entered: the names inside are easy to guess.
    opening = (4, 1) if stat.S_ISDIR(st_path.st_mode) else (4,)

    def can(uid: int | None, groups: set[int]) -> bool:
        if uid is not None and uid == st_path.st_uid:
            return True  # the owner can always open it up
        if not all(_allowed(st, acl, uid, groups, 1) for st, acl in stats[1:]):
            return False
        return any(_allowed(st_path, acl_path, uid, groups, bits) for bits in opening)

    readers = []
    if can(None, set()):
        readers.append("any user")
    for name, uid, groups in users:
        if can(uid, groups):
            readers.append(f"user {name}")
    if readers and readers[0] == "any user":
        return ["any user"]
    return readers


def exposures(course: Course) -> list[Exposure]:
    """The course's private parts that another user can read (missing ones are fine)."""
    users = _users()
    found = []
    for path, what in private_paths(course):
        if not path.exists():
            continue
        readers = _readers(path, users)
        if readers:
            found.append(Exposure(path, what, readers, stat.S_IMODE(path.stat().st_mode)))
    return found


def _describe(found: list[Exposure], course: Course) -> str:
    def name(p: Path) -> str:
        try:
            return str(p.relative_to(course.root)) + ("/" if p.is_dir() else "")
        except ValueError:
            return str(p)

    lines = []
    for e in found:
        who = e.readers[0]
        if len(e.readers) > 1:
            who += f" and {len(e.readers) - 1} more"
        lines.append(f"  {name(e.path)} (mode {e.mode:04o}, {e.what}): readable by {who}")
    paths = " ".join(shlex.quote(str(e.path)) for e in found)
    fix = f"  chmod go-rwx {paths}"
    owners = {e.path.stat().st_uid for e in found} - {os.geteuid()}
    if owners:
        names = ", ".join(_owner_name(uid) for uid in sorted(owners))
        fix += f"\n(some of them belong to {names}: make them yours first, as root: chown)"
    if any(_has_acl(e.path) for e in found):
        fix += f"\n  setfacl -b {paths}"
    return (
        "Refusing to run: students could read what must stay the instructor's:\n"
        + "\n".join(lines)
        + "\nMake them yours alone (the rest of the kit stays readable), then run this again:\n"
        + fix
    )


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


@contextmanager
def private_course(
    course: Course, *, exchange: bool | None = None, root: str | os.PathLike | None = None
) -> Iterator[None]:
    """Run a class command only while the course's private parts are the instructor's.

    ``exchange`` True: the command works on the exchange ``root`` (default: nbgrader's
    configured one), checked when that is a class's (:func:`class_exchange`); ``None``:
    checked when the course has a class (:func:`has_exchange`). A course without one (a
    laptop, a test copy) is not checked. Raises :class:`NbgraderError` with the fix
    when another user can read solutions/, the gradebook, submitted/, autograded/,
    feedback/ or the grading secret. What the command creates among them is made
    mode 0700/0600 afterwards, checked or not (a class whose exchange is a hub service,
    such as ngshare, has no exchange folder here; its autograded/ is private all the same).
    """
    exchange = class_exchange(course, root) if exchange else has_exchange(course)
    if exchange and (found := exposures(course)):
        raise NbgraderError(_describe(found, course))
    before = {p for p, _ in private_paths(course) if p.exists()}
    try:
        yield
    finally:
        me = os.geteuid()
        for path, _ in private_paths(course):
            if path in before or not path.exists():
                continue
            st = path.stat()
            if st.st_uid == me and stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)
