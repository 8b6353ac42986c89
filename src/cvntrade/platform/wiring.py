"""What `cvntrade up` needs from the rest of the platform: the symbols to trade, readiness
probes (a port, the engine's heartbeat), audit rows, and the console's session secret."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import utc_now
from cvntrade.errors import CvnError, UserInputError
from cvntrade.platform.parts import ENGINE, PartSpec
from cvntrade.platform.processes import accepts
from cvntrade.platform.runner import Audit, Probe
from cvntrade.settings import Settings

HEARTBEAT_SLACK = dt.timedelta(seconds=2)
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def stored_symbols(data_dir: Path, interval: str) -> tuple[str, ...]:
    """The symbols with stored bars of `interval` (the platform's symbols by default).

    Read from the market store's directory layout (`symbol=S/interval=I/year=Y/*.parquet`, see
    `cvntrade.market.store`) without opening a file: the supervisor stays free of pandas.
    """
    found = sorted(
        {
            path.parts[-4].split("=", 1)[1]
            for path in data_dir.glob(f"symbol=*/interval={interval}/year=*/*.parquet")
        }
    )
    if not found:
        raise UserInputError(
            f"no {interval} market data under {data_dir}: load bars first (e.g. `cvntrade data "
            "synth --symbols BTCUSDC,ETHUSDC`), pass --symbols, or start without the engine "
            "(--no-engine)"
        )
    return tuple(found)


def engine_heartbeat(db: Engine, engine_id: str, spawned: dt.datetime) -> tuple[bool, str]:
    """(the engine published a heartbeat since it was spawned, a one-line summary)."""
    from cvntrade.trading.persistence import STOPPED, served_versions

    rows = served_versions(db, engine_id)
    fresh = [r for r in rows if r.mode != STOPPED and r.heartbeat_at >= spawned - HEARTBEAT_SLACK]
    if not fresh:
        return False, "loading champions"
    bars = [r.last_bar_time for r in fresh if r.last_bar_time is not None]
    age = (utc_now() - max(r.heartbeat_at for r in fresh)).total_seconds()
    stale = [r.crypto_symbol for r in fresh if r.stale]
    detail = f"{len(fresh)} symbol(s)"
    if bars:
        detail += f", last bar {min(bars):%Y-%m-%d %H:%M}"
    detail += f", heartbeat {max(age, 0):.0f} s ago"
    if stale:
        detail += f", STALE champion: {', '.join(stale)}"
    return True, detail


def make_probe(db: Engine, host: str, engine_id: str) -> Probe:
    """Readiness: a listening part accepts a connection; the engine has a fresh heartbeat."""
    probe_host = WILDCARD_HOSTS.get(host, host)

    def probe(spec: PartSpec, spawned: dt.datetime) -> tuple[bool, str]:
        if spec.name == ENGINE:
            try:
                return engine_heartbeat(db, engine_id, spawned)
            except SQLAlchemyError:
                return False, "database unreachable"
        if spec.port is None:
            return True, ""
        ready = accepts(probe_host, spec.port)
        return ready, "" if ready else f"waiting for port {spec.port}"

    return probe


def make_audit(db: Engine, actor: str, warn: Audit | None = None) -> Audit:
    """An audit-row writer; when the database refuses, the failure is reported, never raised
    (the supervisor keeps supervising)."""
    from cvntrade.db.engine import write_transaction

    def audit(action: str, target: str, reason: str, details: dict[str, object]) -> None:
        try:
            with write_transaction(db) as conn:
                write_audit(
                    conn, AuditEntry(utc_now(), actor, action, target, reason, None, details)
                )
        except (SQLAlchemyError, CvnError) as exc:
            if warn is not None:
                warn(action, target, f"could not write the audit row: {exc}", details)

    return audit


def console_secret(settings: Settings) -> str:
    """`CVN_CONSOLE_SECRET`, else one generated for this `up`: a restarted console keeps
    everybody's session (the console alone would draw a new secret per process)."""
    secret = settings.console_secret
    return secret.get_secret_value() if secret is not None else secrets.token_urlsafe(32)
