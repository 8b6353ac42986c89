"""Kept for imports written before the translator moved to `cvntrade.registry.mlflow_errors`."""

from cvntrade.registry.mlflow_errors import translated_mlflow_errors

__all__ = ["translated_mlflow_errors"]
