"""`make lab` on a copy of the kit, one Chromium, every lesson run once in it; `make instructor`
on the same copy for the instructor's tests.

The browser tests need Debian's Chromium and the playwright package: without them
they skip with one line, except under CI=true, where they fail instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cnnwidgets.lab import WORK

from . import _lab

LESSONS = _lab.LESSONS
_CI = os.environ.get("CI", "").lower() == "true"
_MISSING = _lab.missing()
# Seconds a lesson may take from the start of the session until it has run: the
# lessons queue for two compute slots, and the last one starts after the others.
COURSE_TIMEOUT = 900


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lesson(name): the lesson (course/<name>) a browser test needs to have run"
    )


def pytest_collection_modifyitems(config, items):
    if _MISSING is None or _CI:
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"browser tests skipped: {_MISSING}")
    for item in items:
        if here in item.path.parents:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _MISSING is not None and report.skipped and isinstance(report.longrepr, tuple):
        path, _, reason = report.longrepr
        if reason.startswith("Skipped: browser tests skipped"):
            # every test the same location: `-ra` prints one line for them all
            report.longrepr = (str(Path(__file__)), None, reason)


def _lessons_needed(items) -> list[str]:
    """The lessons the selected tests use: a ``lesson`` parameter or a ``lesson`` marker."""
    names = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "lesson" in callspec.params:
            names.add(callspec.params["lesson"])
        names.update(marker.args[0] for marker in item.iter_markers("lesson"))
    return [name for name in LESSONS if name in names]


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    if _MISSING is not None:  # only under CI=true: elsewhere every test is marked skip
        pytest.fail(f"browser tests cannot run under CI=true: {_MISSING}", pytrace=False)


@pytest.fixture(scope="session")
def course_root(tmp_path_factory) -> Path:
    """A temporary copy of the kit, a git repository as a fresh clone is (see copy_course)."""
    return _lab.copy_course(tmp_path_factory.mktemp("e2e") / "course")


@pytest.fixture(scope="session")
def work_root(lab, course_root) -> Path:
    """The learner's working copy `make lab` made and serves: my-work/ in the kit."""
    return course_root / WORK


# Two lessons compute at once on two cores: one TensorFlow thread each, so their thread
# pools do not fight over the cores.
_THREADS = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


@pytest.fixture(scope="session")
def lab(course_root):
    """`make lab`: the learner's face, on my-work/."""
    server = _lab.LabServer(course_root, env=_THREADS).start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def lab_page(lab, context) -> _lab.LabPage:
    """The one JupyterLab page every learner's test works in, each notebook in its own tab."""
    page = _lab.LabPage.open(context, lab, slots=2)
    yield page
    page.page.close()


@pytest.fixture(scope="session")
def instructor_lab(course_root):
    """`make instructor`: the whole kit with nbgrader's instructor tools, on the same copy."""
    server = _lab.LabServer(course_root, target="instructor", env=_THREADS).start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def instructor_page(instructor_lab, context) -> _lab.LabPage:
    page = _lab.LabPage.open(context, instructor_lab, slots=1)
    yield page
    page.page.close()


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import expect

    # Kernels share two cores with the lessons running in other tabs: be patient.
    expect.set_options(timeout=30_000)
    return chromium


@pytest.fixture(scope="session")
def context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


class Course:
    """Lessons open in tabs of one Lab page, run in the background, two at a time.

    The queue lives in the page, so lessons keep running while a test waits on
    something else, e.g. ``cnnkit grade``.
    """

    def __init__(self, lab_page: _lab.LabPage, lessons: list[str]) -> None:
        self.server = lab_page.server
        self.started = time.monotonic()
        self.tabs = {name: lab_page.open_notebook(f"course/{name}") for name in lessons}
        for tab in self.tabs.values():  # queued in teaching order
            tab.start_run_all()
        self.runs: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}

    def ready(self, name: str) -> _lab.NotebookTab:
        """The lesson's tab, in front, once all its cells ran and every widget is drawn."""
        if name not in self.tabs:
            raise AssertionError(f"{name} was not opened: mark the test @pytest.mark.lesson")
        tab = self.tabs[name]
        if name not in self.runs:
            left = COURSE_TIMEOUT - (time.monotonic() - self.started)
            try:
                self.runs[name] = tab.wait_run(max(left, 30))
            except Exception as err:
                raise AssertionError(
                    f"{name} did not finish running ({tab.run_state()}): {err}\n"
                    f"{self.server.log_tail(2000)}"
                ) from err
            self.reports[name] = tab.inspect()
        tab.activate()
        return tab


@pytest.fixture(scope="session")
def course(request, lab_page) -> Course:
    """The lessons the selected tests need, all queued at once (``-k`` runs fewer)."""
    return Course(lab_page, _lessons_needed(request.session.items))


@pytest.fixture(scope="session", autouse=True)
def _course_starts_first(request, _browser_available):
    # The lessons run in their tabs while the first tests (a student's exercise, the
    # formgrader) use the same server: no test waits for the course to start.
    if _lessons_needed(request.session.items):
        request.getfixturevalue("course")
