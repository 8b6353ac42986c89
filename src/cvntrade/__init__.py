"""CVNTrade: train, gate, deploy, trade and operate per-symbol ML models for crypto markets."""

import os as _os

# MLflow 3 phones home for telemetry from a background thread; CVNTrade never uses the network
# except the exchanges and registries it is pointed at. Users can still opt in explicitly.
_os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

__version__ = "0.1.0"
