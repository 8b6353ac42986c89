"""Sweep cells: the binary baseline and one focal (gamma, alpha) setting each.

A cell's name is what `sweep_results.cell` stores and what every table shows: `binary`, or
`focal_g{gamma}_a{alpha}` with both numbers in their shortest form (`focal_g2_a0.25`,
`focal_g0.5_a0.5`). The name must identify the numbers exactly, so grid values are limited to
what `{:g}` prints back unchanged (six significant digits).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from cvntrade.errors import UserInputError
from cvntrade.training.booster import LossName, LossSpec

BASELINE_NAME = "binary"
_FOCAL_RE = re.compile(r"^focal_g(?P<gamma>[^_]+)_a(?P<alpha>[^_]+)$")
MAX_GRID_VALUES = 20
Parameter = Literal["gamma", "alpha"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One configuration of a sweep: `binary`, or `focal` with its gamma and alpha."""

    loss: LossName
    gamma: float | None = None
    alpha: float | None = None

    def __post_init__(self) -> None:
        self.loss_spec()  # validates the loss and the focal parameters

    @property
    def name(self) -> str:
        """`binary` or `focal_g{gamma:g}_a{alpha:g}` (the `sweep_results.cell` value)."""
        if self.loss == "binary":
            return BASELINE_NAME
        return f"focal_g{self.gamma:g}_a{self.alpha:g}"

    @property
    def is_baseline(self) -> bool:
        """True for the binary baseline every focal cell is compared with."""
        return self.loss == "binary"

    def loss_spec(self) -> LossSpec:
        """The training loss of this cell."""
        return LossSpec(self.loss, self.gamma, self.alpha)

    @classmethod
    def parse(cls, name: str) -> Cell:
        """The cell named `binary` or `focal_g<gamma>_a<alpha>`."""
        if name == BASELINE_NAME:
            return BASELINE
        match = _FOCAL_RE.match(name)
        if match is None:
            raise UserInputError(
                f"invalid sweep cell {name!r}: expected binary or focal_g<gamma>_a<alpha>"
            )
        try:
            return cls("focal", float(match["gamma"]), float(match["alpha"]))
        except ValueError:
            raise UserInputError(
                f"invalid sweep cell {name!r}: gamma and alpha must be numbers"
            ) from None


BASELINE = Cell("binary")


def focal_cell(gamma: float, alpha: float) -> Cell:
    """The focal cell for (gamma, alpha), validated like a grid value."""
    return Cell(
        "focal", _grid_value(gamma, "--gamma", "gamma"), _grid_value(alpha, "--alpha", "alpha")
    )


def parse_grid(text: str, option: str, kind: Parameter) -> tuple[float, ...]:
    """A comma-separated grid of `kind` values such as `0.5,1,2`: sorted, no duplicates."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise UserInputError(f"{option} needs at least one value, e.g. {option} 0.5,1,2")
    values: set[float] = set()
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise UserInputError(f"invalid {option} value {item!r}: expected a number") from None
        values.add(_grid_value(value, option, kind))
    if len(values) > MAX_GRID_VALUES:
        raise UserInputError(f"{option} has {len(values)} values; at most {MAX_GRID_VALUES}")
    return tuple(sorted(values))


def sweep_cells(gammas: Iterable[float], alphas: Iterable[float]) -> tuple[Cell, ...]:
    """The baseline followed by every focal (gamma, alpha) cell, gamma-major."""
    alpha_list = list(alphas)
    return (BASELINE, *(focal_cell(g, a) for g in gammas for a in alpha_list))


def _grid_value(value: float, option: str, kind: Parameter) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise UserInputError(f"invalid {option} value {value!r}: must be finite")
    if float(f"{value:g}") != value:
        raise UserInputError(
            f"invalid {option} value {value!r}: use at most 6 significant digits "
            "(the cell name must identify it exactly)"
        )
    if kind == "gamma" and value < 0:
        raise UserInputError(f"invalid {option} value {value:g}: must be >= 0")
    if kind == "alpha" and not 0.0 < value < 1.0:
        raise UserInputError(f"invalid {option} value {value:g}: must be in (0, 1)")
    return value
