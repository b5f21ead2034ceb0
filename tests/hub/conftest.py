"""A real JupyterHub for the tests in this folder: they run as root under CI=true.

They create Unix users and start a hub that switches to them, so elsewhere they skip
with one line; under CI=true they always run, and a missing piece (root, Chromium,
bubblewrap, the proxy) fails them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import _hub


def pytest_collection_modifyitems(config, items):
    if _hub.under_ci():
        return
    reason = _hub.missing() or "they create Unix users: run as root with CI=true"
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"hub tests skipped: {reason}")
    for item in items:
        if here in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def hub_possible() -> None:
    """Fails (under CI=true) with what this machine lacks for a hub."""
    reason = _hub.missing()
    if reason is not None:
        pytest.fail(f"the hub tests cannot run under CI=true: {reason}", pytrace=False)
