"""The `ftf_config` service: typed keys, atomic compare-and-swap updates, history and audit."""

from cvntrade.config.keys import CONFIG_KEYS, normalise_value, parse_assignments
from cvntrade.config.service import (
    ConfigChange,
    ConfigHistoryEntry,
    ConfigSnapshot,
    config_history,
    read_config,
    set_config,
)

__all__ = [
    "CONFIG_KEYS",
    "ConfigChange",
    "ConfigHistoryEntry",
    "ConfigSnapshot",
    "config_history",
    "normalise_value",
    "parse_assignments",
    "read_config",
    "set_config",
]
