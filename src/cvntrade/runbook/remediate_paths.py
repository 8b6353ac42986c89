"""Paths B and C of `runbook remediate`: the per-symbol work, each change audited and attached.

This module holds what both paths share (the focal version a symbol's incident is about, the
audited promotion and training rows) and path B; path C is `cvntrade.runbook.remediate_path_c`.
Path B recalibrates the focal version of each symbol (temperature scaling on the recent window,
inline through the training API or through the Airflow DAG) and promotes it only when ECE_HOLD
improved. Path C retrains focal with gamma 1.0 on the bars before the evaluation window, runs
one backtest of the new versions over the window, promotes where expectancy held, and hands the
rest back to path A. Decisions are the pure functions of `cvntrade.runbook.remediation_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cvntrade.audit import AuditEntry
from cvntrade.config import set_config
from cvntrade.errors import NotFoundError
from cvntrade.registry import CHAMPION, AliasMove, ModelVersionInfo, champion_of, set_alias
from cvntrade.runbook.attach import record_step
from cvntrade.runbook.remediation_rules import (
    CALIBRATION,
    KEPT,
    PROMOTED,
    SKIPPED,
    RemediationResult,
    SymbolRemediation,
    ece_improved,
)
from cvntrade.strategy import model_name

if TYPE_CHECKING:
    from cvntrade.app import AppContext

Say = Callable[[str], None]
FOCAL = "focal"
TRAIN_ACTION = "runbook.remediate.train"


def focal_version(
    ctx: AppContext, symbol: str, strategy: str, now: dt.datetime
) -> ModelVersionInfo:
    """The focal version the incident is about: the champion when it is focal, else the focal
    version that made the symbol's last predictions in 48 h (a rollback replaced it), else the
    newest version tagged focal; `NotFoundError` when the model has none."""
    from cvntrade.runbook.diagnose_gather import focal_models

    name = model_name(symbol, strategy)
    champion = champion_of(ctx.registry, name)
    if champion.loss_function == FOCAL:
        return champion
    served = focal_models(ctx.engine, now).get(symbol)
    if served is not None and served[0] == name:
        return ctx.registry.get_version(name, served[1])
    for info in ctx.registry.list_versions(name, 100):
        if info.loss_function == FOCAL:
            return info
    raise NotFoundError(f"{name} has no version tagged loss_function=focal to remediate")


def promote(
    ctx: AppContext, name: str, version: int, *, reason: str, incident_id: int | None
) -> AliasMove:
    old = ctx.registry.aliases(name).get(CHAMPION)
    return set_alias(
        ctx.engine,
        ctx.registry,
        name=name,
        alias=CHAMPION,
        version=version,
        reason=reason,
        incident_id=incident_id,
        actor=ctx.actor,
        clock=ctx.clock,
        expected_old=old,
    )


def audit_training(
    ctx: AppContext,
    incident_id: int | None,
    *,
    reason: str,
    name: str,
    summary: str,
    data: dict[str, Any],
) -> None:
    record_step(
        ctx.engine,
        incident_id,
        AuditEntry(
            at=ctx.clock(),
            actor=ctx.actor,
            action=TRAIN_ACTION,
            target=name,
            reason=reason,
            after={"summary": summary, **data},
        ),
    )


def recalibrate_symbols(
    ctx: AppContext,
    symbols: Sequence[str],
    *,
    strategy: str,
    reason: str,
    incident_id: int | None,
    airflow: Any,
    say: Say,
) -> tuple[SymbolRemediation, ...]:
    """Path B for each symbol: recalibrate its focal version, promote only if ECE_HOLD improved.

    `airflow` is the configured `airflow` executable (None: inline through the training API).
    """
    now = ctx.clock()
    out = []
    for symbol in symbols:
        name = model_name(symbol, strategy)
        try:
            base = focal_version(ctx, symbol, strategy, now)
        except NotFoundError as exc:
            out.append(SymbolRemediation(symbol, name, SKIPPED, str(exc)))
            say(f"{symbol}: skipped: {exc}")
            continue
        champion = ctx.registry.aliases(name).get(CHAMPION)
        version, metrics = _recalibrate(ctx, symbol, strategy, base.version, airflow)
        before, after = metrics.get("ece_hold_before"), metrics.get("ece_hold")
        audit_training(
            ctx,
            incident_id,
            reason=reason,
            name=name,
            summary=f"path B: version {base.version} recalibrated as version {version}",
            data={"from_version": base.version, "version": version, "metrics": metrics},
        )
        figures_before = {"version": base.version, "champion": champion, "ece_hold": before}
        if ece_improved(before, after):
            move = promote(ctx, name, version, reason=reason, incident_id=incident_id)
            why = f"ECE_HOLD {_ece(before)} → {_ece(after)}: improved, promoted"
            outcome = SymbolRemediation(
                symbol,
                name,
                PROMOTED,
                why,
                base.version,
                version,
                version,
                figures_before,
                {"version": version, "champion": version, "ece_hold": after},
                move.command_line(),
            )
        else:
            why = (
                f"ECE_HOLD {_ece(before)} → {_ece(after)}: not improved by the required margin, "
                f"champion {champion} kept"
            )
            outcome = SymbolRemediation(
                symbol,
                name,
                KEPT,
                why,
                base.version,
                version,
                champion,
                figures_before,
                {"version": version, "champion": champion, "ece_hold": after},
            )
        say(f"{symbol}: {why}")
        out.append(outcome)
    return tuple(out)


def _recalibrate(
    ctx: AppContext, symbol: str, strategy: str, version: int, airflow: Any
) -> tuple[int, dict[str, float | None]]:
    """(new version, its metrics incl. ece_hold and ece_hold_before) of one recalibration."""
    keys = ("ece_hold", "ece_hold_before", "net_expectancy_pct", "net_expectancy_pct_before")
    if airflow is None:
        from cvntrade.training.api import run_training

        result = run_training(
            ctx.engine,
            symbol=symbol,
            strategy=strategy,
            recalibrate_only=True,
            recalibrate_version=version,
            tracking_uri=ctx.settings.effective_tracking_uri,
            actor=ctx.actor,
            settings=ctx.settings,
        )
        return result.version, {k: _finite(result.metrics.get(k)) for k in keys}
    from cvntrade.registry import MlflowRegistry
    from cvntrade.runbook.airflow_trigger import recalibrate_via_airflow

    name = model_name(symbol, strategy)
    new = recalibrate_via_airflow(
        airflow, ctx.registry, name=name, symbol=symbol, strategy=strategy, version=version
    )
    registry = MlflowRegistry(ctx.settings.effective_tracking_uri)
    run_id = registry.get_version(name, new).run_id
    logged = registry.client.get_run(run_id).data.metrics if run_id else {}
    return new, {k: _finite(logged.get(k)) for k in keys}


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if number == number and abs(number) != float("inf") else None


def _ece(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def run_path_b(
    ctx: AppContext, base: RemediationResult, *, strategy: str, airflow: Any, say: Say
) -> RemediationResult:
    """Path B for `base.symbols`: calibration flip, then `recalibrate_symbols`."""
    change = set_config(
        ctx.engine,
        {"CVN_CALIBRATION": CALIBRATION},
        reason=base.reason,
        incident_id=base.incident_id,
        actor=ctx.actor,
        clock=ctx.clock,
    )
    say(f"config: CVN_CALIBRATION → {CALIBRATION} (version {change.after.version})")
    outcomes = recalibrate_symbols(
        ctx,
        base.symbols,
        strategy=strategy,
        reason=base.reason,
        incident_id=base.incident_id,
        airflow=airflow,
        say=say,
    )
    before = change.before.env.get("CVN_CALIBRATION")
    return replace(
        base,
        outcomes=outcomes,
        config_changes=(f"CVN_CALIBRATION {before or 'unset'} → {CALIBRATION}",),
    )
