"""`cvntrade journal`: bulk import of trades."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from cvntrade.cli.common import console, default_actor, open_engine, print_json

app = typer.Typer(help="The trade journal: import trades from CSV/Parquet.", no_args_is_help=True)


@app.command("import")
def import_cmd(
    files: list[Path] = typer.Argument(
        ..., help="CSV or Parquet files with trade_journal columns."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Import trades: streamed, validated, and visible all at once or not at all.

    Files of any size are read in chunks; a bad row anywhere (named with its file and row,
    exit 2), a conflict with a parallel import (exit 3) or a crash leaves nothing in the
    journal. Other writers (config set, engines) are not held up while it runs.

    Required columns: trade_id, crypto_symbol, strategy, model_name, model_version,
    model_loss_function (binary|focal), entry_time, exit_time (UTC), entry_price, exit_price,
    exit_reason, fees_pct, realized_pnl_pct (percent, net); optional: side, probability.
    Re-importing is a no-op; a known trade_id with different values is an error (exit 2).
    """
    from cvntrade.journal import import_trades

    results = import_trades(open_engine(), files, actor=default_actor())
    if as_json:
        print_json([dataclasses.asdict(r) | {"path": str(r.path)} for r in results])
        return
    for r in results:
        console.print(
            f"{r.path}: {r.rows} rows, {r.inserted} inserted, {r.skipped_existing} already present"
        )
