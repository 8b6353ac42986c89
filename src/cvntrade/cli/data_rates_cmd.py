"""`cvntrade data label-rates`: the positive label rate of a grid of barriers on stored bars.

Registered on the `data` group by `cli.data_cmd`. Use it to pick a strategy whose barriers fit
the asset before training (training refuses labels that are nearly one class).
"""

from __future__ import annotations

import typer
from rich.table import Table

from cvntrade.cli.common import console, print_json


def _floats(text: str, option: str) -> tuple[float, ...]:
    from cvntrade.errors import UserInputError

    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UserInputError(f"{option}: expected comma-separated numbers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise UserInputError(f"{option}: expected numbers > 0, got {text!r}")
    return values


def label_rates_cmd(
    symbol: str = typer.Argument(..., help="Stored symbol, e.g. BTCUSDC."),
    interval: str = typer.Option("1h", "--interval", help="Bar interval of the stored data."),
    stops: str = typer.Option(
        "0.25,0.5,1,2,4,8", "--stops", help="Stop losses to try, percent, comma-separated."
    ),
    take_ratios: str = typer.Option(
        "1,2", "--take-ratios", help="Take profit as multiples of the stop, comma-separated."
    ),
    horizons: str | None = typer.Option(
        None,
        "--horizons",
        help="Horizons, e.g. H4,H24 or D5,D10 (default: ones that fit the interval).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Positive label rate of every stop / take / horizon of a grid, on the stored bars.

    Rows are those training would use (complete feature window, complete horizon). Training
    refuses a positive rate below 2 % or above 98 % (or fewer than 30 rows of a class); the
    strategies marked `fits` (25-60 %) are good starting points.
    """
    from cvntrade.features.label_rates import (
        MAX_POSITIVE_RATE,
        MIN_CLASS_ROWS,
        MIN_POSITIVE_RATE,
        label_rate_grid,
        strategy_grid,
        suggestions,
    )
    from cvntrade.market import ParquetStore
    from cvntrade.market.store import read_bars
    from cvntrade.settings import get_settings
    from cvntrade.strategy import parse_symbol

    symbol = parse_symbol(symbol)
    store = ParquetStore(get_settings().home / "data")
    grid = strategy_grid(
        interval,
        _floats(stops, "--stops"),
        _floats(take_ratios, "--take-ratios"),
        None if horizons is None else tuple(h.strip() for h in horizons.split(",") if h.strip()),
    )
    bars = read_bars(store, symbol, interval)
    rates = label_rate_grid(bars, interval, grid)
    fits = {r.strategy for r in suggestions(rates, limit=len(rates))}
    rows = [
        {
            "strategy": r.strategy,
            "stop_pct": r.stop_pct,
            "take_pct": r.take_pct,
            "horizon_bars": r.horizon_bars,
            "rows": r.rows,
            "positives": r.positives,
            "positive_rate": None if not r.rows else r.rate,
            "trainable": bool(
                r.rows
                and MIN_POSITIVE_RATE <= r.rate <= MAX_POSITIVE_RATE
                and min(r.positives, r.rows - r.positives) >= MIN_CLASS_ROWS
            ),
            "fits": r.strategy in fits,
        }
        for r in rates
    ]
    if as_json:
        print_json({"symbol": symbol, "interval": interval, "rates": rows})
        return
    table = Table(title=f"{symbol} {interval}: positive label rate per strategy ({len(bars)} bars)")
    for column in ("strategy", "horizon bars", "rows", "positives", "rate", "verdict"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in rows:
        rate = row["positive_rate"]
        verdict = "fits" if row["fits"] else ("ok" if row["trainable"] else "refused")
        table.add_row(
            str(row["strategy"]),
            str(row["horizon_bars"]),
            str(row["rows"]),
            str(row["positives"]),
            "undefined" if rate is None else f"{rate:.1%}",
            verdict,
        )
    console.print(table)
