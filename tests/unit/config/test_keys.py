"""Typed config keys: values are validated and normalised before they reach the database."""

from __future__ import annotations

import pytest

from cvntrade.config import CONFIG_KEYS, normalise_value, parse_assignments
from cvntrade.errors import UserInputError


@pytest.mark.parametrize(
    ("key", "raw", "stored"),
    [
        ("CVN_LOSS_FUNCTION", "focal", "focal"),
        ("CVN_LOSS_FUNCTION", "binary:logistic", "binary:logistic"),
        ("CVN_FOCAL_GAMMA", "2", "2.0"),
        ("CVN_FOCAL_GAMMA", "0", "0.0"),
        ("CVN_FOCAL_GAMMA", " 1.5 ", "1.5"),
        ("CVN_FOCAL_ALPHA", "0.25", "0.25"),
        ("CVN_CALIBRATION", "temperature_scaling", "temperature_scaling"),
    ],
)
def test_valid_values_are_normalised(key: str, raw: str, stored: str) -> None:
    assert normalise_value(key, raw) == stored


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("CVN_LOSS_FUNCTION", "focal_loss", "must be one of binary:logistic, focal"),
        ("CVN_LOSS_FUNCTION", "binary", "must be one of"),
        ("CVN_FOCAL_GAMMA", "-0.1", "must be >= 0"),
        ("CVN_FOCAL_GAMMA", "nan", "must be finite"),
        ("CVN_FOCAL_GAMMA", "inf", "must be finite"),
        ("CVN_FOCAL_GAMMA", "two", "must be a number"),
        ("CVN_FOCAL_ALPHA", "0", "must be > 0"),
        ("CVN_FOCAL_ALPHA", "1", "must be < 1"),
        ("CVN_FOCAL_ALPHA", "1.5", "must be < 1"),
        ("CVN_CALIBRATION", "platt", "must be one of none, temperature_scaling"),
    ],
)
def test_invalid_values_name_key_and_rule(key: str, raw: str, message: str) -> None:
    with pytest.raises(UserInputError) as info:
        normalise_value(key, raw)
    assert key in str(info.value)
    assert message in str(info.value)


def test_unknown_key_lists_known_keys() -> None:
    with pytest.raises(UserInputError, match="unknown config key 'CVN_LOSS'") as info:
        normalise_value("CVN_LOSS", "focal")
    for key in CONFIG_KEYS:
        assert key in str(info.value)


def test_assignments_parse_all_or_nothing() -> None:
    assert parse_assignments(["CVN_LOSS_FUNCTION=focal", "CVN_FOCAL_GAMMA=1"]) == {
        "CVN_LOSS_FUNCTION": "focal",
        "CVN_FOCAL_GAMMA": "1.0",
    }
    with pytest.raises(UserInputError, match="CVN_FOCAL_ALPHA"):
        parse_assignments(["CVN_LOSS_FUNCTION=focal", "CVN_FOCAL_ALPHA=2"])


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "nothing to set"),
        (["CVN_LOSS_FUNCTION"], "expected KEY=VALUE"),
        (["=focal"], "expected KEY=VALUE"),
        (["CVN_FOCAL_GAMMA=1", "CVN_FOCAL_GAMMA=2"], "given twice"),
    ],
)
def test_malformed_assignments_are_rejected(items: list[str], message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        parse_assignments(items)
