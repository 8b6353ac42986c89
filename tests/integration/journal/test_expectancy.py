"""The runbook's journal queries agree with an independent pure-Python computation."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from statistics import fmean

import pytest
from sqlalchemy import Engine

from cvntrade.clock import fixed_clock
from cvntrade.drill import SCENARIOS, generate_drill_trades, run_journal_drill
from cvntrade.journal import expectancy_by_symbol, expectancy_folds

NOW = dt.datetime(2026, 11, 24, 12, 30, 15)


def _mean_by_symbol(trades: list, since: dt.datetime, until: dt.datetime | None = None) -> dict:
    values: dict[str, list[float]] = defaultdict(list)
    for t in trades:
        in_window = t.entry_time >= since and (until is None or t.entry_time < until)
        if t.model_loss_function == "focal" and in_window:
            values[t.crypto_symbol].append(t.realized_pnl_pct)
    return {s: (fmean(v), len(v)) for s, v in values.items()}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_window_expectancy_matches_reference(engine: Engine, scenario: str) -> None:
    run_journal_drill(engine, scenario, seed=5, actor="t", clock=fixed_clock(NOW))
    trades = generate_drill_trades(scenario, now=NOW, seed=5)
    rows = expectancy_by_symbol(
        engine, window=dt.timedelta(hours=48), loss="focal", clock=fixed_clock(NOW)
    )
    reference = _mean_by_symbol(trades, NOW - dt.timedelta(hours=48))
    assert {r.crypto_symbol for r in rows} == set(reference)
    for r in rows:
        mean, n = reference[r.crypto_symbol]
        assert r.n_trades == n
        assert r.expectancy_pct == pytest.approx(mean, rel=1e-12, abs=1e-12)
    assert {r.crypto_symbol for r in rows if r.negative} == set(SCENARIOS[scenario])


def test_loss_filter_and_all_losses(engine: Engine) -> None:
    run_journal_drill(engine, "healthy", seed=5, actor="t", clock=fixed_clock(NOW))
    window = dt.timedelta(days=21)
    clock = fixed_clock(NOW)
    focal = {
        r.crypto_symbol: r.n_trades
        for r in expectancy_by_symbol(engine, window=window, loss="focal", clock=clock)
    }
    binary = {
        r.crypto_symbol: r.n_trades
        for r in expectancy_by_symbol(engine, window=window, loss="binary", clock=clock)
    }
    both = {
        r.crypto_symbol: r.n_trades
        for r in expectancy_by_symbol(engine, window=window, loss=None, clock=clock)
    }
    assert both == {s: focal[s] + binary[s] for s in both}
    assert all(n > 0 for n in binary.values())


def test_folds_match_reference_and_flag_regime_shift(engine: Engine) -> None:
    run_journal_drill(engine, "focal-regression", seed=9, actor="t", clock=fixed_clock(NOW))
    trades = generate_drill_trades("focal-regression", now=NOW, seed=9)
    rows = {
        r.crypto_symbol: r for r in expectancy_folds(engine, loss="focal", clock=fixed_clock(NOW))
    }
    h48 = NOW - dt.timedelta(hours=48)
    ref_7d = _mean_by_symbol(trades, NOW - dt.timedelta(days=7))
    ref_48h = _mean_by_symbol(trades, h48)
    ref_base = _mean_by_symbol(trades, NOW - dt.timedelta(days=14), until=h48)
    for symbol, row in rows.items():
        assert row.exp_7d == pytest.approx(ref_7d[symbol][0], abs=1e-12)
        assert row.exp_48h == pytest.approx(ref_48h[symbol][0], abs=1e-12)
        assert row.exp_14d_baseline == pytest.approx(ref_base[symbol][0], abs=1e-12)
    assert {s for s, r in rows.items() if r.regime_shift} == set(SCENARIOS["focal-regression"])


def test_empty_journal_gives_no_rows(engine: Engine) -> None:
    assert expectancy_by_symbol(engine, window=dt.timedelta(hours=48)) == []
    assert expectancy_folds(engine) == []


def test_drill_replaces_previous_drill_and_is_audited(engine: Engine) -> None:
    from cvntrade.audit import read_audit
    from cvntrade.journal.repository import count_trades

    first = run_journal_drill(engine, "healthy", actor="a", clock=fixed_clock(NOW))
    second = run_journal_drill(engine, "focal-regression", actor="b", clock=fixed_clock(NOW))
    assert second.trades_replaced == first.trades_written
    assert count_trades(engine) == second.trades_written
    audits = read_audit(engine, action="drill.journal")
    assert [a.actor for a in audits] == ["b", "a"]
    assert audits[0].after["scenario"] == "focal-regression"


def test_windows_only_folds_are_the_same_numbers_without_long_idle_symbols(
    engine: Engine,
) -> None:
    from sqlalchemy import insert

    from cvntrade.db.tables import trade_journal_rows

    run_journal_drill(engine, "focal-regression", seed=9, actor="t", clock=fixed_clock(NOW))
    old = NOW - dt.timedelta(days=15)
    with engine.begin() as conn:  # a symbol whose last focal trade is older than 14 d
        conn.execute(
            insert(trade_journal_rows).values(
                trade_id="idle-1", crypto_symbol="DOGEUSDC", strategy="SL0.5_TP1_H4",
                model_name="m", model_version=1, model_loss_function="focal", side="long",
                entry_time=old, exit_time=old, entry_price=1.0, exit_price=1.0,
                exit_reason="horizon", fees_pct=0.1, realized_pnl_pct=-3.0, source="import",
            )
        )  # fmt: skip
    clock = fixed_clock(NOW)
    full = {r.crypto_symbol: r for r in expectancy_folds(engine, clock=clock)}
    bounded = {r.crypto_symbol: r for r in expectancy_folds(engine, clock=clock, windows_only=True)}
    idle = full.pop("DOGEUSDC")
    assert (idle.exp_7d, idle.exp_48h, idle.exp_14d_baseline) == (None, None, None)
    assert set(bounded) == set(full) and len(bounded) >= 2
    for symbol, row in bounded.items():  # summation order may differ: equal to 1e-12
        other = full[symbol]
        for field in ("exp_7d", "exp_48h", "exp_14d_baseline"):
            want = getattr(other, field)
            assert getattr(row, field) == pytest.approx(want, rel=1e-12, abs=1e-12)
