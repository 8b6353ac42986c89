"""The model registry (MLflow): versions, loss tags, the `champion` alias and audited moves."""

from cvntrade.registry.client import MlflowRegistry, Registry
from cvntrade.registry.records import ModelVersionInfo
from cvntrade.registry.service import (
    CHAMPION,
    AliasMove,
    champion_of,
    list_versions,
    previous_non_focal,
    set_alias,
)

__all__ = [
    "CHAMPION",
    "AliasMove",
    "MlflowRegistry",
    "ModelVersionInfo",
    "Registry",
    "champion_of",
    "list_versions",
    "previous_non_focal",
    "set_alias",
]
