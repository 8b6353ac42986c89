"""Registry operations the runbook performs by hand, as audited functions.

`previous_non_focal` is the version the runbook rolls back to: the newest version older than the
given one whose `loss_function` tag is `binary`. `set_alias` follows the intent protocol
(`cvntrade.registry.intents`): record the intent (committed), move the alias in the registry,
then confirm (audit row + `alias_events` row + intent `done`, one transaction), so no kill can
leave a moved alias without a record that reconciliation turns into its audit row. It reads
the alias and decides under a per-model lock held across those steps (`model_lock`), so
parallel moves of one model write exactly one audit row per real change, each with the true
`before` version.
"""

from __future__ import annotations

from contextlib import suppress

from sqlalchemy import Engine

from cvntrade.audit import ACTOR_MAX_LEN, TARGET_MAX_LEN
from cvntrade.clock import Clock, utc_now
from cvntrade.db.locks import model_lock
from cvntrade.errors import ConflictError, CvnError, DependencyError, NotFoundError, UserInputError
from cvntrade.redaction import redact
from cvntrade.registry.client import Registry
from cvntrade.registry.intents import confirm_intent, record_intent, settle_one, settle_pending
from cvntrade.registry.records import AliasIntent, AliasMove, ModelVersionInfo
from cvntrade.text import check_text

__all__ = [
    "CHAMPION",
    "MAX_VERSION",
    "SEARCH_DEPTH",
    "AliasMove",
    "champion_of",
    "list_versions",
    "previous_non_focal",
    "set_alias",
]

CHAMPION = "champion"
SEARCH_DEPTH = 1000
MAX_VERSION = 2**31 - 1
"""MLflow stores version numbers as 32-bit integers; larger ones are typos."""
_RESERVED_ALIASES = ("latest",)


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

    The intent protocol (`cvntrade.registry.intents`): under the model's lock, settle what an
    interrupted move left pending, read the alias, commit an intent, move the alias in the
    registry, then commit the audit row, the `alias_events` row and the intent's `done` state
    together. So of N parallel identical moves one is audited and N-1 report "unchanged", and a
    kill at any point leaves either nothing or a pending intent that the next move of the model
    (or `cvntrade models reconcile`) settles. With `expected_old`, a move whose alias has
    meanwhile moved elsewhere (neither `expected_old` nor `version`) raises `ConflictError`.
    `incident_id` attaches the audit row to that incident's timeline (a runbook step's move).
    """
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required to move an alias")
    check_text(reason, "--reason")
    check_text(actor, "actor", max_len=ACTOR_MAX_LEN)
    check_text(f"{name}@{alias}", "alias target", max_len=TARGET_MAX_LEN)
    if not alias or alias in _RESERVED_ALIASES or (alias[0] == "v" and alias[1:].isdigit()):
        raise UserInputError(f"alias {alias!r} is reserved by MLflow; choose another name")
    if not 1 <= version <= MAX_VERSION:
        raise UserInputError(f"--version must be between 1 and {MAX_VERSION} (got {version})")
    registry.get_version(name, version)  # NotFoundError for a version that does not exist
    with model_lock(engine, name):
        reconciled = settle_pending(engine, registry, name, actor=actor, clock=clock)
        old = registry.aliases(name).get(alias)
        move = AliasMove(name, alias, old, version, actor, reason, reconciled)
        if not move.changed:
            return move
        if expected_old is not None and old != expected_old:
            raise ConflictError(
                f"{name}@{alias} moved to version {old} since it was read (expected "
                f"{expected_old}); re-read and retry"
            )
        intent = record_intent(engine, move, clock=clock, incident_id=incident_id)
        try:
            registry.set_alias(name, alias, version)
        except CvnError as exc:
            _settle_failed_write(engine, registry, intent, exc, actor=actor, clock=clock)
            raise
        try:
            confirm_intent(engine, intent, clock=clock)
        except DependencyError as exc:
            raise DependencyError(
                f"{name}@{alias} moved to version {version} in the registry, but its audit row "
                f"could not be written ({exc}); once the database answers, `cvntrade models "
                "reconcile` writes it"
            ) from None
    return move


def _settle_failed_write(
    engine: Engine,
    registry: Registry,
    intent: AliasIntent,
    error: CvnError,
    *,
    actor: str,
    clock: Clock,
) -> None:
    """Best effort after a failed registry write: settle the intent from what the registry shows.

    When the registry cannot even be read (it is down), the intent stays pending for the next
    move or `cvntrade models reconcile`: the write may have landed before the connection broke.
    """
    with suppress(CvnError):
        aliases = registry.aliases(intent.model_name)
        why = f"registry write failed: {redact(str(error))}"
        settle_one(engine, intent, aliases, actor=actor, clock=clock, why=why)
