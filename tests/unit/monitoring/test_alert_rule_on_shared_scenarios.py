"""The built-in rule agrees with every case of the scenario table shared with promtool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cvntrade.monitoring.alerts import evaluate_scenario

TABLE = Path(__file__).parents[3] / "infra" / "prometheus" / "tests" / "alert_scenarios.yaml"


def _scenarios() -> list[dict[str, Any]]:
    if not TABLE.is_file():
        return []
    loaded = yaml.safe_load(TABLE.read_text())
    entries = loaded.get("scenarios", loaded) if isinstance(loaded, dict) else loaded
    return list(entries)


def test_inline_scenarios_in_the_shared_format() -> None:
    assert evaluate_scenario(
        {"focal_loss_active": 1, "expectancy_48h": {"BTCUSDC": -0.3, "ETHUSDC": -0.1}}
    )
    assert not evaluate_scenario(
        {"focal_loss_active": 0, "expectancy_48h": {"BTCUSDC": -0.3, "ETHUSDC": -0.1}}
    )
    assert not evaluate_scenario({"focal_loss_active": 1, "expectancy_48h": {"BTCUSDC": -0.3}})
    assert not evaluate_scenario({"focal_loss_active": 1, "expectancy_48h": {}})


@pytest.mark.skipif(not TABLE.is_file(), reason=f"{TABLE.name} arrives with the infra/ branch")
@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: str(s.get("name")))
def test_shared_table(scenario: dict[str, Any]) -> None:
    assert evaluate_scenario(scenario) is bool(scenario["expect_firing"])
