"""Engine ids and symbol lists: light helpers the CLI and `cvntrade up` share with the engines
(no pandas, no model code, so a supervisor can use them without loading the trading stack)."""

from __future__ import annotations

import socket

from cvntrade.errors import UserInputError
from cvntrade.strategy import parse_symbol


def default_engine_id(mode: str, strategy: str) -> str:
    """A stable engine id, so a restarted engine finds its checkpoint: `<mode>:<strategy>@<host>`.

    The paper engine over stored bars (`paper`) keeps one id across ranges, so consecutive
    ranges continue its positions and a range it already traded is refused, not re-counted.
    """
    return f"{mode}:{strategy}@{socket.gethostname()}"


def parse_symbols(text: str) -> tuple[str, ...]:
    """`BTCUSDC,ETHUSDC` → validated symbols, in order, without repeats."""
    symbols = tuple(dict.fromkeys(parse_symbol(s.strip()) for s in text.split(",") if s.strip()))
    if not symbols:
        raise UserInputError("--symbols needs at least one symbol")
    return symbols
