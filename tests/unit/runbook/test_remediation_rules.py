"""The remediation decisions: path choice, path B's ECE rule, path C's promotion and fallback."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from cvntrade.domain import RemediationPath
from cvntrade.errors import UserInputError
from cvntrade.runbook.remediation_rules import (
    ECE_MIN_GAIN,
    FELL_BACK,
    MIN_EVAL_TRADES,
    PROMOTED,
    RemediationResult,
    SymbolRemediation,
    choose_path,
    ece_improved,
    fallback_symbols,
    milder_focal_promotes,
    plan_lines,
)

NOW = dt.datetime(2026, 11, 30, 12)


@pytest.mark.parametrize(
    ("recommended", "expected"),
    [
        (None, RemediationPath.A),
        ("A", RemediationPath.A),
        ("B", RemediationPath.B),
        ("c", RemediationPath.C),
    ],
)
def test_choose_path_follows_the_diagnosis_and_defaults_to_a(
    recommended: str | None, expected: RemediationPath
) -> None:
    assert choose_path(recommended) is expected


def test_an_unknown_path_is_bad_input() -> None:
    with pytest.raises(UserInputError, match="choose A, B or C"):
        RemediationPath.parse("D")


@pytest.mark.parametrize(
    ("before", "after", "improved"),
    [
        (0.10, 0.10 - ECE_MIN_GAIN, True),
        (0.10, 0.02, True),
        (0.10, 0.10 - ECE_MIN_GAIN / 2, False),  # a gain below the margin is noise
        (0.10, 0.10, False),
        (0.05, 0.08, False),
        (None, 0.02, False),
        (0.10, None, False),
        (math.nan, 0.02, False),
        (0.10, math.inf, False),
    ],
)
def test_path_b_promotes_only_when_ece_hold_fell_by_the_margin(
    before: float | None, after: float | None, improved: bool
) -> None:
    assert ece_improved(before, after) is improved


@pytest.mark.parametrize(
    ("expectancy", "n", "promotes"),
    [
        (0.0, MIN_EVAL_TRADES, True),  # >= 0 promotes
        (0.4, MIN_EVAL_TRADES + 5, True),
        (-0.01, 10, False),
        (0.5, MIN_EVAL_TRADES - 1, False),  # too few trades: no evidence
        (None, 0, False),
        (math.nan, 10, False),
    ],
)
def test_path_c_promotes_with_enough_trades_and_non_negative_expectancy(
    expectancy: float | None, n: int, promotes: bool
) -> None:
    assert milder_focal_promotes(expectancy, n) is promotes


def test_fallback_is_every_symbol_not_promoted() -> None:
    outcomes = [
        SymbolRemediation("BTCUSDC", "m1", PROMOTED, "ok"),
        SymbolRemediation("ETHUSDC", "m2", FELL_BACK, "negative"),
        SymbolRemediation("SOLUSDC", "m3", FELL_BACK, "retraining failed"),
    ]
    assert fallback_symbols(outcomes) == ("ETHUSDC", "SOLUSDC")
    assert fallback_symbols(outcomes[:1]) == ()


def test_note_data_has_the_fields_the_incident_report_renders() -> None:
    result = RemediationResult(
        path="C",
        dry_run=False,
        via="inline",
        reason="r",
        incident_id=3,
        attachment="",
        symbols=("BTCUSDC", "ETHUSDC"),
        plan=(),
        outcomes=(
            SymbolRemediation(
                "BTCUSDC",
                "m1",
                PROMOTED,
                "ok",
                2,
                5,
                5,
                {"expectancy_48h": -0.2},
                {"expectancy_pct": 0.1},
            ),
            SymbolRemediation("ETHUSDC", "m2", FELL_BACK, "neg", 2, 6, 1),
        ),
        fell_back_to_a=("ETHUSDC",),
    )
    data = result.note_data()
    assert {"path", "symbols", "before", "after", "fell_back_to_A", "outcome"} <= set(data)
    assert data["path"] == "C"
    assert data["fell_back_to_A"] == ["ETHUSDC"]
    assert data["before"]["BTCUSDC"] == {"expectancy_48h": -0.2}
    assert data["outcome"] == {"BTCUSDC": PROMOTED, "ETHUSDC": FELL_BACK}
    assert data["versions"]["ETHUSDC"] == {"from": 2, "candidate": 6, "champion_after": 1}


@pytest.mark.parametrize("path", list(RemediationPath))
def test_plan_names_the_equivalent_commands(path: RemediationPath) -> None:
    lines = plan_lines(
        path,
        ("BTCUSDC", "ETHUSDC"),
        via="inline",
        reason="it's bad",
        current_gamma="2.0",
        eval_start=NOW - dt.timedelta(hours=48),
        now=NOW,
    )
    text = "\n".join(lines)
    assert "BTCUSDC,ETHUSDC" in text
    expected = {
        RemediationPath.A: "cvntrade runbook rollback",
        RemediationPath.B: "CVN_CALIBRATION=temperature_scaling",
        RemediationPath.C: "CVN_FOCAL_GAMMA 2.0 → 1.0",
    }[path]
    assert expected in text
    assert "'it'\\''s bad'" in text  # the reason is shell-quoted
