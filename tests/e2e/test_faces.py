"""Lab's two faces, each started as the README says: `make lab` for learners (their copies,
no instructor tools), `make instructor` with everything."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from ._lab import expect, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTRUCTOR_COMMANDS = (
    "nbgrader:open-formgrader",
    "nbgrader:open-create-assignment",
    "nbgrader:open-course-list",
)


# nbgrader's Create Assignment sidebar, by its id (nbgrader's spelling)
CREATE_ASSIGNMENT = "nbgrader-create_assignemnt"


def _right_sidebar(lab_page) -> list[str]:
    return lab_page.page.evaluate(
        "() => [...window.jupyterapp.shell.widgets('right')].map(w => w.id)"
    )


def _get(server, path: str) -> tuple[int, str]:
    """Status and final address of a GET on the server (redirects followed)."""
    try:
        with urllib.request.urlopen(server.url(path), timeout=30) as reply:
            return reply.status, reply.url
    except urllib.error.HTTPError as err:
        return err.code, err.url


def _root_names(server) -> set[str]:
    with urllib.request.urlopen(server.url("api/contents"), timeout=30) as reply:
        return {item["name"] for item in json.load(reply)["content"]}


def _nbgrader_menu(lab_page) -> list[str]:
    lab_page.dismiss_dialogs()
    page = lab_page.page
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu-content .lm-Menu-item:visible .lm-Menu-itemLabel")
    expect(items.first).to_be_visible()
    labels = items.all_inner_texts()
    page.keyboard.press("Escape")
    return labels


def _has_commands(lab_page) -> dict[str, bool]:
    return lab_page.page.evaluate(
        "(ids) => Object.fromEntries("
        "ids.map((id) => [id, window.jupyterapp.commands.hasCommand(id)]))",
        list(INSTRUCTOR_COMMANDS),
    )


def test_learner_face_opens_their_copies_without_instructor_tools(lab, lab_page):
    # opens on the learner's copy of the lessons; the server sees my-work/ only
    status, url = _get(lab, "")
    assert status == 200 and url.split("?")[0].endswith("/lab/tree/course"), url
    assert {"course", "exercises"} <= _root_names(lab) and "solutions" not in _root_names(lab)

    assert _nbgrader_menu(lab_page) == ["Assignment List"]
    assert _has_commands(lab_page) == dict.fromkeys(INSTRUCTOR_COMMANDS, False)
    assert _get(lab, "formgrader")[0] == 404
    assert _get(lab, "formgrader/api/assignments")[0] == 404
    # the Assignments panel and Validate stay
    assert _get(lab, "assignments?course_id=")[0] == 200
    tab = lab_page.open_notebook("exercises/a4_metrics/a4_metrics.ipynb").wait_ready()
    try:
        tab.activate()
        toolbar = tab.root.locator(".jp-NotebookPanel-toolbar")
        expect(toolbar.get_by_text("Validate", exact=True)).to_be_visible()
        # no Create Assignment sidebar (which rewrites cell metadata when opened)
        assert CREATE_ASSIGNMENT not in _right_sidebar(lab_page)
        screenshot(lab_page.page, "learner-face")
    finally:
        tab.close()


def test_instructor_face_has_every_tool(instructor_lab, instructor_page):
    status, url = _get(instructor_lab, "")
    assert status == 200 and url.split("?")[0].endswith("/lab/tree/my-work/course"), url
    assert {"course", "exercises", "solutions", "my-work"} <= _root_names(instructor_lab)
    assert _nbgrader_menu(instructor_page) == [
        "Assignment List",
        "Course List",
        "Formgrader",
        "Create assignment",
    ]
    assert _has_commands(instructor_page) == dict.fromkeys(INSTRUCTOR_COMMANDS, True)
    assert CREATE_ASSIGNMENT in _right_sidebar(instructor_page)
    assert _get(instructor_lab, "formgrader/api/assignments")[0] == 200
