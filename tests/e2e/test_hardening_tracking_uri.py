"""A mistyped sqlite MLFLOW_TRACKING_URI (issue 16 item 8): exit 2, no empty registry created."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.hardening_support import cvntrade


def _run(cli_env: dict[str, str], uri: str) -> tuple[int, str]:
    env = cli_env | {"MLFLOW_TRACKING_URI": uri}
    outcome = cvntrade(env, "models", "list-versions", "--name", "crypto_xgb_btcusdc")
    assert "Traceback" not in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1, outcome.stderr
    return outcome.returncode, outcome.stderr


def test_missing_directory_is_exit_2_and_creates_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "typo-dir" / "mlflow.db"
    code, err = _run(cli_env, f"sqlite:///{missing}")
    assert code == 2
    assert "MLFLOW_TRACKING_URI" in err and str(missing.parent) in err
    assert not missing.parent.exists()


def test_missing_store_file_is_exit_2_and_creates_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "mlfow.db"  # a typo of mlflow.db
    code, err = _run(cli_env, f"sqlite:///{missing}")
    assert code == 2
    assert "MLFLOW_TRACKING_URI" in err and str(missing) in err
    assert not missing.exists()
