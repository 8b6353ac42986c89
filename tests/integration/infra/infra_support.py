"""Shared helpers for the infra/ tests: tool lookup, PromQL metric names, the scenario table.

* `require_tool` finds promtool / amtool / prometheus / prometheus-alertmanager; when missing the
  test skips with the exact install command, except under `CI=true`, where it fails (same
  policy as the PostgreSQL fixture in tests/conftest.py; `make test` installs them first).
* `promql_metric_names` is a small tokenizer: every identifier starting with `cvntrade_` (a
  metric of src/cvntrade/monitoring/names.py) or `cvntrade:` (a recording rule of
  infra/prometheus/rules) in an expression, string literals skipped.
* `load_scenarios` / `promtool_test_for_scenarios` read infra/prometheus/tests/alert_scenarios.yaml
  and turn it into a `promtool test rules` file.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cvntrade.monitoring.names import ALL_METRICS

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"
RULES_FILE = INFRA / "prometheus" / "rules" / "cvntrade.rules.yml"
SCENARIOS_FILE = INFRA / "prometheus" / "tests" / "alert_scenarios.yaml"
INSTALL_COMMAND = (
    "sudo apt-get update && sudo apt-get install -y prometheus prometheus-alertmanager"
)
METRIC_LABELS: dict[str, tuple[str, ...]] = {spec.name: spec.labels for spec in ALL_METRICS}
# Labels Prometheus itself attaches to every scraped series.
TARGET_LABELS = ("job", "instance")

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_SELECTOR = re.compile(r"(cvntrade_[A-Za-z0-9_]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")


def require_tool(name: str) -> str:
    """Path of the executable `name`; skip (or fail under CI=true) with the install command."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} not installed: {INSTALL_COMMAND}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires {reason}")
    pytest.skip(reason)


def promql_metric_names(expr: str, *, skip_strings: bool = True) -> set[str]:
    """Identifiers of `expr` starting with `cvntrade_` or `cvntrade:` (metrics, recording rules).

    With `skip_strings` (PromQL), quoted label values are ignored; without it (alert
    annotations), the queries written inside template strings are scanned too.
    """
    text = _STRING.sub(" ", expr) if skip_strings else expr
    return {
        token for token in _IDENTIFIER.findall(text) if token.startswith(("cvntrade_", "cvntrade:"))
    }


def selector_label_names(expr: str) -> dict[str, set[str]]:
    """For each `cvntrade_metric{...}` selector in `expr`: the label names it matches on."""
    found: dict[str, set[str]] = {}
    for metric, matchers in _SELECTOR.findall(_STRING.sub('""', expr)):
        found.setdefault(metric, set()).update(_MATCHER.findall(matchers))
    return found


def unknown_names(
    exprs: Iterable[str], recording_rules: set[str], *, skip_strings: bool = True
) -> set[str]:
    """Names used in `exprs` that are neither catalogue metrics nor known recording rules."""
    used: set[str] = set()
    for expr in exprs:
        used |= promql_metric_names(expr, skip_strings=skip_strings)
    return used - set(METRIC_LABELS) - recording_rules


def unknown_labels(exprs: Iterable[str]) -> dict[str, set[str]]:
    """Per metric, label names matched on in `exprs` that the catalogue does not give it."""
    bad: dict[str, set[str]] = {}
    for expr in exprs:
        for metric, names in selector_label_names(expr).items():
            allowed = set(METRIC_LABELS.get(metric, ())) | set(TARGET_LABELS)
            extra = names - allowed
            if extra:
                bad.setdefault(metric, set()).update(extra)
    return bad


def load_rules(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    """Every rule (recording and alerting) of a Prometheus rule file, in file order."""
    document = yaml.safe_load(path.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def recording_rule_names(path: Path = RULES_FILE) -> set[str]:
    """Names of the recording rules defined in `path`."""
    return {rule["record"] for rule in load_rules(path) if "record" in rule}


# ---- the shared scenario table ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertScenario:
    """One row of alert_scenarios.yaml: the inputs held constant and the expected verdict."""

    name: str
    focal_loss_active: int
    expectancy_48h: Mapping[str, float]
    expect_firing: bool


def load_scenarios(path: Path = SCENARIOS_FILE) -> list[AlertScenario]:
    """Parse and validate the scenario table (unknown keys or bad types raise ValueError)."""
    document = yaml.safe_load(path.read_text())
    scenarios: list[AlertScenario] = []
    for index, row in enumerate(document["scenarios"]):
        keys = {"name", "focal_loss_active", "expectancy_48h", "expect_firing"}
        if set(row) != keys:
            raise ValueError(f"{path.name}: scenario {index} keys {sorted(row)} != {sorted(keys)}")
        if row["focal_loss_active"] not in (0, 1) or not isinstance(row["expect_firing"], bool):
            raise ValueError(f"{path.name}: scenario {row['name']!r} has a bad flag")
        expectancy = {str(symbol): float(value) for symbol, value in row["expectancy_48h"].items()}
        scenarios.append(
            AlertScenario(row["name"], row["focal_loss_active"], expectancy, row["expect_firing"])
        )
    return scenarios


def _series(name: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{name}{{{inner}}}"


def promtool_test_for_scenarios(
    scenarios: Iterable[AlertScenario], rules_file: Path, for_minutes: int
) -> dict[str, Any]:
    """A `promtool test rules` document: one test per scenario, inputs held constant.

    Each series keeps its value for `for_minutes + 5` minutes and the verdict is read at
    `for_minutes + 1` minutes from the ALERTS series (firing or not), so the check does not
    depend on annotation wording.
    """
    steps = for_minutes + 5
    eval_time = f"{for_minutes + 1}m"
    firing = 'ALERTS{alertname="expectancy_negative_focal",alertstate="firing"}'
    tests = []
    for scenario in scenarios:
        series = [
            {
                "series": _series(
                    "cvntrade_expectancy_net_realized",
                    {
                        "crypto_symbol": symbol,
                        "window": "48h",
                        "model_loss_function": "focal",
                    },
                ),
                "values": f"{value!r}x{steps}",
            }
            for symbol, value in scenario.expectancy_48h.items()
        ]
        series.append(
            {
                "series": _series("cvntrade_focal_loss_active", {"source": "any"}),
                "values": f"{scenario.focal_loss_active}x{steps}",
            }
        )
        expected = (
            [
                {
                    "labels": _series(
                        "ALERTS",
                        {
                            "alertname": "expectancy_negative_focal",
                            "alertstate": "firing",
                            "category": "expectancy",
                            "runbook": "expectancy_negative_focal",
                            "severity": "P1",
                        },
                    ),
                    "value": 1,
                }
            ]
            if scenario.expect_firing
            else []
        )
        tests.append(
            {
                "name": scenario.name,
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": firing, "eval_time": eval_time, "exp_samples": expected}
                ],
            }
        )
    return {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}
