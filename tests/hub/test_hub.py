"""A class on a real JupyterHub, in Chromium (issue 12): the guide's hub configuration
(docs/hub/jupyterhub_config.py), PAM logins of real Unix users, a server per user started
by the LocalProcessSpawner, nbgrader's Lab extension in each, the formgrader as a hub
service of the grader account.

A student logs in, fetches a1 from the Assignments panel, opens it, answers, presses
Validate and submits; the grader collects, grades and releases feedback with ``cnnkit``;
the student fetches the feedback in the panel. An instructor opens the formgrader
through the hub; a student is refused there. Screenshots in test-artifacts/hub/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e._lab import NotebookTab, expect
from tests.instructor._samples import A1, A1_MAX, solution_answers

from . import _hub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COURSE_ID = _hub.COURSE_ID
NOTEBOOK = f"{A1}/{A1}.ipynb"
# The student's own Lab settings, as anyone may keep them in ~/.jupyter: every cell in
# the page (the test finds cells by index), no news pop-ups, and Lab's application
# object on window (Playwright drives Lab through it, as tests/e2e does).
_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}
_SERVER_CONFIG = {"LabApp": {"expose_app_in_browser": True}}


class Class:
    """The site the hub serves: accounts, the course, the exchange, the hub itself."""

    def __init__(self, site: _hub.Site, python: _hub.SharedPython) -> None:
        self.site = site
        self.python = python
        self.bindir = Path(sys.executable).parent  # the kit's venv, as the guide's hub uses
        self.students_group = site.group("students")
        self.instructors_group = site.group("instructors")
        self.grader = site.user("grader", home_mode=0o755)
        self.student = site.user("student", (self.students_group,))
        self.instructor = site.user("instructor", (self.instructors_group,))
        self.course = self._course()
        self.exchange = self._exchange()
        self.etc = self._site_config()
        for user in (self.student, self.instructor):
            self._lab_settings(user)
        self.hub: _hub.Hub | None = None

    def _course(self) -> Path:
        """The grader's clone of the kit (what the hub serves: a1, the Lab settings), with
        what only the grader may read closed, as the guide's set-up does."""
        from tests.instructor.conftest import copy_course

        course = copy_course(self.site.base / "course", [A1])
        shutil.copytree(_hub.REPO / "jupyter", course / "jupyter")
        for name in ("submitted", "autograded", "feedback"):
            (course / name).mkdir()
        self.site.give(self.grader, course)
        for name in ("solutions", "submitted", "autograded", "feedback"):
            os.chmod(course / name, 0o700)
        return course

    def _exchange(self) -> Path:
        exchange = self.site.base / "exchange"
        exchange.mkdir()
        os.chmod(exchange, 0o1777)
        (exchange / COURSE_ID).mkdir()  # the course's folder, the grader's before anyone's
        self.site.give(self.grader, exchange / COURSE_ID)
        return exchange

    def _site_config(self) -> Path:
        """The guide's /etc/jupyter/nbgrader_config.py, in a folder of the test's."""
        etc = self.site.base / "etc-jupyter"
        etc.mkdir()
        (etc / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.Exchange.root = {str(self.exchange)!r}\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        )
        return etc

    def _lab_settings(self, user: _hub.User) -> None:
        jupyter = user.home / ".jupyter"
        for plugin, values in _SETTINGS.items():
            path = jupyter / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        (jupyter / "jupyter_server_config.json").write_text(json.dumps(_SERVER_CONFIG))
        self.site.give(user, jupyter)

    def cnnkit(self, *args: str, timeout: float = 600) -> str:
        """``cnnkit`` as the grader, in the course, as the guide says; its output."""
        argv = [str(self.bindir / "cnnkit"), "--course", str(self.course), *args]
        # the site's nbgrader_config.py, as /etc/jupyter would be read on a server
        env = {"JUPYTER_CONFIG_PATH": str(self.etc)}
        run = self.site.run(
            self.grader,
            argv,
            bindir=self.bindir,
            cwd=self.course,
            env=env,
            prefix=self.python.prefix,
            timeout=timeout,
        )
        assert run.returncode == 0, (
            f"cnnkit {' '.join(args)} as the grader failed ({run.returncode}):\n"
            f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
        return run.stdout

    def start_hub(self) -> _hub.Hub:
        env = {
            "CNN_HUB_KIT": str(self.course),
            "CNN_HUB_BIN": str(self.bindir),
            "CNN_HUB_SITE": str(self.etc),
            "CNN_HUB_GRADER": self.grader.name,
            "CNN_HUB_FORMGRADER": f"http://127.0.0.1:{_hub.free_port()}",
            "CNN_HUB_STUDENTS": self.students_group,
            "CNN_HUB_INSTRUCTORS": self.instructors_group,
        }
        state = self.site.base / "srv-jupyterhub"
        self.hub = _hub.Hub(state, env, self.python.prefix).start()
        return self.hub

    def score(self) -> float | None:
        """The student's a1 score in the grader's gradebook."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}") as gb:
            try:
                return gb.find_submission(A1, self.student.name).score
            except MissingEntry:
                return None


@pytest.fixture(scope="module")
def hub_class(hub_possible):
    """Accounts, the hub running, and a1 released to the exchange."""
    started = time.monotonic()
    parent = Path("/tmp")  # every account reaches it (TMPDIR may be private)
    base = Path(tempfile.mkdtemp(prefix="cnnkit-hub-", dir=parent))
    os.chmod(base, 0o755)
    site = _hub.Site(base)
    python = _hub.SharedPython(base)
    room = None
    try:
        (base / "home").mkdir(mode=0o755)
        python.start()
        room = Class(site, python)
        room.start_hub()
        room.cnnkit("exchange", "release", A1)
        print(f"hub class set up in {time.monotonic() - started:.1f} s")
        yield room
    finally:
        if room is not None and room.hub is not None:
            room.hub.stop()
        site.remove()
        python.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=60_000)  # two cores, shared
    return chromium


def _log_in(browser, hub: _hub.Hub, user: _hub.User, next_url: str = ""):
    """A browser context of ``user``, logged in at the hub's login form; its page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub.url}/hub/login" + (f"?next={next_url}" if next_url else ""))
    page.locator("#username_input").fill(user.name)
    page.locator("#password_input").fill(user.password)
    page.locator("#login_submit").click()
    return page


def _shot(target, name: str) -> None:
    _hub.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(_hub.ARTIFACTS / f"{name}.png"))


class _Lab:
    """What tests/e2e's NotebookTab needs of a Lab page (a page with the e2e helpers)."""

    def __init__(self, page) -> None:
        self.page = page


def _open_lab(page, hub: _hub.Hub):
    """After the login: the hub starts the server; wait for Lab and load tests/e2e's
    page helpers."""
    from tests.e2e._lab import _JS_HELPERS

    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.commands",
        timeout=240_000,
        polling=500,
    )
    page.wait_for_selector(".jp-LabShell", timeout=60_000)
    page.evaluate(_JS_HELPERS, 1)
    return _Lab(page)


def _assignments_panel(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Assignment List", exact=True).click()
    return page.locator(".nbgrader-mainarea-widget")


def _assignments_tab(page) -> None:
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Assignments")
    tab.click()


def test_student_round_trip_in_chromium(hub_class, browser):
    room = hub_class
    hub = room.hub
    started = time.monotonic()
    page = _log_in(browser, hub, room.student)
    lab = _open_lab(page, hub)
    assert f"/user/{room.student.name}/lab" in page.url
    spawned = time.monotonic() - started
    try:
        # fetch a1 from the Assignments panel
        panel = _assignments_panel(page)
        released = panel.locator("#released_assignments_list")
        expect(released).to_contain_text(A1)
        expect(panel).not_to_contain_text("does not exist")
        released.locator(".list_item", has_text=A1).get_by_role("button", name="Fetch").click()
        fetched = panel.locator("#fetched_assignments_list")
        expect(fetched.locator(".list_item", has_text=A1).first).to_be_visible()
        _shot(page, "student-fetched")
        copy = room.student.home / NOTEBOOK
        assert copy.is_file() and copy.stat().st_uid == room.student.uid

        # open it from the panel: the assignment's notebooks, then the notebook's link
        fetched.locator(".assignment-notebooks-link", has_text=A1).click()
        fetched.locator(".nested_list_item .item_name a", has_text=A1).click()
        page.wait_for_function("(p) => window.__e2e.panelOf(p) !== null", arg=NOTEBOOK, polling=250)
        tab = NotebookTab(lab, NOTEBOOK).wait_ready(timeout=180)
        tab.activate()

        # answer every task, then Validate (which saves first)
        import nbformat

        nb = nbformat.read(copy, as_version=4)
        ids = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
        for grade_id, code in solution_answers().items():
            tab.type_into(ids[grade_id], code)
        tab.root.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text(
            "Success! Your notebook passes all the tests.", timeout=240_000
        )
        _shot(dialog, "student-validate")
        dialog.locator(".jp-Dialog-footer button").last.click()
        saved = nbformat.read(copy, as_version=4)
        assert saved.cells[ids["conv2d"]].source.strip() == solution_answers()["conv2d"].strip()

        # submit from the panel
        _assignments_tab(page)
        fetched.locator(".list_item", has_text=A1).first.get_by_role(
            "button", name="Submit"
        ).click()
        submitted = panel.locator("#submitted_assignments_list")
        expect(submitted).to_contain_text(A1)
        _shot(page, "student-submitted")
        inbound = room.exchange / COURSE_ID / "inbound"
        hand_ins = [p for p in inbound.iterdir() if p.name.startswith(f"{room.student.name}+")]
        assert len(hand_ins) == 1 and hand_ins[0].stat().st_uid == room.student.uid

        # the grader collects, grades and releases feedback
        graded_at = time.monotonic()
        collected = room.cnnkit("exchange", "collect", A1)
        assert room.student.name in collected, collected
        room.cnnkit("grade", A1, "--jobs", "1")
        assert room.score() == pytest.approx(A1_MAX)
        room.cnnkit("exchange", "feedback", A1)
        grading = time.monotonic() - graded_at

        # the student fetches it in the panel
        panel.locator("#refresh_assignments_list").click()
        row = submitted.locator(".list_item", has_text=A1).first
        row.get_by_role("button", name="Fetch Feedback").click()
        expect(submitted).to_contain_text("(view feedback)")
        _shot(page, "student-feedback")
        pages = list((room.student.home / A1 / "feedback").glob(f"*/{A1}.html"))
        assert len(pages) == 1, pages
        assert pages[0].stat().st_uid == room.student.uid
        assert "HIDDEN TESTS" not in pages[0].read_text()
        # the student reads it: the panel's link shows its folder, the server serves it
        submitted.get_by_text("(view feedback)").click()
        relative = pages[0].relative_to(room.student.home).as_posix()
        expect(page.locator(".jp-DirListing-item", has_text=f"{A1}.html")).to_be_visible()
        reader = page.context.new_page()
        reader.goto(f"{hub.url}/user/{room.student.name}/files/{relative}")
        expect(reader.locator("body")).to_contain_text(
            re.compile(rf"Score:\s*{A1_MAX:g}(\.0)?\s*/\s*{A1_MAX:g}")
        )
        _shot(reader, "student-feedback-page")
    except Exception:
        _shot(page, "student-failure")
        print(hub.tail())
        raise
    finally:
        page.context.close()
    print(
        f"hub round trip: {time.monotonic() - started:.1f} s (login and server start "
        f"{spawned:.1f} s, collect + grade + feedback {grading:.1f} s)"
    )


def test_formgrader_is_a_hub_service(hub_class, browser):
    room = hub_class
    hub = room.hub
    formgrader = f"/services/{COURSE_ID}/formgrader"
    page = _log_in(browser, hub, room.instructor, next_url=formgrader)
    try:
        table = page.locator("#main-table")
        expect(table.locator("td.name", has_text=A1)).to_be_visible(timeout=180_000)
        assert page.url.startswith(f"{hub.url}{formgrader}"), page.url
        row = table.locator("tr", has_text=A1)
        expect(row.locator("td.status")).to_have_text("released")
        # the grader's gradebook, as cnnkit left it: one graded hand-in after the round trip
        expect(row.locator("td.num-submissions")).to_have_text("0" if room.score() is None else "1")
        _shot(page, "instructor-formgrader")
    finally:
        page.context.close()
    # the instructor's own server was never needed; a student may not reach the service
    page = _log_in(browser, hub, room.student)
    try:
        page.wait_for_url(f"**/user/{room.student.name}/**", timeout=240_000)
        refused = page.goto(f"{hub.url}{formgrader}/")
        assert refused is not None and refused.status == 403, refused and refused.status
    finally:
        page.context.close()
    mode = stat.S_IMODE((room.course / "solutions").stat().st_mode)
    assert mode == 0o700, oct(mode)
