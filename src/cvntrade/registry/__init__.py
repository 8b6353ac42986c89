"""The model registry (MLflow): versions, loss tags, the `champion` alias and audited moves."""

from cvntrade.registry.client import MlflowRegistry, Registry
from cvntrade.registry.intents import pending_intents, reconcile_intents
from cvntrade.registry.records import AliasIntent, ModelVersionInfo, Settlement
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
    "AliasIntent",
    "AliasMove",
    "MlflowRegistry",
    "ModelVersionInfo",
    "Registry",
    "Settlement",
    "champion_of",
    "list_versions",
    "pending_intents",
    "previous_non_focal",
    "reconcile_intents",
    "set_alias",
]
