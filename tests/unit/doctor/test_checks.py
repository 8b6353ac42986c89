"""The doctor's pure checks: verdicts and advice from given inputs (no database, no network)."""

from __future__ import annotations

import datetime as dt

from cvntrade.doctor.checks import (
    FAIL,
    OK,
    WARN,
    check_champions,
    check_config_vs_champions,
    check_engines,
)
from cvntrade.runbook.serving import Serving, SymbolServing

NOW = dt.datetime(2026, 12, 1, 12, 0)


def serving(*rows: tuple[str, int | None, str | None], error: str | None = None) -> Serving:
    return Serving(
        tuple(
            SymbolServing(s, f"CVNTrade_XGBoost_{s}_SL0.5_TP1_H4", v, loss, ())
            for s, v, loss in rows
        ),
        error,
    )


def test_focal_config_with_a_binary_champion_advises_promotion_or_config() -> None:
    check = check_config_vs_champions(
        {"CVN_LOSS_FUNCTION": "focal"}, serving(("BTCUSDC", 3, "binary"), ("ETHUSDC", 4, "focal"))
    )
    assert check.status == FAIL
    assert "BTCUSDC (binary v3)" in check.detail and "ETHUSDC" not in check.detail
    assert "promote" in (check.fix or "")


def test_an_unreadable_registry_is_not_called_a_mismatch() -> None:
    down = serving(("BTCUSDC", None, None), error="server down")
    assert check_config_vs_champions({}, down).status == WARN
    [champions] = check_champions(down, ["BTCUSDC"])
    assert champions.status == FAIL and "server down" in champions.detail
    assert check_champions(down, []) == []


def test_untagged_champion_is_a_warning() -> None:
    [check] = check_champions(serving(("BTCUSDC", 7, None)), ["BTCUSDC"])
    assert check.status == WARN and "v7" in check.detail


def test_engines_stale_behind_and_healthy() -> None:
    champions = serving(("BTCUSDC", 2, "binary"))
    fresh = NOW - dt.timedelta(seconds=30)
    old = NOW - dt.timedelta(hours=3)
    assert check_engines([], champions, now=NOW).status == WARN
    assert check_engines([("e1", "BTCUSDC", "stopped", old, 2)], champions, now=NOW).status == WARN
    healthy = check_engines([("e1", "BTCUSDC", "live", fresh, 2)], champions, now=NOW)
    assert healthy.status == OK and "e1" in healthy.detail
    stale = check_engines(
        [("e1", "BTCUSDC", "live", fresh, 2), ("e2", "BTCUSDC", "live", old, 2)], champions, now=NOW
    )
    assert stale.status == WARN and "e2/BTCUSDC (3 h ago)" in stale.detail
    behind = check_engines([("e1", "BTCUSDC", "live", fresh, 1)], champions, now=NOW)
    assert behind.status == WARN and "e1/BTCUSDC v1 (champion v2)" in behind.detail
