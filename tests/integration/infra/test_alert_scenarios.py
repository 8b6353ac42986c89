"""The shared scenario table (infra/prometheus/tests/alert_scenarios.yaml) run through promtool.

The pytest generates a `promtool test rules` file from the table (inputs held constant past the
rule's `for:`) so Prometheus' verdict on every row is checked; the built-in evaluator and
`cvntrade runbook confirm` are checked against the same rows elsewhere.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from infra_support import (
    RULES_FILE,
    AlertScenario,
    load_rules,
    load_scenarios,
    promtool_test_for_scenarios,
)


def _for_minutes() -> int:
    page = next(rule for rule in load_rules() if rule.get("alert") == "expectancy_negative_focal")
    match = re.fullmatch(r"(\d+)m", page["for"])
    assert match, f"expected a for: in minutes, got {page['for']!r}"
    return int(match.group(1))


def _run_promtool(
    promtool: str, tmp_path: Path, scenarios: list[AlertScenario]
) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "alert_scenarios_test.yml"
    document = promtool_test_for_scenarios(scenarios, RULES_FILE, _for_minutes())
    test_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )


def test_scenario_table_has_unique_names_and_both_verdicts() -> None:
    scenarios = load_scenarios()
    names = [scenario.name for scenario in scenarios]
    assert len(names) == len(set(names))
    assert {"focal-regression", "single-symbol", "healthy"} <= set(names)
    assert {scenario.expect_firing for scenario in scenarios} == {True, False}


SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_prometheus_gives_the_expected_verdict(
    promtool: str, tmp_path: Path, scenario: AlertScenario
) -> None:
    result = _run_promtool(promtool, tmp_path, [scenario])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["focal-regression", "single-symbol"])
def test_a_wrong_expectation_in_the_table_fails_promtool(
    promtool: str, tmp_path: Path, name: str
) -> None:
    scenario = next(scenario for scenario in SCENARIOS if scenario.name == name)
    wrong = dataclasses.replace(scenario, expect_firing=not scenario.expect_firing)
    result = _run_promtool(promtool, tmp_path, [wrong])
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_rows_named_after_drills_make_the_drills_symbols_negative() -> None:
    from cvntrade.drill import SCENARIOS as DRILLS

    named = [scenario for scenario in SCENARIOS if scenario.name in DRILLS]
    assert {scenario.name for scenario in named} == set(DRILLS)
    for scenario in named:
        negative = {symbol for symbol, value in scenario.expectancy_48h.items() if value < 0}
        assert negative == set(DRILLS[scenario.name]), scenario.name
