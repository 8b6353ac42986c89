"""`cvntrade data`: load, inspect and validate the OHLCV bars under CVN_HOME/data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cvntrade.cli.common import console, err_console, line, print_json, styled

if TYPE_CHECKING:
    import pandas as pd

    from cvntrade.market import ParquetStore, ValidatedOhlcv, WriteResult

app = typer.Typer(
    help=(
        "Market data: OHLCV bars per symbol and interval, stored as Parquet under CVN_HOME/data. "
        "Load them with synth (generated market), import-binance (kline CSV files) or fetch "
        "(any ccxt exchange); inspect with list, show and validate."
    ),
    no_args_is_help=True,
)

DEFAULT_SYMBOLS = "BTCUSDC,ETHUSDC,SOLUSDC,XRPUSDC,ADAUSDC"
INTERVAL_HELP = "Bar interval (Binance names: 1m, 5m, 15m, 1h, 4h, 1d, ...)."
MAX_GAP_HELP = "Largest run of missing bars accepted (reported); longer gaps are errors."
FILL_HELP = "Forward-fill accepted gaps with flat, zero-volume bars flagged filled=True."
JSON_HELP = "Print JSON instead of tables."


def _store() -> ParquetStore:
    from cvntrade.market import ParquetStore
    from cvntrade.settings import get_settings

    return ParquetStore(get_settings().home / "data")


def _time(text: str, option: str) -> pd.Timestamp:
    import pandas as pd

    from cvntrade.clock import parse_utc

    return pd.Timestamp(parse_utc(text, field=option))


@contextmanager
def _progress(description: str, total: int) -> Iterator[Any]:
    """A Rich progress bar on stderr (stdout stays clean for --json); yields an advance().

    Only on a terminal: piped or captured, Rich ends even a transient bar with an empty line,
    which put a blank line before every one-line error of `data import-binance` / `synth`.
    """
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=err_console, transient=True, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(label: str = "") -> None:
            progress.update(task, advance=1, description=f"{description} {label}".rstrip())

        yield advance


def _write_row(write: WriteResult) -> dict[str, Any]:
    return {
        "symbol": write.symbol,
        "interval": write.interval,
        "rows": write.rows,
        "added": write.added,
        "replaced": write.replaced,
        "unchanged": write.unchanged,
    }


def _print_writes(rows: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    columns = [c for c in rows[0] if c != "path"] if rows else []
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    console.print(table)


@app.command("synth")
def synth_cmd(
    symbols: str = typer.Option(DEFAULT_SYMBOLS, "--symbols", help="Comma-separated symbols."),
    start: str = typer.Option("2024-01-01", "--start", help="First bar open time (UTC, ISO)."),
    end: str = typer.Option("2026-01-01", "--end", help="End of the range, exclusive (UTC, ISO)."),
    interval: str = typer.Option("1h", "--interval", help=INTERVAL_HELP),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same bars."),
    regime_shift_at: str = typer.Option(
        None,
        "--regime-shift-at",
        help="UTC time at which the learnable momentum signal inverts (none if omitted).",
    ),
    signal_strength: float = typer.Option(
        1.0,
        "--signal-strength",
        help="Scale of the learnable momentum signal (1: documented market; up to 2.2).",
    ),
    session: str = typer.Option(
        "always",
        "--session",
        help="always (crypto: 24/7) or weekdays (FX-like: closed Fri 22:00 - Sun 22:00 UTC, "
        "a 48 h gap every week).",
    ),
    replace: bool = typer.Option(False, "--replace", help="Delete the stored series first."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Generate a correlated, regime-switching market (see docs/market.md) and store it.

    Regimes: trend, mean-revert, choppy-volatile; per-symbol volatility like the real majors;
    symbols correlated through a market factor. Before --regime-shift-at, past 4-bar returns
    predict the next ones (momentum); after it the sign flips and choppy regimes dominate.
    """
    from cvntrade.market import generate_market, validate_ohlcv
    from cvntrade.strategy import parse_symbol

    names = [parse_symbol(s.strip()) for s in symbols.split(",") if s.strip()]
    shift = _time(regime_shift_at, "--regime-shift-at") if regime_shift_at else None
    market = generate_market(
        names,
        _time(start, "--start"),
        _time(end, "--end"),
        interval=interval,
        seed=seed,
        regime_shift_at=shift,
        signal_strength=signal_strength,
        session=session,
    )
    meta = {
        "session": session,
        "generator": "regime-switching-v1",
        "seed": seed,
        "signal_strength": signal_strength,
        "start": start,
        "end": end,
        "regime_shift_at": None if shift is None else shift.isoformat(),
        "regimes": market.regime_segments(),
    }
    store = _store()
    rows = []
    with _progress("storing", len(names)) as advance:
        for name in names:
            checked = validate_ohlcv(
                market.frames[name],
                source=f"synthetic {name}",
                interval=interval,
                max_gap_bars=len(market.timestamps),  # session closures are wanted gaps
            )
            if replace:
                store.delete(name, interval)
            write = store.write(name, interval, checked.frame, source="synthetic", meta=meta)
            rows.append(_write_row(write))
            advance(name)
    if as_json:
        print_json({"seed": seed, "regime_shift_at": meta["regime_shift_at"], "series": rows})
        return
    _print_writes(rows, f"synthetic market, seed {seed}, stored under {store.root}")


@app.command("import-binance")
def import_binance_cmd(
    files: list[Path] = typer.Argument(
        ..., help="Binance spot kline files (.csv or .zip), e.g. BTCUSDC-1h-2024-01.csv."
    ),
    symbol: str = typer.Option(None, "--symbol", help="Symbol, instead of the file name's."),
    interval: str = typer.Option(None, "--interval", help="Interval, instead of the file name's."),
    max_gap: int = typer.Option(3, "--max-gap", min=0, help=MAX_GAP_HELP),
    fill_gaps: bool = typer.Option(False, "--fill-gaps", help=FILL_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Validate every file, then store them all; a bad file stores nothing at all (exit 2).

    Accepts files with or without the header row, and millisecond or microsecond timestamps
    (Binance switched to microseconds in 2025).
    """
    from cvntrade.market import import_kline_files

    with _progress("importing", 2 * len(files)) as advance:
        results = import_kline_files(
            _store(),
            files,
            symbol=symbol,
            interval=interval,
            max_gap_bars=max_gap,
            fill_gaps=fill_gaps,
            on_file=lambda path: advance(path.name),
        )
    rows = [
        {"path": str(r.path), **_write_row(r.write), "gaps": r.gaps, "filled_bars": r.filled_bars}
        for r in results
    ]
    if as_json:
        print_json(rows)
        return
    _print_writes(rows, "imported Binance kline files")


@app.command("fetch")
def fetch_cmd(
    exchange: str = typer.Option("binance", "--exchange", help="ccxt exchange id."),
    symbol: str = typer.Option(..., "--symbol", help="Spot market, e.g. BTC/USDC."),
    since: str = typer.Option(..., "--since", help="First bar open time (UTC, ISO)."),
    until: str = typer.Option(None, "--until", help="End, exclusive (UTC, ISO; default now)."),
    interval: str = typer.Option("1h", "--interval", help=INTERVAL_HELP),
    max_gap: int = typer.Option(3, "--max-gap", min=0, help=MAX_GAP_HELP),
    fill_gaps: bool = typer.Option(False, "--fill-gaps", help=FILL_HELP),
    replay: Path = typer.Option(
        None,
        "--replay",
        hidden=True,
        help="Replay recorded exchange responses (tests, offline demos).",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Download closed bars from an exchange with ccxt (extra `live`), validate, then store.

    Public endpoints only, rate-limited. The bar still in progress is never stored.
    """
    from cvntrade.clock import utc_now
    from cvntrade.market import RecordedExchange, fetch_bars, store_symbol
    from cvntrade.market.ccxt_source import connect

    name = store_symbol(symbol)
    end = _time(until, "--until") if until else _time(utc_now().isoformat(), "now")
    client = RecordedExchange.from_file(replay) if replay else connect(exchange)
    with Progress(TextColumn("{task.description}"), console=err_console, transient=True) as bar:
        task = bar.add_task(f"fetching {symbol} from {exchange}")
        fetched = [0]

        def on_page(count: int) -> None:
            fetched[0] += count
            bar.update(task, description=f"fetching {symbol} from {exchange}: {fetched[0]} bars")

        frame = fetch_bars(
            client,
            symbol,
            interval=interval,
            since=_time(since, "--since"),
            until=end,
            on_page=on_page,
        )
    checked = _checked(frame, f"{exchange} {symbol}", interval, max_gap, fill_gaps)
    write = _store().write(
        name,
        interval,
        checked.frame,
        source=f"ccxt:{exchange}",
        meta={"exchange": exchange, "market": symbol},
    )
    row = _write_row(write) | {"gaps": len(checked.gaps), "filled_bars": checked.filled_bars}
    if as_json:
        print_json(row)
        return
    _print_writes([row], f"fetched from {exchange}")


def _checked(
    frame: pd.DataFrame, source: str, interval: str, max_gap: int, fill_gaps: bool
) -> ValidatedOhlcv:
    from cvntrade.errors import UserInputError
    from cvntrade.market import validate_ohlcv

    if frame.empty:
        raise UserInputError(f"{source}: the exchange returned no closed bars in that range")
    return validate_ohlcv(
        frame, source=source, interval=interval, max_gap_bars=max_gap, fill_gaps=fill_gaps
    )


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Every stored series: symbol, interval, bar count, first and last bar, source."""
    store = _store()
    infos = store.datasets()
    rows = [
        {
            "symbol": i.symbol,
            "interval": i.interval,
            "rows": i.rows,
            "first": None if i.first is None else i.first.isoformat(),
            "last": None if i.last is None else i.last.isoformat(),
            "source": i.source,
        }
        for i in infos
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        for key in ("first", "last"):
            row[key] = str(row[key])[:16].replace("T", " ")
    if not rows:
        console.print(f"no market data under {store.root} (try `cvntrade data synth`)")
        return
    _print_writes(rows, f"market data under {store.root} (times UTC, bar open)")


@app.command("show")
def show_cmd(
    symbol: str = typer.Argument(..., help="Stored symbol, e.g. BTCUSDC."),
    interval: str = typer.Option("1h", "--interval", help=INTERVAL_HELP),
    start: str = typer.Option(None, "--start", help="From this bar open time (UTC, ISO)."),
    end: str = typer.Option(None, "--end", help="Up to this time, exclusive (UTC, ISO)."),
    rows: int = typer.Option(5, "--rows", min=0, help="Bars to print from each end."),
    plot: Path = typer.Option(
        None, "--plot", help="Write a PNG: price, momentum-signal strength, regime shift."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Summary and first/last bars of one series; optionally a plot showing its regime shift."""
    import pandas as pd

    from cvntrade.errors import NotFoundError, UserInputError
    from cvntrade.market import interval_ms
    from cvntrade.market.store import missing_bars_message

    store = _store()
    try:
        frame = store.read(
            symbol,
            interval,
            _time(start, "--start") if start else None,
            _time(end, "--end") if end else None,
        )
    except NotFoundError:
        raise UserInputError(missing_bars_message(store, symbol, interval)) from None
    meta = store.metadata(symbol, interval)
    shift = meta.get("regime_shift_at")
    summary = {
        "symbol": symbol,
        "interval": interval,
        "rows": len(frame),
        "first": str(frame["timestamp"].iloc[0]) if len(frame) else None,
        "last": str(frame["timestamp"].iloc[-1]) if len(frame) else None,
        "source": meta.get("source"),
        "regime_shift_at": shift,
        "filled_bars": int(frame["filled"].sum()),
    }
    if plot is not None:
        from cvntrade.market.plot import plot_series

        if frame.empty:
            raise UserInputError(f"no {symbol} {interval} bars in that range to plot")
        plot_series(
            frame,
            plot,
            title=f"{symbol} {interval} ({summary['source']})",
            bar_hours=interval_ms(interval) / 3_600_000,
            regime_shift_at=pd.Timestamp(shift) if shift else None,
        )
        summary["plot"] = str(plot)
    edges = pd.concat([frame.head(rows), frame.tail(rows)]).drop_duplicates("timestamp")
    if as_json:
        records = edges.assign(timestamp=edges["timestamp"].astype(str)).to_dict("records")
        print_json(summary | {"bars": records})
        return
    table = Table(title=f"{symbol} {interval}: {len(frame)} bars, source {summary['source']}")
    for column in edges.columns:
        table.add_column(str(column), no_wrap=column == "timestamp")
    for record in edges.itertuples(index=False):
        table.add_row(*(_cell(v) for v in record))
    console.print(table)
    if shift:
        console.print(f"regime shift at {shift} UTC")
    if plot is not None:
        console.print(f"plot written to {plot}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.7g}"
    text = str(value)
    return text[:16] if len(text) == 19 and text[10] == " " else text  # times to the minute


def _tolerated_gap(store: ParquetStore, symbol: str, interval: str, max_gap: int) -> int:
    """--max-gap, widened to the weekly closure for series generated with `--session weekdays`
    (their weekend gaps are the point, not a defect)."""
    from cvntrade.market import interval_ms

    if store.metadata(symbol, interval).get("session") != "weekdays" or interval == "1M":
        return max_gap
    return max(max_gap, 2 * 86_400_000 // interval_ms(interval))


def _merged_results(klines: list[Any], max_gap: int) -> list[dict[str, Any]]:
    """One result per symbol and interval given in two or more files: the merged series."""
    from cvntrade.errors import CvnError
    from cvntrade.market.binance import merge_files

    groups: dict[tuple[str, str], list[Any]] = {}
    for kline in klines:
        groups.setdefault((kline.symbol, kline.interval), []).append(kline)
    results: list[dict[str, Any]] = []
    for (symbol, interval), members in groups.items():
        if len(members) < 2:
            continue
        target = f"{symbol} {interval} ({len(members)} files merged)"
        try:
            shares = merge_files(members, max_gap_bars=max_gap, fill_gaps=False)
            results.append(
                {
                    "target": target,
                    "ok": True,
                    "rows": sum(len(b.frame) for b in shares),
                    "gaps": sum(len(b.gaps) for b in shares),
                    "problem": None,
                }
            )
        except CvnError as exc:
            results.append({"target": target, "ok": False, "problem": str(exc)})
    return results


@app.command("validate")
def validate_cmd(
    symbols: list[str] = typer.Argument(None, help="Stored symbols to check (default: all)."),
    files: list[Path] = typer.Option(
        None, "--file", help="Check a Binance kline file without storing it (repeatable)."
    ),
    max_gap: int = typer.Option(3, "--max-gap", min=0, help=MAX_GAP_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Re-check stored series (or kline files) against every schema rule; exit 2 on a problem.

    Gaps within --max-gap are listed but pass. Problems name the series or file and the rows.
    Several files of one symbol and interval are also checked as one merged series, so a
    missing month between monthly files is a gap like any other.
    """
    from cvntrade.errors import CvnError, UserInputError
    from cvntrade.market import read_kline_file, validate_ohlcv

    results: list[dict[str, Any]] = []
    klines = []
    for path in files or []:
        try:
            kline = read_kline_file(path, max_gap_bars=max_gap)
            klines.append(kline)
            results.append(
                {
                    "target": str(path),
                    "ok": True,
                    "rows": len(kline.bars.frame),
                    "gaps": len(kline.bars.gaps),
                    "problem": None,
                }
            )
        except CvnError as exc:
            results.append({"target": str(path), "ok": False, "problem": str(exc)})
    results += _merged_results(klines, max_gap)
    store = _store()
    wanted = set(symbols or [])
    infos = [i for i in store.datasets() if not wanted or i.symbol in wanted]
    missing = wanted - {i.symbol for i in infos}
    if missing:
        raise UserInputError(f"no stored series for {', '.join(sorted(missing))}")
    if not files and not infos:
        raise UserInputError(f"nothing to validate: no market data under {store.root}")
    for info in infos:
        target = f"{info.symbol} {info.interval}"
        try:
            checked = validate_ohlcv(
                store.read(info.symbol, info.interval),
                source=target,
                interval=info.interval,
                max_gap_bars=_tolerated_gap(store, info.symbol, info.interval, max_gap),
            )
            results.append(
                {
                    "target": target,
                    "ok": True,
                    "rows": info.rows,
                    "gaps": len(checked.gaps),
                    "problem": None,
                }
            )
        except CvnError as exc:
            results.append({"target": target, "ok": False, "problem": str(exc)})
    failed = [r for r in results if not r["ok"]]
    if as_json:
        print_json(results)
    else:
        for r in results:
            status = styled("ok", "green") if r["ok"] else styled("INVALID", "red")
            detail = f"{r['rows']} bars, {r['gaps']} gap(s)" if r["ok"] else r["problem"]
            console.print(line(status, f" {r['target']}: {detail}"))
    if failed:
        raise UserInputError(
            f"{len(failed)} of {len(results)} invalid: "
            + "; ".join(str(r["problem"]) for r in failed)
        )


def _register_label_rates() -> None:
    from cvntrade.cli.data_rates_cmd import label_rates_cmd

    app.command("label-rates")(label_rates_cmd)


_register_label_rates()
