"""Issue 16.6: `cvntrade drill journal` writes into its own home unless told otherwise."""

from __future__ import annotations

import json
from pathlib import Path

from hardening_support import cvntrade
from sqlalchemy import Engine

from cvntrade.db import create_db_engine
from cvntrade.journal.repository import count_trades


def test_drill_writes_its_own_home_by_default_and_production_only_on_request(
    engine: Engine, cli_env: dict[str, str]
) -> None:
    done = cvntrade(cli_env, "drill", "journal", "--scenario", "focal-regression", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    drill_db = Path(cli_env["CVN_HOME"]) / "drill" / "cvntrade.db"
    assert result["database"] == f"sqlite:///{drill_db}"
    assert count_trades(engine) == 0  # the database in use is untouched
    drill_engine = create_db_engine(result["database"])
    try:
        assert count_trades(drill_engine) == result["trades_written"] > 0
    finally:
        drill_engine.dispose()

    plain = cvntrade(cli_env, "drill", "journal", "--scenario", "healthy")
    assert plain.returncode == 0, plain.stderr
    assert f"rehearse with CVN_DATABASE_URL=sqlite:///{drill_db}" in plain.stdout
    assert count_trades(engine) == 0

    into = cvntrade(cli_env, "drill", "journal", "--scenario", "healthy", "--into-database")
    assert into.returncode == 0, into.stderr
    assert count_trades(engine) > 0


def test_unknown_scenario_creates_no_drill_home(cli_env: dict[str, str]) -> None:
    done = cvntrade(cli_env, "drill", "journal", "--scenario", "panic")
    assert done.returncode == 2
    assert not (Path(cli_env["CVN_HOME"]) / "drill").exists()
