"""What a widget sends to the browser: every comm message, recorded instead of sent."""

from __future__ import annotations

import ipywidgets as W
import pytest


class Messages:
    """The update messages widgets sent, as ``(widget, state keys)``, oldest first."""

    def __init__(self) -> None:
        self.sent: list[tuple[W.Widget, tuple[str, ...]]] = []

    def clear(self) -> None:
        self.sent.clear()

    def per_view(self) -> dict[int, int]:
        """How many messages each widget (by id) sent."""
        counts: dict[int, int] = {}
        for widget, _ in self.sent:
            counts[id(widget)] = counts.get(id(widget), 0) + 1
        return counts

    def of(self, widget: W.Widget) -> list[tuple[str, ...]]:
        """The state keys of each message ``widget`` sent."""
        return [keys for w, keys in self.sent if w is widget]


@pytest.fixture
def messages(monkeypatch) -> Messages:
    record = Messages()
    send = W.Widget._send

    def recording_send(self, msg, buffers=None):
        if msg.get("method") == "update":
            record.sent.append((self, tuple(sorted(msg.get("state", {})))))
        return send(self, msg, buffers=buffers)

    monkeypatch.setattr(W.Widget, "_send", recording_send)
    return record
