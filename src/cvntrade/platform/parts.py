"""What `cvntrade up` runs: one `PartSpec` (command line, port, URL) per part, built purely.

Each part is a public CLI command started as `python -m cvntrade …`, so what `up` supervises
is exactly what an operator (or a systemd unit, docs/deployment.md) would run by hand:

| part | command |
|---|---|
| `engine` | `cvntrade trade serve --json …` (paper engine on the market store) |
| `exporter` | `cvntrade monitor serve --port P` (Prometheus exporter + built-in alert evaluator) |
| `console` | `cvntrade console --port P` (web console + JSON API) |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

ENGINE, EXPORTER, CONSOLE = "engine", "exporter", "console"
PART_NAMES = (ENGINE, EXPORTER, CONSOLE)


@dataclass(frozen=True, slots=True)
class UpOptions:
    """The platform to start: which parts, on which symbols, ports and address."""

    symbols: tuple[str, ...]
    strategy: str
    interval: str
    engine_id: str
    host: str = "127.0.0.1"
    console_port: int = 8080
    exporter_port: int = 9108
    since: str | None = None
    poll_s: float = 60.0
    bars_per_poll: int | None = None
    engine: bool = True
    exporter: bool = True
    console: bool = True


@dataclass(frozen=True, slots=True)
class PartSpec:
    """One part: its name, command line, the port it listens on (checked free before start,
    probed for readiness), the option that sets the port, its URL and extra environment."""

    name: str
    argv: tuple[str, ...]
    port: int | None = None
    port_option: str | None = None
    url: str | None = None
    env: tuple[tuple[str, str], ...] = field(default=())


def engine_argv(options: UpOptions) -> list[str]:
    """`trade serve` arguments for the engine part."""
    argv = [
        "trade",
        "serve",
        "--symbols",
        ",".join(options.symbols),
        "--strategy",
        options.strategy,
        "--interval",
        options.interval,
        "--engine-id",
        options.engine_id,
        "--poll-s",
        f"{options.poll_s:g}",
        "--json",
    ]
    if options.since is not None:
        argv += ["--since", options.since]
    if options.bars_per_poll is not None:
        argv += ["--bars-per-poll", str(options.bars_per_poll)]
    return argv


def part_specs(
    options: UpOptions, python: str, console_env: Sequence[tuple[str, str]] = ()
) -> list[PartSpec]:
    """The enabled parts, in start order (engine, exporter, console)."""
    base = (python, "-m", "cvntrade")
    specs = []
    if options.engine:
        specs.append(PartSpec(ENGINE, (*base, *engine_argv(options))))
    if options.exporter:
        port = options.exporter_port
        specs.append(
            PartSpec(
                EXPORTER,
                (*base, "monitor", "serve", "--port", str(port), "--addr", options.host),
                port=port,
                port_option="--exporter-port",
                url=f"http://{url_host(options.host)}:{port}/metrics",
            )
        )
    if options.console:
        port = options.console_port
        specs.append(
            PartSpec(
                CONSOLE,
                (*base, "console", "--port", str(port), "--host", options.host),
                port=port,
                port_option="--console-port",
                url=f"http://{url_host(options.host)}:{port}/",
                env=tuple(console_env),
            )
        )
    return specs


def url_host(host: str) -> str:
    """A host as written in a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host
