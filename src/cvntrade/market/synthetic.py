"""A regime-switching synthetic crypto market: the demo's market and the tests' ground truth.

The model is documented in `docs/market.md`. In short, every bar's close-to-close log return is

    r[t] = jump[t] + drift[t] + phi[t] * mean(r[t-1], ..., r[t-4]) + sigma[t] * eps[t]
    eps[t] = beta * z_market[t] + sqrt(1 - beta**2) * z_symbol[t]

A market-wide Markov chain picks the regime (trend, mean-revert, choppy-volatile); the regime
sets the volatility multiplier, the momentum coefficient `phi` (the learnable signal) and the drift.
At `regime_shift_at` the signal inverts (trend regimes stop trending: `phi -> -|phi|`, momentum
becomes reversal) and the chain favours the choppy regime, so a model fitted before the shift
loses its edge after it. Output is deterministic for
(seed, symbol, start, end, interval, regime_shift_at, session, events), and one symbol's series
does not depend on which other symbols are generated with it.

`session="weekdays"` imitates an FX market: bars whose open time falls between Friday 22:00 and
Sunday 22:00 UTC are removed (prices keep moving while the market is closed, so Monday opens
with a weekend jump), leaving a 48 h gap every week; daily bars lose Saturday and Sunday.

Optional `events` (`MarketEvent`, default none: the output is then bit-identical to a market
generated without the parameter) change one ingredient from a bar on, for the scenario drills
(`cvntrade drill scenario`, docs/drills.md): `signal_reversal` (phi -> -phi: the old signals still
fire but now reverse), `volatility_shift` (sigma multiplied: a feature-distribution shift with the
same signal) and `drift_shift` (a constant drift in sigmas per bar: the outcome base rate moves
while the ranking by the signal holds).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.errors import UserInputError
from cvntrade.market.schema import canonical_ohlcv, interval_ms, utc_ms

MAX_SYNTH_BARS = 1_100_000
"""Bars per symbol one synthesis may generate: two years of 1m bars fit; 1s over years would
exhaust memory (MemoryError) instead of failing cleanly."""

HOURS_PER_YEAR = 24 * 365
MOMENTUM_LAGS = 4
JUMP_PROBABILITY = 0.002
JUMP_SIGMAS = 3.0
SESSIONS = ("always", "weekdays")
_WEEK_MS = 7 * 86_400_000
_CLOSE_FROM_MS = (1 * 24 + 22) * 3_600_000  # Friday 22:00, from Thursday 1970-01-01 00:00
_CLOSE_MS = 48 * 3_600_000


@dataclass(frozen=True, slots=True)
class SymbolProfile:
    """Per-symbol traits: annualised volatility (fraction), market loading, start price, volume."""

    annual_vol: float
    market_beta: float
    start_price: float
    base_volume: float


@dataclass(frozen=True, slots=True)
class Regime:
    """A market regime: volatility multiplier, momentum coefficient, drift (sigmas), duration."""

    name: str
    vol_mult: float
    phi: float
    drift_sigmas: float
    mean_hours: float
    weight_before: float
    weight_after: float


PROFILES: dict[str, SymbolProfile] = {
    "BTC": SymbolProfile(0.55, 0.90, 42_000.0, 900.0),
    "ETH": SymbolProfile(0.70, 0.88, 2_300.0, 12_000.0),
    "SOL": SymbolProfile(0.95, 0.78, 100.0, 250_000.0),
    "XRP": SymbolProfile(0.80, 0.72, 0.60, 30_000_000.0),
    "ADA": SymbolProfile(0.85, 0.78, 0.55, 25_000_000.0),
}
REGIMES: tuple[Regime, ...] = (
    Regime(
        "trend",
        vol_mult=0.9,
        phi=0.45,
        drift_sigmas=0.04,
        mean_hours=120.0,
        weight_before=0.45,
        weight_after=0.30,
    ),
    Regime(
        "mean_revert",
        vol_mult=0.8,
        phi=-0.30,
        drift_sigmas=0.0,
        mean_hours=96.0,
        weight_before=0.35,
        weight_after=0.25,
    ),
    Regime(
        "choppy_volatile",
        vol_mult=1.9,
        phi=0.0,
        drift_sigmas=0.0,
        mean_hours=48.0,
        weight_before=0.20,
        weight_after=0.45,
    ),
)


EVENT_KINDS = (
    "regime_hold",
    "signal_reversal",
    "volatility_shift",
    "drift_shift",
    "wick_skew",
    "swing_reversion",
    "market_loading",
)
REVERSION_LAGS = 24
"""`swing_reversion` gives back the mean return of bars t-24 .. t-5 (after the momentum lags)."""
MAX_SWING_REVERSION = 0.5
"""Above about 0.55 the recursion with trend momentum (phi 0.9) oscillates without bound."""
MAX_WICK_SKEW = 4.0


@dataclass(frozen=True, slots=True)
class MarketEvent:
    """From bar `at` on, change one ingredient of the market (see `EVENT_KINDS`).

    * `regime_hold`: the market stays in the regime named `regime` (default `trend`, upward),
      so the learned signal keeps firing (the scenario drills trade through such a stretch);
    * `signal_reversal`: phi -> -magnitude * phi in every regime: what used to announce a move now
      announces the opposite one (magnitude in [0, 1]: how strongly);
    * `volatility_shift`: sigma (noise, drift and wicks alike) times `magnitude` (> 0);
    * `wick_skew`: lower wicks times `1 + magnitude`, upper wicks divided by it (magnitude in
      [0, 4]): closes, and so every close-to-close signal, are unchanged, but a long trade meets
      its stop more often and its take profit less often (the outcome base rate falls while the
      ranking holds); the bars' shape (close location, range) is what moves;
    * `swing_reversion`: every return also gives back `magnitude` (in [0, 0.5]) times the mean
      return of the bars 5 to 24 before it: short-term momentum is kept, but a move is given
      back within about a day, so prices swing for hours rather than trend for days;
    * `market_loading`: every symbol's loading on the market factor times `magnitude` (in
      [0, 1]; its own noise grows to keep the variance): the symbols move more independently;
    * `drift_shift`: `magnitude` sigmas per bar added to every bar's drift (negative: a slow bleed).
    """

    kind: str
    at: pd.Timestamp
    magnitude: float = 1.0
    regime: str = "trend"

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise UserInputError(
                f"unknown market event {self.kind!r}: use one of {', '.join(EVENT_KINDS)}"
            )
        if self.kind == "signal_reversal" and not 0 <= self.magnitude <= 1:
            raise UserInputError(
                f"signal_reversal magnitude must be in [0, 1] (got {self.magnitude})"
            )
        if self.kind == "wick_skew" and not 0 <= self.magnitude <= MAX_WICK_SKEW:
            raise UserInputError(
                f"wick_skew magnitude must be in [0, {MAX_WICK_SKEW:g}] (got {self.magnitude})"
            )
        if self.kind == "market_loading" and not 0 <= self.magnitude <= 1:
            raise UserInputError(
                f"market_loading magnitude must be in [0, 1] (got {self.magnitude})"
            )
        if self.kind == "swing_reversion" and not 0 <= self.magnitude <= MAX_SWING_REVERSION:
            raise UserInputError(
                f"swing_reversion magnitude must be in [0, {MAX_SWING_REVERSION:g}] "
                f"(got {self.magnitude})"
            )
        if self.kind == "volatility_shift" and not self.magnitude > 0:
            raise UserInputError(f"volatility_shift magnitude must be > 0 (got {self.magnitude})")
        if self.regime not in {r.name for r in REGIMES}:
            raise UserInputError(f"unknown regime {self.regime!r}")
        if not np.isfinite(self.magnitude):
            raise UserInputError(f"event magnitude must be finite (got {self.magnitude})")


@dataclass(frozen=True, slots=True, eq=False)
class SyntheticMarket:
    """Generated bars per symbol, the shared regime of every bar and the shift's bar index."""

    frames: dict[str, pd.DataFrame]
    regimes: npt.NDArray[np.int8]
    timestamps: npt.NDArray[np.datetime64]
    shift_index: int | None

    def regime_segments(self) -> list[tuple[str, str]]:
        """(first bar open time ISO, regime name) for every run of bars in one regime."""
        starts = np.flatnonzero(np.diff(self.regimes, prepend=-1) != 0)
        return [(str(self.timestamps[i]) + "Z", REGIMES[int(self.regimes[i])].name) for i in starts]


def profile_for(symbol: str) -> SymbolProfile:
    """The profile of a symbol's base asset; unknown assets get a stable pseudo-random profile."""
    for base, profile in PROFILES.items():
        if symbol.startswith(base):
            return profile
    h = zlib.crc32(symbol.encode())
    return SymbolProfile(
        annual_vol=0.6 + (h % 400) / 1000,
        market_beta=0.7,
        start_price=1.0 + h % 100,
        base_volume=1_000_000.0,
    )


def generate_market(
    symbols: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    interval: str = "1h",
    seed: int = 0,
    regime_shift_at: pd.Timestamp | None = None,
    signal_strength: float = 1.0,
    session: str = "always",
    events: Sequence[MarketEvent] = (),
) -> SyntheticMarket:
    """Generate correlated OHLCV bars for `symbols` on `[start, end)`; see the module docstring.

    `signal_strength` scales every regime's momentum coefficient `phi` (1.0: the documented
    market; larger: an easier-to-learn signal, e.g. for demos); it must keep |phi| < 1.
    `session` is `always` (24/7) or `weekdays` (FX-like weekend closures, module docstring).
    `events` (default none) are applied in order after the regime shift (`MarketEvent`).
    """
    if session not in SESSIONS:
        raise UserInputError(f"unknown session {session!r}: use {' or '.join(SESSIONS)}")
    if seed < 0:
        raise UserInputError(f"--seed must be a non-negative integer (got {seed})")
    max_phi = max(abs(r.phi) for r in REGIMES)
    if not 0.0 <= signal_strength * max_phi < 1.0:
        raise UserInputError(
            f"signal strength {signal_strength} must be in [0, {1.0 / max_phi:.2f}) "
            "(|phi| must stay below 1 for a stable series)"
        )
    step = interval_ms(interval)
    start_ms, end_ms = utc_ms(start), utc_ms(end)
    if start_ms % step or end_ms <= start_ms:
        raise UserInputError(
            f"synthetic range [{start}, {end}) must be non-empty and start on the {interval} grid"
        )
    bars = -(-(end_ms - start_ms) // step)
    if bars > MAX_SYNTH_BARS:
        raise UserInputError(
            f"synthetic range [{start}, {end}) at {interval} is {bars:,} bars per symbol, more "
            f"than the limit of {MAX_SYNTH_BARS:,} (MAX_SYNTH_BARS): use a shorter range or a "
            "longer interval"
        )
    ms = np.arange(start_ms, end_ms, step, dtype=np.int64)
    n = len(ms)
    shift_index = None
    if regime_shift_at is not None:
        shift_index = int(np.searchsorted(ms, utc_ms(regime_shift_at)))
        if not 0 < shift_index < n:
            raise UserInputError(f"--regime-shift-at {regime_shift_at} is outside [{start}, {end})")
    bar_hours = step / 3_600_000
    market_rng = np.random.default_rng([seed, 0x5EED])
    regimes, direction = _regime_path(market_rng, n, bar_hours, shift_index)
    for event in events:
        if event.kind == "regime_hold":
            first = _event_index(event, ms)
            regimes[first:] = [r.name for r in REGIMES].index(event.regime)
            direction[first:] = 0.0
    z_market = market_rng.standard_normal(n)
    after = np.zeros(n, dtype=bool) if shift_index is None else np.arange(n) >= shift_index
    vol_mult = np.array([r.vol_mult for r in REGIMES])[regimes]
    phi = np.array([r.phi for r in REGIMES])[regimes] * signal_strength
    phi = np.where(after, -np.abs(phi), phi)
    drift_sigmas = np.array([r.drift_sigmas for r in REGIMES])[regimes] * direction
    post: _EventEffects | None = None
    if events:
        vol_mult, phi, post = _apply_events(events, ms, vol_mult, phi)
    frames = {
        symbol: _symbol_bars(
            symbol, seed, ms, bar_hours, z_market, vol_mult, phi, drift_sigmas, post
        )
        for symbol in symbols
    }
    if session == "weekdays":
        is_open = ~weekend_closed(ms)
        if not is_open.any():
            raise UserInputError(f"no trading session in [{start}, {end}): widen the range")
        frames = {s: f[is_open].reset_index(drop=True) for s, f in frames.items()}
    return SyntheticMarket(frames, regimes, ms.astype("datetime64[ms]"), shift_index)


def weekend_closed(ms: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True for open times in the weekly FX closure, Friday 22:00 to Sunday 22:00 UTC."""
    since_close: npt.NDArray[np.int64] = (ms - _CLOSE_FROM_MS) % _WEEK_MS
    closed: npt.NDArray[np.bool_] = since_close < _CLOSE_MS
    return closed


@dataclass(frozen=True, slots=True, eq=False)
class _EventEffects:
    """Per-bar effects of the events that act outside `sigma` and `phi`.

    `bleed`: sigmas per bar added after the momentum recursion; `skew`: wick skew magnitude;
    `revert`: swing reversion coefficient; `loading`: factor on the market loading (see
    `MarketEvent`).
    """

    bleed: npt.NDArray[np.float64]
    skew: npt.NDArray[np.float64]
    revert: npt.NDArray[np.float64]
    loading: npt.NDArray[np.float64]


def _apply_events(
    events: Sequence[MarketEvent],
    ms: npt.NDArray[np.int64],
    vol_mult: npt.NDArray[np.float64],
    phi: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], _EventEffects]:
    """Per-bar volatility multiplier, phi, and the other effects of the events.

    The bleed is added to each return *after* the momentum recursion: it moves the outcome of
    every bar by the same amount without being amplified by the market's persistence.
    """
    vol_mult, phi = vol_mult.copy(), phi.copy()
    n = len(ms)
    effects = _EventEffects(np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n))
    for event in events:
        first = _event_index(event, ms)
        if event.kind == "signal_reversal":
            phi[first:] = -event.magnitude * phi[first:]
        elif event.kind == "volatility_shift":
            vol_mult[first:] *= event.magnitude
        elif event.kind == "drift_shift":
            effects.bleed[first:] += event.magnitude
        elif event.kind == "wick_skew":
            effects.skew[first:] = event.magnitude
        elif event.kind == "swing_reversion":
            effects.revert[first:] = event.magnitude
        elif event.kind == "market_loading":
            effects.loading[first:] *= event.magnitude
    return vol_mult, phi, effects


def _event_index(event: MarketEvent, ms: npt.NDArray[np.int64]) -> int:
    """The first bar an event applies to; `UserInputError` outside the generated range."""
    first = int(np.searchsorted(ms, utc_ms(event.at)))
    if not 0 < first < len(ms):
        raise UserInputError(f"market event {event.kind} at {event.at} is outside the range")
    return first


def _regime_path(
    rng: np.random.Generator, n: int, bar_hours: float, shift_index: int | None
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]:
    """Markov chain over REGIMES with geometric durations; trend runs get a random direction."""
    regimes = np.empty(n, dtype=np.int8)
    direction = np.empty(n, dtype=np.float64)
    t, current = 0, int(rng.integers(len(REGIMES)))
    while t < n:
        regime = REGIMES[current]
        length = int(rng.geometric(min(1.0, bar_hours / regime.mean_hours)))
        regimes[t : t + length] = current
        direction[t : t + length] = rng.choice((-1.0, 1.0))
        t += length
        shifted = shift_index is not None and t >= shift_index
        weights = np.array([r.weight_after if shifted else r.weight_before for r in REGIMES])
        weights[current] = 0.0
        current = int(rng.choice(len(REGIMES), p=weights / weights.sum()))
    return regimes, direction


def _symbol_bars(
    symbol: str,
    seed: int,
    ms: npt.NDArray[np.int64],
    bar_hours: float,
    z_market: npt.NDArray[np.float64],
    vol_mult: npt.NDArray[np.float64],
    phi: npt.NDArray[np.float64],
    drift_sigmas: npt.NDArray[np.float64],
    post: _EventEffects | None = None,
) -> pd.DataFrame:
    profile = profile_for(symbol)
    n = len(ms)
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    z_symbol = rng.standard_normal(n)
    sigma_base = profile.annual_vol * np.sqrt(bar_hours / HOURS_PER_YEAR)
    sigma = sigma_base * vol_mult
    beta = profile.market_beta if post is None else profile.market_beta * post.loading
    eps = beta * z_market + np.sqrt(1.0 - beta**2) * z_symbol
    jumps = np.where(
        rng.random(n) < JUMP_PROBABILITY, JUMP_SIGMAS * sigma * rng.standard_normal(n), 0.0
    )
    revert = None if post is None or not post.revert.any() else post.revert
    total = _momentum_returns(jumps, drift_sigmas * sigma, phi, sigma * eps, revert)
    if post is not None:
        total = total + post.bleed * sigma
    log_close = np.log(profile.start_price) + np.cumsum(total)
    close = np.exp(log_close)
    prev_close = np.concatenate(([profile.start_price], close[:-1]))
    open_ = prev_close * np.exp(jumps)
    wick_up = np.abs(rng.standard_normal(n)) * 0.6 * sigma
    wick_down = np.abs(rng.standard_normal(n)) * 0.6 * sigma
    if post is not None:
        wick_up, wick_down = wick_up / (1.0 + post.skew), wick_down * (1.0 + post.skew)
    high = np.maximum(open_, close) * np.exp(wick_up)
    low = np.minimum(open_, close) * np.exp(-wick_down)
    hour = (ms // 3_600_000) % 24
    seasonality = 1.0 + 0.3 * np.sin(2 * np.pi * (hour - 9) / 24)
    activity = np.abs(total) / sigma_base
    volume = (
        profile.base_volume
        * bar_hours
        * seasonality
        * np.exp(0.35 * rng.standard_normal(n) + 0.5 * (activity - 0.8))
    )
    frame = pd.DataFrame(
        {
            "timestamp": ms.astype("datetime64[ms]"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )
    return canonical_ohlcv(frame)


def _momentum_returns(
    jumps: npt.NDArray[np.float64],
    drift: npt.NDArray[np.float64],
    phi: npt.NDArray[np.float64],
    noise: npt.NDArray[np.float64],
    revert: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """r[t] = jump + drift + phi * mean of the previous MOMENTUM_LAGS returns + noise (numba);
    with `revert`, minus revert[t] * the mean return of bars t-REVERSION_LAGS .. t-5."""
    from cvntrade.market._kernels import momentum_returns, swing_returns

    if revert is None:
        result: npt.NDArray[np.float64] = momentum_returns(jumps, drift, phi, noise, MOMENTUM_LAGS)
    else:
        result = swing_returns(jumps, drift, phi, noise, revert, MOMENTUM_LAGS, REVERSION_LAGS)
    return result
