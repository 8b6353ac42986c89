"""Runbook steps 1 and 2 for `expectancy_negative_focal`: confirm the alert, check the config.

Step 1 (`confirm`) is the runbook's query: mean `realized_pnl_pct` (percent, net of fees) of
trades of focal-trained models entered in the last 48 h, per symbol, judged by the one alert rule
`cvntrade.monitoring.alerts.evaluate` (>= 2 negative symbols AND focal_loss_active). A firing rule
makes the alert `real`; 0-1 negative symbols make it `transient`, which is recorded in the
incident log as a false positive together with what to check next; >= 2 negative symbols while
focal is not active (neither `ftf_config` nor any served champion) make it `stale`: the alert
cannot fire now, acknowledge it (audited, no incident change). Step 2 (`check_config`) reads
`ftf_config` *and* what serves (champions in the registry, live engines' heartbeats, see
`cvntrade.runbook.serving`): focal configured is `active`; focal no longer configured but still
served on some symbols is `mismatch` (never an all-clear); neither is `stale` (focal was already
rolled back: acknowledge, no action); `unverified` when the registry could not be read and the
config is not focal. Both steps write one audit row, attached to the incident when there is one
(see `cvntrade.runbook.incidents`).
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
from cvntrade.domain import LossFunction
from cvntrade.errors import UserInputError
from cvntrade.formatting import fmt_signed
from cvntrade.monitoring.alerts import AlertConfig, evaluate, read_focal_active
from cvntrade.runbook.incidents import (
    Incident,
    fetch_incident,
    insert_incident,
    insert_note,
    list_incidents,
    resolve_attachment,
    update_status,
)

if TYPE_CHECKING:
    from cvntrade.journal import SymbolExpectancy
    from cvntrade.runbook.serving import Serving, SymbolServing

ALERT = "expectancy_negative_focal"
ALERT_TARGET = f"alert:{ALERT}"
CONFIRM_WINDOW = dt.timedelta(hours=48)
MIN_NEGATIVE_SYMBOLS = 2
"""The alert fires on negative 48 h expectancy on at least this many symbols."""
FOCAL = LossFunction.FOCAL.value


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
    """Runbook step 2: the configured loss and what serves per symbol.

    Verdict `active` (focal configured), `mismatch` (config not focal, but `focal_symbols` still
    serve focal), `stale` (focal neither configured nor served) or `unverified` (config not
    focal, registry unreadable: `registry_error`).
    """

    verdict: str
    loss_function: str | None
    focal_gamma: str | None
    focal_alpha: str | None
    version: int
    updated_at: dt.datetime
    incident_id: int | None
    attachment: str
    advice: str
    serving: tuple[SymbolServing, ...] = ()
    focal_symbols: tuple[str, ...] = ()
    registry_error: str | None = None


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
                f"{row.crypto_symbol} is negative ({fmt_signed(row.expectancy_pct or 0.0)} % over "
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


FALSE_POSITIVE_REUSE = dt.timedelta(hours=1)
"""A transient `confirm` re-run within this time of the last one adds to its incident."""


def _recent_false_positive(engine: Engine, now: dt.datetime) -> Incident | None:
    """The false-positive incident a previous transient `confirm` recorded moments ago."""
    latest = list_incidents(engine, alert=ALERT, limit=1)
    if (
        latest
        and latest[0].status == "false_positive"
        and now - latest[0].opened_at <= (FALSE_POSITIVE_REUSE)
    ):
        return latest[0]
    return None


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
    attached — unless a transient `confirm` recorded one less than `FALSE_POSITIVE_REUSE` ago:
    a re-run adds a note to that incident instead of opening a second one. Everything
    (incident, note, audit row) is written in one transaction.
    """
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required")
    attachment = resolve_attachment(engine, incident_id, alert=ALERT)
    rows, negative = negative_focal_symbols(engine, window=window, clock=clock)
    state = evaluate(
        {r.crypto_symbol: r.expectancy_pct for r in rows},
        read_focal_active(engine, now=clock()),
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
    recent = None
    if verdict == "transient" and attached is None:
        recent = _recent_false_positive(engine, now)
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
            if recent is not None:
                attached = recent.id
                explanation = (
                    f"already recorded as false positive in incident #{attached} "
                    f"(opened {recent.opened_at:%H:%M} UTC): note added, no new incident"
                )
            elif attached is None:
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
                    reason="runbook step 1: transient alert",
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
                reason="runbook step 1: confirm the alert is real",
                incident_id=attached,
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


def config_verdict(loss: str | None, serving: Serving | None) -> tuple[str, str]:
    """Step 2's verdict and advice from the configured loss and what serves (pure)."""
    if loss == FOCAL:
        return (
            "active",
            "focal is active: roll back with `cvntrade runbook rollback --symbols auto`",
        )
    focal = serving.focal_symbols if serving is not None else ()
    if focal:
        return "mismatch", (
            f"CVN_LOSS_FUNCTION is {loss or 'unset'} but focal still serves on "
            f"{', '.join(focal)}: roll back with `cvntrade runbook rollback --symbols "
            f"{','.join(focal)} --reason …`"
        )
    if serving is None or serving.registry_error is not None:
        why = "not consulted" if serving is None else serving.registry_error
        return "unverified", (
            f"CVN_LOSS_FUNCTION is {loss or 'unset'}, but the champions could not be checked "
            f"({why}): check `cvntrade trade status` and `cvntrade models show NAME` before "
            "acknowledging"
        )
    return "stale", (
        f"CVN_LOSS_FUNCTION is {loss or 'unset'}, not focal, and no champion or live engine "
        "serves focal: focal was already rolled back; acknowledge the alert, no action"
    )


def check_config(
    engine: Engine,
    *,
    actor: str,
    incident_id: int | None = None,
    clock: Clock = utc_now,
    serving: Serving | None = None,
) -> CheckConfigResult:
    """Runbook step 2: is focal still configured, and does it still serve anywhere?

    `serving` (see `cvntrade.runbook.serving.serving_by_symbol`) is what the registry and the
    live engines say; without it a non-focal config is only `unverified`, never `stale`.
    """
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required")
    attachment = resolve_attachment(engine, incident_id, alert=ALERT)
    snapshot = read_config(engine)
    loss = snapshot.loss_function
    verdict, advice = config_verdict(loss, serving)
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
        serving=() if serving is None else serving.symbols,
        focal_symbols=() if serving is None else serving.focal_symbols,
        registry_error=None if serving is None else serving.registry_error,
    )
    with write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                at=clock(),
                actor=actor,
                action="runbook.check_config",
                target=ALERT_TARGET,
                reason="runbook step 2: check the active config",
                incident_id=attachment.incident_id,
                after={
                    "summary": f"{verdict}: CVN_LOSS_FUNCTION={loss} (config v{snapshot.version})"
                    + (
                        f"; focal serves on {', '.join(result.focal_symbols)}"
                        if result.focal_symbols
                        else ""
                    ),
                    "verdict": verdict,
                    "loss_function": loss,
                    "focal_gamma": result.focal_gamma,
                    "focal_alpha": result.focal_alpha,
                    "version": snapshot.version,
                    "updated_at": snapshot.updated_at.isoformat(),
                    "focal_symbols": list(result.focal_symbols),
                    "registry_error": result.registry_error,
                },
            ),
        )
    return result
