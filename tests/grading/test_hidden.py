"""hidden_rng: plain seeds outside grading, the course's secret while grading."""

from __future__ import annotations

import numpy as np
import pytest

from cnnwidgets.grading import hidden, hidden_rng


@pytest.fixture
def secret(monkeypatch):
    def use(value):
        monkeypatch.setattr(hidden, "_course_secret", value)

    return use


def _draws(n: int) -> list[float]:
    return hidden_rng(n).normal(size=5).tolist()


def test_outside_grading_it_is_the_plain_seed(secret):
    secret(None)
    assert _draws(101) == np.random.default_rng(101).normal(size=5).tolist()


def test_with_a_secret_the_same_secret_and_number_give_the_same_inputs(secret):
    secret("a" * 64)
    first = _draws(101)
    assert _draws(101) == first  # re-grading draws the same inputs
    assert _draws(202) != first  # another test, other inputs
    assert first != np.random.default_rng(101).normal(size=5).tolist()  # not the plain seed
    secret("b" * 64)
    assert _draws(101) != first  # another course, other inputs


def test_the_verifier_hook_sets_and_clears_the_secret():
    try:
        hidden._use_course_secret("c" * 64)
        assert hidden._course_secret == "c" * 64
        hidden._use_course_secret("")
        assert hidden._course_secret is None
    finally:
        hidden._use_course_secret(None)


def test_the_number_must_be_a_whole_number():
    with pytest.raises(TypeError):
        hidden_rng(1.5)  # type: ignore[arg-type]
