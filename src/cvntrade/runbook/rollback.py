"""Runbook step 3, the primary rollback: config back to baseline, champions back to binary.

One call does what the runbook asks an operator to type under pressure:

1. plan: for each symbol (`auto` = the symbols step 1 finds negative), read the champion of
   `CVNTrade_XGBoost_{SYMBOL}_{STRATEGY}`; a focal champion moves to `previous_non_focal` (the
   newest binary version older than it), a binary champion is already rolled back (skipped), an
   untagged one is left alone and reported. Every registry read happens here, so bad input or an
   unreachable registry stops the run before anything changes;
2. flip `CVN_LOSS_FUNCTION` to `binary:logistic` through the config service (atomic, versioned,
   audited; a no-op without version bump when already there);
3. one explicit, audited `set_alias` per symbol to move (its audit row carries the exact
   equivalent `cvntrade models set-alias …` line; its `alias_events` row invalidates the engines'
   champion caches);
4. wait until the live engines serve the new champions (see `cvntrade.runbook.propagation`);
5. one `runbook.rollback` audit row with the outcome and timings against the 60 s revert SLA.

Idempotent and resumable: every decision is re-derived from the registry and the config, so a
run interrupted anywhere (registry down: `DependencyError`, or SIGKILL) is finished by running
the same command again, which skips what is already done. Before planning, it reconciles the
alias intents an interrupted move left pending (`cvntrade.registry.reconcile_intents`): a move
killed after the registry write gets its missing audit row instead of being skipped as "already
binary", and the report counts what was reconciled. Each alias move re-reads the champion
under the model's lock, so parallel runs audit each real move once and report the others as
`unchanged`. An automatic run (`auto`) refuses when step 1's verdict is `transient` (fewer than
two negative symbols): it never flips the config on a single bad symbol. When step 1's window
holds drill rows, the run is a rehearsal and says so in its output and audit row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

from sqlalchemy import Engine

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.config import read_config, set_config
from cvntrade.db.engine import write_transaction
from cvntrade.domain import BASELINE_CONFIG_LOSS
from cvntrade.errors import CvnError, DependencyError, UserInputError
from cvntrade.registry import (
    CHAMPION,
    AliasMove,
    Registry,
    Settlement,
    champion_of,
    pending_intents,
    previous_non_focal,
    reconcile_intents,
)
from cvntrade.registry import set_alias as move_alias
from cvntrade.registry.intents import count_by_state
from cvntrade.runbook.incidents import fetch_incident, resolve_attachment, update_status
from cvntrade.runbook.propagation import (
    DEFAULT_HEARTBEAT_MAX_AGE_S,
    DEFAULT_POLL_S,
    PropagationReport,
    PropagationTarget,
    wait_for_propagation,
)
from cvntrade.runbook.steps import (
    ALERT,
    ALERT_TARGET,
    CONFIRM_WINDOW,
    MIN_NEGATIVE_SYMBOLS,
    negative_focal_symbols,
)
from cvntrade.strategy import DEFAULT_STRATEGY, Strategy, model_name, parse_symbol
from cvntrade.text import check_text

BASELINE_LOSS = BASELINE_CONFIG_LOSS
REVERT_SLA_S = 60.0
"""The runbook's "< 1 min revert SLA" for the whole step."""
PROPAGATION_SLA_S = 30.0
"""The runbook's "< 30 s propagation" to live inference."""
MAX_WAIT_S = 3600.0

MOVE = "move"
ALREADY_BINARY = "already_binary"
UNTAGGED = "untagged"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SymbolRollback:
    """One symbol of a rollback: its champion before, the version it points at after, and why."""

    crypto_symbol: str
    model_name: str
    champion_version: int
    champion_loss: str | None
    target_version: int
    action: str
    """`move` (focal champion → previous binary), `already_binary` or `untagged` (left alone)."""
    command: str | None
    """For a move: the exact equivalent `cvntrade models set-alias …` line."""
    done: bool = False
    """The move was performed by this run (never in a dry run)."""
    unchanged: bool = False
    """A planned move found the alias already at its target (a parallel run moved it first)."""


@dataclass(frozen=True, slots=True)
class RollbackTiming:
    """Elapsed seconds against the SLAs: alias part (plan, config, moves) then propagation."""

    alias_part_s: float
    propagation_part_s: float
    total_s: float
    sla_s: float
    propagation_sla_s: float
    within_sla: bool


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What `rollback` planned, changed and observed; `changed` is False for a repeated run."""

    dry_run: bool
    strategy: str
    symbols_source: str
    incident_id: int | None
    attachment: str
    config_loss_before: str | None
    config_version_before: int
    config_version_after: int
    config_changed: bool
    symbols: tuple[SymbolRollback, ...]
    propagation: PropagationReport | None
    timing: RollbackTiming
    changed: bool
    rehearsal: bool = False
    """Step 1's window held drill rows: this run rehearsed the runbook on drill data."""
    reconciled: tuple[Settlement, ...] = ()
    """Alias intents an interrupted earlier move left pending, settled before planning (a dry
    run settles nothing: it lists them with state `pending`)."""


def parse_symbols(text: str) -> tuple[str, ...] | None:
    """`auto` → None (use step 1's negative symbols); else a comma-separated list of symbols."""
    if text.strip().lower() == "auto":
        return None
    symbols = [part.strip() for part in text.split(",") if part.strip()]
    if not symbols:
        raise UserInputError("--symbols needs 'auto' or a list such as BTCUSDC,ETHUSDC")
    return tuple(dict.fromkeys(parse_symbol(s) for s in symbols))


def plan_symbols(
    registry: Registry, symbols: Sequence[str], *, strategy: str, actor: str, reason: str
) -> tuple[SymbolRollback, ...]:
    """Decide, from the registry alone, what each symbol needs (no change is made)."""
    planned = []
    try:
        for symbol in symbols:
            name = model_name(symbol, strategy)
            champion = champion_of(registry, name)
            loss = champion.loss_function
            if loss == "focal":
                target = previous_non_focal(registry, name, champion.version).version
                line = AliasMove(name, CHAMPION, champion.version, target, actor, reason)
                action, command = MOVE, line.command_line()
            else:
                target = champion.version
                action, command = (ALREADY_BINARY if loss == "binary" else UNTAGGED), None
            planned.append(
                SymbolRollback(symbol, name, champion.version, loss, target, action, command)
            )
    except DependencyError as exc:
        raise DependencyError(
            f"{exc}; nothing was changed (the config flip alone: `cvntrade config set "
            f"CVN_LOSS_FUNCTION={BASELINE_LOSS} --reason …`)"
        ) from None
    return tuple(planned)


def _validate(reason: str, actor: str, wait_s: float, heartbeat_max_age_s: float) -> None:
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required for a rollback")
    check_text(reason, "--reason")
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required for a rollback")
    if not 0 <= wait_s <= MAX_WAIT_S:
        raise UserInputError(f"--wait-s must be between 0 and {MAX_WAIT_S:g} (got {wait_s:g})")
    if heartbeat_max_age_s <= 0:
        raise UserInputError(f"--heartbeat-max-age-s must be > 0 (got {heartbeat_max_age_s:g})")


def rollback(
    engine: Engine,
    registry: Registry,
    *,
    reason: str,
    actor: str,
    symbols: Sequence[str] | None = None,
    strategy: str = DEFAULT_STRATEGY,
    dry_run: bool = False,
    wait_s: float = PROPAGATION_SLA_S,
    incident_id: int | None = None,
    heartbeat_max_age_s: float = DEFAULT_HEARTBEAT_MAX_AGE_S,
    poll_s: float = DEFAULT_POLL_S,
    clock: Clock = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
) -> RollbackResult:
    """Roll `symbols` (None = auto) back to their previous binary champions; see the module doc."""
    say = progress or (lambda _line: None)
    _validate(reason, actor, wait_s, heartbeat_max_age_s)
    strategy = Strategy.parse(strategy).name
    start = monotonic()
    attachment = resolve_attachment(engine, incident_id, alert=ALERT)
    reason = reason.strip()
    incident_id = attachment.incident_id
    source = "auto" if symbols is None else "list"
    rehearsal = False
    if symbols is None:
        symbols, rehearsal = _auto_symbols(engine, clock=clock, say=say)
    try:
        reconciled = _reconcile(
            engine, registry, symbols, strategy, dry_run=dry_run, actor=actor, clock=clock, say=say
        )
        plan = plan_symbols(registry, symbols, strategy=strategy, actor=actor, reason=reason)
    except DependencyError as exc:
        raise DependencyError(f"{exc} (after {monotonic() - start:.1f} s)") from None
    if dry_run:
        config = read_config(engine)
        elapsed = monotonic() - start
        return RollbackResult(
            dry_run=True,
            strategy=strategy,
            symbols_source=source,
            incident_id=attachment.incident_id,
            attachment=attachment.explanation,
            config_loss_before=config.loss_function,
            config_version_before=config.version,
            config_version_after=config.version,
            config_changed=False,
            symbols=plan,
            propagation=None,
            timing=RollbackTiming(elapsed, 0.0, elapsed, REVERT_SLA_S, PROPAGATION_SLA_S, True),
            changed=False,
            rehearsal=rehearsal,
            reconciled=reconciled,
        )
    change = set_config(
        engine,
        {"CVN_LOSS_FUNCTION": BASELINE_LOSS},
        reason=reason,
        actor=actor,
        clock=clock,
        incident_id=incident_id,
    )
    say(
        f"config: CVN_LOSS_FUNCTION {change.before.loss_function} → {BASELINE_LOSS} "
        f"(version {change.before.version} → {change.after.version})"
        if change.changed
        else f"config: CVN_LOSS_FUNCTION already {BASELINE_LOSS} (version {change.after.version})"
    )
    outcome = _move_champions(
        engine,
        registry,
        plan,
        reason=reason,
        actor=actor,
        clock=clock,
        say=say,
        elapsed=lambda: monotonic() - start,
        incident_id=incident_id,
    )
    alias_done = monotonic()
    targets = [
        PropagationTarget(s.crypto_symbol, s.model_name, s.target_version)
        for s in outcome
        if s.action != UNTAGGED
    ]
    propagation = wait_for_propagation(
        engine,
        targets,
        wait_s=wait_s,
        heartbeat_max_age_s=heartbeat_max_age_s,
        poll_s=poll_s,
        clock=clock,
        monotonic=monotonic,
        sleep=sleep,
    )
    end = monotonic()
    timing = RollbackTiming(
        alias_part_s=alias_done - start,
        propagation_part_s=end - alias_done,
        total_s=end - start,
        sla_s=REVERT_SLA_S,
        propagation_sla_s=PROPAGATION_SLA_S,
        within_sla=end - start < REVERT_SLA_S and propagation.complete,
    )
    result = RollbackResult(
        dry_run=False,
        strategy=strategy,
        symbols_source=source,
        incident_id=attachment.incident_id,
        attachment=attachment.explanation,
        config_loss_before=change.before.loss_function,
        config_version_before=change.before.version,
        config_version_after=change.after.version,
        config_changed=change.changed,
        symbols=outcome,
        propagation=propagation,
        timing=timing,
        changed=change.changed or any(s.done for s in outcome),
        rehearsal=rehearsal,
        reconciled=reconciled,
    )
    _record(engine, result, reason=reason, actor=actor, clock=clock)
    return result


def _reconcile(
    engine: Engine,
    registry: Registry,
    symbols: Sequence[str],
    strategy: str,
    *,
    dry_run: bool,
    actor: str,
    clock: Clock,
    say: Progress,
) -> tuple[Settlement, ...]:
    """Settle the intents an interrupted move left pending, before the plan reads the aliases.

    Without this, a move killed after the registry write but before its audit row would make
    this symbol look "already binary" and the re-run would skip it, leaving the move unaudited.
    A dry run only lists them.
    """
    settled: list[Settlement] = []
    for symbol in symbols:
        name = model_name(symbol, strategy)
        if dry_run:
            found = [
                Settlement(i, i.state, None, "pending: a real run settles it first")
                for i in pending_intents(engine, name)
            ]
        else:
            found = list(
                reconcile_intents(engine, registry, model_name=name, actor=actor, clock=clock)
            )
        for item in found:
            say(f"{symbol}: reconciled {item.describe()}")
        settled.extend(found)
    return tuple(settled)


def _auto_symbols(engine: Engine, *, clock: Clock, say: Progress) -> tuple[tuple[str, ...], bool]:
    """Step 1's negative symbols for an automatic run; refuses a transient verdict."""
    from cvntrade.journal.repository import count_drill_trades_since

    negative = negative_focal_symbols(engine, clock=clock)[1]
    if len(negative) < MIN_NEGATIVE_SYMBOLS:  # before any progress line: the refusal is one line
        raise UserInputError(
            f"automatic rollback refused: step 1's verdict is transient ({len(negative)} negative "
            f"symbol(s): {', '.join(negative) or 'none'}; a real alert needs "
            f"{MIN_NEGATIVE_SYMBOLS}); nothing was changed — name the symbols with --symbols to "
            "roll back by hand"
        )
    rehearsal = count_drill_trades_since(engine, clock() - CONFIRM_WINDOW) > 0
    say(f"auto: negative focal expectancy over 48 h on {', '.join(negative)}")
    if rehearsal:
        say("REHEARSAL: step 1's window holds drill trades (source=drill)")
    return negative, rehearsal


def _move_champions(
    engine: Engine,
    registry: Registry,
    plan: Sequence[SymbolRollback],
    *,
    reason: str,
    actor: str,
    clock: Clock,
    say: Progress,
    elapsed: Callable[[], float],
    incident_id: int | None,
) -> tuple[SymbolRollback, ...]:
    """One audited alias move per symbol to move, reported as each one is done."""
    done: list[SymbolRollback] = []
    for item in plan:
        if item.action != MOVE:
            done.append(item)
            say(_describe(item))
            continue
        try:
            move = move_alias(
                engine,
                registry,
                name=item.model_name,
                alias=CHAMPION,
                version=item.target_version,
                reason=reason,
                actor=actor,
                clock=clock,
                expected_old=item.champion_version,
                incident_id=incident_id,
            )
        except CvnError as exc:
            finished = [s.crypto_symbol for s in done if s.done]
            waited = elapsed()
            _record_interruption(
                engine,
                plan,
                finished,
                exc,
                reason=reason,
                actor=actor,
                clock=clock,
                waited=waited,
                incident_id=incident_id,
            )
            raise type(exc)(
                f"{exc} — rolled back so far: {', '.join(finished) or 'no symbol'}; run the "
                "same command again to finish (finished symbols are skipped; stopped after "
                f"{waited:.1f} s of the {REVERT_SLA_S:g} s SLA)"
            ) from None
        moved = replace(item, done=move.changed, unchanged=not move.changed)
        done.append(moved)
        say(_describe(moved))
    return tuple(done)


def _describe(item: SymbolRollback) -> str:
    if item.action == MOVE and item.unchanged:
        return (
            f"{item.crypto_symbol}: champion already at {item.target_version} (binary): "
            "unchanged, nothing audited"
        )
    if item.action == MOVE:
        return (
            f"{item.crypto_symbol}: champion {item.champion_version} (focal) → "
            f"{item.target_version} (binary), audited: {item.command}"
        )
    if item.action == ALREADY_BINARY:
        return (
            f"{item.crypto_symbol}: champion already binary (version {item.champion_version}), "
            "skipped"
        )
    return (
        f"{item.crypto_symbol}: champion version {item.champion_version} has no loss_function "
        "tag: left alone, check it by hand (`cvntrade models show …`)"
    )


def _record(
    engine: Engine, result: RollbackResult, *, reason: str, actor: str, clock: Clock
) -> None:
    """The run's audit row; an attached `open` incident becomes `mitigated` once all switched."""
    moved = [s.crypto_symbol for s in result.symbols if s.done]
    counts = count_by_state(result.reconciled)
    settled = (
        ", reconciled " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        if counts
        else ""
    )
    summary = (
        f"rollback: config v{result.config_version_before} → v{result.config_version_after}, "
        f"moved {', '.join(moved) or 'nothing'}{settled}, {result.timing.total_s:.2f} s "
        f"({'within' if result.timing.within_sla else 'OUTSIDE'} the {REVERT_SLA_S:g} s SLA)"
        + (" [REHEARSAL on drill data]" if result.rehearsal else "")
    )
    propagation = result.propagation
    now = clock()
    with write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                at=now,
                actor=actor,
                action="runbook.rollback",
                target=ALERT_TARGET,
                reason=reason,
                before={
                    "loss_function": result.config_loss_before,
                    "version": result.config_version_before,
                    "champions": {s.crypto_symbol: s.champion_version for s in result.symbols},
                },
                after={
                    "summary": summary,
                    "changed": result.changed,
                    "rehearsal": result.rehearsal,
                    "unchanged": [s.crypto_symbol for s in result.symbols if s.unchanged],
                    "version": result.config_version_after,
                    "champions": {s.crypto_symbol: s.target_version for s in result.symbols},
                    "actions": {s.crypto_symbol: s.action for s in result.symbols},
                    "reconciled": {
                        "counts": counts,
                        "intents": {str(r.intent.id): r.state for r in result.reconciled},
                    },
                    "propagation": {}
                    if propagation is None
                    else {
                        s.crypto_symbol: {"status": s.status, "elapsed_s": s.elapsed_s}
                        for s in propagation.symbols
                    },
                    "alias_part_s": result.timing.alias_part_s,
                    "propagation_part_s": result.timing.propagation_part_s,
                    "total_s": result.timing.total_s,
                },
                incident_id=result.incident_id,
            ),
        )
        if result.incident_id is not None and propagation is not None and propagation.complete:
            incident = fetch_incident(conn, result.incident_id)
            if incident.status == "open":
                update_status(conn, incident, "mitigated", actor=actor, at=now, reason=reason)


def _record_interruption(
    engine: Engine,
    plan: Sequence[SymbolRollback],
    finished: Sequence[str],
    error: CvnError,
    *,
    reason: str,
    actor: str,
    clock: Clock,
    waited: float,
    incident_id: int | None,
) -> None:
    """Best effort: note in the audit log that a rollback stopped half-way, where, and when."""
    # The database may be what failed: the original error is what the operator must see.
    with suppress(CvnError), write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                at=clock(),
                actor=actor,
                action="runbook.rollback",
                target=ALERT_TARGET,
                reason=reason,
                after={
                    "summary": (
                        f"interrupted after {len(finished)} move(s) and {waited:.1f} s: {error}"
                    ),
                    "interrupted": True,
                    "elapsed_s": waited,
                    "within_sla": waited < REVERT_SLA_S,
                    "finished": list(finished),
                    "planned": [s.crypto_symbol for s in plan if s.action == MOVE],
                },
                incident_id=incident_id,
            ),
        )
