"""The typed keys of `ftf_config.base_env`.

Values are stored as strings (the runbook reads them with `->>`), but each key is validated and
normalised by type on write, so a typo can never reach the trainer or the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from cvntrade.domain import CONFIG_LOSS_VALUES
from cvntrade.errors import UserInputError

LOSS_FUNCTIONS = CONFIG_LOSS_VALUES
CALIBRATIONS = ("none", "temperature_scaling")


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """A known configuration key: what it means and how to normalise a raw value."""

    name: str
    description: str
    normalise: Callable[[str], str]


def _choice(*allowed: str) -> Callable[[str], str]:
    def normalise(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return raw

    return normalise


def _float(
    *, low: float, high: float | None = None, open_low: bool = False
) -> Callable[[str], str]:
    def normalise(raw: str) -> str:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
        if not math.isfinite(value):
            raise ValueError("must be finite")
        if (value <= low) if open_low else (value < low):
            raise ValueError(f"must be {'>' if open_low else '>='} {low:g}")
        if high is not None and value >= high:
            raise ValueError(f"must be < {high:g}")
        return repr(value)

    return normalise


CONFIG_KEYS: dict[str, ConfigKey] = {
    key.name: key
    for key in (
        ConfigKey(
            "CVN_LOSS_FUNCTION",
            "training loss: binary:logistic (baseline) or focal",
            _choice(*LOSS_FUNCTIONS),
        ),
        ConfigKey("CVN_FOCAL_GAMMA", "focal loss focusing parameter gamma (>= 0)", _float(low=0)),
        ConfigKey(
            "CVN_FOCAL_ALPHA",
            "focal loss class weight alpha, in (0, 1)",
            _float(low=0, high=1, open_low=True),
        ),
        ConfigKey(
            "CVN_CALIBRATION",
            "probability calibration: none or temperature_scaling",
            _choice(*CALIBRATIONS),
        ),
    )
}


def normalise_value(key: str, raw: str) -> str:
    """Validate `raw` for `key` and return the canonical string stored in `base_env`."""
    spec = CONFIG_KEYS.get(key)
    if spec is None:
        raise UserInputError(f"unknown config key {key!r}: known keys are {', '.join(CONFIG_KEYS)}")
    try:
        return spec.normalise(raw.strip())
    except ValueError as exc:
        raise UserInputError(f"invalid value {raw!r} for {key}: {exc}") from None


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """Turn `KEY=VALUE` arguments into a validated, normalised mapping (all or nothing)."""
    if not assignments:
        raise UserInputError("nothing to set: give at least one KEY=VALUE")
    changes: dict[str, str] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserInputError(f"invalid assignment {item!r}: expected KEY=VALUE")
        if key in changes:
            raise UserInputError(f"key {key} given twice")
        changes[key] = normalise_value(key, raw)
    return changes
