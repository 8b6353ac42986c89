"""`cvntrade sweep`, `cvntrade gate check` and `cvntrade promote`: the FTF sweep gate.

Registered by `cli.main` as `app.command("sweep")(gate_cmd.sweep_command)`,
`app.add_typer(gate_cmd.gate_app, name="gate")` and
`app.command("promote")(gate_cmd.promote_command)`. XGBoost, MLflow and Dask load only when a
command runs (`cvntrade.gate` itself is imported inside the commands).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cvntrade.cli.common import console, default_actor, err_console, open_engine, print_json
from cvntrade.errors import ExitCode
from cvntrade.strategy import DEFAULT_STRATEGY

if TYPE_CHECKING:
    from cvntrade.gate.criteria import LoadedCriteria
    from cvntrade.gate.sweep import SweepProgress

CRITERIA_HELP = "Gate criteria YAML (default: the built-in gate_criteria.yaml, see docs/gate.md)."
INTERVAL_HELP = "Bar interval of the stored data and the models (15m, 1h, 4h, 1d, 1w, ...)."
SWEEP_KEY_HELP = "Judge this sweep (default: the latest sweep of the symbol and strategy)."


def sweep_command(
    symbols: str = typer.Option(..., "--symbols", help="Comma-separated, e.g. BTCUSDC,ETHUSDC."),
    strategy: str = typer.Option(
        DEFAULT_STRATEGY, "--strategy", help="Triple-barrier strategy SL<stop%>_TP<take%>_H<hours>."
    ),
    interval: str = typer.Option("1h", "--interval", help=INTERVAL_HELP),
    gammas: str = typer.Option("0.5,1,2", "--gammas", help="Focal gammas (>= 0), comma-separated."),
    alphas: str = typer.Option(
        "0.25,0.5,0.75", "--alphas", help="Focal alphas in (0, 1), comma-separated."
    ),
    folds: int = typer.Option(5, "--folds", help="Purged walk-forward folds (1-20)."),
    rounds: int = typer.Option(200, "--rounds", help="XGBoost boosting rounds per model."),
    seed: int = typer.Option(0, "--seed", help="XGBoost seed (same seed, same results)."),
    threads: int = typer.Option(1, "--threads", help="XGBoost threads per cell."),
    calibration: str | None = typer.Option(
        None, "--calibration", help="none or temperature_scaling (default: CVN_CALIBRATION)."
    ),
    start: str | None = typer.Option(None, "--start", help="First signal bar (UTC, ISO)."),
    end: str | None = typer.Option(None, "--end", help="End of the signal bars, exclusive."),
    workers: int | None = typer.Option(
        None, "--workers", help="Local worker processes (default: one per CPU; 1 = in-process)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Run on a Dask cluster instead, e.g. tcp://host:8786."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Sweep focal (gamma, alpha) cells and the binary baseline on the same purged folds.

    Per-fold metrics go to sweep_results (and MLflow: a parent run per symbol, a child run per
    cell); a table per symbol shows them. Resumable: re-running the same command skips the
    cells already stored. Same seed, same results, locally or on Dask.
    """
    from dataclasses import replace

    from cvntrade.gate import SweepRequest, make_runner, parse_grid, run_sweep
    from cvntrade.gate.report import sweep_table
    from cvntrade.gate.sweep import SWEEP_PARAMS

    request = SweepRequest(
        symbols=tuple(symbols.split(",")),
        gammas=parse_grid(gammas, "--gammas", "gamma"),
        alphas=parse_grid(alphas, "--alphas", "alpha"),
        strategy=strategy,
        folds=folds,
        calibration=calibration,
        params=replace(SWEEP_PARAMS, rounds=rounds, seed=seed, nthread=threads),
        start=start,
        end=end,
        interval=interval,
    )
    runner = make_runner(workers, scheduler)
    engine = open_engine()
    try:
        with _progress() as progress:
            report = run_sweep(engine, request, runner=runner, progress=progress)
    finally:
        engine.dispose()
    if as_json:
        print_json(report.to_dict())
        return
    for swept in report.symbols:
        console.print(sweep_table(swept))
    console.print(
        f"{report.trained} cells trained, {report.skipped} already stored; {report.runner}; "
        f"{report.duration_s:.1f} s"
    )


gate_app = typer.Typer(
    help="The FTF gate: judge a sweep's focal cells against the binary baseline.",
    no_args_is_help=True,
)


@gate_app.command("check")
def check_command(
    symbol: str = typer.Option(..., "--symbol", help="Symbol whose sweep to judge, e.g. BTCUSDC."),
    strategy: str = typer.Option(DEFAULT_STRATEGY, "--strategy", help="Triple-barrier strategy."),
    interval: str = typer.Option("1h", "--interval", help=INTERVAL_HELP),
    criteria: Path | None = typer.Option(None, "--criteria", help=CRITERIA_HELP),
    sweep_key: str | None = typer.Option(None, "--sweep-key", help=SWEEP_KEY_HELP),
    gamma: float | None = typer.Option(None, "--gamma", help="Judge only this cell's gamma."),
    alpha: float | None = typer.Option(None, "--alpha", help="Judge only this cell's alpha."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Print the per-criterion verdict; exit 0 when the gate passes, 1 when it fails."""
    from cvntrade.errors import UserInputError
    from cvntrade.gate import check_gate, focal_cell
    from cvntrade.gate.report import candidates_table, verdict_table
    from cvntrade.strategy import parse_symbol, strategy_label

    loaded = _criteria(criteria)
    if (gamma is None) != (alpha is None):
        raise UserInputError("give both --gamma and --alpha, or neither (judge every cell)")
    cell = None if gamma is None or alpha is None else focal_cell(gamma, alpha).name
    engine = open_engine()
    try:
        verdict = check_gate(
            engine,
            parse_symbol(symbol),
            strategy_label(strategy, interval),
            loaded,
            sweep_key=sweep_key,
            cell=cell,
        )
    finally:
        engine.dispose()
    if as_json:
        print_json(verdict.to_dict())
    else:
        console.print(verdict_table(verdict))
        if len(verdict.candidates) > 1:
            console.print(candidates_table(verdict))
    if not verdict.passed:
        raise typer.Exit(ExitCode.NEGATIVE)


def promote_command(
    symbol: str = typer.Option(..., "--symbol", help="Symbol to promote, e.g. BTCUSDC."),
    strategy: str = typer.Option(DEFAULT_STRATEGY, "--strategy", help="Triple-barrier strategy."),
    interval: str = typer.Option("1h", "--interval", help=INTERVAL_HELP),
    loss: str = typer.Option(..., "--loss", help="focal (needs the gate) or binary (baseline)."),
    gamma: float | None = typer.Option(
        None, "--gamma", help="Focal gamma (default: the gate's best cell)."
    ),
    alpha: float | None = typer.Option(
        None, "--alpha", help="Focal alpha (default: the gate's best cell)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Promote a focal cell whose gate fails (needs --reason; audited)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the audit log)."),
    actor: str | None = typer.Option(
        None, "--actor", help="Who (default: $CVN_ACTOR or login name)."
    ),
    criteria: Path | None = typer.Option(None, "--criteria", help=CRITERIA_HELP),
    sweep_key: str | None = typer.Option(None, "--sweep-key", help=SWEEP_KEY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make the swept configuration the champion: picks or trains the version, audited.

    A focal promotion is refused (exit 1, nothing changed) when its gate fails, unless
    --force --reason TEXT is given (audited as forced). Registry down: exit 4, nothing written.
    """
    from cvntrade.gate import promote

    loaded = _criteria(criteria)
    engine = open_engine()
    try:
        with _progress() as progress:
            result = promote(
                engine,
                symbol=symbol,
                strategy=strategy,
                loss=loss,
                gamma=gamma,
                alpha=alpha,
                force=force,
                reason=reason,
                actor=actor or default_actor(),
                criteria=loaded,
                sweep_key=sweep_key,
                progress=progress,
                interval=interval,
            )
    finally:
        engine.dispose()
    if as_json:
        print_json(result.to_dict())
        return
    how = "trained a new version" if result.trained else "existing version"
    if result.changed:
        old = "none" if result.old_champion is None else result.old_champion
        move = f"champion {old} → {result.version}"
    else:
        move = f"champion already at version {result.version}"
    console.print(
        f"{result.model_name}: {move} ({result.cell}, {how}; gate {result.gate}, "
        f"sweep {result.sweep_key}; audited)",
        highlight=False,
    )


def _criteria(path: Path | None) -> LoadedCriteria:
    from cvntrade.gate import load_criteria

    return load_criteria(path)


@contextmanager
def _progress() -> Iterator[SweepProgress]:
    """Progress on stderr (stdout stays clean for --json): a Rich bar on a terminal, else lines."""
    if not err_console.is_terminal:

        def log(stage: str, done: int, total: int) -> None:
            err_console.print(f"{stage} ({done}/{total})", highlight=False)

        yield log
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=stage)

        yield update
