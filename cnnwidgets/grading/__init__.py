"""Checks for student models and answers: structure, head and loss, accuracy, rules, self-checks."""

from .heads import assert_head_matches, check_head
from .hidden import hidden_rng
from .models import assert_model_matches, check_model
from .quiet import framework_noise_silenced
from .report import HeadReport, ModelReport, Report
from .rules import RULES, Rule, RuleViolation, assert_follows_rule
from .selfcheck import CheckResult, SelfCheckResults, self_check
from .training import TrainingResult, assert_accuracy, grading, train_and_evaluate

__all__ = [
    "RULES",
    "CheckResult",
    "HeadReport",
    "ModelReport",
    "Report",
    "Rule",
    "RuleViolation",
    "SelfCheckResults",
    "TrainingResult",
    "assert_accuracy",
    "assert_follows_rule",
    "assert_head_matches",
    "assert_model_matches",
    "check_head",
    "check_model",
    "framework_noise_silenced",
    "grading",
    "hidden_rng",
    "self_check",
    "train_and_evaluate",
]
