"""Waiting until the trading engines serve the rolled-back champions.

Contract with the trading engine: every engine upserts one `engine_status` row per
(engine, symbol) on every bar and heartbeat, with the model name and version it serves right now
and `heartbeat_at` (naive UTC). An engine is *live* when its heartbeat is at most
`heartbeat_max_age_s` old. A symbol has *switched* when every live engine serving its model
reports the expected version; when no engine serving it is live the symbol has `no_live_engine`
(nothing to wait for — not a failure of the rollback). An engine that was live during the wait
and then fell silent is waited for until the deadline (it may be restarting).

The clock (heartbeat freshness), the monotonic timer (elapsed time) and `sleep` are injected,
so the wait runs the same against the real engine, a test driving rows by hand, or a fake clock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from cvntrade.clock import Clock, utc_now
from cvntrade.db.tables import engine_status
from cvntrade.errors import DependencyError, UserInputError
from cvntrade.trading.persistence import STOPPED

SWITCHED = "switched"
NO_LIVE_ENGINE = "no_live_engine"
NOT_SWITCHED = "not_switched"
DEFAULT_HEARTBEAT_MAX_AGE_S = 10.0
DEFAULT_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class PropagationTarget:
    """The version `model_name` (the champion of `crypto_symbol`) must be served at."""

    crypto_symbol: str
    model_name: str
    version: int


@dataclass(frozen=True, slots=True)
class EngineReport:
    """What one engine said in its last heartbeat for one model."""

    engine_id: str
    model_version: int | None
    heartbeat_at: dt.datetime
    stale: bool
    """The engine serves its last good model because the registry is unreachable."""
    live: bool
    """Its heartbeat is recent enough to count."""


@dataclass(frozen=True, slots=True)
class SymbolPropagation:
    """Whether the engines switched one symbol, and how long after the wait began (seconds)."""

    crypto_symbol: str
    model_name: str
    expected_version: int
    status: str
    elapsed_s: float | None
    engines: tuple[EngineReport, ...]


@dataclass(frozen=True, slots=True)
class PropagationReport:
    """The outcome of a wait: per symbol, plus how long it took against the limit."""

    symbols: tuple[SymbolPropagation, ...]
    waited_s: float
    wait_limit_s: float
    heartbeat_max_age_s: float
    complete: bool
    """No symbol is left `not_switched`."""

    def by_status(self, status: str) -> tuple[str, ...]:
        """The symbols with `status`, in target order."""
        return tuple(s.crypto_symbol for s in self.symbols if s.status == status)


def read_engine_reports(
    engine: Engine, model_names: Sequence[str], *, now: dt.datetime, heartbeat_max_age_s: float
) -> dict[str, tuple[EngineReport, ...]]:
    """The latest heartbeat of every engine serving each of `model_names`."""
    if not model_names:
        return {}
    es = engine_status.c
    query = (
        select(es.engine_id, es.model_name, es.model_version, es.heartbeat_at, es.stale, es.mode)
        .where(es.model_name.in_(list(model_names)))
        .order_by(es.model_name, es.engine_id)
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except DBAPIError as exc:
        raise DependencyError(
            f"database unavailable while reading engine_status: {exc.orig}"
        ) from None
    max_age = dt.timedelta(seconds=heartbeat_max_age_s)
    found: dict[str, list[EngineReport]] = {name: [] for name in model_names}
    for row in rows:
        found[row.model_name].append(
            EngineReport(
                engine_id=row.engine_id,
                model_version=row.model_version,
                heartbeat_at=row.heartbeat_at,
                stale=bool(row.stale),
                live=row.mode != STOPPED and now - row.heartbeat_at <= max_age,
            )
        )
    return {name: tuple(reports) for name, reports in found.items()}


def wait_for_propagation(
    engine: Engine,
    targets: Sequence[PropagationTarget],
    *,
    wait_s: float,
    heartbeat_max_age_s: float = DEFAULT_HEARTBEAT_MAX_AGE_S,
    poll_s: float = DEFAULT_POLL_S,
    clock: Clock = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PropagationReport:
    """Poll `engine_status` until every target has switched or has no live engine, or `wait_s`.

    `elapsed_s` of a switched symbol is measured from the start of the wait to the poll that saw
    it (resolution `poll_s`). `wait_s=0` checks once.
    """
    if wait_s < 0 or heartbeat_max_age_s <= 0 or poll_s <= 0:
        raise UserInputError(
            "--wait-s must be >= 0, --heartbeat-max-age-s and the poll interval > 0"
        )
    start = monotonic()
    deadline = start + wait_s
    pending = {t.model_name: t for t in targets}
    done: dict[str, SymbolPropagation] = {}
    seen_live: set[str] = set()
    last_seen: dict[str, tuple[EngineReport, ...]] = {}
    while True:
        reports = read_engine_reports(
            engine, list(pending), now=clock(), heartbeat_max_age_s=heartbeat_max_age_s
        )
        elapsed = monotonic() - start
        for name, target in list(pending.items()):
            engines = reports.get(name, ())
            last_seen[name] = engines
            live = [e for e in engines if e.live]
            if live:
                seen_live.add(name)
            if live and all(e.model_version == target.version for e in live):
                status: str | None = SWITCHED
            elif not live and name not in seen_live:
                status = NO_LIVE_ENGINE
            else:
                status = None
            if status is not None:
                done[name] = SymbolPropagation(
                    target.crypto_symbol,
                    name,
                    target.version,
                    status,
                    elapsed if status == SWITCHED else None,
                    engines,
                )
                del pending[name]
        remaining = deadline - monotonic()
        if not pending or remaining <= 0:
            break
        sleep(min(poll_s, remaining))
    for name, target in pending.items():
        done[name] = SymbolPropagation(
            target.crypto_symbol, name, target.version, NOT_SWITCHED, None, last_seen[name]
        )
    return PropagationReport(
        symbols=tuple(done[t.model_name] for t in targets),
        waited_s=monotonic() - start,
        wait_limit_s=wait_s,
        heartbeat_max_age_s=heartbeat_max_age_s,
        complete=not pending,
    )
