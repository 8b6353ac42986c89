"""The gate criteria file (`gate_criteria.yaml`): thresholds a focal cell must meet, versioned.

The built-in default is `DEFAULT_CRITERIA_YAML` (also shipped as `gate_criteria.yaml` at the
repository root, checked identical by a test); `--criteria FILE` replaces it. Every field is
required and unknown fields are refused, so a typo cannot silently disable a criterion. The
`version` is bumped by whoever changes a threshold; verdicts and promotion audit rows record it
together with the SHA-256 of the file's text. Units and semantics: docs/gate.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cvntrade.errors import UserInputError

BUILT_IN = "built-in"

DEFAULT_CRITERIA_YAML = """\
# FTF sweep gate criteria (docs/gate.md): what a focal (gamma, alpha) cell of a sweep must show,
# fold by fold against the binary baseline trained on the same purged walk-forward folds, before
# `cvntrade promote --loss focal` may make it the champion. Net expectancy is percent per trade,
# net of fees and slippage (1.0 = +1 %). Bump `version` whenever a threshold changes.
version: 1

# A fold is won when focal's net expectancy exceeds the baseline's by at least this (and > 0) ...
min_net_expectancy_uplift_pct: 0.01
# ... and at least this many folds must be won.
min_winning_folds: 3
# No fold may trail the baseline's net expectancy by more than this.
max_fold_shortfall_pct: 0.05
# Mean over folds of F1_BUY(focal) - F1_BUY(baseline) must be at least this.
min_f1_buy_uplift: 0.0
# The focal cell's overall out-of-fold ECE_HOLD must be at most this.
max_ece_hold: 0.05
# The focal cell must simulate at least this many trades in every fold.
min_trades_per_fold: 30
"""


class GateCriteria(BaseModel):
    """Thresholds of the FTF gate (all required; see docs/gate.md for each one's meaning)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    version: int = Field(ge=1)
    min_net_expectancy_uplift_pct: float = Field(ge=0)
    min_winning_folds: int = Field(ge=0)
    max_fold_shortfall_pct: float = Field(ge=0)
    min_f1_buy_uplift: float = Field(ge=-1, le=1)
    max_ece_hold: float = Field(ge=0, le=1)
    min_trades_per_fold: int = Field(ge=0)


@dataclass(frozen=True, slots=True)
class LoadedCriteria:
    """Criteria with where they came from (`built-in` or the file's path) and the text's hash."""

    criteria: GateCriteria
    source: str
    sha256: str


def load_criteria(path: Path | None = None) -> LoadedCriteria:
    """The criteria of `path`, or the built-in default when None.

    Raises `UserInputError` with one line naming the file and the offending field.
    """
    if path is None:
        return parse_criteria(DEFAULT_CRITERIA_YAML, BUILT_IN)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserInputError(f"gate criteria file {path} cannot be read: {reason}") from None
    return parse_criteria(text, str(path))


def parse_criteria(text: str, source: str) -> LoadedCriteria:
    """Parse and validate criteria YAML; `source` names it in errors and verdicts."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserInputError(f"gate criteria {source}: invalid YAML{where}: {problem}") from None
    if not isinstance(document, dict):
        kind = "an empty file" if document is None else type(document).__name__
        raise UserInputError(
            f"gate criteria {source}: expected a mapping of fields (version, "
            f"min_net_expectancy_uplift_pct, …), got {kind}"
        )
    try:
        criteria = GateCriteria.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in err['loc']) or '(top level)'!r}: {err['msg']}"
            for err in exc.errors()
        )
        raise UserInputError(f"gate criteria {source}: {problems}") from None
    return LoadedCriteria(criteria, source, hashlib.sha256(text.encode()).hexdigest())
