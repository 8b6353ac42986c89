"""`run_training`: the one entry point of `cvntrade train`, the Airflow DAG and the demo.

A training run reads the symbol's bars, builds the strategy's dataset, runs the purged
walk-forward (out-of-fold metrics, temperature, threshold), trains the final booster on every
row and publishes it as a new version of `CVNTrade_XGBoost_{SYMBOL}_{STRATEGY}` (see
docs/training.md). Options left as None come from `ftf_config` (loss, gamma, alpha, calibration)
and from the settings (fees, slippage, tracking URI, `CVN_HOME/data`), so the runbook's
`config set CVN_LOSS_FUNCTION=…` is what the next run trains with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING

from cvntrade.config import read_config
from cvntrade.config.keys import CALIBRATIONS
from cvntrade.errors import UserInputError
from cvntrade.features import Dataset
from cvntrade.market import ParquetStore
from cvntrade.monitoring.reference import REFERENCE_KEY, build_reference
from cvntrade.strategy import Strategy, parse_symbol
from cvntrade.training.booster import CONFIG_LOSS_NAMES, BoosterParams, LossSpec, train_booster
from cvntrade.training.bundle import ModelBundle
from cvntrade.training.calibration import calibrated_probability, calibration_report
from cvntrade.training.context import RunContext, iso, lineage_tags
from cvntrade.training.data import (
    TimeLike,
    as_utc_timestamp,
    binary_labels,
    feature_matrix,
    load_dataset,
    refuse_degenerate_labels,
)
from cvntrade.training.evaluation import ValidationSettings, WalkForwardResult, walk_forward
from cvntrade.training.publish import Publication, publish
from cvntrade.training.result import ProgressCallback, TrainingResult
from cvntrade.training.simulation import DEFAULT_MIN_TRADES, break_even_probability
from cvntrade.training.tracking import git_sha
from cvntrade.training.walk_forward import Scheme

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvntrade.settings import Settings

DEFAULT_GAMMA = 2.0
DEFAULT_ALPHA = 0.25
DEFAULT_RECENT_DAYS = 30.0
MAX_FOLDS = 20
DEFAULT_ACTOR = "cvntrade-train"


def run_training(
    engine: Engine,
    *,
    symbol: str,
    strategy: str,
    loss: str | None = None,
    gamma: float | None = None,
    alpha: float | None = None,
    calibration: str | None = None,
    recalibrate_only: bool = False,
    recalibrate_version: int | None = None,
    folds: int = 5,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    tracking_uri: str | None = None,
    store: ParquetStore | None = None,
    progress: ProgressCallback | None = None,
    params: BoosterParams | None = None,
    scheme: Scheme = "expanding",
    embargo_bars: int | None = None,
    min_trades: int = DEFAULT_MIN_TRADES,
    recent_days: float = DEFAULT_RECENT_DAYS,
    interval: str = "1h",
    actor: str = DEFAULT_ACTOR,
    settings: Settings | None = None,
) -> TrainingResult:
    """Train (or, with `recalibrate_only`, recalibrate the champion) and register a version.

    `start`/`end` bound the signal bars (`[start, end)`, UTC; default: all stored bars; for
    `recalibrate_only` the last `recent_days` days); with `recalibrate_version`, that version is
    recalibrated instead of the champion (runbook path B after a rollback: the focal version it
    replaced). `params` are the XGBoost settings (default `BoosterParams()`: 200 rounds,
    depth 4). Raises `UserInputError` for bad options or missing market data, `NotFoundError`
    when recalibrating a model without champion (or a version that does not exist),
    `DependencyError` when the registry is unreachable.
    """
    from cvntrade.settings import get_settings

    began = time.perf_counter()
    settings = settings or get_settings()
    symbol = parse_symbol(symbol)
    parsed = Strategy.parse(strategy)
    if not 1 <= folds <= MAX_FOLDS:
        raise UserInputError(f"--folds must be between 1 and {MAX_FOLDS} (got {folds})")
    if min_trades < 1 or recent_days <= 0:
        raise UserInputError("min_trades and recent_days must be > 0")
    snapshot = read_config(engine)
    context = RunContext(
        engine=engine,
        settings=settings,
        symbol=symbol,
        strategy=parsed,
        interval=interval,
        start=as_utc_timestamp(start, "--start"),
        end=as_utc_timestamp(end, "--end"),
        tracking_uri=tracking_uri or settings.effective_tracking_uri,
        store=store or ParquetStore(settings.home / "data"),
        progress=progress,
        config_version=snapshot.version,
        actor=actor,
        began=began,
    )
    if recalibrate_only:
        if loss is not None or gamma is not None or alpha is not None:
            raise UserInputError(
                "--recalibrate-only keeps the champion's booster and loss: "
                "drop --loss, --gamma and --alpha"
            )
        if calibration not in (None, "temperature_scaling"):
            raise UserInputError("--recalibrate-only always uses temperature_scaling")
        from cvntrade.training.recalibration import recalibrate_champion

        return recalibrate_champion(
            context, min_trades=min_trades, recent_days=recent_days, version=recalibrate_version
        )
    if recalibrate_version is not None:
        raise UserInputError("--recalibrate-version applies with --recalibrate-only only")
    return _train(
        context,
        resolve_loss(snapshot.env, loss, gamma, alpha),
        resolve_calibration(snapshot.env, calibration),
        params or BoosterParams(),
        ValidationSettings(
            n_folds=folds, scheme=scheme, embargo_bars=embargo_bars, min_trades=min_trades
        ),
    )


def resolve_loss(
    env: Mapping[str, str], loss: str | None, gamma: float | None, alpha: float | None
) -> LossSpec:
    """The loss to train: the arguments, else `CVN_LOSS_FUNCTION`/`CVN_FOCAL_*` from config."""
    raw = loss if loss is not None else env.get("CVN_LOSS_FUNCTION", "binary:logistic")
    name = CONFIG_LOSS_NAMES.get(raw, "binary" if raw == "binary" else None)
    if name is None:
        raise UserInputError(f"unknown loss {raw!r}: use binary:logistic or focal")
    if name == "binary":
        if gamma is not None or alpha is not None:
            origin = "" if loss is not None else " (CVN_LOSS_FUNCTION in ftf_config)"
            raise UserInputError(
                f"--gamma and --alpha apply to the focal loss only; the loss is "
                f"binary:logistic{origin}"
            )
        return LossSpec("binary")
    return LossSpec(
        "focal",
        gamma if gamma is not None else _config_float(env, "CVN_FOCAL_GAMMA", DEFAULT_GAMMA),
        alpha if alpha is not None else _config_float(env, "CVN_FOCAL_ALPHA", DEFAULT_ALPHA),
    )


def resolve_calibration(env: Mapping[str, str], calibration: str | None) -> str:
    """The calibration: the argument, else `CVN_CALIBRATION` from config (default `none`)."""
    value = calibration if calibration is not None else env.get("CVN_CALIBRATION", "none")
    if value not in CALIBRATIONS:
        raise UserInputError(f"unknown calibration {value!r}: use one of {', '.join(CALIBRATIONS)}")
    return value


def _config_float(env: Mapping[str, str], key: str, default: float) -> float:
    try:
        return float(env.get(key, default))
    except ValueError:
        raise UserInputError(f"{key} in ftf_config is not a number: {env[key]!r}") from None


def _train(
    ctx: RunContext,
    loss: LossSpec,
    calibration: str,
    params: BoosterParams,
    validation: ValidationSettings,
) -> TrainingResult:
    """Dataset → walk-forward → final booster → bundle → MLflow run and version."""
    total = validation.n_folds + 2
    dataset = load_dataset(
        ctx.store,
        ctx.symbol,
        ctx.strategy,
        interval=ctx.interval,
        start=ctx.start,
        end=ctx.end,
    )
    refuse_degenerate_labels(ctx.store, dataset)
    ctx.report(f"{len(dataset)} rows loaded", 0, total)
    break_even = break_even_probability(ctx.strategy, ctx.cost_pct)
    result = walk_forward(
        dataset,
        loss,
        params,
        settings=validation,
        calibrate=calibration == "temperature_scaling",
        cost_pct=ctx.cost_pct,
        break_even=break_even,
        on_fold=lambda k: ctx.report(f"fold {k}/{validation.n_folds}", k, total),
    )
    names = tuple(str(c) for c in dataset.features.columns)
    x, y = feature_matrix(dataset), binary_labels(dataset)
    booster = train_booster(x, y, loss, params, names)
    ctx.report("final model", validation.n_folds + 1, total)
    bundle = ModelBundle(
        booster=booster,
        feature_names=names,
        loss_function=loss.name,
        calibration=calibration,
        temperature=result.temperature,
        threshold=result.threshold.threshold,
        strategy=ctx.strategy.name,
        symbol=ctx.symbol,
    )
    sha = git_sha()
    degenerate = degenerate_folds(result)
    publication = _publication(ctx, loss, calibration, params, validation, dataset, result, sha)
    published = publish(
        ctx.engine,
        bundle,
        publication,
        model_name=ctx.model_name,
        tracking_uri=ctx.tracking_uri,
        home=ctx.settings.home,
        run_name=f"{ctx.symbol}-{ctx.strategy.name}-{loss.name}",
        actor=ctx.actor,
        auto_champion=not degenerate,
    )
    ctx.report("registered", total, total)
    return TrainingResult(
        model_name=ctx.model_name,
        version=published.registration.version,
        run_id=published.registration.run_id,
        symbol=ctx.symbol,
        strategy=ctx.strategy.name,
        loss_function=loss.name,
        focal_gamma=loss.gamma,
        focal_alpha=loss.alpha,
        calibration=calibration,
        temperature=result.temperature,
        threshold=result.threshold.threshold,
        threshold_rule=result.threshold.rule,
        metrics=dict(result.metrics),
        fold_metrics=[fold.as_metrics() for fold in result.folds],
        dataset_hash=dataset.content_hash,
        data_start=iso(dataset.timestamps[0]),
        data_end=iso(dataset.timestamps[-1]),
        n_rows=len(dataset),
        config_version=ctx.config_version,
        git_sha=sha,
        champion_version=published.champion_version,
        recalibrated_from=None,
        duration_s=time.perf_counter() - ctx.began,
        bundle=bundle,
        interval=ctx.interval,
        dropped=dict(dataset.dropped),
        degenerate_folds=degenerate,
    )


def degenerate_folds(result: WalkForwardResult) -> tuple[int, ...]:
    """The folds whose test block holds one class only (their classification metrics are
    undefined, so the validation cannot vouch for the model)."""
    return tuple(
        fold.number for fold in result.folds if fold.metrics.get("positive_rate", 0.5) in (0.0, 1.0)
    )


def _publication(
    ctx: RunContext,
    loss: LossSpec,
    calibration: str,
    params: BoosterParams,
    validation: ValidationSettings,
    dataset: Dataset,
    result: WalkForwardResult,
    sha: str,
) -> Publication:
    """Params, metrics, tags and artifacts of a training run (docs/training.md, MLflow)."""
    threshold = result.threshold
    embargo = dataset.horizon_bars if validation.embargo_bars is None else validation.embargo_bars
    params_logged = {
        "symbol": ctx.symbol,
        "strategy": ctx.strategy.name,
        "interval": ctx.interval,
        "loss_function": loss.config_value,
        "focal_gamma": loss.tag(loss.gamma),
        "focal_alpha": loss.tag(loss.alpha),
        "calibration": calibration,
        "folds": str(validation.n_folds),
        "scheme": validation.scheme,
        "embargo_bars": str(embargo),
        "purge": "label_end",
        "min_trades": str(validation.min_trades),
        "threshold_rule": threshold.rule,
        "break_even_probability": repr(break_even_probability(ctx.strategy, ctx.cost_pct)),
        "fees_pct": repr(ctx.settings.fees_pct),
        "slippage_pct": repr(ctx.settings.slippage_pct),
        "data_start": iso(dataset.timestamps[0]),
        "data_end": iso(dataset.timestamps[-1]),
        "rows": str(len(dataset)),
        **{f"rows_dropped_{reason}": str(n) for reason, n in dataset.dropped.items()},
        "degenerate_folds": ",".join(map(str, degenerate_folds(result))) or "none",
        "recalibrate_only": "false",
        **{f"xgb_{k}": str(v) for k, v in asdict(params).items()},
    }
    tags = lineage_tags(
        ctx,
        loss_function=loss.name,
        focal_gamma=loss.tag(loss.gamma),
        focal_alpha=loss.tag(loss.alpha),
        calibration=calibration,
        temperature=result.temperature,
        threshold=threshold.threshold,
        dataset_hash=dataset.content_hash,
        git_sha=sha,
        extra=_fingerprint_tag(loss.name),
    )
    report = calibration_report(
        result.oof_margins,
        binary_labels(dataset)[result.oof_rows],
        result.temperature,
        method=calibration,
    )
    return Publication(
        params=params_logged,
        metrics={
            **result.metrics,
            "temperature": result.temperature,
            "threshold": threshold.threshold,
        },
        fold_metrics=[fold.as_metrics() for fold in result.folds],
        tags=tags,
        calibration={
            **report,
            "fitted_on": "out-of-fold margins of the walk-forward",
            "threshold": threshold.threshold,
            "threshold_rule": threshold.rule,
        },
        bundle_extra={
            "interval": ctx.interval,
            "focal_gamma": loss.gamma,
            "focal_alpha": loss.alpha,
            "threshold_rule": threshold.rule,
            "dataset_hash": dataset.content_hash,
            REFERENCE_KEY: build_reference(
                dataset.features,
                calibrated_probability(result.oof_margins, result.temperature),
                binary_labels(dataset)[result.oof_rows],
                window=(iso(dataset.timestamps[0]), iso(dataset.timestamps[-1])),
            ),
        },
        extra_artifacts={"walk_forward.json": [asdict(f) for f in result.folds]},
    )


def _fingerprint_tag(loss_name: str) -> dict[str, str]:
    """The focal objective's code fingerprint (tag `focal_objective_fingerprint`) of a focal
    run, so `runbook diagnose` can tell whether the champion's objective is the installed one."""
    if loss_name != "focal":
        return {}
    from cvntrade.training.fingerprint import FINGERPRINT_TAG, objective_fingerprint
    from cvntrade.training.xgboost import focal_loss

    return {FINGERPRINT_TAG: objective_fingerprint(focal_loss.focal_objective)}
