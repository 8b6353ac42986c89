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
_STRATEGY_RE = re.compile(r"^SL(?P<stop>\d+(?:\.\d+)?)_TP(?P<take>\d+(?:\.\d+)?)_H(?P<hours>\d+)$")


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
    """A long-only triple-barrier strategy: stop and take profit in percent, horizon in hours."""

    stop_pct: float
    take_pct: float
    horizon_hours: int

    @classmethod
    def parse(cls, text: str) -> Strategy:
        """Parse `SL0.5_TP1_H4` (stop 0.5 %, take profit 1 %, horizon 4 h)."""
        match = _STRATEGY_RE.match(text)
        if match is None:
            raise UserInputError(
                f"invalid strategy {text!r}: expected SL<stop%>_TP<take%>_H<hours>, "
                "e.g. SL0.5_TP1_H4"
            )
        stop, take, hours = float(match["stop"]), float(match["take"]), int(match["hours"])
        if stop <= 0 or take <= 0 or hours <= 0:
            raise UserInputError(f"invalid strategy {text!r}: stop, take and horizon must be > 0")
        return cls(stop_pct=stop, take_pct=take, horizon_hours=hours)

    @property
    def name(self) -> str:
        """The canonical text form, e.g. `SL0.5_TP1_H4`."""
        return f"SL{_fmt(self.stop_pct)}_TP{_fmt(self.take_pct)}_H{self.horizon_hours}"

    def __str__(self) -> str:
        return self.name


def _fmt(value: float) -> str:
    return f"{value:g}"


def model_name(symbol: str, strategy: str | Strategy, model_type: str = DEFAULT_MODEL_TYPE) -> str:
    """The registered model name `CVNTrade_{MODEL_TYPE}_{SYMBOL}_{STRATEGY}` (capital C)."""
    strategy_name = (
        strategy.name if isinstance(strategy, Strategy) else Strategy.parse(strategy).name
    )
    return f"CVNTrade_{model_type}_{parse_symbol(symbol)}_{strategy_name}"
