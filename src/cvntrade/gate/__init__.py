"""The FTF sweep gate: sweep focal (gamma, alpha) against the binary baseline, judge, promote.

* `run_sweep` — every cell on the same purged walk-forward folds, per symbol, resumable, on a
  local process pool or a Dask cluster; per-fold metrics in `sweep_results`, runs in MLflow;
* `load_criteria` / `check_gate` / `evaluate_gate` — the versioned criteria file and the
  `GateVerdict`;
* `promote` — the gate's winner (or the baseline) becomes `champion`, audited.

See docs/gate.md.
"""

from cvntrade.errors import GateRefusedError
from cvntrade.gate.cells import BASELINE, Cell, focal_cell, parse_grid, sweep_cells
from cvntrade.gate.config import SweepConfig
from cvntrade.gate.criteria import (
    DEFAULT_CRITERIA_YAML,
    GateCriteria,
    LoadedCriteria,
    load_criteria,
    parse_criteria,
)
from cvntrade.gate.promotion import PromotionResult, promote
from cvntrade.gate.results import CellResults, SweepResults, load_sweep
from cvntrade.gate.runners import (
    CellRunner,
    DaskRunner,
    InlineRunner,
    ProcessPoolRunner,
    make_runner,
)
from cvntrade.gate.sweep import SweepReport, SweepRequest, SymbolSweep, run_sweep
from cvntrade.gate.verdict import (
    CellVerdict,
    CriterionResult,
    GateVerdict,
    check_gate,
    evaluate_gate,
)

__all__ = [
    "BASELINE",
    "DEFAULT_CRITERIA_YAML",
    "Cell",
    "CellResults",
    "CellRunner",
    "CellVerdict",
    "CriterionResult",
    "DaskRunner",
    "GateCriteria",
    "GateRefusedError",
    "GateVerdict",
    "InlineRunner",
    "LoadedCriteria",
    "ProcessPoolRunner",
    "PromotionResult",
    "SweepConfig",
    "SweepReport",
    "SweepRequest",
    "SweepResults",
    "SymbolSweep",
    "check_gate",
    "evaluate_gate",
    "focal_cell",
    "load_criteria",
    "load_sweep",
    "make_runner",
    "parse_criteria",
    "parse_grid",
    "promote",
    "run_sweep",
    "sweep_cells",
]
