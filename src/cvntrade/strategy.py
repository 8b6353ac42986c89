"""Domain names shared by every part: symbols, strategies and registered model names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cvntrade.errors import UserInputError

QUOTE_ASSETS = ("USDC", "USDT", "BUSD", "FDUSD", "USD", "EUR", "BTC", "ETH")
DEFAULT_SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
DEFAULT_STRATEGY = "SL0.5_TP1_H4"
DEFAULT_MODEL_TYPE = "XGBoost"

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,12}$")
_STRATEGY_RE = re.compile(
    r"^SL(?P<stop>\d+(?:\.\d+)?)_TP(?P<take>\d+(?:\.\d+)?)_(?P<unit>[HD])(?P<count>\d+)$"
)
DEFAULT_INTERVAL = "1h"
"""The interval whose model names carry no interval suffix (every name before intervals)."""
_HOURS_PER_UNIT = {"H": 1, "D": 24}


def parse_symbol(text: str) -> str:
    """Validate an exchange symbol such as `BTCUSDC` (base + a known quote asset, upper case)."""
    if not _SYMBOL_RE.match(text) or not any(
        text.endswith(quote) and len(text) > len(quote) for quote in QUOTE_ASSETS
    ):
        raise UserInputError(
            f"invalid symbol {text!r}: expected BASE+QUOTE in upper case, e.g. BTCUSDC "
            f"(quote one of {', '.join(QUOTE_ASSETS)})"
        )
    return text


@dataclass(frozen=True, slots=True)
class Strategy:
    """A long-only triple-barrier strategy: stop and take profit in percent, and a horizon.

    The horizon is written in hours (`H4`) or days (`D5` = 120 h, for daily and weekly bars);
    `horizon_hours` is its length either way and `horizon_unit` how the name spells it.
    """

    stop_pct: float
    take_pct: float
    horizon_hours: int
    horizon_unit: str = "H"

    @classmethod
    def parse(cls, text: str) -> Strategy:
        """Parse `SL0.5_TP1_H4` (stop 0.5 %, take 1 %, 4 h) or `SL2_TP4_D5` (5 days)."""
        match = _STRATEGY_RE.match(text)
        if match is None:
            raise UserInputError(
                f"invalid strategy {text!r}: expected SL<stop%>_TP<take%>_H<hours> or "
                "SL<stop%>_TP<take%>_D<days>, e.g. SL0.5_TP1_H4 or SL2_TP4_D5"
            )
        stop, take, count = float(match["stop"]), float(match["take"]), int(match["count"])
        if stop <= 0 or take <= 0 or count <= 0:
            raise UserInputError(f"invalid strategy {text!r}: stop, take and horizon must be > 0")
        unit = match["unit"]
        return cls(stop, take, count * _HOURS_PER_UNIT[unit], unit)

    @property
    def name(self) -> str:
        """The canonical text form, e.g. `SL0.5_TP1_H4` or `SL2_TP4_D5`."""
        count = self.horizon_hours // _HOURS_PER_UNIT[self.horizon_unit]
        return f"SL{_fmt(self.stop_pct)}_TP{_fmt(self.take_pct)}_{self.horizon_unit}{count}"

    def __str__(self) -> str:
        return self.name


def _fmt(value: float) -> str:
    return f"{value:g}"


def interval_token(interval: str) -> str:
    """How an interval is spelled inside names: itself, except `1M` (month) → `1mo`.

    Registries and databases may compare names case-insensitively, where `1M` and `1m`
    (minute) would collide.
    """
    return f"{interval[:-1]}mo" if interval.endswith("M") else interval


def strategy_label(strategy: str | Strategy, interval: str = DEFAULT_INTERVAL) -> str:
    """The strategy as stored in names and tables: its name, plus `_<interval>` unless 1h.

    `SL0.5_TP1_H4` on 1h bars stays `SL0.5_TP1_H4` (every name from before intervals stays
    valid); on 15m bars it is `SL0.5_TP1_H4_15m`, and `SL2_TP4_D5` on daily bars
    `SL2_TP4_D5_1d`. A strategy name never ends in an interval, so labels are unambiguous.
    """
    name = strategy.name if isinstance(strategy, Strategy) else Strategy.parse(strategy).name
    return name if interval == DEFAULT_INTERVAL else f"{name}_{interval_token(interval)}"


def parse_strategy_label(text: str) -> tuple[Strategy, str]:
    """Inverse of `strategy_label`: (strategy, interval) of `SL2_TP4_D5_1d` or `SL0.5_TP1_H4`."""
    head, _, tail = text.rpartition("_")
    if head and tail and tail[0].isdigit() and not tail.isdigit():
        interval = f"{tail[:-2]}M" if tail.endswith("mo") else tail
        return Strategy.parse(head), interval
    return Strategy.parse(text), DEFAULT_INTERVAL


def model_name(
    symbol: str,
    strategy: str | Strategy,
    model_type: str = DEFAULT_MODEL_TYPE,
    interval: str = DEFAULT_INTERVAL,
) -> str:
    """The registered model name `CVNTrade_{MODEL_TYPE}_{SYMBOL}_{STRATEGY}` (capital C).

    `{STRATEGY}` is `strategy_label(strategy, interval)`: 1h models keep the plain strategy
    name (`CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4`), other intervals add theirs
    (`CVNTrade_XGBoost_BTCUSDC_SL2_TP4_D5_1d`).
    """
    return f"CVNTrade_{model_type}_{parse_symbol(symbol)}_{strategy_label(strategy, interval)}"
