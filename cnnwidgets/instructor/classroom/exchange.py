"""nbgrader's exchange for a class: release, due dates, collect with lateness, feedback back.

The exchange is a folder every student account can write to (``Exchange.root``,
by default ``/usr/local/share/nbgrader/exchange``). For a course it holds
``<course_id>/outbound/<assignment>/`` (what students fetch),
``<course_id>/inbound/<student>+<assignment>+<timestamp>+<random>/`` (what they
submit; the folder cannot be listed by students, mode 0733) and
``<course_id>/feedback/<hash>.html`` (feedback, fetched by a hash only the
submitting student knows). Release and feedback are nbgrader's own, through
``NbGraderAPI``, with the checks and records a class needs around them. Collect
is the kit's on the folder exchange: nbgrader's trusts a hand-in's name and
``timestamp.txt`` and follows links with the instructor's rights (see
:func:`collect`); on another exchange it is nbgrader's.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import pwd
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..course import Course, NbgraderError, check
from ..release import folder_differences

__all__ = [
    "Collected",
    "Collection",
    "Refused",
    "collect",
    "exchange_config",
    "exchange_root",
    "parse_due",
    "record_assignment",
    "release_feedback",
    "release_to_exchange",
    "set_due",
]


@dataclass
class Collected:
    """One student's hand-in of an assignment after ``collect``."""

    student: str
    submissions: int | None  # the student's hand-ins in the exchange (None: cannot look)
    timestamp: datetime | None  # nbgrader's timestamp (UTC) of the copy in submitted/
    seconds_late: float  # past the gradebook's due date (0 when on time or no due date)
    status: str  # "new", "updated" (a newer hand-in replaced the old one) or "unchanged"
    new_student: bool = False  # not in the gradebook before; collect added them
    notes: list[str] = field(default_factory=list)  # what is worth knowing about the kept one

    @property
    def late(self) -> bool:
        return self.seconds_late > 0


# --- configuration -----------------------------------------------------------------
def _site_exchange_settings() -> Config:
    """``Exchange`` settings from the nbgrader_config.py files nbgrader itself reads.

    On a shared server or JupyterHub the exchange root is usually set once for
    everybody in ``/etc/jupyter/nbgrader_config.py`` (or the user's
    ``~/.jupyter/``); the course's own file may override it.
    """
    from jupyter_core.paths import jupyter_config_path

    settings = Config()
    for folder in reversed(jupyter_config_path()):  # lowest priority first, like nbgrader
        path = Path(folder) / "nbgrader_config.py"
        if path.is_file():
            loaded = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
            settings.merge(_exchange_sections(loaded))
    return settings


def _exchange_sections(cfg: Config) -> Config:
    # Exchange, ExchangeFactory (another exchange, e.g. ngshare), ExchangeCollect, ...
    return Config({k: v for k, v in cfg.items() if k.startswith("Exchange")})


def exchange_config(course: Course, root: str | os.PathLike | None = None) -> Config:
    """Configuration for nbgrader's exchange steps on ``course``.

    The exchange root is, in order: ``root``; ``Exchange.root`` in the course's
    ``nbgrader_config.py``; in a Jupyter config folder (``/etc/jupyter``,
    ``~/.jupyter``, …); nbgrader's default.
    """
    cfg = _site_exchange_settings()
    cfg.merge(_exchange_sections(course.config()))
    if root is not None:
        cfg.Exchange.root = str(Path(root).resolve())
    return cfg


def exchange_root(course: Course, root: str | os.PathLike | None = None) -> Path:
    """The exchange folder ``course`` uses (see :func:`exchange_config`)."""
    from nbgrader.exchange.default import Exchange

    cfg = exchange_config(course, root)
    if "root" in cfg.Exchange:
        return Path(cfg.Exchange.root)
    return Path(Exchange.class_traits()["root"].default_value)


# --- due dates ---------------------------------------------------------------------
def parse_due(when: str | datetime) -> datetime:
    """A due date as nbgrader stores it: naive UTC.

    Reads what nbgrader reads (``2025-12-01 17:00:00 Europe/Berlin``,
    ``2025-12-01T17:00+01:00``); a time without a zone is UTC, as in nbgrader.

    Examples
    --------
    >>> parse_due("2025-12-01 17:00 Europe/Berlin")
    datetime.datetime(2025, 12, 1, 16, 0)
    """
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(when)
    except (ValueError, OverflowError) as exc:
        raise NbgraderError(
            f"Cannot read the due date {when!r}: write it like '2025-12-01 17:00 UTC', "
            "'2025-12-01 17:00 Europe/Berlin' or '2025-12-01T17:00+01:00'."
        ) from exc


def set_due(course: Course, assignment: str, when: str | datetime | None) -> datetime | None:
    """Record ``assignment``'s due date in the gradebook (``None`` removes it).

    nbgrader measures lateness against it when collecting and grading, and
    applies the configured late-submission penalty (none by default).
    """
    due = None if when is None else parse_due(when)
    with course.gradebook() as gb:
        gb.update_or_create_assignment(assignment, duedate=due)
    return due


def _due(course: Course, assignment: str) -> datetime | None:
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            return gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None


# --- release -----------------------------------------------------------------------
def record_assignment(course: Course, assignment: str) -> list[str]:
    """Record ``assignment``'s source in the gradebook; return how exercises/ differs from it.

    Runs nbgrader's ``generate_assignment`` into a scratch folder (the committed
    exercises/ is never rewritten) against the real gradebook, which then knows
    the notebooks, grade cells and points. The due date, if any, is kept.
    """
    with tempfile.TemporaryDirectory(prefix="cnnkit-exchange-") as tmp:
        extra = Config()
        extra.CourseDirectory.release_directory = tmp
        check(
            course.api(extra).generate_assignment(assignment, force=True, create=True),
            f"recording {assignment} in the gradebook",
        )
        return folder_differences(Path(tmp) / assignment, course.release_dir / assignment)


def release_to_exchange(
    course: Course,
    assignment: str,
    *,
    root: str | os.PathLike | None = None,
    due: str | datetime | None = None,
    force: bool = False,
) -> Path:
    """Put ``exercises/<assignment>`` in the exchange for students to fetch.

    Refuses when exercises/ is not what solutions/ generates today (students
    would get a version the grader does not use): run ``cnnkit release`` first.
    Records the assignment and ``due`` in the gradebook. ``force`` replaces a
    release already in the exchange (students who fetched keep their copy).
    Returns the released folder in the exchange.
    """
    drift = record_assignment(course, assignment)
    if drift:
        raise NbgraderError(
            f"exercises/{assignment} is not a fresh generation of solutions/{assignment} "
            f"({drift[0]}): run `cnnkit release {assignment}` first, so students get the "
            "version you will grade."
        )
    if due is not None:
        set_due(course, assignment, due)
    cfg = exchange_config(course, root)
    if force:
        cfg.ExchangeReleaseAssignment.force = True
    check(
        course.api(cfg).release_assignment(assignment),
        f"nbgrader release_assignment {assignment}",
    )
    return exchange_root(course, root) / course.course_id / "outbound" / assignment


# --- collect: only hand-ins it can trust ---------------------------------------------
# nbgrader's collect trusts a hand-in's name for who made it, timestamp.txt for when,
# and copies it with shutil.copytree, following links with the instructor's rights.
# Here every hand-in is read through file descriptors opened without following links,
# must belong to the student it names, and gets its time from the kernel's ctime.
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the look opens at once (and is then refused).
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_MAX_ENTRIES = 10_000  # files and folders in one hand-in
_MAX_DEPTH = 32
_BAD_ID = re.compile(r"[\s/\\*\x00-\x1f]|^\.|^$")
_SAID_TOLERANCE = 60.0  # seconds: what the student's own timestamp may differ by unnoticed


@dataclass
class Refused:
    """A folder in the exchange's inbound that collect did not take, and why."""

    name: str  # the folder's name in inbound
    student: str | None  # the student it names (None: the name cannot be read)
    reason: str
    owner: str | None = None  # its real Unix owner, when that is the reason


@dataclass
class Collection:
    """What :func:`collect` did: the students in ``submitted/`` and the hand-ins refused."""

    collected: list[Collected]
    refused: list[Refused]


class _Refuse(Exception):
    def __init__(self, reason: str, owner_uid: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.owner_uid = owner_uid


@dataclass
class _Tree:
    """A hand-in as read: folders, file contents, and the newest ctime among them."""

    dirs: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    ctime_ns: int = 0

    def digest(self) -> str:
        h = hashlib.sha256()
        for rel in sorted(self.dirs):
            h.update(b"d\0" + rel.encode("utf-8", "surrogateescape") + b"\0")
        for rel in sorted(self.files):
            h.update(b"f\0" + rel.encode("utf-8", "surrogateescape") + b"\0")
            h.update(hashlib.sha256(self.files[rel]).digest())
        return h.hexdigest()


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


class _Reader:
    """Reads one hand-in folder without following a link, refusing what it cannot trust.

    Every folder and file must belong to ``uid``; links, devices, FIFOs and
    sockets are refused before anything is opened, as are files over
    ``max_file`` bytes (and hand-ins over ``max_total``). Files are opened with
    ``O_NOFOLLOW`` relative to their folder's descriptor and checked again once
    open, so nothing swapped in after the look is read either.
    """

    def __init__(self, uid: int | None, max_file: int, max_total: int, ignore: list[str]):
        self.uid = uid
        self.max_file = max_file
        self.max_total = max_total
        self.ignore = ignore

    def read(self, inbound_fd: int, name: str) -> _Tree:
        self.total = self.entries = 0
        try:
            st = os.stat(name, dir_fd=inbound_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise _Refuse("it disappeared while being collected") from None
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(name, dir_fd=inbound_fd)
            raise _Refuse(f"the hand-in folder is a link (to {target}); links are never followed")
        if not stat.S_ISDIR(st.st_mode):
            kind = "a file" if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)
            raise _Refuse(f"it is {kind}, not a folder")
        if self.uid is None:  # shared account: all of it must at least have one owner
            self.uid = st.st_uid
        self._owned(st, "the hand-in folder")
        tree = _Tree()
        fd = self._open_dir(inbound_fd, name, st, "the hand-in folder")
        try:
            self._walk(fd, "", tree, 0)
            tree.ctime_ns = max(tree.ctime_ns, os.fstat(fd).st_ctime_ns)
        except OSError as exc:  # a folder the instructor may not enter, ...
            raise _Refuse(f"it cannot be read: {exc.strerror}") from None
        finally:
            os.close(fd)
        if "timestamp.txt" in tree.dirs:  # the copy's timestamp.txt is collect's own file
            raise _Refuse("timestamp.txt is a folder")
        return tree

    def _owned(self, st: os.stat_result, what: str) -> None:
        if st.st_uid != self.uid:
            raise _Refuse(
                f"{what} belongs to {_user_name(st.st_uid)}, not to the student it names",
                st.st_uid,
            )

    def _open_dir(self, parent: int, name: str, st: os.stat_result, what: str) -> int:
        try:
            fd = os.open(name, _OPEN_DIR, dir_fd=parent)
        except OSError as exc:
            raise _Refuse(f"{what} cannot be opened without following a link: "
                          f"{exc.strerror}") from None  # fmt: skip
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            os.close(fd)
            raise _Refuse(f"{what} was replaced while being collected")
        return fd

    def _walk(self, fd: int, prefix: str, tree: _Tree, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise _Refuse(f"folders nested more than {_MAX_DEPTH} deep")
        for name in sorted(os.listdir(fd)):
            if any(fnmatch.fnmatch(name, pattern) for pattern in self.ignore):
                continue  # what nbgrader leaves out (checkpoints, caches): never opened
            self.entries += 1
            if self.entries > _MAX_ENTRIES:
                raise _Refuse(f"more than {_MAX_ENTRIES} files and folders")
            rel = prefix + name
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise _Refuse(f"{rel} disappeared while being collected") from None
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                target = os.readlink(name, dir_fd=fd)
                raise _Refuse(f"{rel} is a link (to {target}); links are never followed")
            if stat.S_ISDIR(mode):
                self._owned(st, rel)
                sub = self._open_dir(fd, name, st, rel)
                try:
                    tree.dirs.append(rel)
                    self._walk(sub, rel + "/", tree, depth + 1)
                    tree.ctime_ns = max(tree.ctime_ns, os.fstat(sub).st_ctime_ns)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(mode):
                self._owned(st, rel)
                if st.st_size > self.max_file:
                    raise _Refuse(
                        f"{rel} is {_size(st.st_size)}, over the limit of {_size(self.max_file)} "
                        "a file (CourseDirectory.max_file_size); it was not read"
                    )
                tree.files[rel] = self._read_file(fd, name, st, rel, tree)
            else:
                raise _Refuse(f"{rel} is {_kind(mode)}; it was not opened")

    def _read_file(self, fd: int, name: str, st: os.stat_result, rel: str, tree: _Tree) -> bytes:
        try:
            f = os.open(name, _OPEN_FILE, dir_fd=fd)
        except OSError as exc:
            raise _Refuse(f"{rel} cannot be opened without following a link: "
                          f"{exc.strerror}") from None  # fmt: skip
        try:
            now = os.fstat(f)
            if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                raise _Refuse(f"{rel} was replaced while being collected")
            self._owned(now, rel)
            chunks, n = [], 0
            while True:
                chunk = os.read(f, min(1 << 20, self.max_file + 1 - n))
                if not chunk:
                    break
                n += len(chunk)
                if n > self.max_file:
                    raise _Refuse(f"{rel} grew over the limit of {_size(self.max_file)} a file")
                chunks.append(chunk)
            self.total += n
            if self.total > self.max_total:
                raise _Refuse(
                    f"the hand-in holds over {_size(self.max_total)} in all "
                    "(CourseDirectory.max_dir_size)"
                )
            tree.ctime_ns = max(tree.ctime_ns, os.fstat(f).st_ctime_ns)  # after reading
            return b"".join(chunks)
        except OSError as exc:
            raise _Refuse(f"{rel} cannot be read: {exc.strerror}") from None
        finally:
            os.close(f)


def _read_name(name: str, assignment: str) -> tuple[str, datetime] | str | None:
    """(student, time in the name) of an inbound folder of ``assignment``; a reason
    when the name cannot be read; None when it belongs to another assignment.

    Names are ``<student>+<assignment>+<timestamp>[+<random>]``, as nbgrader's
    collect reads them (a student id may itself contain ``+``).
    """
    from nbgrader.utils import parse_utc

    if f"+{assignment}+" not in name:
        return None
    parts = name.rsplit("+", 3)
    if len(parts) == 4 and parts[1] != assignment:  # no random suffix, '+' in the id
        parts = name.rsplit("+", 2)
    if len(parts) < 3 or parts[1] != assignment:
        return "nbgrader cannot read the name"
    try:
        stamp = parse_utc(parts[2])
    except (ValueError, OverflowError, TypeError):
        return f"nbgrader cannot read the time in its name ({parts[2]!r})"
    if _BAD_ID.search(parts[0]):
        return f"{parts[0]!r} cannot be a student id"
    return parts[0], stamp


def _hand_ins(inbound: Path, assignment: str) -> dict[str, list[Path]]:
    """Hand-ins of ``assignment`` in ``inbound`` by student, newest name first (names only)."""
    found: dict[str, list[tuple[datetime, Path]]] = {}
    for path in inbound.iterdir():
        read = _read_name(path.name, assignment)
        if isinstance(read, tuple):
            found.setdefault(read[0], []).append((read[1], path))
    return {s: [p for _, p in sorted(v, reverse=True)] for s, v in sorted(found.items())}


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).replace(tzinfo=None)


def _said(tree: _Tree) -> datetime | None:
    from nbgrader.utils import parse_utc

    raw = tree.files.get("timestamp.txt")
    if raw is None:
        return None
    try:
        return parse_utc(raw.decode("utf-8").strip())
    except (ValueError, OverflowError, TypeError, UnicodeDecodeError):
        return None


def _private_dir(path: Path) -> None:
    """``path`` and its missing parents as folders of the instructor alone."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        os.mkdir(folder, 0o700)
        os.chmod(folder, 0o700)


def _install(tree: _Tree, dest: Path, when: datetime) -> None:
    """Write ``tree`` as ``dest`` (replacing it), the instructor's own: folders 0700,
    files 0600, and timestamp.txt holding ``when``, the time collect trusts."""
    _private_dir(dest.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        for rel in sorted(tree.dirs):
            os.mkdir(tmp / rel, 0o700)
        files = dict(tree.files)
        files["timestamp.txt"] = f"{when:%Y-%m-%d %H:%M:%S.%f} UTC".encode()
        for rel, data in files.items():
            fd = os.open(tmp / rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                os.fchmod(fh.fileno(), 0o600)
        old = None
        if dest.exists():
            old = dest.parent / f"{tmp.name}-old"
            os.rename(dest, old)
        os.rename(tmp, dest)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class _Ledger:
    """What collect saw of each hand-in (``submitted/.cnnkit/exchange.json``, mode 0600):
    when it first saw it, the time it gave it, and a digest of its content. A hand-in
    whose content is unchanged keeps its time, whatever happens to its ctime."""

    def __init__(self, course: Course, exchange: Path) -> None:
        from .privacy import LEDGER

        self.path = course.submitted_dir / LEDGER
        self.data: dict = {"version": 1, "hand_ins": {}}
        if self.path.is_file():
            self.data = json.loads(self.path.read_text())
        self.data["exchange"] = str(exchange)  # cnnkit grade checks the course when it is a class's

    def entry(self, assignment: str, name: str) -> dict | None:
        return self.data["hand_ins"].get(assignment, {}).get(name)

    def record(self, assignment: str, name: str, entry: dict) -> None:
        self.data["hand_ins"].setdefault(assignment, {})[name] = entry

    def save(self) -> None:
        _private_dir(self.path.parent)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.data, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)


@dataclass
class _Candidate:
    name: str
    time: datetime
    tree: _Tree
    notes: list[str]


def _open_inbound(course: Course, root: str | os.PathLike | None) -> int:
    """A descriptor on the course's inbound folder, once it is known to be the instructor's."""
    base = exchange_root(course, root) / course.course_id
    inbound = base / "inbound"
    if not inbound.is_dir():
        raise NbgraderError(
            f"No {inbound}: release an assignment first (`cnnkit exchange release`)."
        )
    me = os.geteuid()
    for folder in (base, inbound):
        st = folder.lstat()
        if stat.S_ISLNK(st.st_mode) or st.st_uid not in (0, me):
            raise NbgraderError(
                f"{folder} belongs to {_user_name(st.st_uid)}"
                + (" and is a link" if stat.S_ISLNK(st.st_mode) else "")
                + ": a student may have made it before the course was released. Remove it "
                "and run `cnnkit exchange release` again."
            )
    return os.open(inbound, _OPEN_DIR)


def _collect_folder(
    course: Course,
    assignment: str,
    root: str | os.PathLike | None,
    before_due: bool,
    shared_account: bool,
) -> tuple[dict[str, tuple[int, _Candidate]], list[Refused]]:
    """Read every hand-in of ``assignment``; install each student's chosen one.

    Returns, by student, (how many hand-ins were trusted, the one kept), and the
    hand-ins refused.
    """
    cd = course.coursedir()
    due = _due(course, assignment)
    ledger = _Ledger(course, exchange_root(course, root))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    refused: list[Refused] = []
    by_student: dict[str, list[str]] = {}
    fd = _open_inbound(course, root)
    try:
        for name in sorted(os.listdir(fd)):
            read = _read_name(name, assignment)
            if read is None:
                continue
            if isinstance(read, str):
                refused.append(Refused(name, None, f"skipped: {read}"))
                continue
            by_student.setdefault(read[0], []).append(name)

        results: dict[str, tuple[int, _Candidate]] = {}
        for student, names in sorted(by_student.items()):
            uid = None
            if not shared_account:
                try:
                    uid = pwd.getpwnam(student).pw_uid
                except KeyError:
                    for name in names:
                        refused.append(Refused(name, student, f"no Unix user is named {student}"))
                    continue
            newest: _Candidate | None = None
            newest_on_time: _Candidate | None = None
            trusted = 0
            for name in names:
                reader = _Reader(uid, cd.max_file_size * 1000, cd.max_dir_size * 1000, cd.ignore)
                try:
                    tree = reader.read(fd, name)
                except _Refuse as exc:
                    owner = None if exc.owner_uid is None else _user_name(exc.owner_uid)
                    refused.append(Refused(name, student, exc.reason, owner))
                    continue
                except OSError as exc:  # never one hand-in stops the class
                    refused.append(Refused(name, student, f"it cannot be read: {exc}"))
                    continue
                trusted += 1
                candidate = _judge(ledger, assignment, name, student, tree, now)
                if newest is None or candidate.time > newest.time:
                    newest = candidate
                if due is not None and candidate.time <= due:
                    if newest_on_time is None or candidate.time > newest_on_time.time:
                        newest_on_time = candidate
            if newest is None:
                continue
            chosen = newest_on_time if (before_due and newest_on_time is not None) else newest
            dest = course.folder("submitted_directory", student, assignment)
            existing = cd.get_existing_timestamp(str(dest)) if dest.is_dir() else None
            copy = (
                existing is None
                or chosen.time > existing
                or (before_due and chosen.time != existing)
            )
            if copy:
                _install(chosen.tree, dest, chosen.time)
            chosen.tree = _Tree()  # its content is in submitted/ now, or was already
            results[student] = (trusted, chosen)
    finally:
        os.close(fd)
    ledger.save()
    return results, refused


def _judge(
    ledger: _Ledger, assignment: str, name: str, student: str, tree: _Tree, now: datetime
) -> _Candidate:
    """The time collect trusts for a hand-in, and what is worth saying about it."""
    digest = tree.digest()
    seen = ledger.entry(assignment, name)
    notes = []
    if seen is not None and seen["digest"] == digest:
        time = datetime.fromisoformat(seen["time"])
        first_seen = seen["first_seen"]
    else:
        time = _utc(tree.ctime_ns)
        first_seen = now.isoformat()
        if seen is not None:
            first_seen = seen["first_seen"]
            notes.append(
                f"changed after it was handed in ({seen['time'][:19]} UTC): counts as "
                f"handed in at {time:%Y-%m-%d %H:%M:%S} UTC"
            )
    said = _said(tree)
    if said is not None and abs((said - time).total_seconds()) > _SAID_TOLERANCE:
        notes.append(f"its timestamp.txt says {said:%Y-%m-%d %H:%M:%S} UTC (not trusted)")
    ledger.record(
        assignment,
        name,
        {
            "student": student,
            "first_seen": first_seen,
            "time": time.isoformat(),
            "digest": digest,
            "said": None if said is None else said.isoformat(),
        },
    )
    return _Candidate(name, time, tree, notes)


def collect(
    course: Course,
    assignment: str,
    *,
    root: str | os.PathLike | None = None,
    before_due: bool = False,
    shared_account: bool = False,
) -> Collection:
    """Copy the students' hand-ins from the exchange to ``submitted/`` and record them.

    Each student's newest hand-in is kept (a newer one replaces one collected
    earlier; ``before_due`` keeps the newest one made before the due date
    instead, when there is one). On nbgrader's folder exchange a hand-in counts
    only when it can be trusted:

    - its folder and every file in it belong to the Unix user it names
      (``shared_account``: the students share one account, so the name is taken
      on its word; every file must still have one owner);
    - it holds no link, device, FIFO or socket, and no file over nbgrader's
      ``CourseDirectory.max_file_size`` (nor more than ``max_dir_size`` in all):
      those are refused before they are opened, and nothing is read through a link;
    - its time is the kernel's: the newest ctime of its files and folders, which
      no student can set back. Once collect has seen a hand-in it keeps that time
      while the content stays the same; a hand-in changed later counts as handed
      in at the change. ``timestamp.txt`` is the student's word and only shown.

    The copies in ``submitted/`` are the instructor's own (folders 0700, files
    0600), their timestamp.txt holds the trusted time. Refused hand-ins and names
    nbgrader cannot read are returned in :attr:`Collection.refused`; the rest of
    the class is collected normally. In the gradebook, a student who is not there
    yet is added and each hand-in's time recorded, so its lateness shows in the
    formgrader and ``cnnkit export`` before any grading. Another exchange (ngshare,
    ...) is collected by nbgrader itself.
    """
    from nbgrader.api import MissingEntry
    from nbgrader.exchange import ExchangeFactory, default

    cfg = exchange_config(course, root)
    coursedir = course.coursedir()

    def stamp(student: str) -> datetime | None:
        folder = course.folder("submitted_directory", student, assignment)
        return coursedir.get_existing_timestamp(str(folder)) if folder.is_dir() else None

    before = {s: stamp(s) for s in course.students(assignment)}  # collected earlier
    refused: list[Refused] = []
    folder_exchange = ExchangeFactory(config=cfg).collect is default.ExchangeCollect
    if folder_exchange:
        results, refused = _collect_folder(course, assignment, root, before_due, shared_account)
        students = sorted(results)
    else:
        if before_due:
            cfg.ExchangeCollect.before_duedate = True
        check(course.api(cfg).collect(assignment, update=True), f"nbgrader collect {assignment}")
        results = {}
        students = course.students(assignment)

    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
            registered = True
        except MissingEntry:
            registered = False
    if not registered:  # released with nbgrader itself: the gradebook needs the notebooks
        record_assignment(course, assignment)

    collected = []
    with course.gradebook() as gb:
        for student in students:
            new_student = False
            try:
                gb.find_student(student)
            except MissingEntry:
                gb.add_student(student)
                new_student = True
            when = stamp(student)
            if student not in before:
                status = "new"
            elif when == before[student]:
                status = "unchanged"
            else:
                status = "updated"
            submission = gb.update_or_create_submission(assignment, student, timestamp=when)
            count, chosen = results.get(student, (None, None))
            collected.append(
                Collected(
                    student,
                    count,
                    when,
                    float(submission.total_seconds_late),
                    status,
                    new_student,
                    chosen.notes if chosen is not None else [],
                )
            )
    return Collection(collected, refused)


# --- feedback ----------------------------------------------------------------------
def release_feedback(
    course: Course,
    assignment: str,
    *,
    root: str | os.PathLike | None = None,
    student: str | None = None,
) -> list[Path]:
    """Write feedback pages for the graded hand-ins and put them in the exchange.

    The pages are nbgrader's ``generate_feedback`` with the kit's
    :class:`~cnnwidgets.instructor.classroom.feedback.HideHiddenTests` (failure
    messages shown, hidden test code left out). Each student fetches their own
    with ``nbgrader fetch_feedback``; the exchange names a page by a hash of a
    secret only the submitting student holds. Returns the pages released.
    """
    from .feedback import feedback

    pages = feedback(course, assignment, student=student)
    if not pages:
        raise NbgraderError(
            f"No graded hand-ins of {assignment}"
            + (f" by {student}" if student else "")
            + ": run `cnnkit grade` first."
        )
    check(
        course.api(exchange_config(course, root)).release_feedback(assignment, student_id=student),
        f"nbgrader release_feedback {assignment}",
    )
    return pages
