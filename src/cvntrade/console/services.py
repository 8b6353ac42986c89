"""What the console's API and pages both call: the existing services, returned as typed models.

No business rule lives here: config changes go through `cvntrade.config.set_config`, champion
moves through `cvntrade.registry.previous_non_focal` + `set_alias` (the same audit row as
`cvntrade models set-alias`), switches through `cvntrade.trading.flags.set_flag`.
"""

from __future__ import annotations

import datetime as dt

from cvntrade.app import AppContext
from cvntrade.audit import AuditEntry
from cvntrade.config import CONFIG_KEYS, config_history, read_config, set_config
from cvntrade.config.keys import CALIBRATIONS, LOSS_FUNCTIONS
from cvntrade.console.schemas import (
    AliasMoveOut,
    ConfigChangeOut,
    ConfigKeyOut,
    ConfigOut,
    ExpectancyOut,
    FlagChangeOut,
    FlagsOut,
    HistoryOut,
    IncidentOut,
    JournalOut,
    ModelOut,
    TradeOut,
    VersionOut,
)
from cvntrade.errors import CvnError, UserInputError
from cvntrade.strategy import DEFAULT_STRATEGY, DEFAULT_SYMBOLS, Strategy, model_name, parse_symbol

CHOICES: dict[str, tuple[str, ...]] = {
    "CVN_LOSS_FUNCTION": LOSS_FUNCTIONS,
    "CVN_CALIBRATION": CALIBRATIONS,
}
WINDOWS = {"48h": dt.timedelta(hours=48), "7d": dt.timedelta(days=7), "14d": dt.timedelta(days=14)}


def config_view(ctx: AppContext) -> ConfigOut:
    """Every known key with its type, allowed values and current value, plus the version."""
    snapshot = read_config(ctx.engine)
    keys = [
        ConfigKeyOut(
            name=key.name,
            description=key.description,
            type="choice" if key.name in CHOICES else "number",
            allowed=list(CHOICES.get(key.name, ())),
            value=snapshot.env.get(key.name),
        )
        for key in CONFIG_KEYS.values()
    ]
    return ConfigOut(version=snapshot.version, updated_at=snapshot.updated_at, keys=keys)


def history_view(ctx: AppContext, limit: int = 20) -> list[HistoryOut]:
    """Past config changes, newest first, with diffs."""
    return [
        HistoryOut(
            version=h.version,
            changed_at=h.changed_at,
            actor=h.actor,
            reason=h.reason,
            diff={k: [old, new] for k, (old, new) in h.diff.items()},
        )
        for h in config_history(ctx.engine, limit=limit)
    ]


def change_config(
    ctx: AppContext, changes: dict[str, str], *, reason: str, expect_version: int | None
) -> ConfigChangeOut:
    """Apply several keys atomically as the context's actor (`ConflictError` when stale)."""
    change = set_config(
        ctx.engine,
        changes,
        reason=reason,
        actor=ctx.actor,
        expect_version=expect_version,
        clock=ctx.clock,
    )
    return ConfigChangeOut(
        version_before=change.before.version,
        version_after=change.after.version,
        changed_keys=list(change.changed_keys),
        actor=change.actor,
        reason=change.reason,
    )


def model_view(ctx: AppContext, symbol: str, strategy: str = DEFAULT_STRATEGY) -> ModelOut:
    """One symbol's model: champion, previous binary version and the newest versions."""
    from cvntrade.registry import list_versions, previous_non_focal

    name = model_name(parse_symbol(symbol), strategy)
    try:
        versions = list_versions(ctx.registry, name, 10)
        champion = ctx.registry.aliases(name).get("champion")
    except CvnError as exc:
        return ModelOut(crypto_symbol=symbol, model_name=name, registered=False, problem=str(exc))
    by_number = {v.version: v for v in versions}
    previous: int | None = None
    problem: str | None = None
    if champion is not None:
        try:
            previous = previous_non_focal(ctx.registry, name, champion).version
        except CvnError as exc:
            problem = str(exc)
    champion_info = by_number.get(champion) if champion is not None else None
    return ModelOut(
        crypto_symbol=symbol,
        model_name=name,
        registered=True,
        champion=champion,
        champion_loss=champion_info.loss_function if champion_info else None,
        previous_binary=previous,
        versions=[
            VersionOut(
                version=v.version,
                loss_function=v.loss_function,
                aliases=list(v.aliases),
                run_id=v.run_id,
            )
            for v in versions
        ],
        problem=problem,
    )


def models_view(ctx: AppContext, symbols: tuple[str, ...] = DEFAULT_SYMBOLS) -> list[ModelOut]:
    """Every default symbol's model (unregistered ones say so)."""
    return [model_view(ctx, symbol) for symbol in symbols]


def rollback_champion(
    ctx: AppContext, symbol: str, *, reason: str, strategy: str = DEFAULT_STRATEGY
) -> AliasMoveOut:
    """Point `champion` at the previous binary version: the audited `models.set_alias` move."""
    from cvntrade.registry import CHAMPION, champion_of, previous_non_focal, set_alias

    if not reason.strip():
        raise UserInputError("reason: a non-empty reason is required to roll back a champion")
    name = model_name(parse_symbol(symbol), Strategy.parse(strategy).name)
    champion = champion_of(ctx.registry, name)
    target = previous_non_focal(ctx.registry, name, champion.version)
    move = set_alias(
        ctx.engine,
        ctx.registry,
        name=name,
        alias=CHAMPION,
        version=target.version,
        reason=reason,
        actor=ctx.actor,
        clock=ctx.clock,
    )
    return AliasMoveOut(
        model_name=name,
        alias=CHAMPION,
        old_version=move.old_version,
        new_version=move.new_version,
        changed=move.changed,
        command=move.command_line(),
    )


def expectancy_view(ctx: AppContext) -> list[ExpectancyOut]:
    """Per-crypto expectancy 48 h / 7 d / 14 d (all losses) with the runbook's verdicts."""
    from cvntrade.journal.browse import expectancy_windows
    from cvntrade.journal.expectancy import expectancy_folds

    windows = expectancy_windows(ctx.engine, WINDOWS, clock=ctx.clock)
    folds = {f.crypto_symbol: f for f in expectancy_folds(ctx.engine, loss=None, clock=ctx.clock)}
    rows = []
    for symbol, per in windows.items():
        fold = folds.get(symbol)
        exp_48h = per["48h"].expectancy_pct
        rows.append(
            ExpectancyOut(
                crypto_symbol=symbol,
                exp_48h=exp_48h,
                n_48h=per["48h"].n_trades,
                exp_7d=per["7d"].expectancy_pct,
                n_7d=per["7d"].n_trades,
                exp_14d=per["14d"].expectancy_pct,
                n_14d=per["14d"].n_trades,
                negative_48h=exp_48h is not None and exp_48h < 0,
                regime_shift=fold.regime_shift if fold else None,
            )
        )
    return rows


def journal_view(
    ctx: AppContext,
    *,
    symbol: str | None = None,
    loss: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> JournalOut:
    """One page of the per-crypto trade journal, newest first."""
    from dataclasses import asdict

    from cvntrade.journal.browse import JournalFilter, journal_page

    page = journal_page(
        ctx.engine, JournalFilter(symbol or None, loss or None), limit=limit, offset=offset
    )
    return JournalOut(
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        trades=[TradeOut(**asdict(t)) for t in page.trades],
    )


def flags_view(ctx: AppContext) -> FlagsOut:
    """The kill switch and halt states."""
    from cvntrade.trading.flags import read_flags

    flags = read_flags(ctx.engine)
    return FlagsOut(kill_switch=flags.kill_switch, halt=flags.halt)


def switch_flag(
    ctx: AppContext, name: str, active: bool, *, reason: str, confirm: str
) -> FlagChangeOut:
    """Switch `kill_switch` or `halt` after a typed confirmation (the switch's own name)."""
    from cvntrade.trading.flags import FLAG_NAMES, set_flag

    if name not in FLAG_NAMES:
        raise UserInputError(f"name: unknown switch {name!r}: use {' or '.join(FLAG_NAMES)}")
    if confirm.strip() != name:
        raise UserInputError(f"confirm: type {name!r} to confirm switching {name}")
    change = set_flag(ctx.engine, name, active, reason=reason, actor=ctx.actor, clock=ctx.clock)
    return FlagChangeOut(
        name=change.name, before=change.before, after=change.after, changed=change.changed
    )


def incidents_view(ctx: AppContext, limit: int = 50) -> list[IncidentOut]:
    """Incidents, newest first."""
    from dataclasses import asdict

    from cvntrade.runbook.incidents import list_incidents

    return [IncidentOut(**asdict(i)) for i in list_incidents(ctx.engine, limit=limit)]


def recent_changes(ctx: AppContext, actions: tuple[str, ...], limit: int = 10) -> list[AuditEntry]:
    """The newest audited changes of these actions: who, when, why, before → after."""
    from cvntrade.audit import read_audit

    rows = [row for action in actions for row in read_audit(ctx.engine, action=action, limit=limit)]
    return sorted(rows, key=lambda row: row.id or 0, reverse=True)[:limit]
