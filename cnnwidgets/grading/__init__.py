"""Checks for student models and answers: model structure, head and loss, accuracy, self-checks."""

from .heads import assert_head_matches, check_head
from .models import assert_model_matches, check_model
from .quiet import framework_noise_silenced
from .report import HeadReport, ModelReport, Report
from .selfcheck import CheckResult, SelfCheckResults, self_check
from .training import TrainingResult, assert_accuracy, grading, train_and_evaluate

__all__ = [
    "CheckResult",
    "HeadReport",
    "ModelReport",
    "Report",
    "SelfCheckResults",
    "TrainingResult",
    "assert_accuracy",
    "assert_head_matches",
    "assert_model_matches",
    "check_head",
    "check_model",
    "framework_noise_silenced",
    "grading",
    "self_check",
    "train_and_evaluate",
]
