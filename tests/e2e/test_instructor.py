"""The instructor's side, `make instructor` started as the README says: nbgrader's formgrader
lists the kit's assignments without an exchange warning, releases one to the learner's
Assignments panel, shows every submission's score after `cnnkit grade`, and takes a score
given by hand into the gradebook."""

from __future__ import annotations

import nbformat
import pytest

from cnnwidgets.lab import WORK
from tests.instructor._samples import A1, A1_MAX, samples

from ._lab import expect, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Three kinds of a1 submission are enough to see scores in the formgrader; the
# instructor tests grade all of them.
GRADED = ("correct", "partial", "empty")


def _write_submissions(root) -> dict[str, float]:
    expected = {}
    for student, (nb, score) in samples().items():
        if student in GRADED:
            folder = root / "submitted" / student / A1
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{A1}.ipynb")
            expected[student] = score
    return expected


def _open_formgrader(instructor_page):
    """JupyterLab's menu Nbgrader > Formgrader; the formgrader's frame."""
    instructor_page.dismiss_dialogs()
    page = instructor_page.page
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Formgrader", exact=True).click()
    return page, page.frame_locator("iframe[src*='formgrader']")


def test_formgrader_lists_assignments_then_shows_scores(instructor_page, course_root, tmp_path):
    from tests.instructor.conftest import cnnkit

    page, frame = _open_formgrader(instructor_page)
    names = sorted(p.name for p in (course_root / "solutions").iterdir() if p.is_dir())
    assert len(names) == 7
    expect(frame.locator("#main-table td.name")).to_have_text(names)
    # An exchange to release to: the machine has none set up, so `make instructor` made
    # the kit's own (.lab/exchange) rather than leave nbgrader's "does not exist" warning.
    expect(frame.locator(".alert-warning")).to_have_count(0)
    expect(frame.locator("#main-table td.release a")).to_have_count(len(names))
    screenshot(page, "formgrader-assignments")

    expected = _write_submissions(course_root)
    run = cnnkit("--course", str(course_root), "grade", A1, "--jobs", "2", tmpdir=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    print(f"cnnkit grade, {len(expected)} submissions: {run.seconds:.1f} s")

    # what an instructor does next: reload the list, follow the number of submissions
    frame.locator("a", has_text="Manage Assignments").click()
    row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text=A1))
    expect(row.locator("td.num-submissions")).to_have_text(str(len(expected)))
    row.locator("td.num-submissions a").click()
    rows = frame.locator("#main-table tr")
    expect(rows).to_have_count(len(expected))
    shown = {
        rows.nth(i).locator("td.student-id").inner_text().strip(): rows.nth(i)
        .locator("td.score")
        .inner_text()
        .strip()
        for i in range(len(expected))
    }
    assert shown == {s: f"{score:g} / {A1_MAX:g}" for s, score in expected.items()}
    screenshot(page, "formgrader-scores")


def _graded_cells(course_root, student: str) -> dict[str, tuple[float, float, float | None]]:
    """grade_id -> (auto score, max score, manual score) of a student's a1, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(A1, A1, student)
        return {g.name: (g.auto_score, g.max_score, g.manual_score) for g in nb.grades}


def test_formgrader_grades_a_submission_by_hand(instructor_page, course_root):
    """An instructor opens one submission in the formgrader, gives a failed test its points
    by hand, and the gradebook and the lists show the new total.
    (Runs after the scores test, which graded the submissions.)"""
    from nbgrader.api import Gradebook

    student = "partial"
    before = _graded_cells(course_root, student)
    failed = sorted(g for g, (auto, most, _) in before.items() if auto is not None and auto < most)
    assert failed, f"{student} fails no test: {before}"
    grade_id = failed[0]
    auto, most, _ = before[grade_id]

    page, frame = _open_formgrader(instructor_page)
    frame.locator("a", has_text="Manual Grading").click()
    frame.locator("#main-table td.name a", has_text=A1).click()
    frame.locator("#main-table td.name a", has_text=A1).click()  # the assignment's notebook
    row = frame.locator("#main-table tr", has=frame.locator("td.name"))
    expect(row).to_have_count(len(GRADED))
    frame.locator("#toggle_names", has_text="Show All Names").click()  # hidden until shown
    frame.locator("a.name-shown", has_text=student).click()

    # The box holds the hand-given score; until there is one, the autograder's score is
    # its placeholder.
    box = frame.locator(f"input.score#{grade_id}")
    expect(box).to_have_attribute("placeholder", f"{auto:g}")
    expect(box).to_have_value("")
    box.fill(f"{most:g}")
    box.press("Tab")  # the formgrader saves on change
    expect(frame.locator(f"input.score#{grade_id}")).to_have_value(f"{most:g}")
    screenshot(page, "formgrader-manual-score")

    grade = None
    for _ in range(50):  # the save is an asynchronous request
        grade = _graded_cells(course_root, student)[grade_id]
        if grade[2] is not None:
            break
        page.wait_for_timeout(200)
    assert grade == (auto, most, most), grade
    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gb:
        total = gb.find_submission(A1, student).score
    assert total == pytest.approx(sum(
        (manual if manual is not None else auto) for auto, _, manual in _graded_cells(
            course_root, student).values()
    ))  # fmt: skip
    assert total == pytest.approx(sum(a for a, _, _ in before.values()) + most - auto)

    # The lists show it too: the notebook's submissions under Manual Grading...
    frame.locator(".breadcrumb a", has_text=A1).last.click()
    frame.locator("#toggle_names", has_text="Show All Names").click()
    graded = frame.locator("#main-table tr", has=frame.locator("a.name-shown", has_text=student))
    expect(graded.locator("td.score")).to_have_text(f"{total:g} / {A1_MAX:g}")
    # ... and the assignment's submissions under Manage Assignments.
    frame.locator("a", has_text="Manage Assignments").click()
    a1_row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text=A1))
    a1_row.locator("td.num-submissions a").click()
    mine = frame.locator("#main-table tr", has=frame.locator("td.student-id", has_text=student))
    expect(mine.locator("td.score")).to_have_text(f"{total:g} / {A1_MAX:g}")


def test_formgrader_releases_to_the_learners_assignments_panel(
    instructor_page, lab_page, course_root
):
    """The formgrader's release puts an assignment in the exchange; the learner's face
    (`make lab`, the same machine) lists it in its Assignments panel, ready to fetch."""
    page, frame = _open_formgrader(instructor_page)
    frame.locator("a", has_text="Manage Assignments").click()
    name = "a2_shapes_and_parameters"  # not a1: the other tests keep theirs unreleased
    row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text=name))
    row.locator("td.release a").click()
    expect(row.locator("td.status")).to_have_text("released", timeout=60_000)
    outbound = course_root / ".lab" / "exchange" / "cnn-course" / "outbound" / name
    assert (outbound / f"{name}.ipynb").exists(), sorted(outbound.parent.glob("*"))
    lab_page.dismiss_dialogs()  # a release dialog of the formgrader stays on its own page

    learner = lab_page.page
    learner.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    learner.locator(".lm-Menu-itemLabel").get_by_text("Assignment List", exact=True).click()
    released = learner.locator("#released_assignments_list")
    expect(released).to_contain_text(name, timeout=60_000)
    expect(learner.locator(".nbgrader-mainarea-widget")).not_to_contain_text("does not exist")
    released.get_by_role("button", name="Fetch").click()
    expect(learner.locator("#fetched_assignments_list")).to_contain_text(name, timeout=60_000)
    screenshot(learner, "learner-assignments-panel")
    # fetched into the learner's folder, which git ignores (the git status test checks)
    assert (course_root / WORK / name / f"{name}.ipynb").exists()
    learner.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Assignments").locator(
        ".lm-TabBar-tabCloseIcon"
    ).click()
