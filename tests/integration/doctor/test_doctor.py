"""`cvntrade doctor` on a real database (SQLite and PostgreSQL) and a real MLflow store.

A healthy setup (migrated database, fresh bars, a binary champion, config `binary:logistic`)
exits 0 with only warnings (no exporter here); each broken piece makes its own check fail with
advice and the command exit 1.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import typer
from mlflow import MlflowClient
from sqlalchemy import Engine, text

from chain_tamper import tamper
from cvntrade.cli import main
from cvntrade.config import set_config
from cvntrade.db import create_db_engine
from cvntrade.doctor import FAIL, OK, Check, DoctorReport, run_doctor
from cvntrade.market import ParquetStore, generate_market
from cvntrade.settings import Settings, get_settings
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)


def free_port() -> int:
    """A TCP port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_bars(home: Path, symbol: str) -> None:
    """Three days of synthetic hourly bars ending at the current hour."""
    end = pd.Timestamp(NOW)
    market = generate_market([symbol], end - pd.Timedelta(days=3), end, seed=1)
    ParquetStore(home / "data").write(symbol, "1h", market.frames[symbol], source="synthetic")


def register_champion(tracking_uri: str, symbol: str, loss: str) -> int:
    """A registered version tagged with `loss` and the `champion` alias on it."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    name = model_name(symbol, DEFAULT_STRATEGY)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    source = tracking_uri.removeprefix("sqlite:///").removesuffix("mlflow.db")
    version = client.create_model_version(name, source=source, tags={"loss_function": loss}).version
    client.set_registered_model_alias(name, "champion", version)
    return int(version)


def by_name(report: DoctorReport) -> dict[str, Check]:
    return {c.name: c for c in report.checks}


def doctor(settings: Settings, **kwargs: object) -> DoctorReport:
    return run_doctor(
        settings,
        symbols=None,
        strategy=DEFAULT_STRATEGY,
        now=NOW,
        exporter_url=f"http://127.0.0.1:{free_port()}/metrics",
        airflow_venv=Path("/nonexistent"),
        timeout_s=2.0,
        **kwargs,
    )


@pytest.fixture
def home(tmp_path: Path, mlflow_template: Path) -> Path:
    """A CVN_HOME with fresh BTCUSDC bars and an MLflow store holding its binary champion."""
    home = tmp_path / "home"
    write_bars(home, "BTCUSDC")
    shutil.copy(mlflow_template, home / "mlflow.db")
    register_champion(f"sqlite:///{home / 'mlflow.db'}", "BTCUSDC", "binary")
    return home


def settings_for(home: Path, db_url: str, tracking_uri: str | None = None) -> Settings:
    return Settings.model_validate(
        {
            "home": home,
            "database_url": db_url,
            "MLFLOW_TRACKING_URI": tracking_uri or f"sqlite:///{home / 'mlflow.db'}",
        }
    )


def test_healthy_setup_passes_with_only_warnings(home: Path, db_url: str) -> None:
    report = doctor(settings_for(home, db_url))
    checks = by_name(report)
    assert report.healthy, [c for c in report.checks if c.status == FAIL]
    for name in ("database", "database schema", "mlflow", "market data BTCUSDC"):
        assert checks[name].status == OK, checks[name]
    assert checks["champion BTCUSDC"].status == OK
    assert "v1 (binary)" in checks["champion BTCUSDC"].detail
    assert checks["config vs champions"].status == OK
    assert checks["exporter"].status == "warn" and "monitor serve" in (checks["exporter"].fix or "")
    assert checks["engines"].status == "warn"


def test_missing_champion_fails_with_train_and_promote_advice(home: Path, db_url: str) -> None:
    write_bars(home, "ETHUSDC")
    checks = by_name(doctor(settings_for(home, db_url)))
    assert checks["champion BTCUSDC"].status == OK
    failed = checks["champion ETHUSDC"]
    assert failed.status == FAIL
    assert "cvntrade train --symbol ETHUSDC" in (failed.fix or "")
    assert "cvntrade promote --symbol ETHUSDC" in (failed.fix or "")


def test_focal_champion_under_binary_config_is_a_mismatch(
    home: Path, db_url: str, engine: Engine
) -> None:
    register_champion(f"sqlite:///{home / 'mlflow.db'}", "BTCUSDC", "focal")
    report = doctor(settings_for(home, db_url))
    check = by_name(report)["config vs champions"]
    assert not report.healthy and check.status == FAIL
    assert "BTCUSDC (focal v2)" in check.detail
    assert "runbook rollback --symbols BTCUSDC" in (check.fix or "")

    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, actor="tester", reason="focal promoted")
    assert by_name(doctor(settings_for(home, db_url)))["config vs champions"].status == OK


def test_unreachable_mlflow_server_fails_quickly_named(home: Path, db_url: str) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    report = doctor(settings_for(home, db_url, tracking_uri=uri))
    checks = by_name(report)
    assert checks["mlflow"].status == FAIL
    assert uri in checks["mlflow"].detail and "MLFLOW_TRACKING_URI" in (checks["mlflow"].fix or "")
    assert checks["champions"].status == FAIL
    assert checks["database schema"].status == OK


@pytest.fixture(params=["sqlite", "pg"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists but was never migrated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        create_db_engine(url).connect().close()
        yield url
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    name = f"cvn_doctor_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_unmigrated_database_fails_with_upgrade_advice(home: Path, empty_db_url: str) -> None:
    report = doctor(settings_for(home, empty_db_url))
    checks = by_name(report)
    assert checks["database"].status == OK
    schema = checks["database schema"]
    assert schema.status == FAIL and "not initialised" in schema.detail
    assert schema.fix == "run `cvntrade db upgrade`"
    assert "champion BTCUSDC" not in checks, "no per-symbol registry check without a schema"


def test_unreachable_database_fails(home: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    check = by_name(doctor(settings_for(home, url)))["database"]
    assert check.status == FAIL and "unreachable" in check.detail


def test_cli_exit_codes_and_json(
    home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    monkeypatch.setenv("CVN_HOME", str(home))
    monkeypatch.setenv("CVN_DATABASE_URL", db_url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    port = free_port()
    args = ["cvntrade", "doctor", "--json", "--exporter-url", f"http://127.0.0.1:{port}/metrics"]

    def run_cli(*extra: str) -> tuple[int, dict[str, object]]:
        get_settings.cache_clear()
        monkeypatch.setattr("sys.argv", [*args, *extra])
        with pytest.raises((SystemExit, typer.Exit)) as exited:
            main.run()
        code = getattr(exited.value, "code", None)
        if code is None:
            code = getattr(exited.value, "exit_code", 0)
        return int(code or 0), json.loads(capsys.readouterr().out)

    code, payload = run_cli()
    assert code == 0 and payload["healthy"] is True
    code, payload = run_cli("--symbols", "BTCUSDC,SOLUSDC")
    assert code == 1 and payload["healthy"] is False
    failed = {c["name"] for c in payload["checks"] if c["status"] == "fail"}  # type: ignore[attr-defined]
    assert failed == {"market data SOLUSDC", "champion SOLUSDC"}
    get_settings.cache_clear()


def test_no_engine_created_on_a_missing_sqlite_file(tmp_path: Path) -> None:
    target = tmp_path / "nothing" / "cvntrade.db"
    check = by_name(doctor(settings_for(tmp_path, f"sqlite:///{target}")))["database"]
    assert check.status == FAIL and check.fix == "run `cvntrade db upgrade`"
    assert not target.exists(), "the doctor changes nothing"


def test_schema_check_is_pure() -> None:
    """`check_schema` is pure: same inputs, same verdict, without any database."""
    from cvntrade.doctor.checks import check_schema

    assert check_schema("0007", "0007").status == OK
    behind = check_schema("0003", "0007")
    assert behind.status == FAIL and "at revision 0003" in behind.detail


def test_audit_trail_check_runs_verify(home: Path, db_url: str, engine: Engine) -> None:
    set_config(engine, {"CVN_FOCAL_GAMMA": "3.0"}, actor="tester", reason="first")
    set_config(engine, {"CVN_FOCAL_GAMMA": "4.0"}, actor="tester", reason="second")
    check = by_name(doctor(settings_for(home, db_url)))["audit trail"]
    assert check.status == OK and "audit_log 2 rows" in check.detail

    tamper(engine, "UPDATE ftf_config_history SET reason = 'forged' WHERE id = 1")
    report = doctor(settings_for(home, db_url))
    check = by_name(report)["audit trail"]
    assert not report.healthy and check.status == FAIL
    assert "ftf_config_history: chain broken (changed): row 1:" in check.detail
    assert "cvntrade audit verify" in (check.fix or "")
