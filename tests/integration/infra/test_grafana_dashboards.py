"""infra/grafana: six dashboards whose PromQL uses only exported metrics and whose SQL runs.

Grafana is not packaged here, so the test reads the JSON models: data sources must be the
provisioned ones, PromQL must name only metrics of src/cvntrade/monitoring/names.py (or our
recording rules), with the catalogue's labels, and parse (`promtool check rules`); SQL must run
on the migrated PostgreSQL schema once Grafana's macros are rendered.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
import yaml
from grafana_support import (
    DASHBOARDS,
    GRAFANA,
    POSTGRES_UID,
    PROMETHEUS_UID,
    Target,
    iter_targets,
    load_dashboard,
    provisioned_datasource_uids,
    render_promql,
    render_sql,
)
from infra_support import recording_rule_names, unknown_labels, unknown_names
from sqlalchemy import insert, text

from cvntrade.clock import utc_now
from cvntrade.db import create_db_engine, tables
from cvntrade.drill import SCENARIOS, run_journal_drill
from cvntrade.strategy import DEFAULT_STRATEGY, DEFAULT_SYMBOLS, model_name

RUNBOOK_PANELS = {
    "CVNTrade / MLOps Overview": "Per-crypto expectancy",
    "CVNTrade / Testing & Backtest": "Probability distribution",
    "CVNTrade / Trading Engines": "Per-crypto trade journal",
    "CVNTrade / Data Drift": "PSI per crypto",
    "CVNTrade / Output Sharpness Drift": "Output sharpness: recent vs training",
    "CVNTrade / Calibration Quality": "ECE: live vs ECE_HOLD at training",
}
ALL_TARGETS = [target for path in DASHBOARDS for target in iter_targets(path)]
PROMQL = [target for target in ALL_TARGETS if target.datasource_uid == PROMETHEUS_UID]
SQL = [target for target in ALL_TARGETS if target.datasource_uid == POSTGRES_UID]


def test_six_dashboards_carry_the_panels_the_runbook_names() -> None:
    dashboards = {load_dashboard(path)["title"]: load_dashboard(path) for path in DASHBOARDS}
    assert set(dashboards) == set(RUNBOOK_PANELS)
    for title, panel in RUNBOOK_PANELS.items():
        assert panel in {p["title"] for p in dashboards[title]["panels"]}, title
    uids = [dashboard["uid"] for dashboard in dashboards.values()]
    assert len(set(uids)) == len(uids)
    for dashboard in dashboards.values():
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(set(ids)) == len(ids), dashboard["title"]


def test_every_query_uses_a_provisioned_data_source() -> None:
    assert provisioned_datasource_uids() == {PROMETHEUS_UID, POSTGRES_UID}
    assert {target.datasource_uid for target in ALL_TARGETS} == {PROMETHEUS_UID, POSTGRES_UID}
    assert all(target.query.strip() for target in ALL_TARGETS)
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/cvntrade.yml").read_text())
    assert provider["providers"][0]["type"] == "file"


def test_promql_uses_only_exported_metrics_and_their_labels() -> None:
    recorded = recording_rule_names()
    for target in PROMQL:
        assert unknown_names([target.query], recorded) == set(), target.where
        assert unknown_labels([target.query]) == {}, target.where
    used = {name for target in PROMQL for name in recorded if name in target.query}
    assert used, "no dashboard draws a recording rule"


def test_the_metric_check_rejects_an_unknown_metric_and_label() -> None:
    assert unknown_names(['cvntrade_expectancy{window="48h"}'], set()) == {"cvntrade_expectancy"}
    assert unknown_labels(['cvntrade_feature_psi{symbol="BTCUSDC"}']) == {
        "cvntrade_feature_psi": {"symbol"}
    }


def test_promql_parses_with_promtool(promtool: str, tmp_path: Path) -> None:
    exprs = [render_promql(t.query) for t in PROMQL if not t.query.startswith("label_values(")]
    rules = [{"record": f"dashboard:expr_{i}", "expr": expr} for i, expr in enumerate(exprs)]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_render_sql_refuses_an_unknown_macro() -> None:
    now = utc_now()
    with pytest.raises(ValueError, match="unsupported"):
        render_sql("SELECT 1 WHERE $__unixEpochFilter(entry_time)", ["BTCUSDC"], now, now)


def _seed(url: str) -> None:
    """A focal-regression drill journal, some predictions, an engine heartbeat and a flag."""
    engine = create_db_engine(url)
    try:
        run_journal_drill(engine, "focal-regression", actor="grafana-test")
        now = utc_now().replace(minute=0, second=0, microsecond=0)
        with engine.begin() as conn:
            conn.execute(
                insert(tables.predictions),
                [
                    {
                        "crypto_symbol": symbol,
                        "strategy": DEFAULT_STRATEGY,
                        "bar_time": now - dt.timedelta(hours=hour),
                        "model_name": model_name(symbol, DEFAULT_STRATEGY),
                        "model_version": 2,
                        "model_loss_function": "focal",
                        "probability": 0.3 + 0.01 * hour,
                        "created_at": now,
                    }
                    for symbol in DEFAULT_SYMBOLS
                    for hour in range(1, 25)
                ],
            )
            conn.execute(
                insert(tables.engine_status),
                {
                    "engine_id": "live:grafana-test",
                    "crypto_symbol": DEFAULT_SYMBOLS[0],
                    "strategy": DEFAULT_STRATEGY,
                    "model_name": model_name(DEFAULT_SYMBOLS[0], DEFAULT_STRATEGY),
                    "model_version": 2,
                    "model_loss_function": "focal",
                    "stale": False,
                    "mode": "paper",
                    "heartbeat_at": now,
                },
            )
            conn.execute(
                insert(tables.trading_flags),
                {"name": "halt", "active": False, "reason": "t", "actor": "t", "updated_at": now},
            )
    finally:
        engine.dispose()


def _rows(url: str, target: Target) -> list[dict[str, object]]:
    now = utc_now()
    sql = render_sql(target.query, DEFAULT_SYMBOLS, now - dt.timedelta(days=30), now)
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_every_sql_query_runs_on_the_migrated_postgres_schema(pg_url: str) -> None:
    assert len(SQL) >= 8
    _seed(pg_url)
    results = {target.where: _rows(pg_url, target) for target in SQL}
    for where, rows in results.items():
        assert rows, f"{where} returned no rows on a seeded journal"
    step1 = results["CVNTrade / MLOps Overview / Expectancy per crypto (runbook step 1, SQL)"]
    negative_focal = {
        row["crypto_symbol"]
        for row in step1
        if row["model_loss_function"] == "focal" and float(str(row["expectancy_48h"])) < 0
    }
    assert negative_focal == set(SCENARIOS["focal-regression"])
    journal = results["CVNTrade / Trading Engines / Per-crypto trade journal"]
    assert {row["crypto_symbol"] for row in journal} == set(DEFAULT_SYMBOLS)
    distribution = results["CVNTrade / Testing & Backtest / Probability distribution"]
    assert len(distribution) == 24 * len(DEFAULT_SYMBOLS)
    variable = results["CVNTrade / Trading Engines / variable $symbol"]
    assert [row["crypto_symbol"] for row in variable] == sorted(DEFAULT_SYMBOLS)
