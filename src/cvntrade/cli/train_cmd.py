"""`cvntrade train`: walk-forward train a model (or recalibrate the champion) and register it.

Registered by `cli.main` as `app.command("train")(train_cmd.train_command)`. Heavy libraries
(XGBoost, MLflow, SciPy) load only when the command runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cvntrade.cli.common import console, default_actor, err_console, open_engine, print_json
from cvntrade.strategy import DEFAULT_STRATEGY

if TYPE_CHECKING:
    from cvntrade.training.result import ProgressCallback, TrainingResult

SUMMARY_METRICS = (
    "auc",
    "log_loss",
    "brier",
    "ece_hold",
    "f1_buy",
    "sharpness",
    "net_expectancy_pct",
    "n_trades",
)


def train_command(
    symbol: str = typer.Option(..., "--symbol", help="Symbol to train, e.g. BTCUSDC."),
    strategy: str = typer.Option(
        DEFAULT_STRATEGY,
        "--strategy",
        help="Triple-barrier strategy SL<stop%>_TP<take%>_H<hours> (or _D<days>).",
    ),
    interval: str = typer.Option(
        "1h", "--interval", help="Bar interval of the stored data (15m, 1h, 4h, 1d, 1w, ...)."
    ),
    loss: str | None = typer.Option(
        None,
        "--loss",
        help="binary:logistic or focal (default: CVN_LOSS_FUNCTION in ftf_config).",
    ),
    gamma: float | None = typer.Option(
        None, "--gamma", help="Focal gamma >= 0 (default: CVN_FOCAL_GAMMA)."
    ),
    alpha: float | None = typer.Option(
        None, "--alpha", help="Focal alpha in (0, 1) (default: CVN_FOCAL_ALPHA)."
    ),
    calibration: str | None = typer.Option(
        None,
        "--calibration",
        help="none or temperature_scaling (default: CVN_CALIBRATION in ftf_config).",
    ),
    folds: int = typer.Option(5, "--folds", help="Walk-forward folds (1-20)."),
    scheme: str = typer.Option(
        "expanding", "--scheme", help="expanding (all past blocks) or rolling (last 2 blocks)."
    ),
    embargo_bars: int | None = typer.Option(
        None, "--embargo-bars", help="Gap after purging, in bars (default: one label horizon)."
    ),
    rounds: int = typer.Option(200, "--rounds", help="XGBoost boosting rounds."),
    start: str | None = typer.Option(
        None, "--start", help="First signal bar (UTC, ISO; default: first stored bar)."
    ),
    end: str | None = typer.Option(
        None, "--end", help="End of the signal bars, exclusive (UTC, ISO; default: last bar)."
    ),
    recalibrate_only: bool = typer.Option(
        False,
        "--recalibrate-only",
        help="Keep the champion's booster; refit only its temperature on recent data.",
    ),
    recalibrate_version: int | None = typer.Option(
        None,
        "--recalibrate-version",
        min=1,
        help="With --recalibrate-only: recalibrate this version instead of the champion "
        "(runbook path B after a rollback: the focal version it replaced).",
    ),
    recent_days: float = typer.Option(
        30.0, "--recent-days", help="Recalibration window in days (with --recalibrate-only)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train a model with purged walk-forward validation and register it in MLflow.

    Loss, focal gamma/alpha and calibration default to ftf_config, so a runbook flip of
    CVN_LOSS_FUNCTION applies to the next run. The new version gets lineage tags
    (loss_function, focal_gamma, focal_alpha, calibration, temperature, dataset_hash, git_sha,
    config_version); the champion alias moves only for a model's first version, and never
    when a validation fold holds one class only. Labels that are (nearly) one class stop the
    run (exit 2) with the positive rate and barriers that fit (see `data label-rates`).
    """
    from cvntrade.errors import UserInputError
    from cvntrade.training.api import run_training
    from cvntrade.training.booster import BoosterParams
    from cvntrade.training.walk_forward import SCHEMES

    if scheme not in SCHEMES:
        raise UserInputError(f"unknown --scheme {scheme!r}: use expanding or rolling")
    params = BoosterParams(rounds=rounds)
    engine = open_engine()
    try:
        with _progress(symbol) as progress:
            result = run_training(
                engine,
                symbol=symbol,
                strategy=strategy,
                loss=loss,
                gamma=gamma,
                alpha=alpha,
                calibration=calibration,
                recalibrate_only=recalibrate_only,
                recalibrate_version=recalibrate_version,
                folds=folds,
                start=start,
                end=end,
                progress=progress,
                params=params,
                scheme="rolling" if scheme == "rolling" else "expanding",
                embargo_bars=embargo_bars,
                recent_days=recent_days,
                interval=interval,
                actor=default_actor(),
            )
    finally:
        engine.dispose()
    if as_json:
        print_json(result.to_dict())
        return
    _print_summary(result)


@contextmanager
def _progress(symbol: str) -> Iterator[ProgressCallback]:
    """Progress on stderr (stdout stays clean for --json), fed by run_training's callback.

    A terminal gets a transient Rich bar; anything else (logs, CI, pipes) one plain line per
    finished step, since a live display cannot redraw there.
    """
    if not err_console.is_terminal:

        def log(stage: str, done: int, total: int) -> None:
            err_console.print(f"{symbol}: {stage} ({done}/{total})", highlight=False)

        yield log
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(f"{symbol}: loading data", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"{symbol}: {stage}")

        yield update


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.4f}"


UNDEFINED_WHEN_ONE_CLASS = frozenset({"auc", "log_loss", "brier", "ece_hold", "f1_buy"})


def _cell(metrics: dict[str, float], name: str) -> str:
    """A metric for the table; `undefined` for classification metrics of a one-class block."""
    if name in UNDEFINED_WHEN_ONE_CLASS and metrics.get("positive_rate") in (0.0, 1.0):
        return "undefined"
    return _fmt(metrics.get(name))


def dropped_text(dropped: dict[str, int]) -> str:
    """`dropped 120 bars: 96 warm_up, 20 gap, 4 horizon` (reasons with a count only)."""
    total = sum(dropped.values())
    parts = [f"{n} {reason}" for reason, n in dropped.items() if n]
    return f"dropped {total} bar(s)" + (f": {', '.join(parts)}" if parts else "")


def _print_summary(result: TrainingResult) -> None:
    loss = result.loss_function
    if result.focal_gamma is not None:
        loss += f" (gamma {result.focal_gamma:g}, alpha {result.focal_alpha:g})"
    head = (
        f"{result.model_name} version {result.version}: {loss}, calibration "
        f"{result.calibration} (T = {result.temperature:.4f}), threshold {result.threshold:.4f} "
        f"[{result.threshold_rule}]"
    )
    if result.recalibrated_from is not None:
        head += f", recalibrated from version {result.recalibrated_from}"
    table = Table(title=head)
    table.add_column("metric")
    for fold in result.fold_metrics:
        table.add_column(f"fold {fold['fold']:.0f}", justify="right")
    table.add_column("overall" if result.fold_metrics else "window", justify="right")
    for name in SUMMARY_METRICS:
        table.add_row(
            name,
            *(_cell(fold, name) for fold in result.fold_metrics),
            _cell(result.metrics, name),
        )
    console.print(table)
    if result.became_champion:
        champion = "this version is now the champion (first version of the model)"
    elif result.champion_version is None:
        champion = (
            f"NOT made champion: fold(s) {', '.join(map(str, result.degenerate_folds))} have one "
            "class only, so the validation is undefined; promote it explicitly if you trust it"
        )
    else:
        champion = f"champion stays at version {result.champion_version}"
    console.print(
        f"rows {result.n_rows} ({result.data_start} .. {result.data_end}, {result.interval} "
        f"bars; {dropped_text(result.dropped)}), dataset {result.dataset_hash[:12]}, run "
        f"{result.run_id}, {result.duration_s:.1f} s; {champion}",
        highlight=False,
    )
