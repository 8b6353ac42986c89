"""Registry operations the runbook performs by hand, as audited functions.

`previous_non_focal` is the version the runbook rolls back to: the newest version older than the
given one whose `loss_function` tag is `binary`. `set_alias` writes its audit row in the same
database transaction that wraps the registry call, so a registry failure leaves no audit row and
no half-done move. It reads the alias and decides under a per-model lock (`lock_model`), so
parallel moves of one model write exactly one audit row per real change, each with the true
`before` version.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import lock_model, write_transaction
from cvntrade.db.tables import alias_events
from cvntrade.errors import ConflictError, NotFoundError, UserInputError
from cvntrade.registry.client import Registry
from cvntrade.registry.records import ModelVersionInfo
from cvntrade.text import check_text

CHAMPION = "champion"
SEARCH_DEPTH = 1000
MAX_VERSION = 2**31 - 1
"""MLflow stores version numbers as 32-bit integers; larger ones are typos."""
_RESERVED_ALIASES = ("latest",)


@dataclass(frozen=True, slots=True)
class AliasMove:
    """The result of `set_alias`: where the alias pointed before and after."""

    name: str
    alias: str
    old_version: int | None
    new_version: int
    actor: str
    reason: str

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


def list_versions(registry: Registry, name: str, max_results: int = 5) -> list[ModelVersionInfo]:
    """The newest `max_results` versions of model `name`, newest first."""
    if max_results < 1:
        raise UserInputError(f"--max-results must be >= 1 (got {max_results})")
    return registry.list_versions(name, max_results)


def champion_of(registry: Registry, name: str) -> ModelVersionInfo:
    """The version the `champion` alias points at; `NotFoundError` when there is none."""
    aliases = registry.aliases(name)
    if CHAMPION not in aliases:
        raise NotFoundError(f"model {name!r} has no {CHAMPION!r} alias")
    return registry.get_version(name, aliases[CHAMPION])


def previous_non_focal(
    registry: Registry, name: str, before_version: int | None = None
) -> ModelVersionInfo:
    """The newest `binary` version older than `before_version` (default: the champion)."""
    if before_version is None:
        before_version = champion_of(registry, name).version
    for candidate in registry.list_versions(name, SEARCH_DEPTH):
        if candidate.version < before_version and candidate.loss_function == "binary":
            return candidate
    raise NotFoundError(
        f"model {name!r} has no version tagged loss_function=binary older than "
        f"version {before_version}"
    )


def set_alias(
    engine: Engine,
    registry: Registry,
    *,
    name: str,
    alias: str,
    version: int,
    reason: str,
    actor: str,
    clock: Clock = utc_now,
    expected_old: int | None = None,
    incident_id: int | None = None,
) -> AliasMove:
    """Point `alias` of `name` at `version`, audited; a no-op (not audited) when already there.

    The current version is read under the model's lock, so of N parallel identical moves one is
    audited and N-1 report "unchanged". With `expected_old`, a move whose alias has meanwhile
    moved elsewhere (neither `expected_old` nor `version`) raises `ConflictError` instead.
    `incident_id` attaches the audit row to that incident's timeline (a runbook step's move).
    """
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required to move an alias")
    check_text(reason, "--reason")
    if not alias or alias in _RESERVED_ALIASES or (alias[0] == "v" and alias[1:].isdigit()):
        raise UserInputError(f"alias {alias!r} is reserved by MLflow; choose another name")
    if not 1 <= version <= MAX_VERSION:
        raise UserInputError(f"--version must be between 1 and {MAX_VERSION} (got {version})")
    registry.get_version(name, version)  # NotFoundError for a version that does not exist
    with write_transaction(engine) as conn:
        lock_model(conn, name)
        old = registry.aliases(name).get(alias)
        move = AliasMove(name, alias, old, version, actor, reason)
        if not move.changed:
            return move
        if expected_old is not None and old != expected_old:
            raise ConflictError(
                f"{name}@{alias} moved to version {old} since it was read (expected "
                f"{expected_old}); re-read and retry"
            )
        write_audit(
            conn,
            AuditEntry(
                at=clock(),
                actor=actor,
                action="models.set_alias",
                target=f"{name}@{alias}",
                reason=reason,
                before={"version": old},
                after={"version": version, "command": move.command_line()},
                incident_id=incident_id,
            ),
        )
        # The engines poll alias_events to invalidate their champion cache across processes.
        conn.execute(
            insert(alias_events).values(
                at=clock(), model_name=name, alias=alias, version=version, actor=actor
            )
        )
        registry.set_alias(name, alias, version)
    return move
