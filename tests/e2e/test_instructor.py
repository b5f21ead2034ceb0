"""The instructor's side in JupyterLab: nbgrader's formgrader lists the kit's assignments,
and after `cnnkit grade` shows every submission's score."""

from __future__ import annotations

import nbformat
import pytest

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


def _open_formgrader(lab_page):
    """JupyterLab's menu Nbgrader > Formgrader; the formgrader's frame."""
    lab_page.dismiss_dialogs()
    page = lab_page.page
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Formgrader", exact=True).click()
    return page, page.frame_locator("iframe[src*='formgrader']")


def test_formgrader_lists_assignments_then_shows_scores(lab_page, course_root, tmp_path):
    from tests.instructor.conftest import cnnkit

    page, frame = _open_formgrader(lab_page)
    names = sorted(p.name for p in (course_root / "solutions").iterdir() if p.is_dir())
    assert len(names) == 7
    expect(frame.locator("#main-table td.name")).to_have_text(names)
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
