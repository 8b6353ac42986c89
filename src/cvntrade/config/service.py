"""The `ftf_config` service: read the single config row, change it atomically and audibly.

A change is compare-and-swap on `version`: it locks the row, checks the expected version (when
given), writes the new `base_env`, bumps `version`, sets `updated_at`, and appends
`ftf_config_history` + `audit_log` rows, all in one transaction. A stale expected version raises
`ConflictError` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine, select, update

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.config.keys import normalise_value
from cvntrade.db.chain import append_chained
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import ftf_config, ftf_config_history
from cvntrade.errors import ConflictError, NotInitialisedError, UserInputError
from cvntrade.text import check_text

CONFIG_ROW_ID = 1


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    """The active configuration: `base_env` values (strings), its version and last change time."""

    env: Mapping[str, str]
    version: int
    updated_at: dt.datetime

    @property
    def loss_function(self) -> str | None:
        """The active training loss (`binary:logistic` or `focal`)."""
        return self.env.get("CVN_LOSS_FUNCTION")


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """The result of a `set_config` call: what was there before and what is there now."""

    before: ConfigSnapshot
    after: ConfigSnapshot
    actor: str
    reason: str
    changed_keys: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """False when every value already had the requested value (no version bump)."""
        return bool(self.changed_keys)


@dataclass(frozen=True, slots=True)
class ConfigHistoryEntry:
    """One past change of `ftf_config`."""

    version: int
    changed_at: dt.datetime
    actor: str
    reason: str
    before_env: Mapping[str, str]
    after_env: Mapping[str, str]

    @property
    def diff(self) -> dict[str, tuple[str | None, str | None]]:
        """Changed keys mapped to (old, new)."""
        keys = sorted(set(self.before_env) | set(self.after_env))
        return {
            k: (self.before_env.get(k), self.after_env.get(k))
            for k in keys
            if self.before_env.get(k) != self.after_env.get(k)
        }


def read_config(engine: Engine) -> ConfigSnapshot:
    """The current configuration row (`id = 1`)."""
    with engine.connect() as conn:
        row = conn.execute(select(ftf_config).where(ftf_config.c.id == CONFIG_ROW_ID)).first()
    if row is None:
        raise NotInitialisedError("ftf_config has no row id=1: run `cvntrade db upgrade`")
    return ConfigSnapshot(env=dict(row.base_env), version=row.version, updated_at=row.updated_at)


def set_config(
    engine: Engine,
    changes: Mapping[str, str],
    *,
    reason: str,
    actor: str,
    expect_version: int | None = None,
    clock: Clock = utc_now,
    incident_id: int | None = None,
) -> ConfigChange:
    """Atomically apply `changes` (validated here again) with optimistic concurrency.

    Setting values that are already in place changes nothing and does not bump the version.
    `incident_id` attaches the audit row to that incident's timeline (a runbook step's change).
    """
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required for every config change")
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required for every config change")
    check_text(reason, "--reason")
    check_text(actor, "--actor", max_len=120)
    if not changes:
        raise UserInputError("nothing to set: give at least one KEY=VALUE")
    normalised = {key: normalise_value(key, value) for key, value in changes.items()}
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(ftf_config).where(ftf_config.c.id == CONFIG_ROW_ID).with_for_update()
        ).first()
        if row is None:
            raise NotInitialisedError("ftf_config has no row id=1: run `cvntrade db upgrade`")
        before = ConfigSnapshot(dict(row.base_env), row.version, row.updated_at)
        if expect_version is not None and expect_version != before.version:
            raise ConflictError(
                f"stale config version: expected {expect_version}, current is {before.version} "
                f"(changed by someone else); re-read with `cvntrade config show` and retry"
            )
        changed_keys = tuple(k for k, v in normalised.items() if before.env.get(k) != v)
        if not changed_keys:
            return ConfigChange(before, before, actor, reason, ())
        after_env = {**before.env, **normalised}
        now = clock()
        new_version = before.version + 1
        result = conn.execute(
            update(ftf_config)
            .where(ftf_config.c.id == CONFIG_ROW_ID, ftf_config.c.version == before.version)
            .values(base_env=after_env, version=new_version, updated_at=now)
        )
        if result.rowcount != 1:  # pragma: no cover - the row lock makes this unreachable
            raise ConflictError("config changed concurrently; retry")
        append_chained(
            conn,
            ftf_config_history,
            {
                "version": new_version,
                "changed_at": now,
                "actor": actor,
                "reason": reason,
                "before_env": before.env,
                "after_env": after_env,
            },
        )
        write_audit(
            conn,
            AuditEntry(
                at=now,
                actor=actor,
                action="config.set",
                target="ftf_config",
                reason=reason,
                before={"version": before.version, **{k: before.env.get(k) for k in changed_keys}},
                after={"version": new_version, **{k: after_env[k] for k in changed_keys}},
                incident_id=incident_id,
            ),
        )
    after = ConfigSnapshot(after_env, new_version, now)
    return ConfigChange(before, after, actor, reason, changed_keys)


def config_history(engine: Engine, *, limit: int = 50) -> list[ConfigHistoryEntry]:
    """Past changes, newest first."""
    query = select(ftf_config_history).order_by(ftf_config_history.c.version.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        ConfigHistoryEntry(
            version=r.version,
            changed_at=r.changed_at,
            actor=r.actor,
            reason=r.reason,
            before_env=dict(r.before_env),
            after_env=dict(r.after_env),
        )
        for r in rows
    ]
