"""`cvntrade runbook escalate`: did expectancy recover within 4 h of the rollback? If not,
propose the portfolio kill switch, and the ADR-71 halt as the last resort.

The verdict is the one rule of `cvntrade.monitoring.recovery` (also the built-in evaluator's
`expectancy_not_recovered_after_rollback` and the Prometheus rule). A switch is flipped only with
an explicit `confirm` (`kill-switch` or `halt`) and a reason, through the audited trading-flag
service (`cvntrade.trading.flags.set_flag`, what `cvntrade kill-switch on` / `halt on` call),
with the reason attached to the incident. Each call writes a `runbook.escalate` audit row; a
definite verdict or a switch is also noted on the incident (kind `escalation`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cvntrade.audit import AuditEntry
from cvntrade.domain import RecoveryVerdict
from cvntrade.errors import ExitCode, UserInputError
from cvntrade.monitoring.recovery import Recovery, read_recovery
from cvntrade.runbook.attach import ESCALATION_NOTE, record_step
from cvntrade.runbook.incidents import get_incident, resolve_attachment
from cvntrade.runbook.steps import ALERT, ALERT_TARGET
from cvntrade.text import check_text
from cvntrade.trading.flags import TradingFlags, read_flags, set_flag

if TYPE_CHECKING:
    from cvntrade.app import AppContext

ACTION = "runbook.escalate"
CONFIRMS = {"kill-switch": "kill_switch", "halt": "halt"}
"""`--confirm` value → trading flag."""


@dataclass(frozen=True, slots=True)
class EscalationResult:
    """The recovery verdict, what is proposed, and the switch flipped (if confirmed)."""

    recovery: Recovery
    incident_id: int | None
    attachment: str
    proposals: tuple[str, ...]
    kill_switch: bool
    halt: bool
    switched: str | None = None
    """`kill_switch` or `halt` when this call turned it on; None otherwise."""

    @property
    def exit_code(self) -> int:
        """0 recovered / not yet known / nothing to do; 1 not recovered."""
        return ExitCode.NEGATIVE if self.recovery.firing else ExitCode.OK


def proposals(recovery: Recovery, flags: TradingFlags, incident_id: int | None) -> tuple[str, ...]:
    """What to do next, with the exact commands (pure)."""
    at = f" --incident {incident_id}" if incident_id is not None else ""
    command = f"cvntrade runbook escalate{at}"
    if recovery.verdict is RecoveryVerdict.NOT_YET_KNOWN:
        when = recovery.due_at if recovery.due_at and recovery.due_at > recovery.now else None
        return (
            f"re-check {'at ' + format(when, '%Y-%m-%d %H:%M') + ' UTC' if when else 'later'}: "
            f"{command}",
        )
    if recovery.verdict is not RecoveryVerdict.NOT_RECOVERED:
        return ()
    out = []
    if not flags.kill_switch:
        out.append(
            "escalate to the operator: portfolio kill switch (no new entries, open positions "
            f"close at the next bar): {command} --confirm kill-switch --reason '…'"
        )
    else:
        out.append("the portfolio kill switch is already on")
    if not flags.halt:
        out.append(
            "last resort, ADR-71 system-wide halt (all trading stops): "
            f"{command} --confirm halt --reason '…'"
        )
    else:
        out.append("the ADR-71 halt is already on")
    return tuple(out)


def escalate(
    ctx: AppContext,
    *,
    incident_id: int | None = None,
    confirm: str | None = None,
    reason: str | None = None,
) -> EscalationResult:
    """Check recovery after the last rollback; flip the confirmed switch when not recovered."""
    if confirm is not None and confirm not in CONFIRMS:
        raise UserInputError(f"invalid --confirm {confirm!r}: use kill-switch or halt")
    if confirm is not None:
        if not (reason and reason.strip()):
            raise UserInputError(f"--confirm {confirm} needs a non-empty --reason (it is audited)")
        check_text(reason, "--reason")
    if incident_id is not None:
        get_incident(ctx.engine, incident_id)  # NotFoundError (exit 2) for a wrong id
    now = ctx.clock()
    recovery = read_recovery(ctx.engine, now=now, incident_id=incident_id)
    attached = incident_id
    explanation = f"attached to incident #{incident_id} (given)" if attached else ""
    if attached is None and recovery.rollback is not None and recovery.rollback.incident_id:
        attached = recovery.rollback.incident_id
        explanation = f"attached to incident #{attached} (the rollback's)"
    if attached is None:
        found = resolve_attachment(ctx.engine, None, alert=ALERT)
        attached, explanation = found.incident_id, found.explanation
    flags = read_flags(ctx.engine)
    if confirm is not None and not recovery.firing:
        raise UserInputError(
            f"--confirm {confirm} refused: {recovery.explanation}; nothing to escalate and "
            "nothing was changed (to switch by hand: `cvntrade kill-switch on --reason …`)"
        )
    switched = None
    if confirm is not None:
        assert reason is not None
        flag = CONFIRMS[confirm]
        change = set_flag(
            ctx.engine,
            flag,
            True,
            reason=reason.strip(),
            incident_id=attached,
            actor=ctx.actor,
            clock=ctx.clock,
        )
        switched = flag if change.changed else None
        flags = read_flags(ctx.engine)
    result = EscalationResult(
        recovery=recovery,
        incident_id=attached,
        attachment=explanation,
        proposals=proposals(recovery, flags, attached),
        kill_switch=flags.kill_switch,
        halt=flags.halt,
        switched=switched,
    )
    _record(ctx, result, now, reason)
    return result


def _record(
    ctx: AppContext, result: EscalationResult, now: dt.datetime, reason: str | None
) -> None:
    recovery = result.recovery
    rollback = recovery.rollback
    data = {
        "verdict": recovery.verdict.value,
        "rollback_audit_id": None if rollback is None else rollback.audit_id,
        "rollback_at": None if rollback is None else rollback.at.isoformat(),
        "symbols": [] if rollback is None else list(rollback.symbols),
        "due_at": None if recovery.due_at is None else recovery.due_at.isoformat(),
        "n_trades": recovery.n_trades,
        "expectancy_pct": recovery.expectancy_pct,
        "per_symbol": {
            s.crypto_symbol: {"n_trades": s.n_trades, "expectancy_pct": s.expectancy_pct}
            for s in recovery.symbols
        },
        "proposals": list(result.proposals),
        "switched": result.switched,
        "kill_switch": result.kill_switch,
        "halt": result.halt,
    }
    definite = recovery.verdict in (RecoveryVerdict.RECOVERED, RecoveryVerdict.NOT_RECOVERED)
    text = recovery.explanation + (f"; {result.switched} turned on" if result.switched else "")
    record_step(
        ctx.engine,
        result.incident_id,
        AuditEntry(
            at=now,
            actor=ctx.actor,
            action=ACTION,
            target=ALERT_TARGET,
            reason=(reason or "").strip() or "runbook escalation: did expectancy recover?",
            after={"summary": text, **data},
        ),
        note=(ESCALATION_NOTE, text, data) if definite or result.switched else None,
    )
