"""The resolved inputs shared by a training run and a recalibration, and their lineage tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cvntrade.market import ParquetStore
from cvntrade.strategy import Strategy, model_name
from cvntrade.training.result import ProgressCallback

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvntrade.settings import Settings


@dataclass(frozen=True, slots=True)
class RunContext:
    """Everything a run needs once options are resolved (times naive UTC, None = unbounded)."""

    engine: Engine
    settings: Settings
    symbol: str
    strategy: Strategy
    interval: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    tracking_uri: str
    store: ParquetStore
    progress: ProgressCallback | None
    config_version: int
    actor: str
    began: float

    @property
    def model_name(self) -> str:
        """`CVNTrade_XGBoost_{SYMBOL}_{STRATEGY}` (`{STRATEGY}` carries the interval unless 1h)."""
        return model_name(self.symbol, self.strategy, interval=self.interval)

    @property
    def cost_pct(self) -> float:
        """Round-trip fees plus slippage, percent (settings)."""
        return float(self.settings.fees_pct + self.settings.slippage_pct)

    def report(self, stage: str, done: int, total: int) -> None:
        """Tell the progress callback, if any, that a step finished."""
        if self.progress is not None:
            self.progress(stage, done, total)


def lineage_tags(
    ctx: RunContext,
    *,
    loss_function: str,
    focal_gamma: str,
    focal_alpha: str,
    calibration: str,
    temperature: float,
    threshold: float,
    dataset_hash: str,
    git_sha: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The model version tags every CVNTrade version carries (docs/training.md)."""
    return {
        "loss_function": loss_function,
        "focal_gamma": focal_gamma,
        "focal_alpha": focal_alpha,
        "calibration": calibration,
        "temperature": repr(float(temperature)),
        "threshold": repr(float(threshold)),
        "dataset_hash": dataset_hash,
        "git_sha": git_sha,
        "config_version": str(ctx.config_version),
        "symbol": ctx.symbol,
        "strategy": ctx.strategy.name,
        **(extra or {}),
    }


def iso(value: np.datetime64) -> str:
    """A datetime64 as ISO-8601 UTC text to the second, e.g. `2024-01-05T00:00:00Z`."""
    return str(np.datetime_as_string(value, unit="s")) + "Z"
