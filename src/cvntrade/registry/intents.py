"""The alias intent protocol: record, move, confirm — and reconcile what a crash left pending.

The registry (MLflow) and our database cannot commit together, so an alias move is made of three
steps, all under the model's lock (`cvntrade.db.locks.model_lock`):

1. `record_intent` commits an `alias_intents` row in state `pending` (who, why, from → to);
2. the caller moves the alias in the registry;
3. `confirm_intent` writes, in ONE transaction, the `models.set_alias` audit row, the
   `alias_events` row (the engines' cache invalidation) and the intent's `done` state.

A process killed between 1 and 3 leaves a pending intent. `settle_pending` (caller holds the
lock, so no live mover is in flight) reads where the alias is now: at `to_version` the move did
happen, so the missing audit and `alias_events` rows are written (the reason says it was
completed by reconciliation) and the intent is `done`; anywhere else it did not take effect,
so the intent is `abandoned` and a `models.intent_abandoned` audit row records that. Nothing is
ever moved by reconciliation: it only writes down what the registry shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.db.locks import model_lock
from cvntrade.db.tables import alias_events, alias_intents
from cvntrade.domain import IntentState
from cvntrade.errors import NotFoundError
from cvntrade.redaction import redact
from cvntrade.registry.client import Registry
from cvntrade.registry.records import AliasIntent, AliasMove, Settlement

SET_ALIAS = "models.set_alias"
INTENT_ABANDONED = "models.intent_abandoned"
PENDING, DONE, ABANDONED = (
    IntentState.PENDING.value,
    IntentState.DONE.value,
    IntentState.ABANDONED.value,
)


def record_intent(
    engine: Engine, move: AliasMove, *, clock: Clock = utc_now, incident_id: int | None = None
) -> AliasIntent:
    """Step 1: commit a `pending` intent for `move` (before the registry is touched); the
    incident it belongs to travels with it, so a reconciled move lands on that timeline too."""
    values: dict[str, Any] = {
        "at": clock(),
        "model_name": move.name,
        "alias": move.alias,
        "from_version": move.old_version,
        "to_version": move.new_version,
        "actor": redact(move.actor),
        "reason": redact(move.reason),
        "state": PENDING,
        "incident_id": incident_id,
    }
    with write_transaction(engine) as conn:
        new_id = conn.execute(
            insert(alias_intents).values(**values).returning(alias_intents.c.id)
        ).scalar_one()
    return AliasIntent(id=int(new_id), **values)


def confirm_intent(engine: Engine, intent: AliasIntent, *, clock: Clock = utc_now) -> bool:
    """Step 3: audit row + `alias_events` row + intent `done`, in one transaction.

    False (and nothing written) when the intent is no longer pending: a reconciliation settled
    it first, and wrote the audit row itself.
    """
    with write_transaction(engine) as conn:
        if not _settle_row(conn, intent, DONE, by=intent.actor, note="confirmed", clock=clock):
            return False
        _write_move(conn, intent, reason=intent.reason, at=clock(), extra={})
    return True


def pending_intents(engine: Engine, model_name: str | None = None) -> list[AliasIntent]:
    """Pending intents, oldest first, of one model or of all."""
    query = (
        select(alias_intents).where(alias_intents.c.state == PENDING).order_by(alias_intents.c.id)
    )
    if model_name is not None:
        query = query.where(alias_intents.c.model_name == model_name)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [AliasIntent(**dict(row)) for row in rows]


def reconcile_intents(
    engine: Engine,
    registry: Registry,
    *,
    model_name: str | None = None,
    actor: str,
    clock: Clock = utc_now,
) -> tuple[Settlement, ...]:
    """Settle the pending intents of `model_name` (None: every model) against the registry.

    Each model is settled under its lock, so a move in flight is waited for, never judged
    half-way. Returns what was settled (or left pending, with why); an empty tuple when
    nothing was pending, which costs one indexed query and no registry call.
    """
    names = sorted({i.model_name for i in pending_intents(engine, model_name)})
    settled: list[Settlement] = []
    for name in names:
        with model_lock(engine, name):
            settled.extend(settle_pending(engine, registry, name, actor=actor, clock=clock))
    return tuple(settled)


def settle_pending(
    engine: Engine, registry: Registry, model_name: str, *, actor: str, clock: Clock = utc_now
) -> tuple[Settlement, ...]:
    """Settle the pending intents of one model; the CALLER must hold `model_lock` for it."""
    pending = pending_intents(engine, model_name)
    if not pending:
        return ()
    try:
        aliases = registry.aliases(model_name)
    except NotFoundError:
        note = "model not found in this registry (check MLFLOW_TRACKING_URI): left pending"
        return tuple(Settlement(i, PENDING, None, note) for i in pending)
    return tuple(settle_one(engine, i, aliases, actor=actor, clock=clock) for i in pending)


def settle_one(
    engine: Engine,
    intent: AliasIntent,
    aliases: Mapping[str, int],
    *,
    actor: str,
    clock: Clock = utc_now,
    why: str | None = None,
) -> Settlement:
    """Settle one pending intent from the registry's `aliases` (caller holds the lock).

    `why` explains an abandonment known from the mover itself (its registry write failed).
    """
    found = aliases.get(intent.alias)
    with write_transaction(engine) as conn:
        if found == intent.to_version:
            note = f"the registry shows {intent.target} at version {found}: completed"
            if _settle_row(conn, intent, DONE, by=actor, note=note, clock=clock):
                reason = (
                    f"completed by reconciliation (intent #{intent.id}: the alias had moved but "
                    f"the mover stopped before recording it): {intent.reason}"
                )
                extra = {
                    "intent_id": intent.id,
                    "intent_at": intent.at.isoformat(),
                    "reconciled_by": actor,
                }
                _write_move(conn, intent, reason=reason, at=clock(), extra=extra)
            return Settlement(intent, DONE, found, note)
        where = "absent" if found is None else f"at version {found}"
        note = (
            f"{why}; " if why else ""
        ) + f"the registry shows {intent.target} {where}, not {intent.to_version}: not in effect"
        if _settle_row(conn, intent, ABANDONED, by=actor, note=note, clock=clock):
            write_audit(
                conn,
                AuditEntry(
                    at=clock(),
                    actor=actor,
                    action=INTENT_ABANDONED,
                    target=intent.target,
                    reason=f"abandoned by reconciliation (intent #{intent.id}: {note}): "
                    f"{intent.reason}",
                    before={"version": found},
                    after={"version": found, "intent_id": intent.id, "intended": intent.to_version},
                    incident_id=intent.incident_id,
                ),
            )
    return Settlement(intent, ABANDONED, found, note)


def _settle_row(
    conn: Connection, intent: AliasIntent, state: str, *, by: str, note: str, clock: Clock
) -> bool:
    """Pending → `state`; False when it was no longer pending (someone settled it first)."""
    result = conn.execute(
        update(alias_intents)
        .where(alias_intents.c.id == intent.id, alias_intents.c.state == PENDING)
        .values(state=state, settled_at=clock(), settled_by=redact(by), note=redact(note))
    )
    return result.rowcount == 1


def _write_move(
    conn: Connection, intent: AliasIntent, *, reason: str, at: Any, extra: dict[str, Any]
) -> None:
    """The move's `models.set_alias` audit row and its `alias_events` row."""
    move = AliasMove(
        intent.model_name,
        intent.alias,
        intent.from_version,
        intent.to_version,
        intent.actor,
        reason,
    )
    write_audit(
        conn,
        AuditEntry(
            at=at,
            actor=intent.actor,
            action=SET_ALIAS,
            target=intent.target,
            reason=reason,
            before={"version": intent.from_version},
            after={"version": intent.to_version, "command": move.command_line(), **extra},
            incident_id=intent.incident_id,
        ),
    )
    # The engines poll alias_events to invalidate their champion cache across processes.
    conn.execute(
        insert(alias_events).values(
            at=at,
            model_name=intent.model_name,
            alias=intent.alias,
            version=intent.to_version,
            actor=intent.actor,
        )
    )


def count_by_state(settled: Sequence[Settlement]) -> dict[str, int]:
    """{state: how many} of a reconciliation (for reports and the rollback's audit row)."""
    counts: dict[str, int] = {}
    for item in settled:
        counts[item.state] = counts.get(item.state, 0) + 1
    return counts
