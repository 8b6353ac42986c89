"""Options left out of `cvntrade train` come from ftf_config; contradictions are user errors."""

from __future__ import annotations

import pytest

from cvntrade.errors import UserInputError
from cvntrade.training.api import resolve_calibration, resolve_loss
from cvntrade.training.booster import BoosterParams, LossSpec

FOCAL_ENV = {
    "CVN_LOSS_FUNCTION": "focal",
    "CVN_FOCAL_GAMMA": "1.5",
    "CVN_FOCAL_ALPHA": "0.3",
    "CVN_CALIBRATION": "temperature_scaling",
}


def test_config_supplies_loss_gamma_alpha_and_calibration() -> None:
    assert resolve_loss(FOCAL_ENV, None, None, None) == LossSpec("focal", 1.5, 0.3)
    assert resolve_calibration(FOCAL_ENV, None) == "temperature_scaling"
    assert resolve_loss({}, None, None, None) == LossSpec("binary")
    assert resolve_calibration({}, None) == "none"


def test_arguments_override_config() -> None:
    assert resolve_loss(FOCAL_ENV, "binary:logistic", None, None) == LossSpec("binary")
    assert resolve_loss(FOCAL_ENV, None, 3.0, None) == LossSpec("focal", 3.0, 0.3)
    assert resolve_loss({}, "focal", None, 0.5) == LossSpec("focal", 2.0, 0.5)
    assert resolve_calibration(FOCAL_ENV, "none") == "none"


@pytest.mark.parametrize(
    ("env", "loss", "gamma", "alpha", "message"),
    [
        ({}, "hinge", None, None, "unknown loss 'hinge'"),
        ({}, None, 2.0, None, r"focal loss only; the loss is binary:logistic \(CVN_LOSS"),
        ({}, "binary:logistic", None, 0.3, "focal loss only"),
        ({}, "focal", -1.0, None, "--gamma must be"),
        ({}, "focal", None, 1.0, r"--alpha must be in \(0, 1\)"),
        ({"CVN_FOCAL_GAMMA": "x", "CVN_LOSS_FUNCTION": "focal"}, None, None, None, "not a number"),
    ],
)
def test_bad_loss_options_are_user_errors(
    env: dict[str, str], loss: str | None, gamma: float | None, alpha: float | None, message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        resolve_loss(env, loss, gamma, alpha)


def test_bad_calibration_and_booster_params_are_user_errors() -> None:
    with pytest.raises(UserInputError, match="unknown calibration 'platt'"):
        resolve_calibration({}, "platt")
    with pytest.raises(UserInputError, match="--rounds"):
        BoosterParams(rounds=0)


def test_loss_tags_use_the_journal_spelling() -> None:
    focal = LossSpec("focal", 2.0, 0.25)
    assert (focal.name, focal.config_value, focal.tag(focal.gamma)) == ("focal", "focal", "2.0")
    binary = LossSpec("binary")
    assert (binary.config_value, binary.tag(binary.gamma)) == ("binary:logistic", "none")
