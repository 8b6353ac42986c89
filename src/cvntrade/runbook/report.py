"""Plain-text rendering of runbook results for operators (the CLI prints these lines)."""

from __future__ import annotations

from cvntrade.domain import BASELINE_CONFIG_LOSS
from cvntrade.registry.intents import count_by_state
from cvntrade.runbook.propagation import (
    NO_LIVE_ENGINE,
    NOT_SWITCHED,
    SWITCHED,
    SymbolPropagation,
)
from cvntrade.runbook.rollback import ALREADY_BINARY, MOVE, RollbackResult, SymbolRollback


def _plan_line(item: SymbolRollback) -> str:
    if item.action == MOVE:
        return (
            f"{item.crypto_symbol}: champion {item.champion_version} (focal) → "
            f"{item.target_version} (binary): {item.command}"
        )
    if item.action == ALREADY_BINARY:
        return (
            f"{item.crypto_symbol}: champion already binary "
            f"(version {item.champion_version}): nothing to do"
        )
    return (
        f"{item.crypto_symbol}: champion version {item.champion_version} has no "
        "loss_function tag: left alone"
    )


def _propagation_line(item: SymbolPropagation, wait_limit_s: float) -> str:
    head = f"  {item.crypto_symbol} v{item.expected_version}: "
    engines = ", ".join(
        f"{e.engine_id} serves v{e.model_version}{' (stale)' if e.stale else ''}"
        f"{'' if e.live else ' (silent)'}"
        for e in item.engines
    )
    if item.status == SWITCHED:
        return f"{head}switched after {item.elapsed_s or 0.0:.2f} s ({engines})"
    if item.status == NO_LIVE_ENGINE:
        return f"{head}no live engine serves it{f' ({engines})' if engines else ''}"
    return f"{head}NOT switched within {wait_limit_s:g} s: {engines or 'no heartbeat'}"


def rollback_lines(result: RollbackResult) -> list[str]:
    """What a rollback did (or would do, for a dry run), its propagation and its timing."""
    lines: list[str] = []
    if result.dry_run:
        lines.append("DRY RUN — nothing changed. The plan:")
        if result.config_loss_before == BASELINE_CONFIG_LOSS:
            lines.append(
                f"config: CVN_LOSS_FUNCTION already binary:logistic "
                f"(version {result.config_version_before}): nothing to do"
            )
        else:
            lines.append(
                f"config: CVN_LOSS_FUNCTION {result.config_loss_before} → binary:logistic "
                f"(version {result.config_version_before} → {result.config_version_before + 1})"
            )
        lines += [_plan_line(item) for item in result.symbols]
        if not result.symbols:
            lines.append("no symbol to roll back")
        if result.reconciled:
            lines.append(
                f"alias intents: {len(result.reconciled)} pending (an interrupted move); the "
                "real run reconciles them first (`cvntrade models reconcile`)"
            )
        lines.append(f"incident: {result.attachment}")
        return lines
    if result.reconciled:
        counts = count_by_state(result.reconciled)
        lines.append(
            "alias intents reconciled: "
            + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
            + " (interrupted moves: `done` wrote the missing audit row, `abandoned` never "
            "took effect)"
        )
    propagation = result.propagation
    if propagation is not None and propagation.symbols:
        lines.append(
            f"propagation (engines with a heartbeat within {propagation.heartbeat_max_age_s:g} s):"
        )
        lines += [_propagation_line(s, propagation.wait_limit_s) for s in propagation.symbols]
    timing = result.timing
    verdict = "within" if timing.within_sla else "OUTSIDE"
    lines.append(
        f"elapsed: alias part {timing.alias_part_s:.2f} s + propagation "
        f"{timing.propagation_part_s:.2f} s = {timing.total_s:.2f} s — {verdict} the "
        f"{timing.sla_s:g} s revert SLA (propagation target < {timing.propagation_sla_s:g} s)"
    )
    if not result.changed:
        lines.append("nothing changed: config and champions were already rolled back")
    if propagation is not None and not propagation.complete:
        lagging = ", ".join(propagation.by_status(NOT_SWITCHED))
        lines.append(
            f"NOT SWITCHED IN TIME: {lagging}; the registry and config are rolled back — re-run "
            "the same command to wait again, check the engines (`cvntrade trade status`)"
        )
    lines.append(f"incident: {result.attachment}")
    return lines
