"""`--recalibrate-only` (runbook Path B): refit the champion's temperature on recent data.

The champion's booster is kept bit for bit; only the calibration changes. On the most recent
`recent_days` of labelled rows (or `[start, end)` when given) the champion's margins get a new
temperature (`fit_temperature`), and the trading threshold is re-chosen on those recalibrated
probabilities with the usual rule (a threshold is a probability, so it must follow the
calibration). The result is registered as a new version with the champion's loss tags,
`calibration=temperature_scaling` and `recalibrated_from=<champion version>`; the champion alias
does not move (promotion stays a separate decision). Metrics are measured on the same window
(in-sample for a single parameter), next to `*_before` values with the old calibration.
"""

from __future__ import annotations

import time
from dataclasses import replace

from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.monitoring.reference import REFERENCE_KEY, build_reference
from cvntrade.training.bundle import load_bundle
from cvntrade.training.calibration import (
    calibrated_probability,
    calibration_report,
    fit_temperature,
)
from cvntrade.training.context import RunContext, iso, lineage_tags
from cvntrade.training.data import binary_labels, feature_matrix, load_dataset, trade_outcomes
from cvntrade.training.evaluation import evaluate_outcome
from cvntrade.training.publish import Publication, publish
from cvntrade.training.result import TrainingResult
from cvntrade.training.simulation import break_even_probability, choose_threshold
from cvntrade.training.tracking import git_sha

TOTAL_STEPS = 3


def recalibrate_champion(
    ctx: RunContext, *, min_trades: int, recent_days: float, version: int | None = None
) -> TrainingResult:
    """Register the champion's booster (or version `version`'s, e.g. the focal version a
    rollback replaced: runbook path B) with a temperature refitted on recent data."""
    from cvntrade.registry import MlflowRegistry, champion_of

    registry = MlflowRegistry(ctx.tracking_uri)
    try:
        if version is not None:
            champion = registry.get_version(ctx.model_name, version)
        else:
            champion = champion_of(registry, ctx.model_name)
    except NotFoundError:
        if version is not None:
            raise
        raise NotFoundError(
            f"{ctx.model_name} has no champion to recalibrate: train one first with "
            f"`cvntrade train --symbol {ctx.symbol} --strategy {ctx.strategy.name} "
            f"--interval {ctx.interval}`"
        ) from None
    old = load_bundle(ctx.tracking_uri, ctx.model_name, champion.version)
    dataset = load_dataset(
        ctx.store,
        ctx.symbol,
        ctx.strategy,
        interval=ctx.interval,
        start=ctx.start,
        end=ctx.end,
        recent_days=None if ctx.start is not None else recent_days,
    )
    names = tuple(str(c) for c in dataset.features.columns)
    if names != old.feature_names:
        raise UserInputError(
            f"version {champion.version} of {ctx.model_name} was trained on other features "
            "than the current feature set: train a new model instead of recalibrating"
        )
    ctx.report("champion loaded", 1, TOTAL_STEPS)
    y = binary_labels(dataset)
    margins = old.margins(feature_matrix(dataset))
    outcomes = trade_outcomes(dataset, ctx.cost_pct)
    temperature = fit_temperature(margins, y)
    probs = calibrated_probability(margins, temperature)
    choice = choose_threshold(
        probs,
        outcomes,
        break_even=break_even_probability(ctx.strategy, ctx.cost_pct),
        min_trades=min_trades,
    )
    before = evaluate_outcome(
        calibrated_probability(margins, old.temperature), y, old.threshold, outcomes
    )
    metrics = {
        **evaluate_outcome(probs, y, choice.threshold, outcomes),
        **{f"{k}_before": v for k, v in before.items() if k != "n_samples"},
    }
    bundle = replace(
        old, calibration="temperature_scaling", temperature=temperature, threshold=choice.threshold
    )
    ctx.report("temperature fitted", 2, TOTAL_STEPS)
    sha = git_sha()
    gamma_tag = champion.tags.get("focal_gamma", "none")
    alpha_tag = champion.tags.get("focal_alpha", "none")
    tags = lineage_tags(
        ctx,
        loss_function=champion.loss_function or old.loss_function,
        focal_gamma=gamma_tag,
        focal_alpha=alpha_tag,
        calibration=bundle.calibration,
        temperature=temperature,
        threshold=choice.threshold,
        dataset_hash=dataset.content_hash,
        git_sha=sha,
        extra={
            "recalibrated_from": str(champion.version),
            **{k: v for k, v in champion.tags.items() if k == "focal_objective_fingerprint"},
        },
    )
    data_start, data_end = iso(dataset.timestamps[0]), iso(dataset.timestamps[-1])
    publication = Publication(
        params={
            "symbol": ctx.symbol,
            "strategy": ctx.strategy.name,
            "interval": ctx.interval,
            "recalibrate_only": "true",
            "recalibrated_from": str(champion.version),
            "calibration": bundle.calibration,
            "min_trades": str(min_trades),
            "threshold_rule": choice.rule,
            "fees_pct": repr(ctx.settings.fees_pct),
            "slippage_pct": repr(ctx.settings.slippage_pct),
            "data_start": data_start,
            "data_end": data_end,
            "rows": str(len(dataset)),
        },
        metrics={**metrics, "temperature": temperature, "threshold": choice.threshold},
        fold_metrics=[],
        tags=tags,
        calibration={
            **calibration_report(margins, y, temperature, method=bundle.calibration),
            "previous_temperature": old.temperature,
            "fitted_on": f"champion margins on the recent window {data_start} .. {data_end}",
            "threshold": choice.threshold,
            "threshold_rule": choice.rule,
        },
        bundle_extra={
            "interval": ctx.interval,
            "focal_gamma": _tag_float(gamma_tag),
            "focal_alpha": _tag_float(alpha_tag),
            "threshold_rule": choice.rule,
            "dataset_hash": dataset.content_hash,
            "recalibrated_from": champion.version,
            REFERENCE_KEY: build_reference(
                dataset.features,
                calibrated_probability(margins, temperature),
                y,
                window=(data_start, data_end),
            ),
        },
        extra_artifacts={},
    )
    published = publish(
        ctx.engine,
        bundle,
        publication,
        model_name=ctx.model_name,
        tracking_uri=ctx.tracking_uri,
        home=ctx.settings.home,
        run_name=f"{ctx.symbol}-{ctx.strategy.name}-recalibrate-v{champion.version}",
        actor=ctx.actor,
    )
    ctx.report("registered", TOTAL_STEPS, TOTAL_STEPS)
    return TrainingResult(
        model_name=ctx.model_name,
        version=published.registration.version,
        run_id=published.registration.run_id,
        symbol=ctx.symbol,
        strategy=ctx.strategy.name,
        loss_function=tags["loss_function"],
        focal_gamma=_tag_float(gamma_tag),
        focal_alpha=_tag_float(alpha_tag),
        calibration=bundle.calibration,
        temperature=temperature,
        threshold=choice.threshold,
        threshold_rule=choice.rule,
        metrics=metrics,
        fold_metrics=[],
        dataset_hash=dataset.content_hash,
        data_start=data_start,
        data_end=data_end,
        n_rows=len(dataset),
        config_version=ctx.config_version,
        git_sha=sha,
        champion_version=published.champion_version,
        recalibrated_from=champion.version,
        duration_s=time.perf_counter() - ctx.began,
        bundle=bundle,
        interval=ctx.interval,
        dropped=dict(dataset.dropped),
    )


def _tag_float(tag: str) -> float | None:
    try:
        return float(tag)
    except ValueError:
        return None
