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


class NoteKind(StrEnum):
    """What an incident note records (`incident_notes.kind`); operators write plain `note`s."""

    NOTE = "note"
    DIAGNOSIS = "diagnosis"
    """`runbook diagnose --incident N`: the ranked causes and the recommended path (in `data`)."""
    REMEDIATION = "remediation"
    """The path decision (A/B/C) and its outcome; `data["path"]` holds the letter."""
    ESCALATION = "escalation"
    """`runbook escalate`: the recovery verdict and any switch turned on."""
    CONFIRM = "confirm"
    """`runbook run` opened the incident after a `real` step 1: the confirmation it saw."""
    FALSE_POSITIVE = "false_positive"
    ALERT_FIRING = "alert.firing"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_ACK = "alert.ack"


class ChecklistItem(StrEnum):
    """The runbook's post-incident checklist, in its order."""

    LOGGED = "logged"
    """Incident logged in OPERATIONS.md §17.N (set by `incident export`)."""
    ROOT_CAUSE = "root_cause"
    """Root cause analysed: the path A/B/C decision (set from a `remediation` note)."""
    GATE_RECHECKED = "gate_rechecked"
    """Per-track gate criteria re-checked (`cvntrade gate check` for the incident's symbols)."""
    STORY_REOPENED = "story_reopened"
    """If focal is abandoned: story CVN-N001-EE-S02 reopened with verdict `abandoned`."""
    COMMITTEE_SESSION = "committee_session"
    """If the variant is abandoned: a committee `pr_review` session opened (audit trail)."""


class ChecklistState(StrEnum):
    """Where a checklist item stands; `done` and `not_applicable` are definite."""

    PENDING = "pending"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


class RemediationPath(StrEnum):
    """The runbook's remediation paths (`cvntrade runbook remediate --path`)."""

    A = "A"
    """Rollback to the binary baseline (the default; already done by step 3)."""
    B = "B"
    """Recalibrate the focal model (temperature scaling), promote only if ECE_HOLD improved."""
    C = "C"
    """Milder focal (`CVN_FOCAL_GAMMA` → 1.0), retrain, fall back to A where still negative."""

    @classmethod
    def parse(cls, text: str, *, field: str = "--path") -> RemediationPath:
        """`A`, `B` or `C` (case-insensitive); else exit 2."""
        cleaned = text.strip().upper()
        for path in cls:
            if cleaned == path.value:
                return path
        raise UserInputError(f"unknown {field} {text!r}: choose A, B or C")


class RecoveryVerdict(StrEnum):
    """Did expectancy recover after the last rollback (`cvntrade runbook escalate`)?"""

    RECOVERED = "recovered"
    NOT_RECOVERED = "not_recovered"
    NOT_YET_KNOWN = "not_yet_known"
    NO_ROLLBACK = "no_rollback"


class ChainBreak(StrEnum):
    """What `cvntrade audit verify` found wrong at the first broken row of a hash chain."""

    CHANGED = "changed"
    """The row's content (or its stored hash) no longer matches its hash."""
    MISSING = "missing"
    """Rows were removed: the row's predecessor is gone (or the end of the chain is)."""
    INSERTED = "inserted"
    """The row is not part of the chain: the chain skips it (or it lies beyond the head)."""
    REORDERED = "reordered"
    """The row's predecessor comes after it: rows were moved to other ids."""
    ANCHOR = "anchor"
    """A head hash recorded earlier (`--anchor`) is no longer in any chain: history rewritten."""


class IntentState(StrEnum):
    """Where a recorded alias move stands (`alias_intents.state`).

    `pending`: recorded, the registry may or may not have moved yet; `done`: moved and audited;
    `abandoned`: the registry never moved (or something else moved it since), nothing to audit.
    """

    PENDING = "pending"
    DONE = "done"
    ABANDONED = "abandoned"
