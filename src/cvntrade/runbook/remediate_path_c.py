"""Path C of `runbook remediate`: milder focal (gamma 1.0), evaluated out of sample, else A.

Per symbol: retrain focal with `CVN_FOCAL_GAMMA=1.0` and the focal version's own recipe on the
bars before the evaluation window (the alert's last 48 h); one backtest run of the new versions
over the window (stored apart from the journal, `cvntrade.runbook.candidate`); promote where
`milder_focal_promotes` (>= 3 trades, mean >= 0), roll the others back (path A). Every step is
audited and attached to the incident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from cvntrade.audit import AuditEntry
from cvntrade.config import set_config
from cvntrade.errors import CvnError
from cvntrade.runbook.attach import record_step
from cvntrade.runbook.remediate_paths import FOCAL, audit_training, focal_version, promote
from cvntrade.runbook.remediation_rules import (
    EVAL_WINDOW,
    FELL_BACK,
    MILD_GAMMA,
    PROMOTED,
    RemediationResult,
    SymbolRemediation,
    fallback_symbols,
    milder_focal_promotes,
)
from cvntrade.runbook.rollback import rollback
from cvntrade.strategy import model_name

if TYPE_CHECKING:
    from cvntrade.app import AppContext

Say = Callable[[str], None]
EVALUATE_ACTION = "runbook.remediate.evaluate"


def run_path_c(
    ctx: AppContext, base: RemediationResult, *, strategy: str, say: Say
) -> RemediationResult:
    """Path C for `base.symbols`: gamma flip, retrain, evaluate, promote or fall back to A."""
    from cvntrade.journal import expectancy_by_symbol

    now = ctx.clock()
    eval_start = now - EVAL_WINDOW
    live: dict[str, tuple[float | None, int]] = {
        r.crypto_symbol: (r.expectancy_pct, r.n_trades)
        for r in expectancy_by_symbol(ctx.engine, window=EVAL_WINDOW, loss="focal", clock=ctx.clock)
    }
    change = set_config(
        ctx.engine,
        {"CVN_FOCAL_GAMMA": MILD_GAMMA},
        reason=base.reason,
        incident_id=base.incident_id,
        actor=ctx.actor,
        clock=ctx.clock,
    )
    gamma_before = change.before.env.get("CVN_FOCAL_GAMMA")
    say(
        f"config: CVN_FOCAL_GAMMA {gamma_before or 'unset'} → {change.after.env['CVN_FOCAL_GAMMA']}"
    )
    trained, failed = retrain_milder(
        ctx,
        base.symbols,
        strategy=strategy,
        reason=base.reason,
        incident_id=base.incident_id,
        eval_start=eval_start,
        gamma_before=gamma_before,
        say=say,
    )
    run_id, decided = evaluate_and_decide(
        ctx,
        trained,
        strategy=strategy,
        reason=base.reason,
        incident_id=base.incident_id,
        eval_start=eval_start,
        live_48h=live,
        gamma_before=gamma_before,
        say=say,
    )
    outcomes = [*decided, *failed]
    fallback = tuple(sorted(fallback_symbols(outcomes)))
    if fallback:
        say(f"path A for {', '.join(fallback)}")
        rolled = rollback(
            ctx.engine,
            ctx.registry,
            reason=f"{base.reason} (path C fell back to A)",
            actor=ctx.actor,
            symbols=fallback,
            strategy=strategy,
            incident_id=base.incident_id,
            clock=ctx.clock,
            progress=say,
        )
        targets = {s.crypto_symbol: s for s in rolled.symbols}
        outcomes = [
            replace(
                o,
                champion_after=targets[o.crypto_symbol].target_version,
                after={**o.after, "champion": targets[o.crypto_symbol].target_version},
                command=targets[o.crypto_symbol].command,
            )
            if o.crypto_symbol in targets
            else o
            for o in outcomes
        ]
    return replace(
        base,
        outcomes=tuple(sorted(outcomes, key=lambda o: o.crypto_symbol)),
        fell_back_to_a=fallback,
        config_changes=(f"CVN_FOCAL_GAMMA {gamma_before or 'unset'} → {MILD_GAMMA}",),
        backtest_run_id=run_id,
    )


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
        audit_training(
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
            move = promote(ctx, name, version, reason=reason, incident_id=incident_id)
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


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"
