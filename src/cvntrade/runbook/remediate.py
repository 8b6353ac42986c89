"""`cvntrade runbook remediate`: the runbook's remediation paths A, B and C as one audited call.

* A — roll back (reusing `runbook.rollback`: idempotent, a no-op when step 3 already did it);
* B — `CVN_CALIBRATION=temperature_scaling` (config service), recalibrate each symbol's focal
  version (inline or `--via airflow`), promote only where ECE_HOLD improved;
* C — `CVN_FOCAL_GAMMA` current → 1.0 (config service), retrain focal on the bars before the
  evaluation window (the last 48 h), backtest the new versions over the window, promote where
  expectancy >= 0 with enough trades, and fall back to A (rollback) for the other symbols.

Every change goes through its audited service with the reason attached to the incident
(`cvntrade.runbook.attach`), each training and the evaluation write their own audit row, and
the run ends with one `runbook.remediate` audit row plus the incident note `remediation` whose
data is {path, symbols, before, after, fell_back_to_A, outcome, versions}. `dry_run` reads the
registry and the config, prints the plan, and changes nothing (no audit row, no note).
Bad input and an unconfigured Airflow are refused before anything changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from cvntrade.audit import AuditEntry
from cvntrade.config import read_config
from cvntrade.domain import RemediationPath
from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.runbook.attach import REMEDIATION_NOTE, record_step
from cvntrade.runbook.incidents import resolve_attachment
from cvntrade.runbook.remediation_rules import (
    ALREADY_BASELINE,
    EVAL_WINDOW,
    PLANNED,
    ROLLED_BACK,
    VIAS,
    RemediationResult,
    SymbolRemediation,
    plan_lines,
)
from cvntrade.runbook.rollback import MOVE, RollbackResult, rollback
from cvntrade.runbook.steps import ALERT, ALERT_TARGET, negative_focal_symbols
from cvntrade.strategy import DEFAULT_STRATEGY, Strategy, model_name
from cvntrade.text import check_text

if TYPE_CHECKING:
    from cvntrade.app import AppContext

Say = Callable[[str], None]
ACTION = "runbook.remediate"


def _validate(reason: str, via: str, path: RemediationPath) -> None:
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required for a remediation")
    check_text(reason, "--reason")
    if via not in VIAS:
        raise UserInputError(f"unknown --via {via!r}: use inline or airflow")
    if via == "airflow" and path is not RemediationPath.B:
        raise UserInputError(
            "--via airflow applies to path B only (the DAG trains with ftf_config's loss, which "
            "the rollback set to binary:logistic): use --via inline"
        )


def _auto_symbols(ctx: AppContext, path: RemediationPath) -> tuple[str, ...] | None:
    """`auto`: step 1's negative symbols (path A lets the rollback decide and refuse)."""
    if path is RemediationPath.A:
        return None
    negative = negative_focal_symbols(ctx.engine, clock=ctx.clock)[1]
    if not negative:
        raise UserInputError(
            "--symbols auto found no symbol with negative focal expectancy over 48 h: name the "
            "symbols with --symbols; nothing was changed"
        )
    return negative


def remediate(
    ctx: AppContext,
    *,
    path: RemediationPath | str,
    reason: str,
    symbols: Sequence[str] | None = None,
    incident_id: int | None = None,
    dry_run: bool = False,
    via: str = "inline",
    strategy: str = DEFAULT_STRATEGY,
    say: Say | None = None,
) -> RemediationResult:
    """Run remediation path A, B or C for `symbols` (None = auto); see the module docstring."""
    began = time.monotonic()
    out = say or (lambda _line: None)
    chosen = RemediationPath.parse(path) if isinstance(path, str) else path
    _validate(reason, via, chosen)
    reason = reason.strip()
    strategy = Strategy.parse(strategy).name
    airflow = None
    if via == "airflow":
        from cvntrade.runbook.airflow_trigger import airflow_binary

        airflow = airflow_binary(ctx.settings.airflow_bin)
    attachment = resolve_attachment(ctx.engine, incident_id, alert=ALERT)
    incident = attachment.incident_id
    wanted = tuple(symbols) if symbols is not None else _auto_symbols(ctx, chosen)
    now = ctx.clock()
    config = read_config(ctx.engine)
    plan = plan_lines(
        chosen,
        wanted or ("auto",),
        via=via,
        reason=reason,
        current_gamma=config.env.get("CVN_FOCAL_GAMMA"),
        eval_start=now - EVAL_WINDOW,
        now=now,
    )
    base = RemediationResult(
        path=chosen.value,
        dry_run=dry_run,
        via=via,
        reason=reason,
        incident_id=incident,
        attachment=attachment.explanation,
        symbols=wanted or (),
        plan=plan,
    )
    if dry_run:
        return replace(base, outcomes=_planned(ctx, chosen, wanted, strategy, reason))
    for line in plan:
        out(f"plan: {line}")
    if chosen is RemediationPath.A:
        rolled = rollback(
            ctx.engine,
            ctx.registry,
            reason=reason,
            actor=ctx.actor,
            symbols=wanted,
            strategy=strategy,
            incident_id=incident,
            clock=ctx.clock,
            progress=out,
        )
        result = replace(
            base, symbols=tuple(s.crypto_symbol for s in rolled.symbols), outcomes=_rolled(rolled)
        )
    elif chosen is RemediationPath.B:
        from cvntrade.runbook.remediate_paths import run_path_b

        result = run_path_b(ctx, base, strategy=strategy, airflow=airflow, say=out)
    else:
        from cvntrade.runbook.remediate_path_c import run_path_c

        result = run_path_c(ctx, base, strategy=strategy, say=out)
    result = replace(result, duration_s=time.monotonic() - began)
    return _record(ctx, result)


def _planned(
    ctx: AppContext,
    path: RemediationPath,
    symbols: Sequence[str] | None,
    strategy: str,
    reason: str,
) -> tuple[SymbolRemediation, ...]:
    """Dry run: what each symbol would start from (read-only)."""
    if path is RemediationPath.A:
        plan = rollback(
            ctx.engine,
            ctx.registry,
            reason=reason,
            actor=ctx.actor,
            symbols=symbols,
            strategy=strategy,
            dry_run=True,
            clock=ctx.clock,
        )
        return tuple(
            SymbolRemediation(
                s.crypto_symbol,
                s.model_name,
                PLANNED,
                f"would {'move champion to' if s.action == MOVE else 'keep'} "
                f"version {s.target_version} ({s.action})",
                s.champion_version,
                s.target_version,
                command=s.command,
            )
            for s in plan.symbols
        )
    from cvntrade.runbook.remediate_paths import focal_version

    now = ctx.clock()
    out = []
    for symbol in symbols or ():
        name = model_name(symbol, strategy)
        try:
            version: int | None = focal_version(ctx, symbol, strategy, now).version
            why = f"would start from focal version {version}"
        except NotFoundError as exc:
            version, why = None, f"would be skipped: {exc}"
        out.append(SymbolRemediation(symbol, name, PLANNED, why, version))
    return tuple(out)


def _rolled(result: RollbackResult) -> tuple[SymbolRemediation, ...]:
    return tuple(
        SymbolRemediation(
            s.crypto_symbol,
            s.model_name,
            ROLLED_BACK if s.action == MOVE else ALREADY_BASELINE,
            (
                f"champion {s.champion_version} ({s.champion_loss}) → {s.target_version} (binary)"
                if s.action == MOVE
                else f"champion {s.champion_version} already {s.champion_loss or 'untagged'}"
            ),
            s.champion_version,
            None,
            s.target_version,
            {"champion": s.champion_version},
            {"champion": s.target_version},
            s.command,
        )
        for s in result.symbols
    )


def summary_line(result: RemediationResult) -> str:
    """One line: path, what happened per symbol (pure)."""
    parts = ", ".join(f"{o.crypto_symbol} {o.action}" for o in result.outcomes) or "no symbol"
    tail = f"; fell back to A: {', '.join(result.fell_back_to_a)}" if result.fell_back_to_a else ""
    return f"path {result.path}: {parts}{tail}"


def _record(ctx: AppContext, result: RemediationResult) -> RemediationResult:
    """The run's audit row and, when attached, the incident note `remediation`."""
    data = result.note_data()
    text = summary_line(result)
    note = record_step(
        ctx.engine,
        result.incident_id,
        AuditEntry(
            at=ctx.clock(),
            actor=ctx.actor,
            action=ACTION,
            target=ALERT_TARGET,
            reason=result.reason,
            after={"summary": text, **data},
        ),
        note=(REMEDIATION_NOTE, text, data),
    )
    return replace(result, note_id=None if note is None else note.id)
