"""self_check: one ✔/✘ line per check, never raising unless strict."""

from __future__ import annotations

import pytest

from cnnwidgets.grading import CheckResult, Report, self_check


def test_prints_one_line_per_check(capsys):
    def shapes_agree():
        """The shapes agree."""
        assert (2, 3) == (2, 3)

    def check_broken():
        raise ValueError("boom")

    failing = Report(False, ["layer 2 (Dense): units 8, expected 10"], 0.5, 2)
    results = self_check(
        shapes_agree,
        ("the answer is 42", lambda: 6 * 7 == 42),
        ("the model", failing),
        check_broken,
        ("a bool", False),
        ("assertion", lambda: (_ for _ in ()).throw(AssertionError("expected 3, got 4"))),
    )
    assert capsys.readouterr().out == (
        "✔ The shapes agree\n"
        "✔ the answer is 42\n"
        "✘ the model\n"
        "    layer 2 (Dense): units 8, expected 10\n"
        "✘ broken\n"
        "    ValueError: boom\n"
        "✘ a bool\n"
        "✘ assertion\n"
        "    expected 3, got 4\n"
        "2 of 6 checks passed.\n"
    )
    assert [r.passed for r in results] == [True, True, False, False, False, False]
    assert not results.passed
    assert isinstance(results[0], CheckResult)
    assert repr(results) == "<2 of 6 checks passed.>"


def test_reports_are_named_by_their_title(capsys):
    results = self_check(Report(True, [], 1.0, 3, "the model matches the reference"))
    assert capsys.readouterr().out == "✔ The model matches the reference\nThe check passed.\n"
    assert results.passed


def test_strict_raises_after_the_summary(capsys):
    with pytest.raises(AssertionError) as info:
        self_check(("ok", True), ("wrong", lambda: False), strict=True)
    assert capsys.readouterr().out.endswith("1 of 2 checks passed.\n")
    assert str(info.value) == "1 of 2 checks passed.\n✘ wrong: returned False"
    assert self_check(("ok", True), strict=True, show=False).passed


def test_a_skipped_training_check_says_so_and_does_not_fail(capsys):
    from cnnwidgets.grading import TrainingResult

    skipped = TrainingResult(True, "not trained while grading", skipped=True)
    results = self_check(("bounds", True), skipped, strict=True)
    out = capsys.readouterr().out
    assert results.passed
    assert "– The model reaches the required held-out accuracy: skipped" in out
    assert out.strip().endswith("All 2 checks passed (1 skipped).")
