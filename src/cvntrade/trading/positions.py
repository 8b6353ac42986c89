"""The long-only position state machine of one symbol: pure, shared by replay and live trading.

Fill rules are those of the triple-barrier labels (`cvntrade.features.labels`), so a replay
trades exactly what the labels describe:

* a signal at the close of bar `i` (calibrated probability >= threshold, no open position)
  enters at the open of bar `i + 1`;
* each bar from the entry bar on: an open at or beyond a barrier exits at that open; else a low
  at or below the stop exits at the stop (also when the high reached the take profit: the
  order inside a bar is unknown, so we assume the worst); else a high at or above the take
  profit exits at the take profit; the `horizon`-th bar exits at its close;
* a new signal is possible from the close of the exit bar on;
* the kill switch or the halt closes an open position at the next bar's open and cancels a
  pending entry;
* a data gap longer than the strategy's horizon (a weekend of FX data, a missing month) closes
  an open position at the close of the last bar before the gap, exit reason `data_gap`, and
  cancels a pending entry (`gap_exit`): the position is never held across it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cvntrade.strategy import Strategy


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLC bar: its index in the series, open time (ms, UTC) and prices."""

    index: int
    open_ms: int
    close_ms: int
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True, slots=True)
class ModelStamp:
    """Which model made a decision: name, version, loss function (`binary`|`focal`)."""

    name: str
    version: int
    loss_function: str


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """A signal waiting for the next bar's open."""

    signal_index: int
    probability: float
    model: ModelStamp


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A long position: entry, barriers, last bar of the horizon, and the model that opened it."""

    signal_index: int
    entry_index: int
    entry_ms: int
    entry_price: float
    stop: float
    take: float
    last_index: int
    probability: float
    model: ModelStamp


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A finished trade, before costs: exit bar, time (ms), price, reason and gross return (%)."""

    position: OpenPosition
    exit_index: int
    exit_ms: int
    exit_price: float
    exit_reason: str

    @property
    def gross_return_pct(self) -> float:
        """Price change from entry to exit, percent of the entry price."""
        return (self.exit_price / self.position.entry_price - 1.0) * 100.0


@dataclass(frozen=True, slots=True)
class BookState:
    """A symbol's state between bars: at most one pending entry or one open position."""

    pending: PendingEntry | None = None
    position: OpenPosition | None = None


@dataclass(frozen=True, slots=True)
class BarOutcome:
    """What one bar did: the new state, and the trade it closed (if any)."""

    state: BookState
    closed: ClosedPosition | None = None

    @property
    def flat(self) -> bool:
        """True when a new signal may be taken at this bar's close."""
        return self.state.position is None and self.state.pending is None


def step_bar(
    state: BookState, bar: Bar, strategy: Strategy, horizon_bars: int, *, stopped: str | None = None
) -> BarOutcome:
    """Advance `state` through `bar`: fill a pending entry, then check exits.

    `stopped` is `kill_switch` or `halt` when trading is stopped: a pending entry is cancelled
    and an open position closes at this bar's open with that exit reason.
    """
    position = state.position
    if state.pending is not None:
        if stopped is not None:
            return BarOutcome(BookState())
        entry = bar.open
        position = OpenPosition(
            signal_index=state.pending.signal_index,
            entry_index=bar.index,
            entry_ms=bar.open_ms,
            entry_price=entry,
            stop=entry * (1.0 - strategy.stop_pct / 100.0),
            take=entry * (1.0 + strategy.take_pct / 100.0),
            last_index=state.pending.signal_index + horizon_bars,
            probability=state.pending.probability,
            model=state.pending.model,
        )
    if position is None:
        return BarOutcome(BookState())
    exit_ = _exit(position, bar, stopped)
    if exit_ is None:
        return BarOutcome(BookState(position=position))
    exit_ms, price, reason = exit_
    return BarOutcome(BookState(), ClosedPosition(position, bar.index, exit_ms, price, reason))


def _exit(position: OpenPosition, bar: Bar, stopped: str | None) -> tuple[int, float, str] | None:
    if stopped is not None:
        return bar.open_ms, bar.open, stopped
    if bar.open <= position.stop:
        return bar.open_ms, bar.open, "stop_loss"
    if bar.open >= position.take:
        return bar.open_ms, bar.open, "take_profit"
    if bar.low <= position.stop:
        return bar.close_ms, position.stop, "stop_loss"
    if bar.high >= position.take:
        return bar.close_ms, position.take, "take_profit"
    if bar.index >= position.last_index:
        return bar.close_ms, bar.close, "horizon"
    return None


DATA_GAP = "data_gap"


def gap_exit(state: BookState, last_bar: Bar) -> BarOutcome:
    """Close an open position at `last_bar`'s close (`data_gap`); drop a pending entry.

    Called when the next bar opens after a gap longer than the horizon: `last_bar` is the last
    bar before the gap, the last price at which the position could have been closed.
    """
    if state.position is None:
        return BarOutcome(BookState())
    closed = ClosedPosition(
        state.position, last_bar.index, last_bar.close_ms, last_bar.close, DATA_GAP
    )
    return BarOutcome(BookState(), closed)


def signal(
    outcome: BarOutcome,
    bar: Bar,
    probability: float | None,
    threshold: float,
    model: ModelStamp,
    *,
    stopped: str | None = None,
) -> BookState:
    """After the close: enter at the next open if flat, not stopped and probability >= threshold."""
    if stopped is not None or probability is None or not outcome.flat or probability < threshold:
        return outcome.state
    return replace(outcome.state, pending=PendingEntry(bar.index, probability, model))
