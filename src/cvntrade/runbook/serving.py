"""What actually serves, per symbol: the registry's champion and the live engines' heartbeats.

Runbook step 2 reads `ftf_config`, but `cvntrade promote` moves champions without touching the
config, so the config alone can say "focal was already rolled back" while focal champions trade.
`serving_by_symbol` gathers the other half of the truth so step 2 never gives a false all-clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from cvntrade.domain import LossFunction
from cvntrade.errors import DependencyError, NotFoundError
from cvntrade.registry import CHAMPION, Registry
from cvntrade.strategy import model_name
from cvntrade.trading.persistence import live_status

FOCAL = LossFunction.FOCAL.value


@dataclass(frozen=True, slots=True)
class EngineServing:
    """One live engine's report for a symbol: the version and loss it serves."""

    engine_id: str
    model_version: int | None
    loss_function: str | None
    heartbeat_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SymbolServing:
    """A symbol's champion in the registry and what the live engines serve for it."""

    crypto_symbol: str
    model_name: str
    champion_version: int | None
    champion_loss: str | None
    engines: tuple[EngineServing, ...]

    @property
    def serves_focal(self) -> bool:
        """True when the champion or any live engine is on a focal version."""
        return self.champion_loss == FOCAL or any(e.loss_function == FOCAL for e in self.engines)


@dataclass(frozen=True, slots=True)
class Serving:
    """Per-symbol serving state; `registry_error` says why champions could not be read."""

    symbols: tuple[SymbolServing, ...]
    registry_error: str | None

    @property
    def focal_symbols(self) -> tuple[str, ...]:
        """Symbols whose champion or a live engine is focal."""
        return tuple(s.crypto_symbol for s in self.symbols if s.serves_focal)


def live_engines(db: Engine, now: dt.datetime) -> dict[str, list[EngineServing]]:
    """Symbol → engines that serve it now (`cvntrade.trading.persistence.live_status`)."""
    by_symbol: dict[str, list[EngineServing]] = {}
    for row in live_status(db, now=now):
        by_symbol.setdefault(row.crypto_symbol, []).append(
            EngineServing(
                row.engine_id, row.model_version, row.model_loss_function, row.heartbeat_at
            )
        )
    return by_symbol


def serving_by_symbol(
    db: Engine,
    registry: Registry | None,
    *,
    symbols: Sequence[str],
    strategy: str,
    now: dt.datetime,
) -> Serving:
    """Champion (registry) and live engines per symbol, for `symbols` and every served symbol.

    A symbol without a registered model or champion shows `None`; an unreachable registry is
    reported in `registry_error` (the engines' view is still given).
    """
    engines = live_engines(db, now)
    wanted = list(dict.fromkeys([*symbols, *sorted(engines)]))
    error: str | None = None if registry is not None else "registry not consulted"
    rows = []
    for symbol in wanted:
        name = model_name(symbol, strategy)
        version: int | None = None
        loss: str | None = None
        if registry is not None and error is None:
            try:
                version = registry.aliases(name).get(CHAMPION)
                if version is not None:
                    loss = registry.get_version(name, version).loss_function
            except NotFoundError:
                version = None
            except DependencyError as exc:
                error = str(exc)
        rows.append(SymbolServing(symbol, name, version, loss, tuple(engines.get(symbol, []))))
    return Serving(tuple(rows), error)
