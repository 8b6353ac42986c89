"""The portfolio kill switch and the system-wide halt (ADR-71): audited operator switches.

* kill switch: no new entries; open positions close at the next bar (`exit_reason=kill_switch`).
* halt: all trading stops; open positions close at the next bar (`exit_reason=halt`), running
  engines stop and new ones refuse to start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import trading_flags
from cvntrade.errors import UserInputError

FLAG_NAMES = ("kill_switch", "halt")


@dataclass(frozen=True, slots=True)
class TradingFlags:
    """Which switches are on, with the reason of the latest change of each."""

    kill_switch: bool = False
    halt: bool = False
    reasons: tuple[tuple[str, str], ...] = ()

    @property
    def stopped(self) -> str | None:
        """The exit reason trading is stopped with (`halt` wins), or None when trading."""
        if self.halt:
            return "halt"
        return "kill_switch" if self.kill_switch else None


@dataclass(frozen=True, slots=True)
class FlagChange:
    """The result of switching a flag."""

    name: str
    before: bool
    after: bool
    reason: str
    actor: str
    at: dt.datetime

    @property
    def changed(self) -> bool:
        """False when the flag already had the requested state (nothing written)."""
        return self.before != self.after


def read_flags(db: Engine) -> TradingFlags:
    """The current switches (both off when never set)."""
    with db.connect() as conn:
        rows = conn.execute(select(trading_flags)).all()
    active = {row.name: bool(row.active) for row in rows}
    return TradingFlags(
        kill_switch=active.get("kill_switch", False),
        halt=active.get("halt", False),
        reasons=tuple((row.name, row.reason) for row in rows),
    )


def set_flag(
    db: Engine,
    name: str,
    active: bool,
    *,
    reason: str,
    actor: str,
    clock: Clock = utc_now,
    incident_id: int | None = None,
) -> FlagChange:
    """Turn `kill_switch` or `halt` on or off, audited (attached to `incident_id` when given);
    a no-op when already in that state."""
    if name not in FLAG_NAMES:
        raise UserInputError(f"unknown switch {name!r}: use {' or '.join(FLAG_NAMES)}")
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required")
    now = clock()
    with write_transaction(db) as conn:
        row = conn.execute(
            select(trading_flags).where(trading_flags.c.name == name).with_for_update()
        ).first()
        before = bool(row.active) if row is not None else False
        change = FlagChange(name, before, active, reason, actor, now)
        if not change.changed:
            return change
        values = {"active": active, "reason": reason, "actor": actor, "updated_at": now}
        if row is None:
            conn.execute(trading_flags.insert().values(name=name, **values))
        else:
            conn.execute(
                trading_flags.update().where(trading_flags.c.name == name).values(**values)
            )
        write_audit(
            conn,
            AuditEntry(
                at=now,
                actor=actor,
                action=f"trading.{name}",
                target=name,
                reason=reason,
                before={"active": before},
                after={"active": active},
                incident_id=incident_id,
            ),
        )
    return change
