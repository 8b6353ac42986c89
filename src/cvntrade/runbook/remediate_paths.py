"""Paths B and C of `runbook remediate`: the per-symbol work, each change audited and attached.

Path B recalibrates the focal version of each symbol (temperature scaling on the recent window,
inline through the training API or through the Airflow DAG) and promotes it only when ECE_HOLD
improved. Path C retrains focal with gamma 1.0 on the bars before the evaluation window, runs
one backtest of the new versions over the window, promotes where expectancy held, and hands the
rest back to path A. Decisions are the pure functions of `cvntrade.runbook.remediation_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cvntrade.audit import AuditEntry
from cvntrade.errors import CvnError, NotFoundError
from cvntrade.registry import CHAMPION, AliasMove, ModelVersionInfo, champion_of, set_alias
from cvntrade.runbook.attach import attached_reason, record_step
from cvntrade.runbook.remediation_rules import (
    FELL_BACK,
    KEPT,
    PROMOTED,
    SKIPPED,
    SymbolRemediation,
    ece_improved,
    milder_focal_promotes,
)
from cvntrade.strategy import model_name

if TYPE_CHECKING:
    from cvntrade.app import AppContext

Say = Callable[[str], None]
FOCAL = "focal"
TRAIN_ACTION = "runbook.remediate.train"
EVALUATE_ACTION = "runbook.remediate.evaluate"


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


def _promote(
    ctx: AppContext, name: str, version: int, *, reason: str, incident_id: int | None
) -> AliasMove:
    old = ctx.registry.aliases(name).get(CHAMPION)
    return set_alias(
        ctx.engine,
        ctx.registry,
        name=name,
        alias=CHAMPION,
        version=version,
        reason=attached_reason(reason, incident_id),
        actor=ctx.actor,
        clock=ctx.clock,
        expected_old=old,
    )


def _audit_training(
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
        _audit_training(
            ctx,
            incident_id,
            reason=reason,
            name=name,
            summary=f"path B: version {base.version} recalibrated as version {version}",
            data={"from_version": base.version, "version": version, "metrics": metrics},
        )
        figures_before = {"version": base.version, "champion": champion, "ece_hold": before}
        if ece_improved(before, after):
            move = _promote(ctx, name, version, reason=reason, incident_id=incident_id)
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


def retrain_milder(
    ctx: AppContext,
    symbols: Sequence[str],
    *,
    strategy: str,
    reason: str,
    incident_id: int | None,
    eval_start: dt.datetime,
    gamma_before: str | None,
    say: Say,
) -> tuple[dict[str, tuple[int, int]], list[SymbolRemediation]]:
    """Path C training: focal (gamma from config, 1.0) per symbol on the bars before
    `eval_start`, with the focal version's own recipe. Returns symbol → (base, new) versions
    and the symbols that could not be retrained (they fall back to A)."""
    from cvntrade.runbook.candidate import recipe_of
    from cvntrade.training.api import run_training

    now = ctx.clock()
    trained: dict[str, tuple[int, int]] = {}
    failed: list[SymbolRemediation] = []
    for symbol in symbols:
        name = model_name(symbol, strategy)
        try:
            base = focal_version(ctx, symbol, strategy, now)
            trained_as = base
            if "recalibrated_from" in base.tags:  # a recalibration logs no training recipe
                trained_as = ctx.registry.get_version(name, int(base.tags["recalibrated_from"]))
            recipe = recipe_of(ctx.settings.effective_tracking_uri, trained_as)
            result = run_training(
                ctx.engine,
                symbol=symbol,
                strategy=strategy,
                loss=FOCAL,
                folds=recipe.folds,
                start=recipe.data_start,
                end=eval_start,
                params=recipe.params,
                tracking_uri=ctx.settings.effective_tracking_uri,
                actor=ctx.actor,
                settings=ctx.settings,
            )
        except CvnError as exc:
            failed.append(SymbolRemediation(symbol, name, FELL_BACK, f"retraining failed: {exc}"))
            say(f"{symbol}: retraining failed ({exc}): falls back to path A")
            continue
        trained[symbol] = (base.version, result.version)
        _audit_training(
            ctx,
            incident_id,
            reason=reason,
            name=name,
            summary=(
                f"path C: focal gamma {result.focal_gamma} (was {gamma_before}) trained as "
                f"version {result.version} on bars before {eval_start:%Y-%m-%d %H:%M}"
            ),
            data={
                "from_version": base.version,
                "version": result.version,
                "focal_gamma": result.focal_gamma,
                "data_end": result.data_end,
            },
        )
        say(f"{symbol}: focal gamma {result.focal_gamma} trained as version {result.version}")
    return trained, failed


def evaluate_and_decide(
    ctx: AppContext,
    trained: dict[str, tuple[int, int]],
    *,
    strategy: str,
    reason: str,
    incident_id: int | None,
    eval_start: dt.datetime,
    live_48h: Mapping[str, tuple[float | None, int]],
    gamma_before: str | None,
    say: Say,
) -> tuple[int | None, list[SymbolRemediation]]:
    """Path C evaluation: one backtest of the new versions over `[eval_start, now)`; promote
    where `milder_focal_promotes`, the rest is marked `fell_back_to_A` (the caller rolls back)."""
    from cvntrade.runbook.candidate import backtest_candidates
    from cvntrade.trading.backtest import run_trades

    if not trained:
        return None, []
    now = ctx.clock()
    run = backtest_candidates(
        ctx, {s: v for s, (_, v) in trained.items()}, strategy=strategy, start=eval_start, end=now
    ).run
    trades = run_trades(ctx.engine, run.id)
    record_step(
        ctx.engine,
        incident_id,
        AuditEntry(
            at=now,
            actor=ctx.actor,
            action=EVALUATE_ACTION,
            target=f"backtest_run:{run.id}",
            reason=reason,
            after={
                "summary": f"path C: backtest run {run.id} of the gamma-1.0 versions over "
                f"[{eval_start:%Y-%m-%d %H:%M}, {now:%Y-%m-%d %H:%M})",
                "versions": {s: v for s, (_, v) in trained.items()},
                "run_summary": run.summary,
            },
        ),
    )
    out = []
    for symbol, (base, version) in sorted(trained.items()):
        name = model_name(symbol, strategy)
        pnl = trades.loc[trades["crypto_symbol"] == symbol, "realized_pnl_pct"].astype(float)
        n, mean = int(pnl.size), (float(pnl.mean()) if pnl.size else None)
        live_mean, live_n = live_48h.get(symbol, (None, 0))
        before = {
            "version": base,
            "focal_gamma": _float(gamma_before),
            "expectancy_48h": live_mean,
            "n_trades_48h": float(live_n),
        }
        after: dict[str, float | None] = {
            "version": version,
            "focal_gamma": 1.0,
            "expectancy_pct": mean,
            "n_trades": float(n),
        }
        if milder_focal_promotes(mean, n):
            move = _promote(ctx, name, version, reason=reason, incident_id=incident_id)
            why = f"backtest {n} trades, expectancy {_f(mean)} % >= 0: promoted"
            out.append(
                SymbolRemediation(
                    symbol,
                    name,
                    PROMOTED,
                    why,
                    base,
                    version,
                    version,
                    before,
                    {**after, "champion": version},
                    move.command_line(),
                )
            )
        else:
            why = (
                f"backtest {n} trades, expectancy {_f(mean)} %: still negative or too few "
                "trades, falls back to path A"
            )
            out.append(
                SymbolRemediation(symbol, name, FELL_BACK, why, base, version, None, before, after)
            )
        say(f"{symbol}: {why}")
    return run.id, out


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if number == number and abs(number) != float("inf") else None


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _ece(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
