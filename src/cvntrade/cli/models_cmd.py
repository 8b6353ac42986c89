"""`cvntrade models`: the registry commands the runbook writes as `mlflow models …`."""

from __future__ import annotations

import typer
from rich.table import Table

from cvntrade.cli.common import console, default_actor, open_engine, print_json
from cvntrade.registry.client import MlflowRegistry
from cvntrade.registry.records import ModelVersionInfo

app = typer.Typer(
    help=(
        "Model registry (MLflow at MLFLOW_TRACKING_URI, default sqlite under CVN_HOME): "
        "versions with loss_function tags, the champion alias, audited moves."
    ),
    no_args_is_help=True,
)

ORDER_BY = "version_number DESC"


def _registry() -> MlflowRegistry:
    from cvntrade.registry.client import check_sqlite_store
    from cvntrade.settings import get_settings

    settings = get_settings()
    uri = settings.effective_tracking_uri
    if settings.mlflow_tracking_uri:  # set by the user: a typo must not create an empty store
        check_sqlite_store(uri, must_exist=True)  # these commands only use registered models
    return MlflowRegistry(uri)


def _version_json(info: ModelVersionInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "version": info.version,
        "run_id": info.run_id,
        "tags": dict(info.tags),
        "aliases": list(info.aliases),
        "created_at": info.created_at,
    }


def check_order_by(order_by: str, direction: str | None) -> None:
    """Accept `version_number DESC` as one quoted value or as the runbook writes it, unquoted."""
    from cvntrade.errors import UserInputError

    words = order_by.split() + ([] if direction is None else direction.split())
    if " ".join(words).lower() != ORDER_BY.lower():
        raise UserInputError(
            f"unsupported --order-by {' '.join(words)!r}: use --order-by {ORDER_BY} (quoted or not)"
        )


@app.command("list-versions")
def list_versions_cmd(
    name: str = typer.Option(
        ..., "--name", help="Registered model, e.g. CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4."
    ),
    order_by: str = typer.Option(
        ORDER_BY,
        "--order-by",
        help="Only 'version_number DESC' is supported; quoted or not, as the runbook writes it.",
    ),
    direction: str = typer.Argument(
        None,
        metavar="[DESC]",
        help="The direction of --order-by when written unquoted: `--order-by version_number DESC`.",
        show_default=False,
    ),
    max_results: int = typer.Option(5, "--max-results", help="How many versions to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of lines."),
) -> None:
    """List the newest versions, one line each: version, run_id, tags, aliases (runbook step 3A).

    The runbook's command works verbatim with `cvntrade` in place of `mlflow`:
    `cvntrade models list-versions --name N --order-by version_number DESC --max-results 5`.
    """
    from cvntrade.registry import list_versions

    check_order_by(order_by, direction)
    versions = list_versions(_registry(), name, max_results)
    if as_json:
        print_json([_version_json(v) for v in versions])
        return
    for info in versions:
        print(info.runbook_line())


@app.command("set-alias")
def set_alias_cmd(
    name: str = typer.Option(..., "--name", help="Registered model name."),
    alias: str = typer.Option(..., "--alias", help="Alias to move, e.g. champion."),
    version: int = typer.Option(..., "--version", help="Version the alias must point at."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)."),
    actor: str = typer.Option(None, "--actor", help="Who (default: $CVN_ACTOR or login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Point ALIAS at VERSION (runbook step 3B), audited: who, when, old → new, reason.

    Idempotent: when the alias already points there nothing is written. A version that does not
    exist is refused (exit 2).
    """
    from cvntrade.registry import set_alias

    move = set_alias(
        open_engine(),
        _registry(),
        name=name,
        alias=alias,
        version=version,
        reason=reason,
        actor=actor or default_actor(),
    )
    if as_json:
        print_json(
            {
                "name": move.name,
                "alias": move.alias,
                "old_version": move.old_version,
                "new_version": move.new_version,
                "changed": move.changed,
                "reconciled": [r.to_dict() for r in move.reconciled],
            }
        )
        return
    for settled in move.reconciled:
        console.print(f"reconciled first: {settled.describe()}")
    if move.changed:
        console.print(f"{name}@{alias}: {move.old_version} → {move.new_version} (audited)")
    else:
        console.print(f"{name}@{alias} already at version {move.new_version}: nothing to do")


@app.command("reconcile")
def reconcile_cmd(
    name: str = typer.Option(
        None, "--name", help="Only this registered model (default: every model with one pending)."
    ),
    actor: str = typer.Option(None, "--actor", help="Who (default: $CVN_ACTOR or login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the settled intents as JSON."),
) -> None:
    """Settle alias moves an interrupted process left half-done, from what the registry shows.

    Every alias move is recorded as a pending intent before MLflow is touched and confirmed
    (audit row) after. A process killed in between leaves the intent pending: if the registry
    shows the alias at the intended version, the missing `models.set_alias` audit row and
    `alias_events` row are written (intent `done`); otherwise the move never took effect
    (intent `abandoned`, audited as `models.intent_abandoned`). Moves nothing itself. Exit 1
    when an intent stays pending (its model is not in this registry: check MLFLOW_TRACKING_URI).
    """
    from cvntrade.domain import IntentState
    from cvntrade.errors import ExitCode
    from cvntrade.registry import reconcile_intents

    settled = reconcile_intents(
        open_engine(), _registry(), model_name=name, actor=actor or default_actor()
    )
    if as_json:
        print_json({"settled": [s.to_dict() for s in settled]})
    elif not settled:
        console.print("no pending alias intent: nothing to reconcile")
    else:
        for item in settled:
            console.print(item.describe())
    if any(s.state == IntentState.PENDING for s in settled):
        raise typer.Exit(ExitCode.NEGATIVE)


@app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="Registered model name."),
    max_results: int = typer.Option(10, "--max-results", help="How many versions to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show a model: its aliases and newest versions with their tags."""
    from cvntrade.registry import list_versions

    registry = _registry()
    aliases = registry.aliases(name)
    versions = list_versions(registry, name, max_results)
    if as_json:
        print_json(
            {"name": name, "aliases": aliases, "versions": [_version_json(v) for v in versions]}
        )
        return
    table = Table(title=f"{name}  aliases: {aliases or 'none'}")
    for column in ("version", "loss_function", "aliases", "run_id", "created (UTC)"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version),
            v.loss_function or "—",
            ", ".join(v.aliases),
            v.run_id or "—",
            str(v.created_at or "—"),
        )
    console.print(table)


@app.command("previous")
def previous_cmd(
    name: str = typer.Argument(..., help="Registered model name."),
    before: int = typer.Option(
        None, "--before", help="Older than this version (default: the champion)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The rollback target: newest version tagged loss_function=binary older than the champion."""
    from cvntrade.registry import previous_non_focal

    info = previous_non_focal(_registry(), name, before)
    if as_json:
        print_json(_version_json(info))
        return
    print(info.runbook_line())
