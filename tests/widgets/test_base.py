"""The shared widget base: every widget on it says how it recomputes and draws."""

import pytest

from cnnwidgets.widgets._base import _Widget


def test_a_widget_without_update_is_refused_when_its_class_is_made():
    with pytest.raises(TypeError, match="Broken must define _update"):

        class Broken(_Widget):
            pass

    class Drawn(_Widget):
        def _update(self) -> None:
            pass

    assert callable(Drawn._update)
