"""Typed request and response models of the console API (and what its pages render)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cvntrade.strategy import DEFAULT_STRATEGY


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(_as_utc)]
"""Stored times are naive UTC; the API states the zone (RFC 3339 `...Z`)."""


class Strict(BaseModel):
    """Request bodies reject unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorOut(BaseModel):
    """Every error response: the kind of error and a one-line message naming the field."""

    error: str
    detail: str


class ConfigKeyOut(BaseModel):
    """One `ftf_config` key: meaning, type, allowed values (choices) and current value."""

    name: str
    description: str
    type: str
    allowed: list[str]
    value: str | None


class ConfigOut(BaseModel):
    """The active configuration and its version (send it back as `expect_version`)."""

    version: int
    updated_at: UtcDatetime
    keys: list[ConfigKeyOut]


class ConfigUpdate(Strict):
    """Several keys changed in one atomic compare-and-swap, with a reason."""

    changes: dict[str, str] = Field(min_length=1, max_length=20)
    reason: str = Field(min_length=1, max_length=500)
    expect_version: int | None = Field(default=None, ge=0, le=2**31)


class ConfigChangeOut(BaseModel):
    """What a config change did: versions before/after and the keys that changed."""

    version_before: int
    version_after: int
    changed_keys: list[str]
    actor: str
    reason: str


class HistoryOut(BaseModel):
    """One past config change with its diff (key → [old, new])."""

    version: int
    changed_at: UtcDatetime
    actor: str
    reason: str
    diff: dict[str, list[str | None]]


class VersionOut(BaseModel):
    """One registered model version with its loss tag and aliases."""

    version: int
    loss_function: str | None
    aliases: list[str]
    run_id: str | None


class ModelOut(BaseModel):
    """A symbol's model: champion, the rollback target (previous binary) and newest versions."""

    crypto_symbol: str
    model_name: str
    registered: bool
    champion: int | None = None
    champion_loss: str | None = None
    previous_binary: int | None = None
    versions: list[VersionOut] = Field(default_factory=list)
    problem: str | None = None


class RollbackIn(Strict):
    """Roll one symbol's champion back to its previous binary version."""

    reason: str = Field(min_length=1, max_length=500)
    strategy: str = Field(default=DEFAULT_STRATEGY, max_length=40)


class AliasMoveOut(BaseModel):
    """Where the champion pointed before and after (changed=False: already there)."""

    model_name: str
    alias: str
    old_version: int | None
    new_version: int
    changed: bool
    command: str


class ExpectancyOut(BaseModel):
    """Per-crypto expectancy (percent, net) and trade counts over 48 h / 7 d / 14 d + verdicts."""

    crypto_symbol: str
    exp_48h: float | None
    n_48h: int
    exp_7d: float | None
    n_7d: int
    exp_14d: float | None
    n_14d: int
    negative_48h: bool
    regime_shift: bool | None


class TradeOut(BaseModel):
    """One closed trade from the journal (`realized_pnl_pct`: percent, net of fees)."""

    trade_id: str
    crypto_symbol: str
    strategy: str
    model_name: str
    model_version: int
    model_loss_function: str
    entry_time: UtcDatetime
    exit_time: UtcDatetime
    entry_price: float
    exit_price: float
    exit_reason: str
    fees_pct: float
    realized_pnl_pct: float
    probability: float | None
    side: str
    source: str


class JournalOut(BaseModel):
    """One page of the journal."""

    total: int
    limit: int
    offset: int
    trades: list[TradeOut]


class FlagsOut(BaseModel):
    """The kill switch and the halt (ADR-71)."""

    kill_switch: bool
    halt: bool


class FlagIn(Strict):
    """Switch `kill_switch` or `halt`; `confirm` must repeat the switch's name."""

    active: bool
    reason: str = Field(min_length=1, max_length=500)
    confirm: str = Field(max_length=40)


class FlagChangeOut(BaseModel):
    """The result of switching a flag."""

    name: str
    before: bool
    after: bool
    changed: bool


class IncidentOut(BaseModel):
    """One incident."""

    id: int
    alert: str
    severity: str
    status: str
    title: str
    opened_at: UtcDatetime
    opened_by: str
    closed_at: UtcDatetime | None


class UserOut(BaseModel):
    """A console user (never the password hash)."""

    username: str
    role: str
    disabled: bool


class UserIn(Strict):
    """A new console user."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=200)
    role: str = Field(max_length=10)
