"""The domain's vocabulary, defined once: loss functions, incident statuses, exit reasons, sources.

The same loss has two spellings — `binary:logistic` in `ftf_config` (`CVN_LOSS_FUNCTION`, the
XGBoost objective) and `binary` in the journal (`model_loss_function`) and in the MLflow tag
`loss_function` — and translating between them in several places is how they drift apart.
"""

from __future__ import annotations

from enum import StrEnum

from cvntrade.errors import UserInputError


class LossFunction(StrEnum):
    """A training loss, by its journal/tag name (`binary`, `focal`)."""

    BINARY = "binary"
    FOCAL = "focal"

    @property
    def config_value(self) -> str:
        """The `CVN_LOSS_FUNCTION` spelling: `binary:logistic` or `focal`."""
        return "binary:logistic" if self is LossFunction.BINARY else "focal"

    @classmethod
    def parse(cls, text: str, *, field: str = "--loss") -> LossFunction:
        """Either spelling (`binary:logistic`, `binary`, `focal`) → the loss; else exit 2."""
        cleaned = text.strip()
        for loss in cls:
            if cleaned in (loss.value, loss.config_value):
                return loss
        raise UserInputError(f"unknown {field} {text!r}: use binary:logistic (or binary) or focal")


CONFIG_LOSS_VALUES: tuple[str, ...] = tuple(loss.config_value for loss in LossFunction)
"""The values `CVN_LOSS_FUNCTION` accepts."""
BASELINE_CONFIG_LOSS = LossFunction.BINARY.config_value
"""`binary:logistic`: what a rollback sets `CVN_LOSS_FUNCTION` to."""


class IncidentStatus(StrEnum):
    """Where an incident stands; `resolved` and `false_positive` close it."""

    OPEN = "open"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"

    @property
    def closed(self) -> bool:
        """True for the statuses that close an incident."""
        return self in (IncidentStatus.RESOLVED, IncidentStatus.FALSE_POSITIVE)


class ExitReason(StrEnum):
    """Why a position closed (`trade_journal.exit_reason`)."""

    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    HORIZON = "horizon"
    KILL_SWITCH = "kill_switch"
    HALT = "halt"
    DATA_GAP = "data_gap"
    """The market data has a gap longer than the horizon: closed at the last bar before it."""


class TradeSource(StrEnum):
    """Who wrote a journal row: a paper/live engine, an import, or a labelled drill."""

    ENGINE = "engine"
    IMPORT = "import"
    DRILL = "drill"


class IntentState(StrEnum):
    """Where a recorded alias move stands (`alias_intents.state`).

    `pending`: recorded, the registry may or may not have moved yet; `done`: moved and audited;
    `abandoned`: the registry never moved (or something else moved it since), nothing to audit.
    """

    PENDING = "pending"
    DONE = "done"
    ABANDONED = "abandoned"
