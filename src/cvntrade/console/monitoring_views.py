"""The console's `/monitoring` and `/alerts`: the stored monitoring signals and alert events.

Nothing is recomputed here: `/monitoring` reads the latest `monitor_snapshots` recomputation
(written by `cvntrade monitor serve`), `/alerts` lists `alert_events` and acknowledges through
`cvntrade.monitoring.evaluator.ack_event`, the function `cvntrade alerts ack` calls (same
audit row, same incident note).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from cvntrade.app import AppContext
from cvntrade.console.schemas import Strict, UtcDatetime
from cvntrade.db.tables import monitor_snapshots

SHARPNESS_BAND = (0.7, 1.3)
ECE_MARGIN = 0.05


class SymbolSignalsOut(BaseModel):
    """One served symbol's drift signals now vs its champion's training reference."""

    crypto_symbol: str
    psi_max: float | None = None
    psi: dict[str, float | None] = Field(default_factory=dict)
    sharpness_recent: float | None = None
    sharpness_training: float | None = None
    ece_live: float | None = None
    ece_training: float | None = None
    n_outcomes: int | None = None
    histogram_recent: list[float] = Field(default_factory=list)
    histogram_training: list[float] = Field(default_factory=list)
    note: str = ""
    worst_feature: str | None = None


class MonitoringOut(BaseModel):
    """The latest stored recomputation (`at` None: nothing stored yet)."""

    at: UtcDatetime | None
    focal_loss_active: bool | None = None
    focal_source: str | None = None
    alert_firing: bool | None = None
    negative_symbols: list[str] = Field(default_factory=list)
    symbols: list[SymbolSignalsOut] = Field(default_factory=list)


class AlertEventOut(BaseModel):
    """One alert event; `acked_*` say who acknowledged it, when and why."""

    id: int
    alert: str
    state: str
    at: UtcDatetime
    labels: dict[str, Any]
    values: dict[str, Any]
    incident_id: int | None
    acked_by: str | None
    acked_at: UtcDatetime | None
    ack_reason: str | None


class AckIn(Strict):
    """Acknowledge an alert event: why (kept in the audit log and the incident timeline)."""

    reason: str = Field(min_length=1, max_length=500)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def monitoring_view(ctx: AppContext) -> MonitoringOut:
    """The rows of the newest `monitor_snapshots` recomputation, grouped per symbol."""
    ms = monitor_snapshots.c
    with ctx.engine.connect() as conn:
        latest = conn.execute(select(func.max(ms.at))).scalar()
        if latest is None:
            return MonitoringOut(at=None)
        rows = conn.execute(select(monitor_snapshots).where(ms.at == latest)).all()
    out = MonitoringOut(at=latest)
    per_symbol: dict[str, dict[str, Any]] = {}
    for row in rows:
        data: dict[str, Any] = dict(row.data or {})
        if row.signal == "focal_loss_active":
            out.focal_loss_active = bool(row.value)
            out.focal_source = data.get("source")
        elif row.signal == "alert.expectancy_negative_focal":
            out.alert_firing = bool(row.value)
            out.negative_symbols = list(data.get("negative_symbols") or [])
        elif row.signal in ("psi_max", "sharpness", "ece_live"):
            cell = per_symbol.setdefault(row.crypto_symbol, {"crypto_symbol": row.crypto_symbol})
            if row.signal == "psi_max":
                cell["psi_max"] = _num(row.value)
                psi = {k: _num(v) for k, v in (data.get("psi") or {}).items()}
                finite = {k: v for k, v in psi.items() if v is not None}
                cell["psi"] = psi
                cell["worst_feature"] = max(finite, key=finite.__getitem__) if finite else None
            elif row.signal == "sharpness":
                cell["sharpness_recent"] = _num(row.value)
                cell["sharpness_training"] = _num(data.get("training"))
                cell["histogram_recent"] = list(data.get("histogram_recent") or [])
                cell["histogram_training"] = list(data.get("histogram_training") or [])
            else:
                cell["ece_live"] = _num(row.value)
                cell["ece_training"] = _num(data.get("training"))
                cell["n_outcomes"] = data.get("n")
                cell["note"] = str(data.get("note") or "")
    out.symbols = [SymbolSignalsOut(**per_symbol[s]) for s in sorted(per_symbol)]
    return out


def _event_out(event: Any) -> AlertEventOut:
    return AlertEventOut(
        id=event.id,
        alert=event.alert,
        state=event.state,
        at=event.at,
        labels=event.labels,
        values=event.values,
        incident_id=event.incident_id,
        acked_by=event.acked_by,
        acked_at=event.acked_at,
        ack_reason=event.ack_reason,
    )


def alerts_view(ctx: AppContext, limit: int = 50) -> list[AlertEventOut]:
    """The latest alert events, newest first (`cvntrade alerts list`)."""
    from cvntrade.monitoring.evaluator import list_events

    return [_event_out(e) for e in list_events(ctx.engine, limit=limit)]


def ack_alert(ctx: AppContext, event_id: int, *, reason: str) -> AlertEventOut:
    """Acknowledge as the context's actor: `cvntrade alerts ack ID --reason` (one audit row)."""
    from cvntrade.monitoring.evaluator import ack_event

    return _event_out(
        ack_event(ctx.engine, event_id, actor=ctx.actor, reason=reason, clock=ctx.clock)
    )


# --- chart geometry (pure; the templates only place the numbers) ---------------------------


def polyline(values: list[float], width: float, height: float, top: float) -> str:
    """SVG `points` of a step-free line through `values` scaled to [0, top] on the y axis."""
    if not values or top <= 0:
        return ""
    step = width / len(values)
    return " ".join(
        f"{(i + 0.5) * step:.1f},{height - min(v, top) / top * height:.1f}"
        for i, v in enumerate(values)
    )


def bar_scale(values: list[float | None], floor: float) -> float:
    """The axis maximum of a bar chart: the largest value, at least `floor`."""
    return max([floor, *[v for v in values if v is not None]])


def levels(view: MonitoringOut, moderate: float = 0.1, significant: float = 0.25) -> dict[str, str]:
    """PSI level per symbol: stable / moderate / significant (docs/monitoring.md thresholds)."""
    result = {}
    for s in view.symbols:
        if s.psi_max is None:
            result[s.crypto_symbol] = "no reference" if s.note else "—"
        elif s.psi_max >= significant:
            result[s.crypto_symbol] = "significant"
        elif s.psi_max >= moderate:
            result[s.crypto_symbol] = "moderate"
        else:
            result[s.crypto_symbol] = "stable"
    return result


def age(view: MonitoringOut, now: dt.datetime) -> str:
    """How old the snapshot is, for the page header."""
    if view.at is None:
        return ""
    seconds = (now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now) - view.at
    return f"{int(seconds.total_seconds() // 60)} min ago"
