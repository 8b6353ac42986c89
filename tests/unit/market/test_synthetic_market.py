"""The synthetic market: deterministic, realistic per-symbol volatility, correlated, and a
learnable momentum signal that inverts at the regime shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvntrade.errors import UserInputError
from cvntrade.market import SyntheticMarket, generate_market, validate_ohlcv
from cvntrade.market.synthetic import REGIMES

SYMBOLS = ["BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC"]
START, END, SHIFT = (
    pd.Timestamp("2024-01-01"),
    pd.Timestamp("2025-07-01"),
    pd.Timestamp("2025-01-01"),
)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return generate_market(SYMBOLS, START, END, seed=5, regime_shift_at=SHIFT)


def _log_returns(frame: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(frame["close"].to_numpy()))


def test_same_seed_same_bars_and_symbols_do_not_depend_on_each_other(
    market: SyntheticMarket,
) -> None:
    alone = generate_market(["SOLUSDC"], START, END, seed=5, regime_shift_at=SHIFT)
    assert alone.frames["SOLUSDC"].equals(market.frames["SOLUSDC"])
    other = generate_market(["SOLUSDC"], START, END, seed=6, regime_shift_at=SHIFT)
    assert not other.frames["SOLUSDC"]["close"].equals(market.frames["SOLUSDC"]["close"])


def test_bars_pass_validation_on_the_hourly_grid(market: SyntheticMarket) -> None:
    for symbol, frame in market.frames.items():
        checked = validate_ohlcv(frame, source=symbol, interval="1h", max_gap_bars=0)
        assert len(checked.frame) == (END - START) / pd.Timedelta(hours=1)


def test_volatility_is_like_the_real_majors(market: SyntheticMarket) -> None:
    annual = {s: _log_returns(f).std() * np.sqrt(24 * 365) for s, f in market.frames.items()}
    assert 0.4 < annual["BTCUSDC"] < 0.8
    assert annual["BTCUSDC"] < annual["ETHUSDC"] < annual["SOLUSDC"]
    assert all(0.4 < v < 1.4 for v in annual.values())


def test_symbols_are_positively_correlated(market: SyntheticMarket) -> None:
    returns = np.array([_log_returns(market.frames[s]) for s in SYMBOLS])
    correlation = np.corrcoef(returns)
    off_diagonal = correlation[~np.eye(len(SYMBOLS), dtype=bool)]
    assert off_diagonal.min() > 0.4
    assert correlation[0, 1] > 0.7  # BTC and ETH move together most


def _momentum_correlation(frame: pd.DataFrame, rows: slice) -> float:
    log_close = np.log(frame["close"].to_numpy())[rows]
    past = log_close[4:-4] - log_close[:-8]
    future = log_close[8:] - log_close[4:-4]
    return float(np.corrcoef(past, future)[0, 1])


def test_momentum_signal_is_learnable_before_the_shift_and_inverts_after(
    market: SyntheticMarket,
) -> None:
    shift = market.shift_index
    assert shift is not None
    for symbol, frame in market.frames.items():
        before = _momentum_correlation(frame, slice(0, shift))
        after = _momentum_correlation(frame, slice(shift, None))
        assert before > 0.08, symbol
        assert after < before - 0.1, symbol


def test_all_regimes_occur_and_choppy_grows_after_the_shift(market: SyntheticMarket) -> None:
    shift = market.shift_index
    assert shift is not None
    choppy = next(i for i, r in enumerate(REGIMES) if r.name == "choppy_volatile")
    assert set(np.unique(market.regimes)) == set(range(len(REGIMES)))
    assert (market.regimes[shift:] == choppy).mean() > (market.regimes[:shift] == choppy).mean()
    segments = market.regime_segments()
    assert segments[0][0] == "2024-01-01T00:00:00.000Z"
    assert {name for _, name in segments} == {r.name for r in REGIMES}


def test_invalid_ranges_are_user_errors() -> None:
    with pytest.raises(UserInputError, match="outside"):
        generate_market(["BTCUSDC"], START, END, regime_shift_at=pd.Timestamp("2030-01-01"))
    with pytest.raises(UserInputError, match="grid"):
        generate_market(["BTCUSDC"], pd.Timestamp("2024-01-01 00:30"), END)
    with pytest.raises(UserInputError, match="non-empty"):
        generate_market(["BTCUSDC"], END, START)


def test_weekday_session_has_weekend_closures_and_the_same_prices() -> None:
    from cvntrade.market import timestamps_ms
    from cvntrade.market.synthetic import weekend_closed

    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01")
    always = generate_market(["EURUSD"], start, end, seed=2).frames["EURUSD"]
    fx = generate_market(["EURUSD"], start, end, seed=2, session="weekdays").frames["EURUSD"]
    stamps = fx["timestamp"]
    assert not (stamps.dt.day_of_week == 5).any()  # no Saturday bar
    assert not ((stamps.dt.day_of_week == 4) & (stamps.dt.hour >= 22)).any()
    assert not ((stamps.dt.day_of_week == 6) & (stamps.dt.hour < 22)).any()
    gaps = np.diff(stamps.to_numpy()).astype("timedelta64[h]").astype(int)
    assert set(gaps.tolist()) == {1, 49}  # 48 closed hours between Fri 21:00 and Sun 22:00 bars
    kept = always[~weekend_closed(timestamps_ms(always))]
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), fx)
    daily = generate_market(["EURUSD"], start, end, interval="1d", session="weekdays")
    assert set(daily.frames["EURUSD"]["timestamp"].dt.day_of_week) == {0, 1, 2, 3, 4}
    with pytest.raises(UserInputError, match="unknown session"):
        generate_market(["EURUSD"], start, end, session="sometimes")
