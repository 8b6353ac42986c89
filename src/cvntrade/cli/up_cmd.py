"""`cvntrade up`: the whole platform in one command, supervised (docs/guide.md, deployment.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cvntrade.cli.common import console, default_actor, err_console, open_engine, styled
from cvntrade.strategy import DEFAULT_STRATEGY

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvntrade.platform.parts import PartSpec, UpOptions
    from cvntrade.platform.supervisor import RestartPolicy
    from cvntrade.stopping import StopFlag


def up_command(
    symbols: str = typer.Option(
        None,
        "--symbols",
        help="Symbols the engine trades (default: every symbol with stored bars of --interval).",
    ),
    strategy: str = typer.Option(DEFAULT_STRATEGY, "--strategy", help="Strategy of the models."),
    interval: str = typer.Option("1h", "--interval", help="Bar interval of the stored data."),
    since: str = typer.Option(
        None,
        "--since",
        help="Where a new engine starts trading stored bars (UTC; default: now). An engine with "
        "a checkpoint resumes right after it.",
    ),
    poll_s: float = typer.Option(
        60.0, "--poll-s", min=0.05, help="Seconds between two looks of the engine at the store."
    ),
    bars_per_poll: int = typer.Option(
        None, "--bars-per-poll", min=1, help="Catch up at most N bars per symbol per poll."
    ),
    engine_id: str = typer.Option(
        None, "--engine-id", help="The engine's id (default: serve:<strategy>@<host>)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the console/exporter bind."),
    console_port: int = typer.Option(8080, "--console-port", min=1, max=65535, help="Console."),
    exporter_port: int = typer.Option(
        9108, "--exporter-port", min=1, max=65535, help="Exporter's /metrics."
    ),
    no_engine: bool = typer.Option(False, "--no-engine", help="Do not start the paper engine."),
    no_exporter: bool = typer.Option(
        False, "--no-exporter", help="Do not start the exporter (nor the built-in evaluator)."
    ),
    no_console: bool = typer.Option(False, "--no-console", help="Do not start the console."),
    create_admin: bool = typer.Option(
        True,
        "--create-admin/--no-create-admin",
        help="With no console user at all: create 'admin' with a random password printed once "
        "(default), or refuse (exit 2) so you run `cvntrade users add` first.",
    ),
    max_restarts: int = typer.Option(
        5, "--max-restarts", min=0, help="Consecutive crashes of a part before it is failed."
    ),
    stop_timeout: float = typer.Option(
        30.0, "--stop-timeout", min=0.1, help="Seconds parts get to stop before SIGKILL."
    ),
) -> None:
    """Start the platform: paper engine, exporter + built-in evaluator, console — supervised.

    Each part is a child process (`python -m cvntrade trade serve | monitor serve | console`)
    in its own process group, its output in CVN_HOME/logs/up-<part>.log. A part that crashes is
    restarted with a doubling backoff, reported (a line, the status table, an audit row); after
    --max-restarts consecutive crashes it is marked failed. On a terminal a live table shows
    each part's pid, state, restarts, uptime and URL; otherwise one line per event. Ctrl-C or
    SIGTERM: SIGTERM to every part, a bounded wait (the engine stops between two committed
    blocks: no journal row is lost), exit 0. The console needs a user: with none at all, `up`
    creates 'admin' with a random password printed once. A busy port: exit 4 naming it;
    another `up` on this CVN_HOME: exit 3; every part ended by itself (failed, halted): exit 1.
    Needs a migrated database (`cvntrade db upgrade`). See docs/guide.md, section 9.
    """
    import signal
    import sys

    from cvntrade.platform.parts import UpOptions, part_specs
    from cvntrade.platform.processes import check_ports, single_instance
    from cvntrade.platform.supervisor import RestartPolicy
    from cvntrade.settings import get_settings, redact_url
    from cvntrade.stopping import StopFlag
    from cvntrade.strategy import Strategy, strategy_label
    from cvntrade.trading.ids import default_engine_id

    stop = StopFlag()
    # Ctrl-C, SIGTERM and a closed terminal (SIGHUP: the parts, in their own sessions, would
    # not see it) all mean: stop every part cleanly.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop.set)
    settings = get_settings()
    db = open_engine()
    strategy_name = Strategy.parse(strategy).name
    chosen = _symbols(symbols, settings.home, interval, enabled=not no_engine)
    options = UpOptions(
        symbols=chosen,
        strategy=strategy_name,
        interval=interval,
        engine_id=engine_id or default_engine_id("serve", strategy_label(strategy, interval)),
        host=host,
        console_port=console_port,
        exporter_port=exporter_port,
        since=since,
        poll_s=poll_s,
        bars_per_poll=bars_per_poll,
        engine=not no_engine,
        exporter=not no_exporter,
        console=not no_console,
    )
    if since is not None:
        from cvntrade.clock import parse_utc

        parse_utc(since, field="--since")  # bad input: exit 2 here, not in a restart loop
    from cvntrade.platform.wiring import console_secret

    specs = part_specs(options, sys.executable, [("CVN_CONSOLE_SECRET", console_secret(settings))])
    if not specs:
        from cvntrade.errors import UserInputError

        raise UserInputError("nothing to start: --no-engine, --no-exporter and --no-console")
    with single_instance(settings.home / "run"):
        check_ports(specs, host)
        _print_header(
            settings.home,
            redact_url(settings.effective_database_url),
            redact_url(settings.effective_tracking_uri),
            options,
        )
        if options.console:
            from cvntrade.cli.console_cmd import exposed_warning, is_loopback

            if not is_loopback(host):
                err_console.print(styled(exposed_warning(host), "bold red"))
            _print_login(db, specs[-1].url or "", create_admin)
        stopped = _supervise(
            db,
            specs,
            settings.home,
            options,
            RestartPolicy(max_restarts=max_restarts),
            stop_timeout,
            stop,
        )
    if not stopped:
        err_console.print("every part has ended by itself (see the lines above): exit 1")
        raise typer.Exit(1)


def _symbols(text: str | None, home: Path, interval: str, *, enabled: bool) -> tuple[str, ...]:
    from cvntrade.platform.wiring import stored_symbols
    from cvntrade.trading.ids import parse_symbols

    if text:
        return parse_symbols(text)
    if not enabled:
        return ()
    return stored_symbols(home / "data", interval)


def _print_header(home: Path, database: str, tracking: str, options: UpOptions) -> None:
    console.print(f"cvntrade up: CVN_HOME {home}; database {database}")
    console.print(f"  MLflow {tracking}; logs in {home / 'logs'}/up-<part>.log")
    if options.engine:
        console.print(
            f"  engine {options.engine_id}: {', '.join(options.symbols)} ({options.strategy}, "
            f"{options.interval}), from {options.since or 'now'} or its checkpoint"
        )


def _print_login(db: Engine, url: str, create_admin: bool) -> None:
    from cvntrade.platform.login import ensure_login

    login = ensure_login(db, actor=default_actor(), create_admin=create_admin)
    for text in login.instructions(url):
        console.print(text)


def _supervise(
    db: Engine,
    specs: list[PartSpec],
    home: Path,
    options: UpOptions,
    policy: RestartPolicy,
    stop_timeout: float,
    stop: StopFlag,
) -> bool:
    import os

    from cvntrade.platform.display import LiveReporter, PlainReporter
    from cvntrade.platform.processes import adopt_orphans
    from cvntrade.platform.runner import Reporter, Supervisor
    from cvntrade.platform.wiring import make_audit, make_probe

    def warn(action: str, target: str, reason: str, details: dict[str, object]) -> None:
        err_console.print(f"warning: {action} {target}: {reason}")

    audit = make_audit(db, default_actor(), warn)
    names = ", ".join(s.name for s in specs)
    audit("platform.up", "platform", f"cvntrade up: {names}", {"parts": [s.name for s in specs]})
    reporter: Reporter = (
        LiveReporter(console) if console.is_terminal else PlainReporter(console, err_console)
    )
    supervisor = Supervisor(
        specs,
        run_dir=home / "run",
        logs_dir=home / "logs",
        environ=dict(os.environ),
        probe=make_probe(db, options.host, options.engine_id),
        audit=audit,
        reporter=reporter,
        policy=policy,
        stop_timeout_s=stop_timeout,
    )
    # The parts' own children, orphaned when a part ends, come back to `up` (not to PID 1), so
    # the supervisor can wait for them: nothing a part started outlives `up`.
    adopt_orphans()
    try:
        stopped = supervisor.run(stop)
    finally:
        reporter.close()
    summary = ", ".join(f"{s.name} {s.state.value}" for s in supervisor.statuses.values())
    audit("platform.down", "platform", f"cvntrade up ended: {summary}", {"stopped": stopped})
    console.print(f"cvntrade up: {summary}")
    return stopped
