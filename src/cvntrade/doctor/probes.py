"""The checks that touch the outside world: database, MLflow, exporter, binaries, Airflow.

Every wait is bounded by `timeout_s` (PostgreSQL `connect_timeout`, HTTP timeouts, MLflow's
client without retries), so a dead server costs seconds, not MLflow's default minutes.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cvntrade.doctor.checks import FAIL, OK, WARN, Check

DEFAULT_TIMEOUT_S = 3.0
EXPORTER_URL = "http://127.0.0.1:9108/metrics"
INFRA_BINARIES = (
    ("promtool", ("promtool",)),
    ("prometheus", ("prometheus",)),
    ("alertmanager", ("alertmanager", "prometheus-alertmanager")),
)
APT_INFRA = "sudo apt-get update && sudo apt-get install -y prometheus prometheus-alertmanager"


def open_database(url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[Check, Engine | None]:
    """Connect to the database (bounded); the engine is None when it cannot be reached.

    A missing SQLite file is reported, not created: the doctor changes nothing.
    """
    from cvntrade.db import create_db_engine
    from cvntrade.errors import CvnError
    from cvntrade.settings import redact_url

    parsed = make_url(url)
    shown = redact_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:" and not Path(path).exists():
            return (
                Check("database", FAIL, f"no database file {path}", "run `cvntrade db upgrade`"),
                None,
            )
    elif parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        parsed = parsed.update_query_dict({"connect_timeout": str(max(1, round(timeout_s)))})
    try:
        engine = create_db_engine(parsed.render_as_string(hide_password=False))
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except CvnError as exc:
        return Check("database", FAIL, f"{shown}: {exc}", "fix CVN_DATABASE_URL"), None
    except Exception as exc:  # any driver error means "unreachable" here
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0:1]
        return (
            Check(
                "database",
                FAIL,
                f"{shown} unreachable: {first[0] if first else type(exc).__name__}",
                "start the server or fix CVN_DATABASE_URL (PostgreSQL: `pg_isready -h HOST`)",
            ),
            None,
        )
    return Check("database", OK, f"{shown} reachable"), engine


def check_mlflow(tracking_uri: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Check:
    """The MLflow store exists (sqlite) or the tracking server answers `/health` (HTTP)."""
    if tracking_uri.startswith(("http://", "https://")):
        url = tracking_uri.rstrip("/") + "/health"
        reason = http_get(url, timeout_s)
        if reason is None:
            return Check("mlflow", OK, f"tracking server {tracking_uri} answers /health")
        return Check(
            "mlflow",
            FAIL,
            f"tracking server {tracking_uri} unreachable: {reason}",
            "start it (`mlflow server --backend-store-uri … --host … --port …`, see "
            "docs/deployment.md) or fix MLFLOW_TRACKING_URI",
        )
    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri.removeprefix("sqlite:///"))
        if not path.exists():
            return Check(
                "mlflow",
                WARN,
                f"no MLflow store yet at {path}",
                "it is created by the first `cvntrade train`",
            )
        return Check("mlflow", OK, f"sqlite store {path}")
    return Check("mlflow", OK, f"store {tracking_uri} (not probed)")


def mlflow_store_missing(tracking_uri: str) -> bool:
    """True for a sqlite tracking URI whose file does not exist (nothing registered yet)."""
    return (
        tracking_uri.startswith("sqlite:///")
        and not Path(tracking_uri.removeprefix("sqlite:///")).exists()
    )


@contextmanager
def bounded_mlflow_client(timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """MLflow's HTTP client without retries and with a short timeout, for the block only.

    With MLflow's defaults (7 retries, backoff 2, 120 s timeout) a dead server takes minutes.
    """
    wanted = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(timeout_s))),
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def http_get(url: str, timeout_s: float) -> str | None:
    """GET `url` with a timeout: None when it answers 2xx, else why not (one line)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason) or type(exc).__name__
    return None if 200 <= status < 300 else f"HTTP {status}"


def check_exporter(url: str = EXPORTER_URL, timeout_s: float = DEFAULT_TIMEOUT_S) -> Check:
    """The metrics exporter answers; not running is only a warning (it is optional)."""
    reason = http_get(url, timeout_s)
    if reason is None:
        return Check("exporter", OK, f"{url} answers")
    return Check(
        "exporter",
        WARN,
        f"not running at {url} ({reason})",
        "start it for Prometheus: `cvntrade monitor serve --port 9108`",
    )


def check_binaries() -> list[Check]:
    """promtool, Prometheus and Alertmanager on PATH (warnings: only infra/ needs them)."""
    checks = []
    for name, candidates in INFRA_BINARIES:
        found = next((p for p in (shutil.which(c) for c in candidates) if p), None)
        if found:
            checks.append(Check(name, OK, found))
        else:
            checks.append(Check(name, WARN, "not on PATH", APT_INFRA))
    return checks


def check_airflow(venv: Path) -> Check:
    """The Airflow venv (`make airflow-venv`) for the `launch__training` DAG; optional."""
    binary = venv / "bin" / "airflow"
    if binary.exists():
        return Check("airflow", OK, str(binary))
    on_path = shutil.which("airflow")
    if on_path:
        return Check("airflow", OK, on_path)
    return Check(
        "airflow",
        WARN,
        f"no Airflow at {venv} nor on PATH",
        "`make airflow-venv` (only needed for the launch__training DAG, docs/airflow.md)",
    )
