"""`cvntrade trade`, `kill-switch` and `halt`: paper trading and its safety switches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cvntrade.cli.backtest_cmd import runs_app
from cvntrade.cli.common import (
    clock_from,
    console,
    default_actor,
    err_console,
    open_engine,
    print_json,
    styled,
)
from cvntrade.strategy import DEFAULT_STRATEGY, strategy_label

if TYPE_CHECKING:
    from cvntrade.trading.service import EngineSetup

app = typer.Typer(
    help="Paper trading of each symbol's champion model (stored bars or live polling), and "
    "backtests stored apart from production.",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")
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
        f"{report.bars} bars, {report.trades} trades journaled, {report.predictions} "
        "predictions written" + (f"; stopped by {report.stopped_by}" if report.stopped_by else "")
    )
    if report.skipped:
        console.print(
            styled(
                f"{report.skipped} trades/predictions were already stored (written by an "
                "earlier run) and were not written again",
                "yellow",
            )
        )
    for symbol, versions in report.versions.items():
        console.print(f"  {symbol}: served version(s) {', '.join(map(str, versions))}")


STRATEGY_OPTION = typer.Option(DEFAULT_STRATEGY, "--strategy", help="Strategy, e.g. SL0.5_TP1_H4.")
FROM_OPTION = typer.Option(..., "--from", help="First bar to trade (UTC, ISO-8601).")
TO_OPTION = typer.Option(..., "--to", help="Trade bars opening before this time (UTC).")
INTERVAL_OPTION = typer.Option("1h", "--interval", help="Bar interval of the stored data.")


def _progress(label: str, disable: bool) -> Progress:
    """A transient bar on a terminal's stderr; nothing when piped (Rich would leave a blank
    line there, before the one-line error of a failed replay)."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=disable or not err_console.is_terminal,
    )


def _bars_between(setup: EngineSetup, begin: dt.datetime, finish: dt.datetime) -> int:
    from cvntrade.market.schema import interval_ms

    span_ms = (finish - begin).total_seconds() * 1000
    return int(span_ms // interval_ms(setup.interval)) * len(setup.symbols)


@app.command("replay")
def replay_cmd(
    symbols: str = typer.Option(DEFAULT_SYMBOLS, "--symbols", help=SYMBOLS_HELP),
    strategy: str = STRATEGY_OPTION,
    start: str = FROM_OPTION,
    end: str = TO_OPTION,
    interval: str = INTERVAL_OPTION,
    into_journal: bool = typer.Option(
        False,
        "--into-journal",
        help="Drills and rehearsals only: also write the trades into trade_journal, labelled "
        "source='drill' (the alert, expectancy and the runbook will read them).",
    ),
    actor: str = typer.Option(None, "--actor", help="Who ran it (default: $CVN_ACTOR or login)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run and its summary as JSON."),
) -> None:
    """Backtest each symbol's champion on stored bars: a new run, stored apart from production.

    Every call records a new run (`cvntrade trade runs list`) whose trades and predictions go to
    backtest_trades / backtest_predictions, never to trade_journal / predictions (unless
    --into-journal). Ends with a summary and warns when the period overlaps the training window
    of a version it used (in-sample results). Kill switch and halt do not apply to backtests.
    """
    from cvntrade.clock import parse_utc
    from cvntrade.settings import get_settings
    from cvntrade.trading.backtest import training_window
    from cvntrade.trading.service import run_backtest

    begin, finish = parse_utc(start, field="--from"), parse_utc(end, field="--to")
    setup = _setup(symbols, strategy, interval, "backtest")
    uri = get_settings().effective_tracking_uri
    with _progress("backtest", as_json) as progress:
        task = progress.add_task("backtest", total=_bars_between(setup, begin, finish))
        result = run_backtest(
            setup,
            data_dir=get_settings().home / "data",
            start=begin,
            end=finish,
            actor=actor or default_actor(),
            into_journal=into_journal,
            training_window=lambda name, version: training_window(uri, name, version),
            on_block=lambda done: progress.update(task, completed=done),
        )
    from cvntrade.cli.backtest_cmd import print_run

    print_run(result.run, as_json)


@app.command("paper")
def paper_cmd(
    symbols: str = typer.Option(DEFAULT_SYMBOLS, "--symbols", help=SYMBOLS_HELP),
    strategy: str = STRATEGY_OPTION,
    start: str = FROM_OPTION,
    end: str = TO_OPTION,
    interval: str = INTERVAL_OPTION,
    rollback_at: str = typer.Option(
        None,
        "--rollback-at",
        help="Rehearse a rollback: at this bar time move every focal champion back to its "
        "previous binary version (audited, a real alias move).",
    ),
    engine_id: str = typer.Option(
        None,
        "--engine-id",
        help="Name in engine_status; a restart with the same id resumes after its checkpoint "
        "(default: paper:<strategy>@<host>).",
    ),
    actor: str = typer.Option(None, "--actor", help="Who (for the audited rehearsal switch)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Production paper engine fed by stored bars at full speed (demo, drills, rehearsals).

    Writes trade_journal (source='engine'), predictions and engine_status heartbeats, exactly
    like `trade live --paper`; resumes after a crash; refuses (exit 2) a range this engine id
    already traded. Counts are rows written. For a what-if run use `trade replay` instead.
    """
    from cvntrade.clock import parse_utc
    from cvntrade.settings import get_settings
    from cvntrade.trading.service import default_engine_id, rollback_switch, run_paper

    begin, finish = parse_utc(start, field="--from"), parse_utc(end, field="--to")
    setup = _setup(
        symbols,
        strategy,
        interval,
        engine_id or default_engine_id("paper", strategy_label(strategy, interval)),
    )
    switch = None
    if rollback_at is not None:
        switch = rollback_switch(
            setup,
            parse_utc(rollback_at, field="--rollback-at"),
            actor=actor or default_actor(),
            reason="paper engine rollback rehearsal",
        )
    with _progress("paper", as_json) as progress:
        task = progress.add_task("paper", total=_bars_between(setup, begin, finish))
        report = run_paper(
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
        import dataclasses

        from cvntrade.trading.metrics import EngineMetrics

        metrics = EngineMetrics()
        metrics.serve(metrics_port)
        setup = dataclasses.replace(setup, metrics=metrics)
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


@app.command("serve")
def serve_cmd(
    symbols: str = typer.Option(DEFAULT_SYMBOLS, "--symbols", help=SYMBOLS_HELP),
    strategy: str = STRATEGY_OPTION,
    interval: str = INTERVAL_OPTION,
    since: str = typer.Option(
        None,
        "--since",
        help="Where a new engine starts (UTC; default: now, i.e. only bars that close from "
        "now on). An engine with a checkpoint always resumes right after it.",
    ),
    poll_s: float = typer.Option(
        60.0, "--poll-s", min=0.05, help="Seconds between two looks at the market store."
    ),
    bars_per_poll: int = typer.Option(
        None,
        "--bars-per-poll",
        min=1,
        help="Catch up at most N bars per symbol per poll (default: every tradable bar).",
    ),
    engine_id: str = typer.Option(
        None,
        "--engine-id",
        help="Name in engine_status; a restart with the same id resumes after its checkpoint "
        "(default: serve:<strategy>@<host>).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the final report as JSON."),
) -> None:
    """Production paper engine as a service on the market store, until SIGTERM, Ctrl-C or halt.

    Trades the stored bars of CVN_HOME/data as they become tradable (closed, after its
    checkpoint), then looks again every --poll-s seconds; works offline. Writes trade_journal
    (source='engine'), predictions and engine_status heartbeats like `trade paper`. SIGTERM or
    Ctrl-C stops it between two committed blocks (nothing lost; exit 0); `cvntrade up` runs it.
    """
    import signal

    from cvntrade.clock import parse_utc, utc_now
    from cvntrade.settings import get_settings
    from cvntrade.stopping import StopFlag
    from cvntrade.trading.follow import FollowOptions, run_follow
    from cvntrade.trading.service import default_engine_id

    stop = StopFlag()
    signal.signal(signal.SIGTERM, stop.set)
    signal.signal(signal.SIGINT, stop.set)
    label = strategy_label(strategy, interval)
    setup = _setup(symbols, strategy, interval, engine_id or default_engine_id("serve", label))
    options = FollowOptions(
        since=parse_utc(since, field="--since") if since else utc_now(),
        poll_every_s=poll_s,
        bars_per_poll=bars_per_poll,
    )
    err_console.print(f"engine {setup.engine_id}: serving {', '.join(setup.symbols)}")
    report = run_follow(setup, data_dir=get_settings().home / "data", options=options, stop=stop)
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
