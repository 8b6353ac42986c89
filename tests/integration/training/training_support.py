"""Constants shared by the training integration tests and their fixtures."""

from __future__ import annotations

from cvntrade.training.booster import BoosterParams

SYMBOLS = ("BTCUSDC", "ETHUSDC")
STRATEGY = "SL0.5_TP1_H4"
FAST = BoosterParams(rounds=20)  # few rounds: the tests check plumbing, not model quality
FOLDS = 3
