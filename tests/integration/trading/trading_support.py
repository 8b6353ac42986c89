"""Constants and the booster model shared by the engine tests (imported by their conftest)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from cvntrade.strategy import Strategy

SYMBOLS = ("BTCUSDC", "ETHUSDC")
STRATEGY = Strategy.parse("SL0.5_TP1_H4")
START = dt.datetime(2025, 1, 1)
TRAIN_END = dt.datetime(2025, 2, 15)
END = dt.datetime(2025, 3, 15)


@dataclass(frozen=True)
class BoosterModel:
    """A trained booster with the `TradableModel` surface (what `ModelBundle` offers)."""

    booster: xgb.Booster
    threshold: float
    loss_function: str

    def predict_proba(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        margins = self.booster.inplace_predict(features, predict_type="margin")
        return 1.0 / (1.0 + np.exp(-np.asarray(margins, dtype=np.float64)))
