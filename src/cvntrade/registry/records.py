"""Registry records, independent of MLflow's own classes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """One version of a registered model, with its tags and the aliases pointing at it."""

    name: str
    version: int
    run_id: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    created_at: dt.datetime | None = None

    @property
    def loss_function(self) -> str | None:
        """The `loss_function` tag: `binary` or `focal` (None for untagged versions)."""
        return self.tags.get("loss_function")

    def runbook_line(self) -> str:
        """The runbook's line: `version=42 run_id=abc tags={loss_function: focal} aliases=[…]`.

        Only the `loss_function` tag is shown, as in the runbook; `--json` carries all tags.
        """
        tags = f"loss_function: {self.loss_function}" if self.loss_function else ""
        return (
            f"version={self.version} run_id={self.run_id or '-'} tags={{{tags}}} "
            f"aliases=[{', '.join(self.aliases)}]"
        )


@dataclass(frozen=True, slots=True)
class AliasIntent:
    """One recorded alias move (`alias_intents` row): what was meant, by whom, where it stands."""

    id: int
    at: dt.datetime
    model_name: str
    alias: str
    from_version: int | None
    to_version: int
    actor: str
    reason: str
    state: str
    settled_at: dt.datetime | None = None
    settled_by: str | None = None
    note: str | None = None
    incident_id: int | None = None

    @property
    def target(self) -> str:
        """`MODEL@ALIAS`, as the audit log names an alias."""
        return f"{self.model_name}@{self.alias}"

    def to_dict(self) -> dict[str, object]:
        """JSON form (`models reconcile --json`, `doctor --json`)."""
        return {
            "id": self.id,
            "at": self.at,
            "model_name": self.model_name,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "actor": self.actor,
            "reason": self.reason,
            "state": self.state,
            "settled_at": self.settled_at,
            "settled_by": self.settled_by,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Settlement:
    """How reconciliation settled a pending intent, from where it found the alias.

    `state` is `done` (the alias is at `to_version`: the missing audit row was written),
    `abandoned` (it is not: the move is not in effect, nothing to audit) or `pending` (the
    registry could not tell, e.g. the model is not in this registry: left for later).
    """

    intent: AliasIntent
    state: str
    found_version: int | None
    note: str

    def describe(self) -> str:
        """One line for the console: which move, what became of it and why."""
        i = self.intent
        move = f"{i.target} {i.from_version} → {i.to_version}"
        return f"intent #{i.id} {move}: {self.state} ({self.note})"

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "intent": self.intent.to_dict(),
            "state": self.state,
            "found_version": self.found_version,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class AliasMove:
    """The result of `set_alias`: where the alias pointed before and after."""

    name: str
    alias: str
    old_version: int | None
    new_version: int
    actor: str
    reason: str
    reconciled: tuple[Settlement, ...] = ()
    """Intents of this model left pending by an earlier, interrupted move, settled first."""

    @property
    def changed(self) -> bool:
        """False when the alias already pointed at the requested version (nothing was done)."""
        return self.old_version != self.new_version

    def command_line(self) -> str:
        """The exact `cvntrade` command equivalent to this move (for audit trails and docs)."""
        return (
            f"cvntrade models set-alias --name {self.name} --alias {self.alias} "
            f"--version {self.new_version}"
        )
