"""Path C's evaluation: backtest candidate versions that are not champions, and how a version
was trained (so a retrain changes gamma only).

A backtest (`cvntrade trade replay`) trades each symbol's `champion`. `CandidateRegistry` is a
read-only view of the real registry in which `champion` of the given models points at the
candidate versions instead; the real alias never moves, and the backtest run is stored apart
from the journal like any replay (`cvntrade trade runs show ID`), its served versions included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from cvntrade.errors import CvnError, UserInputError
from cvntrade.registry import CHAMPION, ModelVersionInfo, Registry
from cvntrade.training.booster import BoosterParams

if TYPE_CHECKING:
    from cvntrade.app import AppContext
    from cvntrade.trading.service import BacktestResult

DEFAULT_FOLDS = 5


class CandidateRegistry:
    """`Registry` view whose `champion` of some models points at candidate versions."""

    def __init__(self, base: Registry, candidates: Mapping[str, int]) -> None:
        self._base = base
        self._candidates = dict(candidates)

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        """The real versions."""
        return self._base.list_versions(name, max_results)

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        """One real version."""
        return self._base.get_version(name, version)

    def aliases(self, name: str) -> dict[str, int]:
        """The real aliases, with `champion` replaced by the candidate of `name`."""
        found = dict(self._base.aliases(name))
        if name in self._candidates:
            found[CHAMPION] = self._candidates[name]
        return found

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Refused: an evaluation never moves an alias."""
        raise UserInputError(f"candidate view of the registry is read-only ({name}@{alias})")


@dataclass(frozen=True, slots=True)
class TrainingRecipe:
    """How a version was trained: XGBoost params, folds and first signal bar."""

    params: BoosterParams
    folds: int
    data_start: str | None


def recipe_of(tracking_uri: str, info: ModelVersionInfo) -> TrainingRecipe:
    """The run params of `info` (`xgb_*`, `folds`, `data_start`); defaults when not recorded."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    logged: dict[str, str] = {}
    if info.run_id:
        try:
            client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
            logged = dict(client.get_run(info.run_id).data.params)
        except MlflowException:
            logged = {}
    values: dict[str, object] = {}
    for f in fields(BoosterParams):
        raw = logged.get(f"xgb_{f.name}")
        if raw is None:
            continue
        try:
            values[f.name] = int(raw) if f.type in ("int", int) else float(raw)
        except ValueError:
            continue
    try:
        params = BoosterParams(**values)  # type: ignore[arg-type]
    except CvnError:
        params = BoosterParams()
    try:
        folds = int(logged.get("folds", DEFAULT_FOLDS))
    except ValueError:
        folds = DEFAULT_FOLDS
    return TrainingRecipe(params, folds, logged.get("data_start"))


def backtest_candidates(
    ctx: AppContext,
    candidates: Mapping[str, int],
    *,
    strategy: str,
    start: dt.datetime,
    end: dt.datetime,
) -> BacktestResult:
    """One backtest run of the candidate versions (symbol → version) over `[start, end)`."""
    from cvntrade.strategy import Strategy, model_name
    from cvntrade.trading.backtest import training_window
    from cvntrade.trading.engine import Costs
    from cvntrade.trading.service import EngineSetup, mlflow_loader, run_backtest

    uri = ctx.settings.effective_tracking_uri
    parsed = Strategy.parse(strategy)
    names = {model_name(s, parsed): v for s, v in candidates.items()}
    setup = EngineSetup(
        db=ctx.engine,
        registry=CandidateRegistry(ctx.registry, names),
        loader=mlflow_loader(uri),
        symbols=tuple(sorted(candidates)),
        strategy=parsed,
        interval="1h",
        costs=Costs(ctx.settings.fees_pct, ctx.settings.slippage_pct),
        poll_s=ctx.settings.alias_poll_s,
        engine_id="backtest",
    )
    return run_backtest(
        setup,
        data_dir=ctx.settings.home / "data",
        start=start,
        end=end,
        actor=ctx.actor,
        training_window=lambda name, version: training_window(uri, name, version),
    )
