"""infra/prometheus: `promtool check` and `promtool test rules` on our config and rules.

Also proves the rule tests can fail: each weakened copy of the page rule must break them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from infra_support import (
    INFRA,
    REPO,
    RULES_FILE,
    load_rules,
    recording_rule_names,
    unknown_labels,
    unknown_names,
)

PROMETHEUS_DIR = INFRA / "prometheus"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*_test.yml"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def test_prometheus_config_and_rule_file_pass_promtool_check(promtool: str) -> None:
    config = _run(promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    rules = _run(promtool, "check", "rules", str(RULES_FILE))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(load_rules())} rules found" in rules.stdout


def test_rule_unit_tests_pass(promtool: str) -> None:
    assert {path.name for path in RULE_TESTS} >= {
        "expectancy_negative_focal_test.yml",
        "expectancy_not_recovered_test.yml",
        "warnings_test.yml",
    }
    result = _run(promtool, "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


WEAKENED = {
    "one_symbol_is_enough": (
        "cvntrade:expectancy_negative_focal_48h:count >= 2",
        "cvntrade:expectancy_negative_focal_48h:count >= 1",
    ),
    "focal_condition_dropped": (
        'and on() (max(cvntrade_focal_loss_active{source="any"}) == 1)',
        'or on() (max(cvntrade_focal_loss_active{source="any"}) == 2)',
    ),
    "shorter_for": ("on noise.\n        for: 15m\n", "on noise.\n        for: 5m\n"),
    "zero_counts_as_negative": (
        'model_loss_function="focal"} < 0)',
        'model_loss_function="focal"} <= 0)',
    ),
    # the escalation rule (expectancy_not_recovered_after_rollback)
    "recovery_zero_counts_as_negative": (
        "max(cvntrade_rollback_recovery_expectancy) < 0",
        "max(cvntrade_rollback_recovery_expectancy) <= 0",
    ),
    "recovery_one_trade_is_enough": (
        "max(cvntrade_rollback_recovery_trades) >= 3",
        "max(cvntrade_rollback_recovery_trades) >= 1",
    ),
    "recovery_judged_after_one_hour": (
        "max(cvntrade_rollback_last_timestamp_seconds)) >= 14400",
        "max(cvntrade_rollback_last_timestamp_seconds)) >= 3600",
    ),
}


@pytest.mark.parametrize("mutation", sorted(WEAKENED))
def test_rule_tests_fail_on_a_weakened_rule(promtool: str, tmp_path: Path, mutation: str) -> None:
    old, new = WEAKENED[mutation]
    text = RULES_FILE.read_text()
    assert text.count(old) == 1, f"mutation {mutation!r} no longer applies to the rule file"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / RULES_FILE.name).write_text(text.replace(old, new))
    (tmp_path / "tests").mkdir()
    for path in RULE_TESTS:
        shutil.copy(path, tmp_path / "tests" / path.name)
    result = _run(
        promtool, "test", "rules", *map(str, sorted((tmp_path / "tests").glob("*_test.yml")))
    )
    assert result.returncode != 0, f"{mutation}: rule tests still pass\n{result.stdout}"


def test_rules_use_only_catalogue_metrics_and_labels() -> None:
    rules = load_rules()
    recorded = recording_rule_names()
    exprs = [rule["expr"] for rule in rules]
    templates = [text for rule in rules for text in rule.get("annotations", {}).values()]
    assert unknown_names(exprs, recorded) == set()
    assert unknown_names(templates, recorded, skip_strings=False) == set()
    assert unknown_labels(exprs) == {}
    assert all(name.startswith("cvntrade:") for name in recorded)


def test_every_alert_has_a_severity_and_the_page_links_its_runbook() -> None:
    alerts = {rule["alert"]: rule for rule in load_rules() if "alert" in rule}
    assert set(alerts) >= {
        "expectancy_negative_focal",
        "trading_halted",
        "feature_psi_high",
        "output_sharpness_drift",
        "calibration_degraded",
        "engine_heartbeat_stale",
        "champion_stale",
        "monitoring_stale",
    }
    assert all(rule["labels"]["severity"] in {"P1", "warning", "info"} for rule in alerts.values())
    page = alerts["expectancy_negative_focal"]
    assert page["labels"]["severity"] == "P1"
    assert page["for"] == "15m"
    assert (REPO / page["annotations"]["runbook_url"]).is_file()
    # Alertmanager's halt inhibition targets this label: every expectancy alert must carry it.
    expectancy = [rule for name, rule in alerts.items() if name.startswith("expectancy_")]
    assert expectancy and all(rule["labels"]["category"] == "expectancy" for rule in expectancy)
