"""The learner's working copy: first run, edits kept, kit updates beside, deleted copies back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnwidgets.lab.workspace import MANIFEST, WORK, sync_work


def _kit(root: Path) -> Path:
    for rel, text in {
        "course/01_images.ipynb": '{"lesson": 1}',
        "course/02_sizes.ipynb": '{"lesson": 2}',
        "course/.ipynb_checkpoints/01_images-checkpoint.ipynb": "old",
        "exercises/a1/a1.ipynb": '{"exercise": 1}',
        "solutions/a1/a1.ipynb": '{"solution": 1}',
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def test_first_run_copies_lessons_and_exercises_only(tmp_path):
    kit = _kit(tmp_path / "kit")
    report = sync_work(kit)
    work = kit / WORK
    assert _files(work) == {
        "course/01_images.ipynb": '{"lesson": 1}',
        "course/02_sizes.ipynb": '{"lesson": 2}',
        "exercises/a1/a1.ipynb": '{"exercise": 1}',
    }
    assert sorted(report.copied) == sorted(_files(work))
    assert report.updated == report.beside == []
    assert "3 new in my-work/" in report.lines()[0]


def test_a_second_run_changes_nothing(tmp_path):
    kit = _kit(tmp_path / "kit")
    sync_work(kit)
    (kit / WORK / "course/01_images.ipynb").write_text('{"lesson": 1, "mine": true}')
    before = _files(kit / WORK)
    report = sync_work(kit)
    assert _files(kit / WORK) == before
    assert report.lines() == []


def test_a_kit_update_never_overwrites_an_edit(tmp_path):
    kit = _kit(tmp_path / "kit")
    work = kit / WORK
    sync_work(kit)
    (work / "course/01_images.ipynb").write_text('{"lesson": 1, "mine": true}')
    # the kit changes both lessons (a `git pull`) and adds a third
    (kit / "course/01_images.ipynb").write_text('{"lesson": 1.1}')
    (kit / "course/02_sizes.ipynb").write_text('{"lesson": 2.1}')
    (kit / "course/03_params.ipynb").write_text('{"lesson": 3}')

    report = sync_work(kit)
    files = _files(work)
    assert files["course/01_images.ipynb"] == '{"lesson": 1, "mine": true}'  # kept
    assert files["course/01_images (new version).ipynb"] == '{"lesson": 1.1}'  # beside it
    assert files["course/02_sizes.ipynb"] == '{"lesson": 2.1}'  # untouched: replaced
    assert files["course/03_params.ipynb"] == '{"lesson": 3}'  # new lesson
    assert report.beside == [("course/01_images.ipynb", "course/01_images (new version).ipynb")]
    assert report.updated == ["course/02_sizes.ipynb"]
    assert report.copied == ["course/03_params.ipynb"]
    text = "\n".join(report.lines())
    assert "your copy is kept" in text and "01_images (new version).ipynb" in text

    # offered once: the next run leaves both alone
    assert sync_work(kit).lines() == []
    assert _files(work) == files


def test_a_second_update_replaces_an_untouched_new_version(tmp_path):
    kit = _kit(tmp_path / "kit")
    work = kit / WORK
    sync_work(kit)
    (work / "course/01_images.ipynb").write_text("mine")
    (kit / "course/01_images.ipynb").write_text("v2")
    sync_work(kit)
    (kit / "course/01_images.ipynb").write_text("v3")
    report = sync_work(kit)
    assert _files(work)["course/01_images (new version).ipynb"] == "v3"
    assert _files(work)["course/01_images.ipynb"] == "mine"
    assert "course/01_images (new version 2).ipynb" not in _files(work)
    assert report.beside == [("course/01_images.ipynb", "course/01_images (new version).ipynb")]

    # once the learner works in the new version too, a later one goes to a third name
    (work / "course/01_images (new version).ipynb").write_text("mine too")
    (kit / "course/01_images.ipynb").write_text("v4")
    sync_work(kit)
    files = _files(work)
    assert files["course/01_images (new version).ipynb"] == "mine too"
    assert files["course/01_images (new version 2).ipynb"] == "v4"


def test_a_deleted_copy_comes_back_fresh(tmp_path):
    kit = _kit(tmp_path / "kit")
    sync_work(kit)
    mine = kit / WORK / "exercises/a1/a1.ipynb"
    mine.write_text("half done")
    mine.unlink()
    report = sync_work(kit)
    assert mine.read_text() == '{"exercise": 1}'
    assert report.copied == ["exercises/a1/a1.ipynb"]


@pytest.mark.parametrize("record", [None, "not json", '["a list"]'])
def test_without_a_record_an_unknown_copy_counts_as_the_learners(tmp_path, record):
    kit = _kit(tmp_path / "kit")
    work = kit / WORK
    sync_work(kit)
    (work / "course/01_images.ipynb").write_text("mine")
    if record is None:
        (work / MANIFEST).unlink()
    else:
        (work / MANIFEST).write_text(record)
    report = sync_work(kit)
    files = _files(work)
    assert files["course/01_images.ipynb"] == "mine"
    assert files["course/01_images (new version).ipynb"] == '{"lesson": 1}'
    assert files["course/02_sizes.ipynb"] == '{"lesson": 2}'  # equal to the kit's: adopted
    assert report.updated == []
    assert json.loads((work / MANIFEST).read_text())["course/02_sizes.ipynb"]


def test_the_kit_is_never_written(tmp_path):
    kit = _kit(tmp_path / "kit")
    before = {p: p.stat().st_mtime_ns for p in kit.rglob("*") if p.is_file()}
    sync_work(kit)
    (kit / WORK / "course/01_images.ipynb").write_text("mine")
    (kit / "course/01_images.ipynb").write_text("v2")
    before[kit / "course/01_images.ipynb"] = (kit / "course/01_images.ipynb").stat().st_mtime_ns
    sync_work(kit)
    after = {p: p.stat().st_mtime_ns for p in kit.rglob("*") if p.is_file() and WORK not in p.parts}
    assert after == before
