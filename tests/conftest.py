"""Test-wide set-up: TensorFlow quiet and deterministic before anything imports it."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    """Run each lesson once per session: in Chromium when the browser tests run, else by nbclient.

    tests/e2e/test_lessons.py runs a lesson top to bottom in JupyterLab and checks
    everything tests/notebooks/test_lessons.py checks (no error, nothing on stderr,
    every cell executed) and more; running it a second time would only cost minutes.
    """
    browser_prefix = "tests/e2e/test_lessons.py::test_lesson_runs_in_the_browser"
    in_browser = {
        item.callspec.params["lesson"]
        for item in items
        if item.nodeid.startswith(browser_prefix) and hasattr(item, "callspec")
    }
    if not in_browser:
        return
    from tests.e2e._lab import missing

    if missing() is not None:  # the browser tests skip (or fail under CI): keep nbclient's run
        return
    skip = pytest.mark.skip(
        reason="runs top to bottom in Chromium in this session (tests/e2e/test_lessons.py)"
    )
    for item in items:
        if item.nodeid.startswith("tests/notebooks/test_lessons.py::test_lesson_executes"):
            if item.callspec.params["path"].name in in_browser:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the session's browser tests (tests/e2e, tests/hub): Playwright's sync
    API runs one event loop per process, so a second ``sync_playwright()`` while the first
    is open fails every test that asks for it."""
    from playwright.sync_api import sync_playwright

    from tests.e2e._lab import launch_chromium

    pw = sync_playwright().start()
    browser = launch_chromium(pw)
    yield browser
    browser.close()
    pw.stop()
