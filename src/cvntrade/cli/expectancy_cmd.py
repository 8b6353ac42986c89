"""`cvntrade expectancy`: the runbook's step-1 query and per-fold analysis."""

from __future__ import annotations

import typer
from rich.table import Table

from cvntrade.cli.common import clock_from, console, fmt_pct, open_engine, print_json, styled

app = typer.Typer(
    help=(
        "Realized net expectancy (mean realized_pnl_pct, percent) per symbol from the trade "
        "journal. Without a sub-command: runbook step 1 over --window."
    ),
    invoke_without_command=True,
)

LOSS_HELP = "Only trades of models trained with this loss (binary|focal|all)."
NOW_HELP = "Evaluate as of this UTC time (ISO-8601) instead of now."


def _loss_filter(loss: str) -> str | None:
    from cvntrade.errors import UserInputError

    if loss not in ("binary", "focal", "all"):
        raise UserInputError(f"invalid --loss {loss!r}: choose binary, focal or all")
    return None if loss == "all" else loss


@app.callback()
def window_cmd(
    ctx: typer.Context,
    window: str = typer.Option("48h", "--window", help="Look-back window, e.g. 48h, 7d, 90m."),
    loss: str = typer.Option("focal", "--loss", help=LOSS_HELP),
    now: str = typer.Option(None, "--now", help=NOW_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Per-symbol expectancy and trade count over the window; negative symbols are flagged.

    Equivalent to runbook step 1 (which keeps only the negative rows). Exit code 0 either way.
    """
    if ctx.invoked_subcommand is not None:
        return
    from cvntrade.journal import expectancy_by_symbol, parse_window

    rows = expectancy_by_symbol(
        open_engine(), window=parse_window(window), loss=_loss_filter(loss), clock=clock_from(now)
    )
    negative = [r.crypto_symbol for r in rows if r.negative]
    if as_json:
        print_json(
            {
                "window": window,
                "loss": loss,
                "symbols": [
                    {
                        "crypto_symbol": r.crypto_symbol,
                        "expectancy_pct": r.expectancy_pct,
                        "n_trades": r.n_trades,
                        "negative": r.negative,
                    }
                    for r in rows
                ],
                "negative_symbols": negative,
            }
        )
        return
    table = Table(title=f"Expectancy over {window} ({loss} models), percent net")
    for column in ("crypto_symbol", "expectancy", "n_trades", "flag"):
        table.add_column(column)
    for r in rows:
        flag = styled("NEGATIVE", "red") if r.negative else ""
        table.add_row(r.crypto_symbol, fmt_pct(r.expectancy_pct), str(r.n_trades), flag)
    console.print(table)
    console.print(f"{len(negative)} negative symbol(s): {', '.join(negative) or 'none'}")


@app.command("folds")
def folds_cmd(
    loss: str = typer.Option("focal", "--loss", help=LOSS_HELP),
    now: str = typer.Option(None, "--now", help=NOW_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Runbook per-fold analysis: exp_7d, exp_48h, exp_14d_baseline and the regime verdict.

    Regime shift when exp_48h < exp_14d_baseline - 0.01 (percent points): roll back.
    """
    from cvntrade.journal import expectancy_folds

    rows = expectancy_folds(open_engine(), loss=_loss_filter(loss), clock=clock_from(now))
    if as_json:
        print_json(
            [
                {
                    "crypto_symbol": r.crypto_symbol,
                    "exp_7d": r.exp_7d,
                    "exp_48h": r.exp_48h,
                    "exp_14d_baseline": r.exp_14d_baseline,
                    "regime_shift": r.regime_shift,
                }
                for r in rows
            ]
        )
        return
    table = Table(title=f"Per-fold expectancy ({loss} models), percent net")
    for column in ("crypto_symbol", "exp_7d", "exp_48h", "exp_14d_baseline", "regime shift"):
        table.add_column(column)
    for r in rows:
        verdict = (
            styled("yes", "red") if r.regime_shift else ("—" if r.regime_shift is None else "no")
        )
        table.add_row(
            r.crypto_symbol,
            fmt_pct(r.exp_7d),
            fmt_pct(r.exp_48h),
            fmt_pct(r.exp_14d_baseline),
            verdict,
        )
    console.print(table)
