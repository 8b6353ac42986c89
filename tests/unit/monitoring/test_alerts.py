"""The alert rule as a pure function, driven by a scenario table like promtool's."""

from __future__ import annotations

import math

import pytest

from cvntrade.monitoring.alerts import AlertConfig, FocalActive, evaluate

SCENARIOS = [
    ("no symbol negative", 1, {"BTCUSDC": 0.2, "ETHUSDC": 0.1}, False),
    ("one symbol negative", 1, {"BTCUSDC": -0.3, "ETHUSDC": 0.1}, False),
    ("two symbols negative", 1, {"BTCUSDC": -0.3, "ETHUSDC": -0.01, "SOLUSDC": 0.4}, True),
    ("two negative, focal inactive", 0, {"BTCUSDC": -0.3, "ETHUSDC": -0.2}, False),
    ("zero is not negative", 1, {"BTCUSDC": 0.0, "ETHUSDC": -0.2}, False),
    ("no trades (NaN) is not negative", 1, {"BTCUSDC": math.nan, "ETHUSDC": -0.2}, False),
    ("no data at all", 1, {}, False),
]


@pytest.mark.parametrize(("name", "focal", "values", "firing"), SCENARIOS)
def test_rule_matches_the_scenario_table(
    name: str, focal: int, values: dict[str, float], firing: bool
) -> None:
    state = evaluate(values, focal)
    assert state.firing is firing, name
    assert state.negative_symbols == tuple(sorted(s for s, v in values.items() if v < 0))
    assert state.severity == "P1"


def test_threshold_and_count_are_configurable() -> None:
    values = {"BTCUSDC": -0.3, "ETHUSDC": 0.05}
    assert not evaluate(values, True).firing
    assert evaluate(values, True, AlertConfig(min_negative_symbols=1)).firing
    assert evaluate(values, True, AlertConfig(threshold_pct=0.1)).negative_symbols == (
        "BTCUSDC",
        "ETHUSDC",
    )


def test_focal_source_is_reported_and_fingerprint_is_stable() -> None:
    values = {"BTCUSDC": -0.3, "ETHUSDC": -0.2}
    both = evaluate(values, FocalActive(config=True, champion=True, champion_symbols=("BTCUSDC",)))
    champion = evaluate(values, FocalActive(config=False, champion=True))
    none = evaluate(values, FocalActive(config=False, champion=False))
    assert (both.focal_source, champion.focal_source, none.focal_source) == (
        "config+champion",
        "champion",
        "none",
    )
    assert both.firing and champion.firing and not none.firing
    assert both.fingerprint == champion.fingerprint == evaluate({}, False).fingerprint
    assert "BTCUSDC=-0.3000%" in both.summary
