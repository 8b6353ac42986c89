"""Console reads: journal filter + pagination + CSV, expectancy windows, incidents, users CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from collections.abc import Callable

import pytest
from console_support import bearer
from fastapi.testclient import TestClient

from cvntrade.app import AppContext
from cvntrade.clock import fixed_clock
from cvntrade.db.engine import write_transaction
from cvntrade.journal.records import Trade
from cvntrade.journal.repository import insert_trades

NOW = dt.datetime(2026, 11, 30, 12, 0)


def _trades() -> list[Trade]:
    """70 BTCUSDC focal trades, one an hour back from NOW, and 5 ETHUSDC binary trades."""
    trades = []
    for i in range(75):
        symbol, loss = ("BTCUSDC", "focal") if i < 70 else ("ETHUSDC", "binary")
        entry = NOW - dt.timedelta(hours=i * 5 + 1)
        trades.append(
            Trade(
                trade_id=f"t{i:03d}",
                crypto_symbol=symbol,
                strategy="SL0.5_TP1_H4",
                model_name=f"CVNTrade_XGBoost_{symbol}_SL0.5_TP1_H4",
                model_version=3,
                model_loss_function=loss,
                entry_time=entry,
                exit_time=entry + dt.timedelta(hours=1),
                entry_price=100.0,
                exit_price=101.0,
                exit_reason="take_profit",
                fees_pct=0.1,
                realized_pnl_pct=(i % 7) - 3.5 + 0.25,
            )
        )
    return trades


@pytest.fixture
def trades(ctx: AppContext) -> list[Trade]:
    rows = _trades()
    with write_transaction(ctx.engine) as conn:
        insert_trades(conn, rows)
    return rows


def test_journal_filters_paginates_newest_first(
    client: TestClient, tokens: dict[str, str], trades: list[Trade]
) -> None:
    auth = bearer(tokens["viewer"])
    page = client.get("/api/journal?symbol=BTCUSDC&limit=30&offset=60", headers=auth).json()
    btc = sorted((t for t in trades if t.crypto_symbol == "BTCUSDC"), key=lambda t: t.entry_time)
    assert page["total"] == 70
    assert [t["trade_id"] for t in page["trades"]] == [t.trade_id for t in reversed(btc)][60:]
    binary = client.get("/api/journal?loss=binary", headers=auth).json()
    assert {t["crypto_symbol"] for t in binary["trades"]} == {"ETHUSDC"}
    bad = client.get("/api/journal?symbol=btc", headers=auth)
    assert bad.status_code == 422 and "symbol" in bad.json()["detail"]


def test_journal_page_and_csv_export(
    login: Callable[[str], tuple[TestClient, str]], trades: list[Trade]
) -> None:
    viewer, _ = login("viewer")
    page = viewer.get("/journal?symbol=BTCUSDC&page=2")
    assert page.status_code == 200
    assert "70 trades · page 2 of 2" in page.text
    assert page.text.count("<tr><td>") == 20
    exported = viewer.get("/journal.csv?loss=focal")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 70
    assert sum(float(r["realized_pnl_pct"]) for r in rows) == pytest.approx(
        sum(t.realized_pnl_pct for t in trades if t.model_loss_function == "focal")
    )


def test_expectancy_matches_a_direct_computation(
    ctx: AppContext, trades: list[Trade], tokens: dict[str, str]
) -> None:
    from cvntrade.console.web import create_app

    frozen = AppContext(
        settings=ctx.settings, engine=ctx.engine, actor="console", clock=fixed_clock(NOW)
    )
    with TestClient(create_app(frozen, secret="s")) as client:
        rows = client.get("/api/expectancy", headers=bearer(tokens["viewer"])).json()
    by_symbol = {r["crypto_symbol"]: r for r in rows}
    for hours, key in ((48, "48h"), (24 * 7, "7d"), (24 * 14, "14d")):
        since = NOW - dt.timedelta(hours=hours)
        window = [t for t in trades if t.crypto_symbol == "BTCUSDC" and t.entry_time >= since]
        expected = sum(t.realized_pnl_pct for t in window) / len(window)
        assert by_symbol["BTCUSDC"][f"n_{key}"] == len(window)
        assert by_symbol["BTCUSDC"][f"exp_{key}"] == pytest.approx(expected)
    assert by_symbol["BTCUSDC"]["negative_48h"] == (by_symbol["BTCUSDC"]["exp_48h"] < 0)


def test_every_page_renders_for_a_viewer(
    login: Callable[[str], tuple[TestClient, str]], trades: list[Trade], ctx: AppContext
) -> None:
    from cvntrade.runbook.incidents import open_incident

    incident = open_incident(
        ctx.engine, alert="expectancy_negative_focal", severity="P1", title="drill", actor="olivia"
    )
    viewer, _ = login("viewer")
    for path in (
        "/config",
        "/models",
        "/expectancy",
        "/journal",
        "/controls",
        "/incidents",
        f"/incidents/{incident.id}",
        "/monitoring",
        "/alerts",
    ):
        response = viewer.get(path)
        assert response.status_code == 200, path
        assert "victor (viewer)" in response.text
    assert 'id="nodata"' in viewer.get("/monitoring").text
    assert 'id="noalerts"' in viewer.get("/alerts").text


def test_users_cli_add_list_passwd_disable(cli_env: dict[str, str], ctx: AppContext) -> None:
    from cvntrade.console.users import authenticate

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cvntrade.cli.main", "users", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=cli_env,
            timeout=600,
        )

    added = run("add", "carol", "--role", "operator", "--password-stdin", stdin="first-password\n")
    assert added.returncode == 0, added.stderr
    assert run("add", "carol", "--password-stdin", stdin="first-password\n").returncode == 3
    short = run("add", "dave", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "password too short" in short.stderr
    assert (
        run("add", "erin", "--role", "root", "--password-stdin", stdin="long-enough-1\n").returncode
        == 2
    )
    assert run("passwd", "carol", "--password-stdin", stdin="second-password\n").returncode == 0
    assert authenticate(ctx.engine, "carol", "first-password") is None
    assert authenticate(ctx.engine, "carol", "second-password") is not None
    token = run("token", "carol").stdout.strip()
    assert token.startswith("cvn_")
    assert run("disable", "carol").returncode == 0
    assert authenticate(ctx.engine, "carol", "second-password") is None
    listing = run("list", "--json")
    assert '"disabled": true' in listing.stdout and '"role": "operator"' in listing.stdout
