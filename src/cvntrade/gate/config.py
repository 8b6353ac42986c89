"""What a sweep of one symbol is, exactly, and the deterministic key that names it.

`SweepConfig` holds everything that decides a sweep's numbers: symbol, strategy, the
(gamma, alpha) grid, the walk-forward (folds, scheme, embargo, minimum trades for the
threshold), the calibration, every XGBoost parameter (seed and threads per cell included), the
costs, and the data: the resolved signal-bar range `[data_start, data_end)` and the dataset's
content hash. The `sweep_key` is the first 16 hex digits of the SHA-256 of its canonical JSON,
so the same inputs always give the same key (and resume the same sweep), while any change
(another seed, a grid value, one more bar of data) gives a new one. How the sweep is executed
(`--workers`, `--scheduler`) is not part of it: the results do not depend on it.

The key is per symbol (not per invocation): sweeping BTCUSDC alone and then BTCUSDC with
ETHUSDC reuses the BTCUSDC cells. The config is stored as JSON on the sweep's MLflow parent run
(tag `sweep_config`), where promotion reads it back to train exactly what the gate judged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cvntrade.errors import UserInputError
from cvntrade.gate.cells import Cell, sweep_cells
from cvntrade.training.booster import BoosterParams
from cvntrade.training.evaluation import ValidationSettings

KEY_LENGTH = 16


class SweepConfig(BaseModel):
    """The inputs that determine one symbol's sweep results (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["cvntrade-sweep-v1"] = "cvntrade-sweep-v1"
    symbol: str
    strategy: str
    interval: str
    gammas: tuple[float, ...]
    alphas: tuple[float, ...]
    folds: int = Field(ge=1)
    scheme: Literal["expanding", "rolling"]
    embargo_bars: int = Field(ge=0)
    min_trades: int = Field(ge=1)
    calibration: Literal["none", "temperature_scaling"]
    params: dict[str, float | int]
    data_start: str
    data_end: str
    dataset_hash: str
    n_rows: int
    fees_pct: float
    slippage_pct: float

    @property
    def key(self) -> str:
        """The sweep key: 16 hex digits of the SHA-256 of the canonical JSON."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:KEY_LENGTH]

    def canonical_json(self) -> str:
        """Sorted, compact JSON: equal configs give byte-identical text."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SweepConfig:
        """Parse the JSON written by `canonical_json` (e.g. from the MLflow parent run)."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UserInputError(f"unreadable sweep config ({where}: {first['msg']})") from None

    @property
    def cost_pct(self) -> float:
        """Round-trip fees plus slippage, percent."""
        return self.fees_pct + self.slippage_pct

    def booster_params(self) -> BoosterParams:
        """The XGBoost parameters every cell of the sweep trained with."""
        names = {f.name for f in fields(BoosterParams)}
        return BoosterParams(**{k: v for k, v in self.params.items() if k in names})  # type: ignore[arg-type]

    def validation(self) -> ValidationSettings:
        """The walk-forward settings every cell of the sweep used."""
        return ValidationSettings(
            n_folds=self.folds,
            scheme=self.scheme,
            embargo_bars=self.embargo_bars,
            min_trades=self.min_trades,
        )

    def cells(self) -> tuple[Cell, ...]:
        """The binary baseline and every focal (gamma, alpha) cell of the grid."""
        return sweep_cells(self.gammas, self.alphas)


def params_dict(params: BoosterParams) -> dict[str, float | int]:
    """`BoosterParams` as the plain mapping stored in a `SweepConfig`."""
    return dict(asdict(params))
