"""Issue 16.1: credentials in CVN_DATABASE_URL / MLFLOW_TRACKING_URI never leak.

Not on stdout, not on stderr, not in the append-only audit log or the incident notes — after a
rollback against a dead tracking server, a URL typo, or a rollback interrupted half-way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hardening_support import (
    DB_PASSWORD,
    TRACKING_PASSWORD,
    cvntrade,
    database_text,
    unused_port,
    with_db_password,
)
from sqlalchemy import Engine

from cvntrade.errors import DependencyError
from cvntrade.registry import MlflowRegistry
from cvntrade.registry.records import ModelVersionInfo
from cvntrade.runbook import open_incident, rollback


def test_failed_rollback_against_dead_registry_leaks_no_password(
    cli_env: dict[str, str], db_url: str
) -> None:
    url = with_db_password(db_url)
    tracking = f"http://oncall:{TRACKING_PASSWORD}@127.0.0.1:{unused_port()}"
    env = {**cli_env, "CVN_DATABASE_URL": url, "MLFLOW_TRACKING_URI": tracking}
    opened = cvntrade(env, "incident", "open", "--title", "focal down", "--json")
    assert opened.returncode == 0, opened.stderr
    incident = json.loads(opened.stdout)["id"]
    done = cvntrade(
        env,
        "runbook",
        "rollback",
        "--symbols",
        "BTCUSDC",
        "--reason",
        "focal down",
        "--incident",
        str(incident),
        "--wait-s",
        "0",
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "oncall:***@" in done.stderr
    for secret in (TRACKING_PASSWORD, DB_PASSWORD):
        assert secret not in done.stdout + done.stderr
        assert secret not in database_text(db_url)


class _RegistryDyingAtWrite:
    """Reads from a live registry, writes to a dead tracking server (it died mid-rollback)."""

    def __init__(self, live: MlflowRegistry, dead: MlflowRegistry) -> None:
        self.live, self.dead = live, dead

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        return self.live.list_versions(name, max_results)

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        return self.live.get_version(name, version)

    def aliases(self, name: str) -> dict[str, int]:
        return self.live.aliases(name)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.dead.set_alias(name, alias, version)


def test_interrupted_rollback_stores_no_password_in_audit_log(
    engine: Engine, db_url: str, tmp_path: Path, mlflow_template: Path
) -> None:
    import shutil

    from cvntrade.strategy import DEFAULT_STRATEGY, model_name

    store = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, store)
    live = MlflowRegistry(f"sqlite:///{store}")
    name = model_name("BTCUSDC", DEFAULT_STRATEGY)
    live.client.create_registered_model(name)
    for loss in ("binary", "focal"):
        live.client.create_model_version(name, source=str(tmp_path), tags={"loss_function": loss})
    live.client.set_registered_model_alias(name, "champion", "2")
    dead = MlflowRegistry(f"http://oncall:{TRACKING_PASSWORD}@127.0.0.1:{unused_port()}")
    incident = open_incident(engine, alert="expectancy_negative_focal", title="t", actor="me")

    with pytest.raises(DependencyError) as caught:
        rollback(
            engine,
            _RegistryDyingAtWrite(live, dead),
            reason="focal down",
            actor="me",
            symbols=["BTCUSDC"],
            wait_s=0,
            incident_id=incident.id,
        )
    assert TRACKING_PASSWORD not in str(caught.value)
    stored = database_text(db_url)
    assert "interrupted after 0 move(s)" in stored  # the interruption was recorded ...
    assert TRACKING_PASSWORD not in stored  # ... without the password
    assert live.aliases(name) == {"champion": 2}


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://cvn:{DB_PASSWORD}@127.0.0.1:5432/cvntrade",
        f"mysql://cvn:{DB_PASSWORD}@127.0.0.1/cvntrade",
        f"postgresql+nosuchdriver://cvn:{DB_PASSWORD}@127.0.0.1/cvntrade",
        f"not a url {DB_PASSWORD}",
    ],
)
def test_unsupported_database_url_is_exit_2_without_the_password(
    cli_env: dict[str, str], url: str
) -> None:
    done = cvntrade({**cli_env, "CVN_DATABASE_URL": url}, "config", "show")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "database URL" in done.stderr
    assert DB_PASSWORD not in done.stdout + done.stderr


def test_failed_training_and_import_leak_no_password(
    cli_env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    url = with_db_password(db_url)
    tracking = f"http://oncall:{TRACKING_PASSWORD}@127.0.0.1:{unused_port()}"
    env = {**cli_env, "CVN_DATABASE_URL": url, "MLFLOW_TRACKING_URI": tracking}
    synth = cvntrade(
        env, "data", "synth", "--symbols", "BTCUSDC", "--start", "2024-01-01", "--end",
        "2024-04-01", "--signal-strength", "2",
    )  # fmt: skip
    assert synth.returncode == 0, synth.stderr
    trained = cvntrade(
        env, "train", "--symbol", "BTCUSDC", "--loss", "binary", "--rounds", "5", "--folds", "2"
    )
    assert trained.returncode == DependencyError.exit_code, trained.stderr
    errors = [line for line in trained.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "oncall:***@" in errors[0]
    assert "Traceback" not in trained.stderr
    bad = tmp_path / "trades.csv"
    bad.write_text("trade_id,crypto_symbol\nt1,BTCUSDC\n", encoding="utf-8")
    imported = cvntrade(env, "journal", "import", str(bad))
    assert imported.returncode == 2, imported.stderr
    for secret in (TRACKING_PASSWORD, DB_PASSWORD):
        for done in (trained, imported):
            assert secret not in done.stdout + done.stderr
        assert secret not in database_text(db_url)
