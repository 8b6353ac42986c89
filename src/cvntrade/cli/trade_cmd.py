"""`cvntrade trade`, `kill-switch` and `halt`: paper trading and its safety switches."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cvntrade.cli.common import (
    clock_from,
    console,
    default_actor,
    err_console,
    open_engine,
    print_json,
)
from cvntrade.strategy import DEFAULT_STRATEGY, strategy_label

if TYPE_CHECKING:
    from cvntrade.trading.service import EngineSetup

app = typer.Typer(
    help="Paper trading of each symbol's champion model: replay stored bars, or live polling.",
    no_args_is_help=True,
)
kill_switch_app = typer.Typer(
    help="Portfolio kill switch: no new entries; open positions close at the next bar.",
    no_args_is_help=True,
)
halt_app = typer.Typer(
    help="System-wide halt (ADR-71, last resort): all trading stops and refuses to start.",
    no_args_is_help=True,
)

SYMBOLS_HELP = "Comma-separated symbols, e.g. BTCUSDC,ETHUSDC."
DEFAULT_SYMBOLS = "BTCUSDC,ETHUSDC,SOLUSDC,XRPUSDC,ADAUSDC"


def _setup(symbols: str, strategy: str, interval: str, engine_id: str) -> EngineSetup:
    from cvntrade.settings import get_settings
    from cvntrade.strategy import Strategy
    from cvntrade.trading.engine import Costs
    from cvntrade.trading.service import (
        EngineSetup,
        default_registry,
        mlflow_loader,
        parse_symbols,
    )

    settings = get_settings()
    return EngineSetup(
        db=open_engine(),
        registry=default_registry(settings.effective_tracking_uri),
        loader=mlflow_loader(settings.effective_tracking_uri),
        symbols=parse_symbols(symbols),
        strategy=Strategy.parse(strategy),
        interval=interval,
        costs=Costs(settings.fees_pct, settings.slippage_pct),
        poll_s=settings.alias_poll_s,
        engine_id=engine_id,
    )


def _report(report: object, as_json: bool) -> None:
    from cvntrade.trading.engine import EngineReport

    assert isinstance(report, EngineReport)
    if as_json:
        print_json(report)
        return
    console.print(
        f"{report.bars} bars, {report.trades} trades journaled, {report.predictions} predictions"
        + (f"; stopped by {report.stopped_by}" if report.stopped_by else "")
    )
    for symbol, versions in report.versions.items():
        console.print(f"  {symbol}: served version(s) {', '.join(map(str, versions))}")


@app.command("replay")
def replay_cmd(
    symbols: str = typer.Option(DEFAULT_SYMBOLS, "--symbols", help=SYMBOLS_HELP),
    strategy: str = typer.Option(
        DEFAULT_STRATEGY, "--strategy", help="Strategy, e.g. SL0.5_TP1_H4."
    ),
    start: str = typer.Option(..., "--from", help="First bar to trade (UTC, ISO-8601)."),
    end: str = typer.Option(..., "--to", help="Trade bars opening before this time (UTC)."),
    interval: str = typer.Option("1h", "--interval", help="Bar interval of the stored data."),
    rollback_at: str = typer.Option(
        None,
        "--rollback-at",
        help="Rehearse a rollback: at this replay time move every focal champion back to its "
        "previous binary version (audited).",
    ),
    engine_id: str = typer.Option(
        None,
        "--engine-id",
        help="Name in engine_status; a restart with the same id resumes "
        "(default: replay:<strategy>:<from>-<to>).",
    ),
    actor: str = typer.Option(None, "--actor", help="Who (for the audited rehearsal switch)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Replay stored bars through the engine: deterministic, resumable after a crash.

    Writes every closed trade to trade_journal and every prediction to predictions, with the
    version and loss of the champion that made it. Re-running the same range writes nothing twice.
    """
    from cvntrade.clock import parse_utc
    from cvntrade.settings import get_settings
    from cvntrade.trading.service import default_engine_id, rollback_switch, run_replay

    begin, finish = parse_utc(start, field="--from"), parse_utc(end, field="--to")
    setup = _setup(
        symbols,
        strategy,
        interval,
        engine_id or default_engine_id("replay", strategy_label(strategy, interval), begin, finish),
    )
    switch = None
    if rollback_at is not None:
        switch = rollback_switch(
            setup,
            parse_utc(rollback_at, field="--rollback-at"),
            actor=actor or default_actor(),
            reason="replay rollback rehearsal",
        )
    from cvntrade.market import interval_ms

    bar_s = interval_ms(interval) / 1000
    total_bars = int((finish - begin).total_seconds() // bar_s) * len(setup.symbols)
    with Progress(
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as progress:
        task = progress.add_task("replay", total=total_bars)
        report = run_replay(
            setup,
            data_dir=get_settings().home / "data",
            start=begin,
            end=finish,
            switch=switch,
            on_block=lambda done: progress.update(task, completed=done),
        )
    _report(report, as_json)


@app.command("live")
def live_cmd(
    paper: bool = typer.Option(False, "--paper", help="Paper trading (required: no real orders)."),
    exchange: str = typer.Option("binance", "--exchange", help="ccxt exchange id for market data."),
    symbols: str = typer.Option(DEFAULT_SYMBOLS, "--symbols", help=SYMBOLS_HELP),
    strategy: str = typer.Option(
        DEFAULT_STRATEGY, "--strategy", help="Strategy, e.g. SL0.5_TP1_H4."
    ),
    interval: str = typer.Option("1h", "--interval", help="Bar interval to poll."),
    since: str = typer.Option(None, "--since", help="Trade bars from this time (default: now)."),
    poll_s: float = typer.Option(60.0, "--poll-s", min=0.0, help="Seconds between exchange polls."),
    max_polls: int = typer.Option(
        None, "--max-polls", min=1, help="Stop after N polls (default: run until halted)."
    ),
    recorded: Path = typer.Option(
        None,
        "--recorded",
        help="Replay a recorded exchange session (JSON) instead of the network.",
        hidden=True,
    ),
    now: str = typer.Option(
        None, "--now", hidden=True, help="Pretend it is this UTC time (tests, recorded sessions)."
    ),
    engine_id: str = typer.Option(
        None,
        "--engine-id",
        help="Name in engine_status; a restart with the same id resumes "
        "(default: live:<strategy>@<host>).",
    ),
    metrics_port: int = typer.Option(
        None,
        "--metrics-port",
        min=1,
        max=65535,
        help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics while trading.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Paper-trade closed bars polled from an exchange (ccxt, extra `live`) until halted.

    If the model registry becomes unreachable, trading goes on with the last loaded champion,
    reported stale in engine_status, and recovers by itself.
    """
    from cvntrade.clock import parse_utc, utc_now
    from cvntrade.errors import UserInputError
    from cvntrade.market.ccxt_source import RecordedExchange, connect
    from cvntrade.trading.service import default_engine_id, run_live

    if not paper:
        raise UserInputError("only paper trading is supported: pass --paper")
    label = strategy_label(strategy, interval)
    setup = _setup(symbols, strategy, interval, engine_id or default_engine_id("live", label))
    if metrics_port is not None:
        from cvntrade.trading.metrics import serve

        serve(metrics_port)
    feed = RecordedExchange.from_file(recorded) if recorded else connect(exchange)
    clock = clock_from(now)
    report = run_live(
        setup,
        feed,
        since=parse_utc(since, field="--since") if since else utc_now(),
        max_polls=max_polls,
        poll_every_s=poll_s,
        now=clock,
    )
    _report(report, as_json)


@app.command("status")
def status_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Switches (kill switch, halt) and, per engine and symbol, the champion version served."""
    from cvntrade.trading.flags import read_flags
    from cvntrade.trading.persistence import served_versions

    db = open_engine()
    flags, rows = read_flags(db), served_versions(db)
    if as_json:
        print_json({"kill_switch": flags.kill_switch, "halt": flags.halt, "engines": rows})
        return
    on_off = {True: "ON", False: "off"}
    console.print(f"kill switch: {on_off[flags.kill_switch]}   halt: {on_off[flags.halt]}")
    table = Table(title="engine_status")
    for column in ("engine", "symbol", "model", "version", "loss", "stale", "heartbeat (UTC)"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.engine_id,
            r.crypto_symbol,
            r.model_name,
            str(r.model_version),
            r.model_loss_function or "—",
            "yes" if r.stale else "no",
            str(r.heartbeat_at),
        )
    console.print(table)


def _switch(name: str, active: bool, reason: str, actor: str | None, as_json: bool) -> None:
    from cvntrade.trading.flags import set_flag

    change = set_flag(open_engine(), name, active, reason=reason, actor=actor or default_actor())
    if as_json:
        print_json(change)
        return
    state = "ON" if active else "off"
    if change.changed:
        console.print(f"{name} {state} (audited)")
    else:
        console.print(f"{name} already {state}: nothing to do")


REASON = typer.Option(..., "--reason", help="Why (kept in the audit log).")
ACTOR = typer.Option(None, "--actor", help="Who (default: $CVN_ACTOR or login name).")
JSON = typer.Option(False, "--json", help="Print JSON.")


@kill_switch_app.command("on")
def kill_on(reason: str = REASON, actor: str = ACTOR, as_json: bool = JSON) -> None:
    """Stop new entries everywhere; open positions close at the next bar (kill_switch)."""
    _switch("kill_switch", True, reason, actor, as_json)


@kill_switch_app.command("off")
def kill_off(reason: str = REASON, actor: str = ACTOR, as_json: bool = JSON) -> None:
    """Allow new entries again."""
    _switch("kill_switch", False, reason, actor, as_json)


@halt_app.command("on")
def halt_on(reason: str = REASON, actor: str = ACTOR, as_json: bool = JSON) -> None:
    """Stop all trading (ADR-71): positions close at the next bar, engines stop, none may start."""
    _switch("halt", True, reason, actor, as_json)


@halt_app.command("off")
def halt_off(reason: str = REASON, actor: str = ACTOR, as_json: bool = JSON) -> None:
    """Lift the halt: engines may start again."""
    _switch("halt", False, reason, actor, as_json)
