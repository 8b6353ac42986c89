"""`cvntrade runbook`: the immediate actions of `expectancy_negative_focal`, one command each.

`confirm` (step 1), `check-config` (step 2) and `rollback` (step 3) return typed results, print
them as text or `--json`, write an audit row and attach to an incident (`--incident ID`, else
the single open incident of the alert). Heavy imports (MLflow) happen only in `rollback`, after
its arguments are validated.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table
from rich.text import Text

from cvntrade.cli.common import (
    ID_MAX,
    clock_from,
    console,
    default_actor,
    fmt_pct,
    line,
    open_engine,
    print_json,
    styled,
)
from cvntrade.errors import ExitCode
from cvntrade.strategy import DEFAULT_STRATEGY, DEFAULT_SYMBOLS

app = typer.Typer(
    help=(
        "Runbook expectancy_negative_focal: confirm the alert, check the config, roll back "
        "within the 60 s SLA, diagnose, remediate (path A/B/C), escalate; `run` guides through "
        "all of it. Every step is audited and attaches to an incident."
    ),
    no_args_is_help=True,
)

INCIDENT_HELP = "Attach to this incident (default: the only open one for the alert, if any)."
ACTOR_HELP = "Who (default: $CVN_ACTOR or login name)."


@app.command("confirm")
def confirm_cmd(
    incident: int = typer.Option(None, "--incident", min=1, max=ID_MAX, help=INCIDENT_HELP),
    now: str = typer.Option(None, "--now", help="Evaluate as of this UTC time (ISO-8601)."),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Step 1: is the alert real? Per-symbol 48 h focal expectancy and trade count.

    The verdict comes from the one alert rule (cvntrade.monitoring.alerts): `real` with >= 2
    negative symbols and focal_loss_active; `transient` with 0-1, which is logged as a
    false-positive incident with what to check next; `stale` with >= 2 negative symbols but focal
    not active (config nor served champion). Exit code 0 in every case.
    """
    from cvntrade.runbook import confirm

    result = confirm(
        open_engine(), actor=actor or default_actor(), incident_id=incident, clock=clock_from(now)
    )
    if as_json:
        print_json(result)
        return
    table = Table(title=f"Focal expectancy over {result.window_hours:g} h, percent net")
    for column in ("crypto_symbol", "expectancy_48h", "n_trades", "flag"):
        table.add_column(column)
    for row in result.symbols:
        flag = styled("NEGATIVE", "red") if row.negative else ""
        table.add_row(row.crypto_symbol, fmt_pct(row.expectancy_pct), str(row.n_trades), flag)
    console.print(table)
    negative = ", ".join(result.negative_symbols) or "none"
    console.print(
        line(
            "verdict: ",
            styled(result.verdict, "bold"),
            f" — {len(result.negative_symbols)} negative symbol(s): {negative}; "
            f"focal_loss_active={int(result.focal_loss_active)} (source {result.focal_source})",
        )
    )
    console.print(f"incident: {result.attachment}")
    for step in result.next_steps:
        console.print(f"next: {step}")


@app.command("check-config")
def check_config_cmd(
    symbols: str = typer.Option(
        ",".join(DEFAULT_SYMBOLS),
        "--symbols",
        help="Symbols whose champions to check (symbols live engines serve are always added).",
    ),
    strategy: str = typer.Option(DEFAULT_STRATEGY, "--strategy", help="Strategy of the models."),
    incident: int = typer.Option(None, "--incident", min=1, max=ID_MAX, help=INCIDENT_HELP),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Step 2: is focal still configured (ftf_config), and does it still serve anywhere?

    Verdicts: `active` (CVN_LOSS_FUNCTION=focal); `mismatch` (the config is not focal but a
    champion or a live engine still serves focal: the symbols are listed, roll them back);
    `stale` (focal neither configured nor served: acknowledge, no action); `unverified` (the
    registry could not be read). Exit code 0 in every case.
    """
    from cvntrade.clock import utc_now
    from cvntrade.registry import MlflowRegistry
    from cvntrade.runbook import check_config
    from cvntrade.runbook.serving import serving_by_symbol
    from cvntrade.settings import get_settings
    from cvntrade.strategy import Strategy
    from cvntrade.trading.service import parse_symbols

    wanted = parse_symbols(symbols)
    strategy_name = Strategy.parse(strategy).name
    engine = open_engine()
    serving = serving_by_symbol(
        engine,
        MlflowRegistry(get_settings().effective_tracking_uri),
        symbols=wanted,
        strategy=strategy_name,
        now=utc_now(),
    )
    result = check_config(
        engine, actor=actor or default_actor(), incident_id=incident, serving=serving
    )
    if as_json:
        print_json(result)
        return
    table = Table(title="What serves, per symbol")
    for column in ("crypto_symbol", "champion", "champion loss", "live engines (version/loss)"):
        table.add_column(column, overflow="fold")
    for row in result.serving:
        engines = "; ".join(
            f"{e.engine_id}: v{e.model_version} {e.loss_function or '?'}" for e in row.engines
        )
        table.add_row(
            Text(row.crypto_symbol),
            "—" if row.champion_version is None else str(row.champion_version),
            Text(row.champion_loss or "—", style="red" if row.champion_loss == "focal" else ""),
            Text(engines or "none"),
        )
    console.print(table)
    console.print(
        line(
            "verdict: ",
            styled(result.verdict, "bold"),
            f" — CVN_LOSS_FUNCTION={result.loss_function} "
            f"CVN_FOCAL_GAMMA={result.focal_gamma} CVN_FOCAL_ALPHA={result.focal_alpha} "
            f"(version {result.version}, updated {result.updated_at:%Y-%m-%d %H:%M:%S} UTC)",
        )
    )
    if result.registry_error:
        console.print(Text(f"registry: {result.registry_error}"))
    console.print(Text(f"incident: {result.attachment}"))
    console.print(Text(f"next: {result.advice}"))


@app.command("rollback")
def rollback_cmd(
    reason: str = typer.Option(..., "--reason", help="Why (kept in every audit row)."),
    symbols: str = typer.Option(
        "auto", "--symbols", help="'auto' (step 1's negative symbols) or BTCUSDC,ETHUSDC,…"
    ),
    strategy: str = typer.Option("SL0.5_TP1_H4", "--strategy", help="Strategy of the models."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan, change nothing."),
    wait_s: float = typer.Option(
        30.0, "--wait-s", help="How long to wait for the engines to switch (0: check once)."
    ),
    heartbeat_max_age_s: float = typer.Option(
        10.0, "--heartbeat-max-age-s", help="Engines with an older heartbeat are not live."
    ),
    incident: int = typer.Option(None, "--incident", min=1, max=ID_MAX, help=INCIDENT_HELP),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Step 3: CVN_LOSS_FUNCTION=binary:logistic, each focal champion → previous binary version.

    One audited alias move per symbol, then waits until the live engines serve the new versions.
    Idempotent: re-run to finish an interrupted rollback. Exit 1 if a symbol did not switch in
    time (everything else is done).
    """
    from cvntrade.registry import MlflowRegistry
    from cvntrade.runbook import parse_symbols, rollback
    from cvntrade.settings import get_settings

    parsed = parse_symbols(symbols)
    engine = open_engine()
    registry = MlflowRegistry(get_settings().effective_tracking_uri)

    def progress(line: str) -> None:
        print(line, file=sys.stderr if as_json else sys.stdout, flush=True)

    result = rollback(
        engine,
        registry,
        reason=reason,
        actor=actor or default_actor(),
        symbols=parsed,
        strategy=strategy,
        dry_run=dry_run,
        wait_s=wait_s,
        incident_id=incident,
        heartbeat_max_age_s=heartbeat_max_age_s,
        progress=progress,
    )
    if as_json:
        print_json(result)
    else:
        from cvntrade.runbook.report import rollback_lines

        for line in rollback_lines(result):
            console.print(line, highlight=False)
    if result.propagation is not None and not result.propagation.complete:
        raise typer.Exit(ExitCode.NEGATIVE)


@app.command("diagnose")
def diagnose_cmd(
    symbols: str = typer.Option(
        "auto", "--symbols", help="'auto' (every symbol with focal predictions in 48 h) or a list."
    ),
    now: str = typer.Option(None, "--now", help="Evaluate as of this UTC time (ISO-8601)."),
    incident: int = typer.Option(
        None,
        "--incident",
        help="Also keep the result as a `diagnosis` note of this incident (for its report).",
    ),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the diagnosis as JSON."),
) -> None:
    """Diagnosis: why did focal regress? Scores the runbook's four causes in its order.

    Distribution drift (PSI per feature vs its own 48 h baseline, rise of return volatility),
    calibration drift (predicted vs realised win rate before vs last 48 h, pooled over symbols,
    with the ranking kept; live ECE, ECE_HOLD, sharpness), concept drift (per-fold rule,
    probability vs outcome AUC and return persistence before vs after), implementation
    regression (objective fingerprint tag vs installed, gradient/hessian self-check, git log of
    focal_loss.py). Each gets likely / possible / ruled out, a score and its evidence; then the
    scope (market-wide or symbol-specific) and the recommended path A / B / C. Read-only,
    except with `--incident N`: the result (with the PSI per feature) is then kept as an
    audited `diagnosis` note of incident N, which `cvntrade incident export N` writes up.
    """
    from cvntrade.runbook import get_incident, parse_symbols
    from cvntrade.runbook.diagnose import diagnose
    from cvntrade.runbook.diagnose_gather import gather_evidence
    from cvntrade.settings import get_settings

    parsed = parse_symbols(symbols)
    at = clock_from(now)()
    engine = open_engine()
    if incident is not None:
        get_incident(engine, incident)  # exit 2 before the (slow) gathering
    evidence, impl = gather_evidence(engine, get_settings(), now=at, symbols=parsed)
    result = diagnose(evidence, impl)
    if incident is not None:
        from cvntrade.runbook.incident_records import record_diagnosis

        record_diagnosis(
            engine, incident, result, actor=actor or default_actor(), at=at, evidence=evidence
        )
    if as_json:
        print_json(result)
        return
    for cause in result.causes:
        colour = {"likely": "red", "possible": "yellow"}.get(cause.verdict, "green")
        console.print(
            Text(f"{cause.cause}: {cause.verdict} (score {cause.score:.2f})", style=colour)
        )
        for line_ in cause.evidence:
            console.print(Text(f"  {line_}"), highlight=False)
    console.print(Text(f"ranking: {', '.join(result.ranking)}"))
    console.print(Text(f"likely: {', '.join(result.likely) or 'none'}"))
    affected = ", ".join(result.affected) or "-"
    console.print(Text(f"scope: {result.scope} ({affected})"))
    console.print(Text(f"path {result.path}: {result.why}"))
    if incident is not None:
        console.print(Text(f"kept as a diagnosis note of incident #{incident}"))
