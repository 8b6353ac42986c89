"""Runbook steps 1 and 2 for `expectancy_negative_focal`: confirm the alert, check the config.

Step 1 (`confirm`) is the runbook's query: mean `realized_pnl_pct` (percent, net of fees) of
trades of focal-trained models entered in the last 48 h, per symbol, judged by the one alert rule
`cvntrade.monitoring.alerts.evaluate` (>= 2 negative symbols AND focal_loss_active). A firing rule
makes the alert `real`; 0-1 negative symbols make it `transient`, which is recorded in the
incident log as a false positive together with what to check next; >= 2 negative symbols while
focal is not active (neither `ftf_config` nor any served champion) make it `stale`: the alert
cannot fire now, acknowledge it (audited, no incident change).
Step 2 (`check_config`) reads `ftf_config`: focal
still configured is `active`, anything else is `stale` (focal was already rolled back:
acknowledge, no action). Both steps write one audit row, attached to the incident when there is
one (see `cvntrade.runbook.incidents`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.config import read_config
from cvntrade.db.engine import write_transaction
from cvntrade.errors import UserInputError
from cvntrade.monitoring.alerts import AlertConfig, evaluate, read_focal_active
from cvntrade.runbook.incidents import (
    fetch_incident,
    insert_incident,
    insert_note,
    resolve_attachment,
    tagged,
    update_status,
)

if TYPE_CHECKING:
    from cvntrade.journal import SymbolExpectancy

ALERT = "expectancy_negative_focal"
ALERT_TARGET = f"alert:{ALERT}"
CONFIRM_WINDOW = dt.timedelta(hours=48)
MIN_NEGATIVE_SYMBOLS = 2
"""The alert fires on negative 48 h expectancy on at least this many symbols."""
FOCAL = "focal"


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """Runbook step 1: per-symbol 48 h focal expectancy; verdict `real`, `transient` or `stale`."""

    verdict: str
    checked_at: dt.datetime
    window_hours: float
    symbols: tuple[SymbolExpectancy, ...]
    negative_symbols: tuple[str, ...]
    incident_id: int | None
    attachment: str
    next_steps: tuple[str, ...]
    focal_loss_active: bool = True
    focal_source: str = "config"

    @property
    def real(self) -> bool:
        """True when the alert is confirmed (>= 2 negative symbols and focal active)."""
        return self.verdict == "real"


@dataclass(frozen=True, slots=True)
class CheckConfigResult:
    """Runbook step 2: the active loss and focal parameters; verdict `active` or `stale`."""

    verdict: str
    loss_function: str | None
    focal_gamma: str | None
    focal_alpha: str | None
    version: int
    updated_at: dt.datetime
    incident_id: int | None
    attachment: str
    advice: str


def negative_focal_symbols(
    engine: Engine, *, window: dt.timedelta = CONFIRM_WINDOW, clock: Clock = utc_now
) -> tuple[list[SymbolExpectancy], tuple[str, ...]]:
    """Every symbol's focal expectancy over `window`, and the negative ones (runbook step 1)."""
    from cvntrade.journal import expectancy_by_symbol  # imports pandas: only when needed

    rows = expectancy_by_symbol(engine, window=window, loss=FOCAL, clock=clock)
    return rows, tuple(r.crypto_symbol for r in rows if r.negative)


def _transient_advice(rows: list[SymbolExpectancy], negative: tuple[str, ...]) -> tuple[str, ...]:
    steps = [
        "alert looks like a transient false positive: check for noisy data "
        "(MLOps Overview → Per-crypto expectancy, `cvntrade expectancy --window 48h`)",
    ]
    for row in rows:
        if row.negative:
            steps.append(
                f"{row.crypto_symbol} is negative ({row.expectancy_pct:+.4f} % over "
                f"{row.n_trades} trades): watch it; look for few trades, one outsized loss, "
                "gaps or late data; `cvntrade expectancy folds` shows its 14 d baseline"
            )
    if not negative:
        steps.append("no symbol is negative now: the alert may have evaluated stale data")
    steps.append("re-run `cvntrade runbook confirm` if the alert fires again")
    return tuple(steps)


def _real_advice(incident_id: int | None) -> tuple[str, ...]:
    steps = []
    if incident_id is None:
        steps.append(
            f"open an incident: cvntrade incident open --alert {ALERT} --title '…' --severity P1"
        )
    steps += [
        "step 2: cvntrade runbook check-config",
        "step 3: cvntrade runbook rollback --symbols auto --reason '…'",
    ]
    return tuple(steps)


def confirm(
    engine: Engine,
    *,
    actor: str,
    incident_id: int | None = None,
    window: dt.timedelta = CONFIRM_WINDOW,
    clock: Clock = utc_now,
) -> ConfirmResult:
    """Runbook step 1: is the alert real? Transient verdicts are logged as false positives.

    A transient verdict closes the attached incident as `false_positive` with a note saying what
    to check next, or records a new, already closed `false_positive` incident when none is
    attached. Everything (incident, note, audit row) is written in one transaction.
    """
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required")
    attachment = resolve_attachment(engine, incident_id, alert=ALERT)
    rows, negative = negative_focal_symbols(engine, window=window, clock=clock)
    state = evaluate(
        {r.crypto_symbol: r.expectancy_pct for r in rows},
        read_focal_active(engine),
        AlertConfig(min_negative_symbols=MIN_NEGATIVE_SYMBOLS, window=window),
    )
    if state.firing:
        verdict = "real"
    elif len(state.negative_symbols) >= MIN_NEGATIVE_SYMBOLS:
        verdict = "stale"
    else:
        verdict = "transient"
    hours = window.total_seconds() / 3600
    summary = (
        f"{verdict}: {len(negative)} symbol(s) with negative focal expectancy over {hours:g} h"
        + (f" ({', '.join(negative)})" if negative else "")
    )
    now = clock()
    attached = attachment.incident_id
    explanation = attachment.explanation
    with write_transaction(engine) as conn:
        if verdict == "real":
            next_steps = _real_advice(attached)
        elif verdict == "stale":
            next_steps = (
                "focal_loss_active=0 (ftf_config is not focal and no engine serves a focal "
                "champion): the alert cannot fire now; acknowledge it, no action",
                "check `cvntrade runbook check-config` and `cvntrade trade status`",
            )
        else:
            next_steps = _transient_advice(rows, negative)
            if attached is None:
                incident = insert_incident(
                    conn,
                    alert=ALERT,
                    title=f"{ALERT}: transient ({summary})",
                    severity="P1",
                    actor=actor,
                    at=now,
                    status="false_positive",
                    reason="runbook step 1: transient alert recorded as false positive",
                )
                attached = incident.id
                explanation = f"recorded as false positive in new incident #{attached}"
            else:
                update_status(
                    conn,
                    fetch_incident(conn, attached),
                    "false_positive",
                    actor=actor,
                    at=now,
                    reason=tagged("runbook step 1: transient alert", attached),
                )
                explanation = f"incident #{attached} closed as false positive"
            insert_note(
                conn,
                attached,
                "\n".join(next_steps),
                actor=actor,
                at=now,
                kind="false_positive",
                data={"negative_symbols": list(negative)},
            )
        write_audit(
            conn,
            AuditEntry(
                at=now,
                actor=actor,
                action="runbook.confirm",
                target=ALERT_TARGET,
                reason=tagged("runbook step 1: confirm the alert is real", attached),
                after={
                    "summary": summary,
                    "verdict": verdict,
                    "window_hours": hours,
                    "negative_symbols": list(negative),
                    "focal_loss_active": state.focal_active,
                    "focal_source": state.focal_source,
                    "symbols": [
                        {
                            "crypto_symbol": r.crypto_symbol,
                            "expectancy_pct": r.expectancy_pct,
                            "n_trades": r.n_trades,
                        }
                        for r in rows
                    ],
                },
            ),
        )
    return ConfirmResult(
        verdict=verdict,
        checked_at=now,
        window_hours=hours,
        symbols=tuple(rows),
        negative_symbols=negative,
        incident_id=attached,
        attachment=explanation,
        next_steps=next_steps,
        focal_loss_active=state.focal_active,
        focal_source=state.focal_source,
    )


def check_config(
    engine: Engine, *, actor: str, incident_id: int | None = None, clock: Clock = utc_now
) -> CheckConfigResult:
    """Runbook step 2: is focal still the configured loss? `stale` means acknowledge, no action."""
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required")
    attachment = resolve_attachment(engine, incident_id, alert=ALERT)
    snapshot = read_config(engine)
    loss = snapshot.loss_function
    if loss == FOCAL:
        verdict = "active"
        advice = "focal is active: roll back with `cvntrade runbook rollback --symbols auto`"
    else:
        verdict = "stale"
        advice = (
            f"CVN_LOSS_FUNCTION is {loss or 'unset'}, not focal: focal was already rolled back; "
            "acknowledge the alert, no action"
        )
    result = CheckConfigResult(
        verdict=verdict,
        loss_function=loss,
        focal_gamma=snapshot.env.get("CVN_FOCAL_GAMMA"),
        focal_alpha=snapshot.env.get("CVN_FOCAL_ALPHA"),
        version=snapshot.version,
        updated_at=snapshot.updated_at,
        incident_id=attachment.incident_id,
        attachment=attachment.explanation,
        advice=advice,
    )
    with write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                at=clock(),
                actor=actor,
                action="runbook.check_config",
                target=ALERT_TARGET,
                reason=tagged("runbook step 2: check the active config", attachment.incident_id),
                after={
                    "summary": f"{verdict}: CVN_LOSS_FUNCTION={loss} (config v{snapshot.version})",
                    "verdict": verdict,
                    "loss_function": loss,
                    "focal_gamma": result.focal_gamma,
                    "focal_alpha": result.focal_alpha,
                    "version": snapshot.version,
                    "updated_at": snapshot.updated_at.isoformat(),
                },
            ),
        )
    return result
