"""What the CLI prints around the answer: no library noise, nothing cut, no silent settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from cvntrade.errors import ExitCode

README = Path(__file__).parents[2] / "README.md"


def _cvntrade(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,  # stdout is a pipe, as in `cvntrade … | less`
        text=True,
        env=env,
        check=False,
    )


def test_piped_tables_keep_every_character_of_long_values(cli_env: dict[str, str]) -> None:
    reason = "rollback after the 3 a.m. page: " + "focal lost money on BTC and ETH; " * 8
    changed = _cvntrade(
        cli_env, "config", "set", "CVN_FOCAL_GAMMA=1.0", "--reason", reason, "--actor", "oncall"
    )
    assert changed.returncode == 0, changed.stderr
    shown = _cvntrade(cli_env, "config", "history")
    assert shown.returncode == 0, shown.stderr
    assert "…" not in shown.stdout
    flat = re.sub(r"[\s│┃]+", " ", shown.stdout)
    assert " ".join(reason.split()) in flat


def test_config_key_set_in_the_environment_is_reported_not_silently_ignored(
    cli_env: dict[str, str],
) -> None:
    env = {**cli_env, "CVN_LOSS_FUNCTION": "focal"}
    shown = _cvntrade(env, "config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "CVN_LOSS_FUNCTION is set in the environment" in shown.stderr
    assert "cvntrade config set CVN_LOSS_FUNCTION=" in shown.stderr
    assert json.loads(shown.stdout)["base_env"]["CVN_LOSS_FUNCTION"] == "binary:logistic"
    quiet = _cvntrade(cli_env, "config", "show", "--json")
    assert quiet.stderr == ""


def test_mlflow_info_lines_never_reach_the_terminal(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVN_", "MLFLOW_"))}
    env["CVN_HOME"] = str(tmp_path / "home")  # a fresh MLflow store: MLflow migrates it
    done = _cvntrade(env, "models", "show", "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4")
    assert done.returncode == ExitCode.BAD_INPUT
    assert done.stderr.strip().splitlines() == [
        "error: model 'CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4' not found in the registry"
    ]
    assert "INFO" not in done.stdout


def test_db_commands_speak_json(cli_env: dict[str, str]) -> None:
    upgraded = _cvntrade(cli_env, "db", "upgrade", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    current = json.loads(_cvntrade(cli_env, "db", "current", "--json").stdout)
    assert current["current"] == current["head"] == json.loads(upgraded.stdout)["revision"]
    assert current["up_to_date"] is True
    assert "password" not in upgraded.stdout


def test_every_exit_code_is_documented_once_in_the_readme_and_in_help(
    cli_env: dict[str, str],
) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = [int(code) for code in re.findall(r"^\| `(\d+)` \|", section, re.M)]
    assert documented == [int(code) for code in ExitCode]
    usage = _cvntrade(cli_env, "--help")
    flat = " ".join(usage.stdout.split())
    for code in ExitCode:
        assert f"{int(code)} " in flat
