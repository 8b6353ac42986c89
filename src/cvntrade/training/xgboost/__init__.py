"""XGBoost-specific training pieces, such as the focal-loss objective in `focal_loss`.

Import submodules explicitly (`from cvntrade.training.xgboost import focal_loss`); this package
itself imports nothing heavy.
"""
