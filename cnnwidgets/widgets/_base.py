"""What every widget shares: one guard against echoes, one cache, one message per view."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

import ipywidgets as W

from ._common import ROOT

T = TypeVar("T")
_NOTHING = object()


class _Widget(W.VBox):
    """A widget whose views follow its traits through one ``_update()``.

    Subclasses build their views, set ``self._ready = True`` (or call :meth:`_start`)
    once their traits hold their first values, and call :meth:`_refresh` wherever the
    views must follow a change: a trait observer, a control's callback, a button.

    - **One guard.** While the widget is not ready, and while it is recomputing or
      filling its controls (``with self._quiet():``), ``self._busy`` is true: a control
      callback or a trait observer that fires then is an echo of the widget's own
      writing, and returns instead of recomputing (or writing back).
    - **One cache.** ``self._cached(name, key, make)`` keeps what ``make()`` returned
      until ``key`` (what it depends on) changes; ``self._stale(name, key)`` says
      whether a picture must be drawn again.
    - **One message per view.** A refresh holds every view's changes
      (``hold_sync``) and sends each view's in one message when ``_update`` returns,
      the views in ``_SEND_FIRST`` first (what the learner is looking at), then the
      rest in the order they appear. A view whose traits did not change sends nothing.
    """

    # Attribute names of the views whose update is sent before the others'.
    _SEND_FIRST: tuple[str, ...] = ()
    _ready = False
    _quiet_depth = 0
    _batch_depth = 0

    _update: Callable[[], None]  # each widget's recompute-and-draw, required of every subclass

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "_update", None)):
            raise TypeError(f"{cls.__name__} must define _update(), its recompute-and-draw")

    # --- the guard -----------------------------------------------------------------------

    @property
    def _busy(self) -> bool:
        """True before the widget is ready and while it writes to its own traits and controls."""
        return not self._ready or self._quiet_depth > 0

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Within this block, what the widget writes to its controls or traits does not echo."""
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    def _start(self) -> None:
        """The traits hold their first values: draw the views for the first time."""
        self.add_class(ROOT)
        self._ready = True
        self._refresh()

    def _refresh(self) -> None:
        """Recompute and redraw, unless this is an echo (see ``_busy``); batched per view."""
        if self._busy:
            return
        with self._quiet(), self._batched():
            self._update()

    @contextmanager
    def _batched(self) -> Iterator[None]:
        """Hold every view's updates until the outermost block ends, then send one message
        per view. An observer that sets other traits before refreshing holds its block
        around both, so what the links write goes in the same messages."""
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
            return
        with ExitStack() as stack:
            # The last entered is the first to leave and send: enter in reverse order.
            for view in reversed(self._views()):
                stack.enter_context(view.hold_sync())
            self._batch_depth = 1
            try:
                yield
            finally:
                self._batch_depth = 0

    def _views(self) -> list[W.Widget]:
        """The widget's views, with their layouts and styles: the first ones, then the tree."""
        first = [getattr(self, name) for name in self._SEND_FIRST]
        found: list[W.Widget] = []
        seen: set[int] = set()

        def visit(widget: Any) -> None:
            if not isinstance(widget, W.Widget) or id(widget) in seen:
                return
            seen.add(id(widget))
            found.append(widget)
            for name in ("layout", "style"):
                part = getattr(widget, name, None)
                if isinstance(part, W.Widget) and id(part) not in seen:
                    seen.add(id(part))
                    found.append(part)
            for child in getattr(widget, "children", ()):
                visit(child)

        for widget in first:
            visit(widget)
        visit(self)
        return found

    def _bind(self, control: W.Widget, name: str, to_trait: Callable[[Any], Any] | None = None):
        """``control`` sets the trait ``name`` when the learner moves it (not when the widget
        fills it). One way: ``_update`` shows the trait on the control, inside the batch,
        where a two-way ``link`` would send its own message first."""

        def follow(change: dict) -> None:
            if not self._busy:
                setattr(self, name, change["new"] if to_trait is None else to_trait(change["new"]))

        control.observe(follow, "value")

    # --- the cache -----------------------------------------------------------------------

    def _cached(self, name: str, key: object, make: Callable[[], T], *, keep: int = 1) -> T:
        """What ``make()`` returns, made again only when ``key`` changes.

        ``keep`` values of ``name`` are kept for different keys (the most recently used).
        """
        store = self.__dict__.setdefault("_memo", {}).setdefault(name, OrderedDict())
        value = store.get(key, _NOTHING) if _hashable(key) else _NOTHING
        if value is not _NOTHING:
            store.move_to_end(key)
            return value  # type: ignore[return-value]
        value = make()
        if _hashable(key):
            store[key] = value
            while len(store) > keep:
                store.popitem(last=False)
        return value  # type: ignore[return-value]

    def _stale(self, name: str, key: object) -> bool:
        """True, and ``key`` remembered, when what ``name`` shows must be drawn again."""
        drawn = self.__dict__.setdefault("_drawn", {})
        if name in drawn and drawn[name] == key:
            return False
        drawn[name] = key
        return True

    def _forget(self, *names: str) -> None:
        """Drop cached values and drawn keys (all, or those called ``names``)."""
        for store in (self.__dict__.get("_memo", {}), self.__dict__.get("_drawn", {})):
            for name in names or list(store):
                store.pop(name, None)


def _hashable(key: object) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True
