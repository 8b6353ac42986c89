"""The empty stores of a new drill world, migrated once per process and copied into each world.

A world's two SQLite stores start empty: `cvntrade.db` at the newest schema (Alembic,
`cvntrade.db.migrate.upgrade`) and `mlflow.db` at MLflow's schema (MLflow runs its own
migrations when a client first opens a fresh store). Running both migration chains costs more
than a second per world (loading ~140 migration scripts), a fifth of a small world's build, and
gives the same empty databases every time; so the first world of a process makes them in a
private temporary directory and every world starts from a copy (SQLite's online backup, which is
safe with the WAL journal). Everything after the empty schema (training, registry, trading) goes
through the public code paths.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

DATABASE_FILE = "cvntrade.db"
MLFLOW_FILE = "mlflow.db"
_lock = threading.Lock()
_templates: Path | None = None


def _make_templates() -> Path:
    """Create the two empty, migrated stores in a private temporary directory."""
    from mlflow import MlflowClient

    from cvntrade.db import create_db_engine
    from cvntrade.db.migrate import upgrade

    directory = Path(tempfile.mkdtemp(prefix="cvntrade-world-stores-"))
    atexit.register(shutil.rmtree, directory, True)
    engine = create_db_engine(f"sqlite:///{directory / DATABASE_FILE}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    uri = f"sqlite:///{directory / MLFLOW_FILE}"
    # Opening the tracking and the registry store creates MLflow's tables (its own migrations).
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)
    return directory


def templates() -> Path:
    """The directory holding this process's empty stores (made on first use)."""
    global _templates
    with _lock:
        if _templates is None or not (_templates / MLFLOW_FILE).exists():
            _templates = _make_templates()
        return _templates


def install_empty_stores(home: Path) -> None:
    """Copy the empty `cvntrade.db` and `mlflow.db` into `home` (which holds neither)."""
    source = templates()
    for name in (DATABASE_FILE, MLFLOW_FILE):
        src = sqlite3.connect(source / name)
        dst = sqlite3.connect(home / name)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
