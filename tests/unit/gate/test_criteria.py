"""The gate criteria file: the built-in default, the shipped copy, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvntrade.errors import UserInputError
from cvntrade.gate import DEFAULT_CRITERIA_YAML, load_criteria, parse_criteria

REPO_ROOT = Path(__file__).resolve().parents[3]
GOOD = DEFAULT_CRITERIA_YAML


def test_the_built_in_default_is_valid_versioned_and_hashed() -> None:
    loaded = load_criteria(None)
    assert loaded.source == "built-in"
    assert loaded.criteria.version >= 1
    assert len(loaded.sha256) == 64
    assert loaded.criteria.min_winning_folds >= 1


def test_the_shipped_gate_criteria_yaml_is_the_built_in_default() -> None:
    shipped = REPO_ROOT / "gate_criteria.yaml"
    assert shipped.read_text() == DEFAULT_CRITERIA_YAML
    loaded = load_criteria(shipped)
    assert loaded.criteria == load_criteria(None).criteria
    assert loaded.source == str(shipped)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("min_winning_folds: 3", "min_winning_folds: -1"),
            "field 'min_winning_folds'",
        ),
        (
            GOOD.replace("min_winning_folds: 3", "min_winning_folds: 3.5"),
            "field 'min_winning_folds'",
        ),
        (
            GOOD.replace("min_winning_folds: 3", "min_winning_folds: yes"),
            "field 'min_winning_folds'",
        ),
        (GOOD.replace("max_ece_hold: 0.05", "max_ece_hold: high"), "field 'max_ece_hold'"),
        (GOOD.replace("max_ece_hold: 0.05", "max_ece_hold: .inf"), "field 'max_ece_hold'"),
        (GOOD.replace("max_ece_hold: 0.05", "max_ece: 0.05"), "field 'max_ece'"),
        (GOOD.replace("version: 1\n", ""), "field 'version': Field required"),
        (GOOD.replace("version: 1", "version: 0"), "field 'version'"),
        (GOOD + "extra: 1\n", "field 'extra': Extra inputs are not permitted"),
        ("- 1\n- 2\n", "expected a mapping of fields"),
        ("", "got an empty file"),
        ("version: [1\n", "invalid YAML at line 2"),
    ],
)
def test_a_bad_criteria_file_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "criteria.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError) as raised:
        load_criteria(path)
    error = str(raised.value)
    assert error.startswith(f"gate criteria {path}: ")
    assert message in error
    assert "\n" not in error


def test_a_missing_criteria_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"gate criteria file .*nope.yaml cannot be read"):
        load_criteria(tmp_path / "nope.yaml")


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    loaded = parse_criteria(
        GOOD.replace("max_fold_shortfall_pct: 0.05", "max_fold_shortfall_pct: 1"), "t"
    )
    assert loaded.criteria.max_fold_shortfall_pct == 1.0
