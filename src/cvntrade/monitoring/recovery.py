"""Did expectancy recover after the last rollback? The one rule `runbook escalate`, the built-in
evaluator (`expectancy_not_recovered_after_rollback`), the exporter and the Prometheus rule use.

The runbook: "If rollback (Path A) does NOT restore expectancy within 4 h post-revert: escalate".
Precisely (`recovery_verdict`, pure):

* the rollback is the newest `runbook.rollback` audit row that changed something (a re-run that
  found everything done does not restart the clock), optionally the newest one attached to an
  incident; its symbols are the ones it left on a binary champion (moved or already binary);
* the evidence is every `trade_journal` row of those symbols ENTERED at or after the rollback
  and before now (closed trades; any loss function, so an engine that did not switch still
  counts), pooled: `n_trades` and the mean `realized_pnl_pct` (percent, net);
* `not_yet_known` while fewer than 4 h have passed since the rollback, or while fewer than
  `MIN_RECOVERY_TRADES` (3) such trades exist (a mean of one or two trades decides nothing);
* then `recovered` when that mean is >= 0, `not_recovered` when it is < 0.

The window grows with time (trades entered since the rollback, judged from 4 h after it): at
the 4 h mark it is exactly the runbook's 4 h after the revert, and later evaluations keep
answering "has it recovered since?" instead of freezing on a window that may hold too few trades.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from cvntrade.db.tables import trade_journal
from cvntrade.domain import RecoveryVerdict

if TYPE_CHECKING:
    from cvntrade.monitoring.evaluator import TransitionRecord
    from cvntrade.monitoring.forstate import Transition

ALERT_NAME = "expectancy_not_recovered_after_rollback"
SEVERITY = "P1"
RECOVERY_WINDOW = dt.timedelta(hours=4)
"""The runbook's "within 4 h post-revert"."""
MIN_RECOVERY_TRADES = 3
"""Fewer pooled trades since the rollback than this: `not_yet_known`."""
ROLLBACK_ACTION = "runbook.rollback"
LEFT_ALONE = "untagged"
"""A rollback's action for a symbol it did not touch (no loss tag): not rolled back."""


@dataclass(frozen=True, slots=True)
class RollbackRecord:
    """One rollback as its audit row recorded it."""

    audit_id: int
    at: dt.datetime
    symbols: tuple[str, ...]
    incident_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class SymbolRecovery:
    """Trades of one rolled-back symbol entered since the rollback, and their mean (percent)."""

    crypto_symbol: str
    n_trades: int
    expectancy_pct: float | None


@dataclass(frozen=True, slots=True)
class Recovery:
    """The verdict with its evidence; `due_at` is when the 4 h have passed."""

    verdict: RecoveryVerdict
    now: dt.datetime
    rollback: RollbackRecord | None
    due_at: dt.datetime | None
    n_trades: int
    expectancy_pct: float | None
    symbols: tuple[SymbolRecovery, ...]
    explanation: str

    @property
    def firing(self) -> bool:
        """True when the escalation rule fires (expectancy did not recover)."""
        return self.verdict is RecoveryVerdict.NOT_RECOVERED


def recovery_verdict(
    *,
    rollback_at: dt.datetime,
    now: dt.datetime,
    n_trades: int,
    expectancy_pct: float | None,
    window: dt.timedelta = RECOVERY_WINDOW,
    min_trades: int = MIN_RECOVERY_TRADES,
) -> RecoveryVerdict:
    """The rule of the module docstring, on plain values (pure)."""
    if now < rollback_at + window:
        return RecoveryVerdict.NOT_YET_KNOWN
    if n_trades < min_trades or expectancy_pct is None:
        return RecoveryVerdict.NOT_YET_KNOWN
    return RecoveryVerdict.RECOVERED if expectancy_pct >= 0 else RecoveryVerdict.NOT_RECOVERED


def rollback_from_audit(
    entry_id: int, at: dt.datetime, reason: str, after: Any, incident_id: int | None
) -> RollbackRecord:
    """The rollback a `runbook.rollback` audit row records (symbols it left on binary)."""
    actions = after.get("actions", {}) if isinstance(after, dict) else {}
    symbols = tuple(sorted(s for s, action in actions.items() if action != LEFT_ALONE))
    return RollbackRecord(entry_id, at, symbols, incident_id, reason)


def last_rollback(
    engine: Engine, *, now: dt.datetime, incident_id: int | None = None
) -> RollbackRecord | None:
    """The newest rollback at or before `now` that changed something (attached to
    `incident_id` when given); None when there is none."""
    from cvntrade.runbook.attach import attached_audit_rows

    for entry in attached_audit_rows(engine, incident_id, action=ROLLBACK_ACTION):
        after = entry.after if isinstance(entry.after, dict) else {}
        if entry.at > now or not after.get("changed") or after.get("interrupted"):
            continue
        assert entry.id is not None
        return rollback_from_audit(entry.id, entry.at, entry.reason, after, entry.incident_id)
    return None


def trades_since(
    engine: Engine, symbols: Sequence[str], since: dt.datetime, until: dt.datetime
) -> tuple[SymbolRecovery, ...]:
    """Per symbol: trades entered in `[since, until)` and their mean `realized_pnl_pct`."""
    if not symbols:
        return ()
    tj = trade_journal.c
    query = (
        select(tj.crypto_symbol, func.count(), func.sum(tj.realized_pnl_pct))
        .where(tj.crypto_symbol.in_(list(symbols)), tj.entry_time >= since, tj.entry_time < until)
        .group_by(tj.crypto_symbol)
    )
    with engine.connect() as conn:
        found = {s: (int(n), float(total)) for s, n, total in conn.execute(query)}
    out = []
    for symbol in sorted(symbols):
        n, total = found.get(symbol, (0, 0.0))
        out.append(SymbolRecovery(symbol, n, total / n if n else None))
    return tuple(out)


def read_recovery(engine: Engine, *, now: dt.datetime, incident_id: int | None = None) -> Recovery:
    """The recovery verdict of the last rollback as of `now` (read-only)."""
    rollback = last_rollback(engine, now=now, incident_id=incident_id)
    if rollback is None:
        which = f" attached to incident #{incident_id}" if incident_id is not None else ""
        return Recovery(
            RecoveryVerdict.NO_ROLLBACK,
            now,
            None,
            None,
            0,
            None,
            (),
            f"no rollback{which} found in the audit log: nothing to check",
        )
    per_symbol = trades_since(engine, rollback.symbols, rollback.at, now)
    n = sum(s.n_trades for s in per_symbol)
    total = sum((s.expectancy_pct or 0.0) * s.n_trades for s in per_symbol)
    mean = total / n if n else None
    verdict = recovery_verdict(rollback_at=rollback.at, now=now, n_trades=n, expectancy_pct=mean)
    due = rollback.at + RECOVERY_WINDOW
    return Recovery(
        verdict, now, rollback, due, n, mean, per_symbol, explain(verdict, rollback, now, n, mean)
    )


def explain(
    verdict: RecoveryVerdict,
    rollback: RollbackRecord,
    now: dt.datetime,
    n: int,
    mean: float | None,
) -> str:
    """One line saying why (pure)."""
    due = rollback.at + RECOVERY_WINDOW
    evidence = (
        f"{n} trade(s) of {', '.join(rollback.symbols) or 'no symbol'} entered since the "
        f"rollback at {rollback.at:%Y-%m-%d %H:%M} UTC"
        + ("" if mean is None else f", mean {mean:+.4f} %")
    )
    if verdict is RecoveryVerdict.NOT_YET_KNOWN:
        if now < due:
            return f"not yet known: {evidence}; the 4 h after it end at {due:%Y-%m-%d %H:%M} UTC"
        return f"not yet known: {evidence}; fewer than {MIN_RECOVERY_TRADES} trades so far"
    if verdict is RecoveryVerdict.RECOVERED:
        return f"recovered: {evidence} (>= 0)"
    return f"NOT recovered: {evidence} (< 0), more than 4 h after the rollback"


@dataclass(frozen=True, slots=True)
class RecoveryState:
    """The escalation rule's verdict as the built-in evaluator consumes it (one per rollback)."""

    recovery: Recovery
    alert: str = ALERT_NAME
    severity: str = SEVERITY

    @property
    def firing(self) -> bool:
        """True when expectancy did not recover more than 4 h after the rollback."""
        return self.recovery.firing

    @property
    def labels(self) -> dict[str, str]:
        """Labels of the series: one alert series per rollback."""
        rollback = self.recovery.rollback
        return {
            "severity": self.severity,
            "rollback": "none" if rollback is None else str(rollback.audit_id),
        }

    @property
    def fingerprint(self) -> str:
        """Stable id of the series (alert name and labels)."""
        import hashlib
        import json

        payload = json.dumps({"alert": self.alert, **self.labels}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def summary(self) -> str:
        """One line for notes and notifications."""
        state = "FIRING" if self.firing else "ok"
        return f"{self.alert} {state}: {self.recovery.explanation}"

    def transition_record(self, transition: Transition, at: dt.datetime) -> TransitionRecord:
        """What the evaluator stores for a transition: attached to the rollback's incident."""
        from cvntrade.monitoring.evaluator import TransitionRecord

        rollback = self.recovery.rollback
        values: dict[str, Any] = {
            s.crypto_symbol: s.expectancy_pct
            for s in self.recovery.symbols
            if s.expectancy_pct is not None
        }
        return TransitionRecord(
            alert=self.alert,
            fingerprint=self.fingerprint,
            state=transition,
            at=at,
            labels={**self.labels, "verdict": self.recovery.verdict.value},
            values=values,
            summary=self.summary,
            title=f"{self.alert}: expectancy did not recover after the rollback",
            severity=self.severity,
            reason="built-in evaluator: expectancy not recovered 4 h after the rollback",
            note_data={
                "fingerprint": self.fingerprint,
                "n_trades": self.recovery.n_trades,
                "expectancy_pct": self.recovery.expectancy_pct,
                "escalate": "cvntrade runbook escalate"
                + (
                    ""
                    if rollback is None or rollback.incident_id is None
                    else f" --incident {rollback.incident_id}"
                ),
            },
            incident_id=None if rollback is None else rollback.incident_id,
        )
