"""infra/alertmanager: `amtool check-config`, routing to the webhook and the halt inhibition."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from infra_support import INFRA, load_rules

CONFIG = INFRA / "alertmanager" / "alertmanager.yml"


def _amtool(amtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([amtool, *args], capture_output=True, text=True, check=False)


def test_alertmanager_config_passes_amtool_check(amtool: str) -> None:
    result = _amtool(amtool, "check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 inhibit rules" in result.stdout


def test_amtool_rejects_a_broken_config(amtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "alertmanager.yml"
    text = CONFIG.read_text()
    assert text.count("route:\n  receiver: cvntrade-webhook\n") == 1
    broken.write_text(
        text.replace("route:\n  receiver: cvntrade-webhook\n", "route:\n  receiver: nobody\n")
    )
    result = _amtool(amtool, "check-config", str(broken))
    assert result.returncode != 0


def test_the_page_and_the_warnings_route_to_the_cvntrade_webhook(amtool: str) -> None:
    for labels in (
        ["alertname=expectancy_negative_focal", "severity=P1", "category=expectancy"],
        ["alertname=feature_psi_high", "severity=warning", "crypto_symbol=BTCUSDC"],
    ):
        result = _amtool(amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == "cvntrade-webhook"
    config = yaml.safe_load(CONFIG.read_text())
    (receiver,) = config["receivers"]
    (webhook,) = receiver["webhook_configs"]
    assert webhook["url"] == "http://127.0.0.1:9109/alertmanager"
    assert webhook["send_resolved"] is True
    assert config["route"]["group_by"] == ["alertname"]


def test_halt_inhibits_exactly_the_expectancy_alerts() -> None:
    (inhibit,) = yaml.safe_load(CONFIG.read_text())["inhibit_rules"]
    assert inhibit["source_matchers"] == ['alertname="trading_halted"']
    assert inhibit["target_matchers"] == ['category="expectancy"']
    alerts = {rule["alert"]: rule for rule in load_rules() if "alert" in rule}
    assert "cvntrade_halt_active" in alerts["trading_halted"]["expr"]
    muted = {
        name for name, rule in alerts.items() if rule["labels"].get("category") == "expectancy"
    }
    # the escalation rule too: during a halt trading is stopped on purpose and cannot recover
    assert muted == {"expectancy_negative_focal", "expectancy_not_recovered_after_rollback"}
