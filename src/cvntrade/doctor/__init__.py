"""`cvntrade doctor`: is the platform healthy, and if not, what to fix.

`run_doctor` runs every check in order (database first: most others need it) and returns a
`DoctorReport`; it changes nothing. The checks themselves live in `checks` (pure over their
inputs) and `probes` (bounded network and filesystem probes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from cvntrade.doctor.audit_check import check_audit_chain
from cvntrade.doctor.checks import (
    FAIL,
    OK,
    WARN,
    Check,
    DoctorReport,
    check_alias_intents,
    check_champions,
    check_config_vs_champions,
    check_engines,
    check_market_data,
    check_schema,
    engine_rows,
    symbols_in_use,
)
from cvntrade.doctor.probes import (
    DEFAULT_TIMEOUT_S,
    EXPORTER_URL,
    bounded_mlflow_client,
    check_airflow,
    check_binaries,
    check_exporter,
    check_mlflow,
    mlflow_store_missing,
    open_database,
)
from cvntrade.settings import Settings

__all__ = ["FAIL", "OK", "WARN", "Check", "DoctorReport", "alias_intents_check", "run_doctor"]


def run_doctor(
    settings: Settings,
    *,
    symbols: Sequence[str] | None,
    strategy: str,
    now: dt.datetime,
    exporter_url: str = EXPORTER_URL,
    airflow_venv: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DoctorReport:
    """Every check against `settings`; `symbols=None` means those with data or engines.

    `now` is naive UTC (the storage convention), used for data freshness and heartbeat ages.
    """
    from cvntrade.config import read_config
    from cvntrade.db import current_revision, head_revision
    from cvntrade.errors import CvnError
    from cvntrade.market import ParquetStore
    from cvntrade.registry import MlflowRegistry
    from cvntrade.runbook.serving import serving_by_symbol

    checks: list[Check] = []
    db_check, db = open_database(settings.effective_database_url, timeout_s)
    checks.append(db_check)
    migrated = False
    if db is not None:
        try:
            schema = check_schema(current_revision(db), head_revision())
        except CvnError as exc:
            schema = Check("database schema", FAIL, str(exc), "fix the database check above")
        checks.append(schema)
        migrated = schema.status == OK

    tracking_uri = settings.effective_tracking_uri
    mlflow_check = check_mlflow(tracking_uri, timeout_s)
    checks.append(mlflow_check)

    store = ParquetStore(settings.home / "data")
    wanted = list(symbols) if symbols else symbols_in_use(store, db if migrated else None)
    if not wanted:
        checks.append(
            Check(
                "symbols",
                WARN,
                f"no market data under {store.root} and no engine: nothing to check per symbol",
                "`cvntrade data synth` (synthetic market) or `cvntrade data import-binance FILE`",
            )
        )
    checks.extend(check_market_data(store, wanted, now=now))

    if migrated and db is not None:
        registry = (
            None
            if mlflow_check.status == FAIL or mlflow_store_missing(tracking_uri)
            else MlflowRegistry(tracking_uri)
        )
        with bounded_mlflow_client(timeout_s):
            serving = serving_by_symbol(db, registry, symbols=wanted, strategy=strategy, now=now)
        if registry is None:  # unreachable: say so; no store yet: every champion is missing
            why = "the MLflow server is unreachable" if mlflow_check.status == FAIL else None
            serving = dataclasses.replace(serving, registry_error=why)
        checks.extend(check_champions(serving, wanted))
        checks.append(check_config_vs_champions(read_config(db).env, serving))
        checks.append(check_engines(engine_rows(db), serving, now=now))
        checks.append(check_audit_chain(db))
        checks.append(alias_intents_check(db))
    if db is not None:
        db.dispose()

    checks.append(check_exporter(exporter_url, timeout_s))
    checks.extend(check_binaries())
    checks.append(check_airflow(airflow_venv or Path.cwd() / ".venv-airflow"))
    return DoctorReport(tuple(checks))


def alias_intents_check(db: Engine) -> Check:
    """Pending alias intents, and which of their models have a move in flight (lock held)."""
    from cvntrade.db.locks import ModelLockBusyError, model_lock
    from cvntrade.registry import pending_intents

    pending = pending_intents(db)
    in_flight = set()
    for name in sorted({i.model_name for i in pending}):
        try:
            with model_lock(db, name, wait_s=0):
                pass
        except ModelLockBusyError:
            in_flight.add(name)
    return check_alias_intents(pending, in_flight)
