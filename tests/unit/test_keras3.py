"""Every lecture construct in the Keras 3 table fails as stated, and every replacement runs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import cnnwidgets.core.keras3 as keras3_module
from cnnwidgets.core import LECTURE_CODE, lecture_code, rotation_degrees, rotation_factor

from ._keras_oracle import keras, run_doctests

_IDS = [f"{e.lesson}-{e.old.splitlines()[0][:40]}" for e in LECTURE_CODE]


def _namespace(entry) -> dict:
    k = keras()
    namespace = {"keras": k, "layers": k.layers, "np": np}
    exec(entry.setup, namespace)
    return namespace


@pytest.mark.parametrize("entry", LECTURE_CODE, ids=_IDS)
def test_the_lecture_code_no_longer_runs_cleanly(entry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = _namespace(entry)
    if entry.fails_with.endswith("Warning"):
        with pytest.warns(UserWarning):
            exec(entry.old, namespace)
        return
    with pytest.raises(Exception) as raised:
        exec(entry.old, namespace)
    names = [cls.__name__ for cls in type(raised.value).__mro__]
    assert entry.fails_with in names, (entry.old, raised.value)


@pytest.mark.parametrize("entry", LECTURE_CODE, ids=_IDS)
def test_the_replacement_runs_without_a_warning(entry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = _namespace(entry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(entry.new, namespace)


def test_replacements_do_what_the_lecture_meant():
    k = keras()
    one_hot = k.utils.to_categorical(np.array([3, 0, 9]), 10)
    assert one_hot.shape == (3, 10) and one_hot[0, 3] == 1
    assert rotation_degrees(rotation_factor(20)) == (-20.0, 20.0)
    assert rotation_degrees(0.2) == (-72.0, 72.0) and rotation_factor(72) == 0.2
    with pytest.raises(ValueError):
        rotation_factor(-5)


def test_every_entry_names_a_lesson_and_says_why():
    assert {e.lesson for e in LECTURE_CODE} == {"04", "06", "07"}
    assert all(e.note and e.source for e in LECTURE_CODE)
    assert lecture_code("05") == []
    assert len(lecture_code()) == len(LECTURE_CODE)


def test_docstring_examples():
    assert run_doctests(keras3_module).failed == 0
