"""Model training: objectives, validation, calibration, metrics and registration.

Entry points: `api.run_training` (CLI `cvntrade train`, the Airflow DAG, the demo) and
`bundle.load_bundle` / `bundle.ModelBundle` (what the trading engine serves). The pieces:
`xgboost.focal_loss` (the focal objective), `booster` (fitting either loss), `walk_forward`
(purged splits), `evaluation` (out-of-fold metrics), `calibration` (temperature scaling),
`metrics`, `simulation` (net expectancy and the threshold rule), `tracking` and `publish`
(MLflow), `recalibration` (`--recalibrate-only`). This package itself imports nothing heavy;
XGBoost, MLflow and SciPy load inside the functions that need them.
"""
