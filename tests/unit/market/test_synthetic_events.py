"""Market events of the synthetic generator (the scenario drills' worlds): each changes exactly what
it documents, from its bar on, and a market without events is the generator's usual output."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cvntrade.errors import UserInputError
from cvntrade.market import generate_market
from cvntrade.market.synthetic import REGIMES, MarketEvent, SyntheticMarket

START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01")
EVENT = pd.Timestamp("2024-04-01")
SYMBOLS = ["BTCUSDC", "SOLUSDC"]


def _market(*events: MarketEvent, seed: int = 11) -> SyntheticMarket:
    return generate_market(SYMBOLS, START, END, seed=seed, signal_strength=2.0, events=events)


def _log_returns(market: SyntheticMarket, symbol: str) -> np.ndarray:
    close = market.frames[symbol]["close"].to_numpy()
    return np.diff(np.log(close), prepend=np.log(close[0]))


def _event_index(market: SyntheticMarket) -> int:
    return int(np.searchsorted(market.timestamps.astype(np.int64), int(EVENT.value // 1_000_000)))


def test_no_events_is_the_generators_usual_output_bit_for_bit() -> None:
    # The digest of this market as generated before events existed (commit 067005e).
    market = generate_market(
        ["BTCUSDC", "SOLUSDC"],
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-03-01"),
        seed=3,
        regime_shift_at=pd.Timestamp("2024-02-01"),
        signal_strength=1.5,
        events=(),
    )
    digest = hashlib.sha256()
    for symbol in sorted(market.frames):
        frame = market.frames[symbol]
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    assert digest.hexdigest() == "48a85a3b04bb3b1b56b3573c2cdfdccd972b7a05f81437f9a68bef400443dd36"


@pytest.mark.parametrize(
    "event",
    [
        MarketEvent("signal_reversal", EVENT),
        MarketEvent("volatility_shift", EVENT, 2.5),
        MarketEvent("drift_shift", EVENT, -0.2),
        MarketEvent("regime_hold", EVENT),
        MarketEvent("wick_skew", EVENT, 0.9),
        MarketEvent("swing_reversion", EVENT, 0.4),
        MarketEvent("market_loading", EVENT, 0.5),
    ],
    ids=lambda e: e.kind,
)
def test_bars_before_the_event_are_unchanged_and_later_ones_differ(event: MarketEvent) -> None:
    base, changed = _market(), _market(event)
    k = _event_index(base)
    for symbol in SYMBOLS:
        before = changed.frames[symbol].iloc[:k]
        assert before.equals(base.frames[symbol].iloc[:k])
        after = changed.frames[symbol][["close", "low"]].to_numpy()[k:]
        assert not np.allclose(after, base.frames[symbol][["close", "low"]].to_numpy()[k:])


def _lag_next_correlation(returns: np.ndarray) -> float:
    """corr(mean of the previous 4 returns, the next return): the learnable momentum signal."""
    lagged = np.convolve(returns, np.ones(4) / 4, mode="valid")[:-1]
    return float(np.corrcoef(lagged, returns[4:])[0, 1])


def test_signal_reversal_flips_the_sign_of_the_lag_to_next_return_relation() -> None:
    hold = MarketEvent("regime_hold", START + pd.Timedelta(hours=1))
    base, reversed_ = _market(hold), _market(hold, MarketEvent("signal_reversal", EVENT))
    k = _event_index(base)
    for symbol in SYMBOLS:
        before = _lag_next_correlation(_log_returns(base, symbol)[1:k])
        unchanged = _lag_next_correlation(_log_returns(base, symbol)[k + 4 :])
        after = _lag_next_correlation(_log_returns(reversed_, symbol)[k + 4 :])
        assert before > 0.2 and unchanged > 0.2
        assert after < -0.2


def test_volatility_shift_multiplies_return_volatility_by_its_magnitude() -> None:
    base, shifted = _market(), _market(MarketEvent("volatility_shift", EVENT, 2.5))
    k = _event_index(base)
    for symbol in SYMBOLS:
        ratio = np.std(_log_returns(shifted, symbol)[k + 8 :]) / np.std(
            _log_returns(base, symbol)[k + 8 :]
        )
        assert 2.2 < ratio < 2.8
        # Same regimes, same signal: the momentum relation keeps its sign.
        assert np.sign(_lag_next_correlation(_log_returns(shifted, symbol)[k + 4 :])) == np.sign(
            _lag_next_correlation(_log_returns(base, symbol)[k + 4 :])
        )


def test_drift_shift_adds_a_constant_bleed_in_sigmas_without_touching_the_noise() -> None:
    base, bled = _market(), _market(MarketEvent("drift_shift", EVENT, -0.2))
    k = _event_index(base)
    vol_mult = np.array([r.vol_mult for r in REGIMES])[base.regimes]
    for symbol in SYMBOLS:
        difference = _log_returns(bled, symbol) - _log_returns(base, symbol)
        assert np.allclose(difference[:k], 0.0)
        sigma = difference[k:] / vol_mult[k:]
        # One constant per symbol: -0.2 sigma per bar (sigma = the symbol's hourly volatility).
        assert np.all(sigma < 0)
        assert np.allclose(sigma, sigma[0])


def test_wick_skew_moves_only_the_wicks_so_long_trades_meet_their_stop_more_often() -> None:
    base, skewed = _market(), _market(MarketEvent("wick_skew", EVENT, 1.8))
    k = _event_index(base)
    for symbol in SYMBOLS:
        b, s = base.frames[symbol].iloc[k:], skewed.frames[symbol].iloc[k:]
        assert np.array_equal(b["close"].to_numpy(), s["close"].to_numpy())
        assert np.array_equal(b["open"].to_numpy(), s["open"].to_numpy())
        body_top = np.maximum(b["open"], b["close"])
        body_bottom = np.minimum(b["open"], b["close"])
        up_ratio = np.median(np.log(s["high"] / body_top)) / np.median(np.log(b["high"] / body_top))
        down_ratio = np.median(np.log(body_bottom / s["low"])) / np.median(
            np.log(body_bottom / b["low"])
        )
        assert up_ratio == pytest.approx(1 / 2.8, rel=0.05)
        assert down_ratio == pytest.approx(2.8, rel=0.05)
        # A 0.5 % stop below the close is touched by the next bar's low more often.
        stop = b["close"].to_numpy()[:-1] * 0.995
        assert np.mean(s["low"].to_numpy()[1:] <= stop) > np.mean(b["low"].to_numpy()[1:] <= stop)


def _autocorrelation(returns: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(returns[:-lag], returns[lag:])[0, 1])


def test_swing_reversion_keeps_short_momentum_and_gives_moves_back_within_a_day() -> None:
    hold = MarketEvent("regime_hold", START + pd.Timedelta(hours=1))
    base = _market(hold)
    swung = _market(hold, MarketEvent("swing_reversion", EVENT, 0.4))
    k = _event_index(base)
    for symbol in SYMBOLS:
        plain = _log_returns(base, symbol)[k + 24 :]
        swinging = _log_returns(swung, symbol)[k + 24 :]
        # Momentum over the next hours is kept...
        assert _autocorrelation(swinging, 1) > 0.3
        # ...but a day later the move is being given back, which a trending market never does.
        assert _autocorrelation(swinging, 20) < -0.2 < _autocorrelation(plain, 20)
        # So two-day moves are much smaller than the momentum alone makes them.
        two_days = np.add.reduceat(swinging, np.arange(0, swinging.size, 48))[:-1]
        two_days_plain = np.add.reduceat(plain, np.arange(0, plain.size, 48))[:-1]
        assert np.std(two_days) < 0.6 * np.std(two_days_plain)


def test_market_loading_decouples_the_symbols_and_keeps_their_volatility() -> None:
    base, loose = _market(), _market(MarketEvent("market_loading", EVENT, 0.3))
    k = _event_index(base)
    btc_sol = [
        float(np.corrcoef(*(_log_returns(m, s)[k:] for s in SYMBOLS))[0, 1]) for m in (base, loose)
    ]
    assert btc_sol[0] > 0.6
    assert btc_sol[1] < 0.25
    for symbol in SYMBOLS:
        ratio = np.std(_log_returns(loose, symbol)[k:]) / np.std(_log_returns(base, symbol)[k:])
        assert 0.85 < ratio < 1.15


def test_regime_hold_keeps_the_named_regime_from_its_bar_on() -> None:
    held = _market(MarketEvent("regime_hold", EVENT, regime="mean_revert"))
    k = _event_index(held)
    index = [r.name for r in REGIMES].index("mean_revert")
    assert np.all(held.regimes[k:] == index)
    assert held.regime_segments()[-1][1] == "mean_revert"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "meteor", "at": EVENT}, "unknown market event"),
        ({"kind": "volatility_shift", "at": EVENT, "magnitude": 0.0}, "must be > 0"),
        ({"kind": "signal_reversal", "at": EVENT, "magnitude": 2.0}, "in [0, 1]"),
        ({"kind": "regime_hold", "at": EVENT, "regime": "bubble"}, "unknown regime"),
        ({"kind": "drift_shift", "at": EVENT, "magnitude": float("nan")}, "finite"),
        ({"kind": "wick_skew", "at": EVENT, "magnitude": 4.5}, "in [0, 4]"),
        ({"kind": "wick_skew", "at": EVENT, "magnitude": -0.1}, "in [0, 4]"),
        ({"kind": "swing_reversion", "at": EVENT, "magnitude": 0.6}, "in [0, 0.5]"),
        ({"kind": "market_loading", "at": EVENT, "magnitude": 1.5}, "in [0, 1]"),
    ],
)
def test_bad_events_are_refused_with_the_field_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UserInputError, match=re.escape(message)):
        MarketEvent(**kwargs)


def test_an_event_outside_the_generated_range_is_refused() -> None:
    with pytest.raises(UserInputError, match="outside the range"):
        _market(MarketEvent("drift_shift", pd.Timestamp("2030-01-01"), -0.1))
