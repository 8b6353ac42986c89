"""Promotion: make the gate's winning configuration the `champion`, audited.

`promote` works on the latest sweep of (symbol, strategy) (or `sweep_key`'s):

1. **gate** — a focal promotion needs a passing verdict (`evaluate_gate`) for the requested
   cell, or for the best cell when gamma/alpha are not given; a failing gate is refused with
   `GateRefusedError` (exit 1) unless `force` and a `reason` are given (then it is audited as
   forced). A binary promotion (the baseline) needs no gate;
2. **registry reads** — alias intents an interrupted earlier move of this model left pending are
   reconciled first (`cvntrade.registry.reconcile_intents`); then the sweep's config from its
   MLflow parent run, the current champion, and
   a matching existing version: same loss, gamma, alpha, calibration and dataset hash (version
   tags), same folds, scheme, embargo, costs and XGBoost parameters (run params), not a
   recalibration. Every read happens before anything is written, so an unreachable registry
   (`DependencyError`, exit 4) leaves our database untouched;
3. **version** — the matching version, or a new one trained by `run_training` with exactly the
   sweep's configuration on exactly the sweep's rows (the dataset hash is checked first);
4. **move** — version tags `sweep_key`, `gate` (`passed`, `forced` or `baseline`) and
   `gate_criteria_version`, then `cvntrade.registry.set_alias` moves `champion` through the
   intent protocol (intent committed, registry moved, then audit row `models.set_alias` +
   `alias_events` + intent `done` in one transaction);
5. **record** — one `gate.promote` audit row with the verdict (the chosen cell's criteria), the
   sweep key, whether it was forced and whether a version was trained.

Re-running a finished promotion changes nothing. If the database fails between steps 4 and 5,
re-running writes the missing `gate.promote` row (it is written whenever the latest one does not
already record this version). If the process is killed inside step 4 after the registry moved,
the re-run's reconciliation writes the missing `models.set_alias` row and the `gate.promote` row
records the champion that promotion replaced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cvntrade.audit import AuditEntry, read_audit, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.domain import IntentState, LossFunction
from cvntrade.errors import GateRefusedError, NotFoundError, UserInputError
from cvntrade.gate.cells import BASELINE, Cell, focal_cell
from cvntrade.gate.config import SweepConfig
from cvntrade.gate.criteria import LoadedCriteria, load_criteria
from cvntrade.gate.results import load_sweep
from cvntrade.gate.tracking import SweepTracker
from cvntrade.gate.verdict import GateVerdict, evaluate_gate
from cvntrade.market import ParquetStore
from cvntrade.registry import CHAMPION, MlflowRegistry, reconcile_intents, set_alias
from cvntrade.registry.mlflow_errors import translated_mlflow_errors
from cvntrade.registry.service import SEARCH_DEPTH
from cvntrade.strategy import Strategy, model_name, parse_symbol, strategy_label
from cvntrade.training.data import as_utc_timestamp, load_dataset

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvntrade.registry.records import ModelVersionInfo
    from cvntrade.settings import Settings
    from cvntrade.training.result import ProgressCallback

ACTION = "gate.promote"


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What `promote` did: which version is champion now, from what, and on whose authority."""

    model_name: str
    symbol: str
    strategy: str
    cell: str
    version: int
    old_champion: int | None
    changed: bool
    trained: bool
    forced: bool
    gate: str
    """`passed`, `forced` (focal, gate failed, overridden) or `baseline` (binary: no gate)."""
    sweep_key: str
    reason: str
    actor: str
    verdict: GateVerdict | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (`promote --json`)."""
        payload = {k: v for k, v in asdict(self).items() if k != "verdict"}
        payload["verdict"] = None if self.verdict is None else self.verdict.to_dict()
        return payload


def promote(
    engine: Engine,
    *,
    symbol: str,
    strategy: str,
    loss: str,
    actor: str,
    gamma: float | None = None,
    alpha: float | None = None,
    force: bool = False,
    reason: str | None = None,
    criteria: LoadedCriteria | None = None,
    sweep_key: str | None = None,
    tracking_uri: str | None = None,
    store: ParquetStore | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    clock: Clock = utc_now,
    interval: str = "1h",
) -> PromotionResult:
    """Promote the gate's winner (or the binary baseline) to champion; module docstring."""
    from cvntrade.settings import get_settings

    settings = settings or get_settings()
    symbol, parsed = parse_symbol(symbol), Strategy.parse(strategy)
    cell = _requested_cell(loss, gamma, alpha, force, reason)
    sweep = load_sweep(engine, symbol, strategy_label(parsed, interval), sweep_key)
    verdict: GateVerdict | None = None
    gate = "baseline"
    if cell is None or not cell.is_baseline:
        verdict = evaluate_gate(
            criteria or load_criteria(None), sweep, cell=None if cell is None else cell.name
        )
        if not verdict.passed and not force:
            failed = "; ".join(
                f"{c.name} {c.observed} (needs {c.requirement})"
                for c in verdict.cell.criteria
                if not c.passed
            )
            raise GateRefusedError(
                f"FTF gate fails for {symbol} {verdict.cell.cell} (sweep {sweep.sweep_key}, "
                f"criteria v{verdict.criteria_version}): {failed}. Nothing changed; to promote "
                "anyway give --force --reason TEXT"
            )
        gate = "passed" if verdict.passed else "forced"
        cell = Cell.parse(verdict.cell.cell)
    assert cell is not None
    uri = tracking_uri or settings.effective_tracking_uri
    registry = MlflowRegistry(uri)
    config = SweepTracker(uri, settings.home).load_config(symbol, parsed.name, sweep.sweep_key)
    if config.interval != interval:
        raise UserInputError(
            f"sweep {sweep.sweep_key} of {symbol} ran on {config.interval} bars; pass "
            f"--interval {config.interval}"
        )
    name = model_name(symbol, parsed, interval=interval)
    settled = reconcile_intents(engine, registry, model_name=name, actor=actor, clock=clock)
    old = _champion(registry, name)
    existing = _matching_version(registry, name, config, cell)
    if existing is None:
        version = _train(engine, config, cell, store, settings, uri, progress, actor)
    else:
        version = existing.version
    text = _reason(gate, cell, verdict, sweep.sweep_key, reason)
    with translated_mlflow_errors(f"model {name!r} version {version}"):
        tags = {"sweep_key": sweep.sweep_key, "gate": gate}
        if verdict is not None:
            tags["gate_criteria_version"] = str(verdict.criteria_version)
        for key, value in tags.items():
            registry.client.set_model_version_tag(name, str(version), key, value)
    move = set_alias(
        engine,
        registry,
        name=name,
        alias=CHAMPION,
        version=version,
        reason=text,
        actor=actor,
        clock=clock,
    )
    # A promotion killed after its registry write left an intent that `settled` just completed:
    # this run finishes that promotion, from the champion it replaced.
    resumed = next(
        (
            r.intent
            for r in settled
            if r.state == IntentState.DONE
            and r.intent.alias == CHAMPION
            and r.intent.to_version == version
        ),
        None,
    )
    if move.changed:
        old = move.old_version
    elif resumed is not None:
        old = resumed.from_version
    result = PromotionResult(
        model_name=name,
        symbol=symbol,
        strategy=parsed.name,
        cell=cell.name,
        version=version,
        old_champion=old,
        changed=old != version,
        trained=existing is None,
        forced=gate == "forced",
        gate=gate,
        sweep_key=sweep.sweep_key,
        reason=text,
        actor=actor,
        verdict=verdict,
    )
    if move.changed or not _already_recorded(engine, name, version):
        _record(engine, result, clock)
    return result


def _requested_cell(
    loss: str, gamma: float | None, alpha: float | None, force: bool, reason: str | None
) -> Cell | None:
    """The cell asked for (None: the gate's best focal cell); validates the option mix."""
    name = LossFunction.parse(loss).value
    if force and not (reason and reason.strip()):
        raise UserInputError("--force needs a non-empty --reason (it is audited)")
    if name == "binary":
        if gamma is not None or alpha is not None:
            raise UserInputError("--gamma and --alpha apply to --loss focal only")
        if force:
            raise UserInputError("--force applies to focal promotions only (binary has no gate)")
        return BASELINE
    if (gamma is None) != (alpha is None):
        raise UserInputError("give both --gamma and --alpha, or neither (the gate's best cell)")
    return None if gamma is None or alpha is None else focal_cell(gamma, alpha)


def _champion(registry: MlflowRegistry, name: str) -> int | None:
    try:
        return registry.aliases(name).get(CHAMPION)
    except NotFoundError:
        return None


def _matching_version(
    registry: MlflowRegistry, name: str, config: SweepConfig, cell: Cell
) -> ModelVersionInfo | None:
    """The newest version trained exactly as the sweep's cell (tags, then run params)."""
    spec = cell.loss_spec()
    wanted_tags = {
        "loss_function": cell.loss,
        "focal_gamma": spec.tag(cell.gamma),
        "focal_alpha": spec.tag(cell.alpha),
        "calibration": config.calibration,
        "dataset_hash": config.dataset_hash,
    }
    wanted_params = {
        "folds": str(config.folds),
        "scheme": config.scheme,
        "embargo_bars": str(config.embargo_bars),
        "min_trades": str(config.min_trades),
        "fees_pct": repr(config.fees_pct),
        "slippage_pct": repr(config.slippage_pct),
        **{f"xgb_{k}": str(v) for k, v in asdict(config.booster_params()).items()},
    }
    try:
        versions = registry.list_versions(name, SEARCH_DEPTH)
    except NotFoundError:
        return None
    for info in versions:
        tags = info.tags
        if "recalibrated_from" in tags or info.run_id is None:
            continue
        if any(tags.get(k) != v for k, v in wanted_tags.items()):
            continue
        with translated_mlflow_errors(f"run {info.run_id} of model {name!r}"):
            params = registry.client.get_run(info.run_id).data.params
        if all(params.get(k) == v for k, v in wanted_params.items()):
            return info
    return None


def _train(
    engine: Engine,
    config: SweepConfig,
    cell: Cell,
    store: ParquetStore | None,
    settings: Settings,
    tracking_uri: str,
    progress: ProgressCallback | None,
    actor: str,
) -> int:
    """Train the cell exactly as swept (same rows, folds, calibration, params, costs)."""
    from cvntrade.training.api import run_training

    store = store or ParquetStore(settings.home / "data")
    strategy = Strategy.parse(config.strategy)
    dataset = load_dataset(
        store,
        config.symbol,
        strategy,
        interval=config.interval,
        start=as_utc_timestamp(config.data_start, "data_start"),
        end=as_utc_timestamp(config.data_end, "data_end"),
    )
    if dataset.content_hash != config.dataset_hash:
        raise UserInputError(
            f"the {config.symbol} market data of [{config.data_start}, {config.data_end}) changed "
            f"since sweep {config.key}: re-run the sweep before promoting"
        )
    result = run_training(
        engine,
        symbol=config.symbol,
        strategy=config.strategy,
        loss=cell.loss_spec().config_value,
        gamma=cell.gamma,
        alpha=cell.alpha,
        calibration=config.calibration,
        folds=config.folds,
        start=config.data_start,
        end=config.data_end,
        tracking_uri=tracking_uri,
        store=store,
        progress=progress,
        params=config.booster_params(),
        scheme=config.scheme,
        embargo_bars=config.embargo_bars,
        min_trades=config.min_trades,
        interval=config.interval,
        actor=actor,
        settings=settings.model_copy(
            update={"fees_pct": config.fees_pct, "slippage_pct": config.slippage_pct}
        ),
    )
    return result.version


def _reason(
    gate: str, cell: Cell, verdict: GateVerdict | None, sweep_key: str, reason: str | None
) -> str:
    given = (reason or "").strip()
    if gate == "baseline":
        text = f"promote binary baseline (sweep {sweep_key})"
    elif gate == "passed":
        assert verdict is not None
        text = (
            f"promote {cell.name}: FTF gate passed (criteria v{verdict.criteria_version}, "
            f"sweep {sweep_key})"
        )
    else:
        assert verdict is not None
        failed = ", ".join(c.name for c in verdict.cell.criteria if not c.passed)
        text = f"FORCED promote {cell.name}: FTF gate failed ({failed}; sweep {sweep_key})"
    return f"{text}: {given}" if given else text


def _already_recorded(engine: Engine, name: str, version: int) -> bool:
    latest = read_audit(engine, target=f"{name}@{CHAMPION}", action=ACTION, limit=1)
    return (
        bool(latest)
        and isinstance(latest[0].after, dict)
        and latest[0].after.get("version") == version
    )


def _record(engine: Engine, result: PromotionResult, clock: Clock) -> None:
    verdict = result.verdict
    summary = None
    if verdict is not None:
        summary = {
            "passed": verdict.passed,
            "criteria_version": verdict.criteria_version,
            "criteria_source": verdict.criteria_source,
            "criteria_sha256": verdict.criteria_sha256,
            "n_folds": verdict.n_folds,
            "cell": verdict.to_dict()["cell"],
        }
    with write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                at=clock(),
                actor=result.actor,
                action=ACTION,
                target=f"{result.model_name}@{CHAMPION}",
                reason=result.reason,
                before={"version": result.old_champion},
                after={
                    "version": result.version,
                    "cell": result.cell,
                    "gate": result.gate,
                    "forced": result.forced,
                    "trained": result.trained,
                    "sweep_key": result.sweep_key,
                    "verdict": summary,
                },
            ),
        )
