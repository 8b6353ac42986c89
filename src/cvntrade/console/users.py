"""Console users: roles `viewer` < `operator` < `admin`, argon2 password hashes, API tokens.

Passwords are hashed with argon2id (`argon2-cffi`); API tokens are 32 random bytes shown once
and stored as their SHA-256 (a high-entropy secret needs no slow hash, and every API request
checks one). Every change is audited with the acting user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine, false, select, update

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import CONSOLE_ROLES, console_tokens, console_users
from cvntrade.errors import ConflictError, NotFoundError, UserInputError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = CONSOLE_ROLES
"""Roles, weakest first: each role may do everything the ones before it may."""
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "cvn_"
_USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A console user (never carries the password hash)."""

    id: int
    username: str
    role: str
    disabled: bool
    created_at: dt.datetime

    def may(self, role: str) -> bool:
        """True when this user's role is at least `role` (and the user is enabled)."""
        return not self.disabled and ROLES.index(self.role) >= ROLES.index(role)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def validate_username(username: str) -> str:
    """A login name: lower case, starts with a letter, 2-64 of `a-z 0-9 _ . -`."""
    if not _USERNAME_RE.match(username):
        raise UserInputError(
            f"invalid username {username!r}: 2-64 characters a-z 0-9 _ . -, starting with a letter"
        )
    return username


def validate_role(role: str) -> str:
    """One of `viewer`, `operator`, `admin`."""
    if role not in ROLES:
        raise UserInputError(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
    return role


def validate_password(password: str) -> str:
    """At least `MIN_PASSWORD_LENGTH` characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _user(row: object) -> ConsoleUser:
    return ConsoleUser(
        id=int(row.id),  # type: ignore[attr-defined]
        username=row.username,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        disabled=bool(row.disabled),  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
    )


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    *,
    actor: str,
    clock: Clock = utc_now,
    hasher: PasswordHasher | None = None,
) -> ConsoleUser:
    """Create a user (audited `users.add`); an existing username is a conflict.

    `hasher` defaults to argon2id with the library's recommended cost (tests pass a cheap one;
    verification always uses the parameters stored in the hash).
    """
    validate_username(username)
    validate_role(role)
    digest = (hasher or _hasher()).hash(validate_password(password))
    now = clock()
    with write_transaction(engine) as conn:
        if conn.execute(
            select(console_users.c.id).where(console_users.c.username == username)
        ).first():
            raise ConflictError(f"user {username!r} already exists")
        key = conn.execute(
            console_users.insert().values(
                username=username, password_hash=digest, role=role, created_at=now, updated_at=now
            )
        ).inserted_primary_key
        new_id = 0 if key is None else key[0]
        write_audit(
            conn,
            AuditEntry(
                now,
                actor,
                "users.add",
                f"user:{username}",
                "new console user",
                None,
                {"role": role},
            ),
        )
    return ConsoleUser(int(new_id), username, role, False, now)


def list_users(engine: Engine) -> list[ConsoleUser]:
    """All users, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(console_users).order_by(console_users.c.username)).all()
    return [_user(row) for row in rows]


def get_user(engine: Engine, username: str) -> ConsoleUser:
    """One user by name; `NotFoundError` when unknown."""
    with engine.connect() as conn:
        row = conn.execute(
            select(console_users).where(console_users.c.username == username)
        ).first()
    if row is None:
        raise NotFoundError(f"no console user {username!r}")
    return _user(row)


def user_by_id(engine: Engine, user_id: int) -> ConsoleUser | None:
    """One user by id (None when it no longer exists)."""
    with engine.connect() as conn:
        row = conn.execute(select(console_users).where(console_users.c.id == user_id)).first()
    return None if row is None else _user(row)


def _change(
    engine: Engine,
    username: str,
    values: dict[str, object],
    *,
    action: str,
    actor: str,
    after: dict[str, object],
    clock: Clock,
) -> ConsoleUser:
    now = clock()
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(console_users)
            .where(console_users.c.username == username)
            .values(updated_at=now, **values)
        )
        if result.rowcount != 1:
            raise NotFoundError(f"no console user {username!r}")
        if action == "users.disable":
            user_id = conn.execute(
                select(console_users.c.id).where(console_users.c.username == username)
            ).scalar_one()
            conn.execute(
                update(console_tokens)
                .where(console_tokens.c.user_id == user_id)
                .values(revoked=True)
            )
        write_audit(conn, AuditEntry(now, actor, action, f"user:{username}", action, None, after))
    return get_user(engine, username)


def disable_user(
    engine: Engine, username: str, *, actor: str, clock: Clock = utc_now
) -> ConsoleUser:
    """Disable a user and revoke its API tokens (audited `users.disable`)."""
    return _change(
        engine,
        username,
        {"disabled": True},
        action="users.disable",
        actor=actor,
        after={"disabled": True},
        clock=clock,
    )


def set_password(
    engine: Engine, username: str, password: str, *, actor: str, clock: Clock = utc_now
) -> ConsoleUser:
    """Replace a user's password (audited `users.passwd`; the hash is never in the audit row)."""
    digest = _hasher().hash(validate_password(password))
    return _change(
        engine,
        username,
        {"password_hash": digest},
        action="users.passwd",
        actor=actor,
        after={"password": "changed"},
        clock=clock,
    )


def authenticate(engine: Engine, username: str, password: str) -> ConsoleUser | None:
    """The enabled user whose password matches, else None (same cost whether the user exists)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    with engine.connect() as conn:
        row = conn.execute(
            select(console_users).where(console_users.c.username == username)
        ).first()
    digest = row.password_hash if row is not None else _dummy_hash()
    try:
        _hasher().verify(digest, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    return _user(row)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_hex(16))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    engine: Engine, username: str, *, label: str, actor: str, clock: Clock = utc_now
) -> str:
    """A new API token for `username` (returned once, stored as SHA-256; audited)."""
    user = get_user(engine, username)
    if user.disabled:
        raise UserInputError(f"user {username!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock()
    with write_transaction(engine) as conn:
        conn.execute(
            console_tokens.insert().values(
                user_id=user.id,
                token_sha256=_token_digest(token),
                label=label or "api",
                created_at=now,
            )
        )
        write_audit(
            conn,
            AuditEntry(
                now,
                actor,
                "users.token",
                f"user:{username}",
                label or "api",
                None,
                {"label": label or "api"},
            ),
        )
    return token


def user_for_token(engine: Engine, token: str) -> ConsoleUser | None:
    """The enabled user owning the (unrevoked) bearer `token`, else None."""
    query = (
        select(console_users)
        .join(console_tokens, console_tokens.c.user_id == console_users.c.id)
        .where(
            console_tokens.c.token_sha256 == _token_digest(token),
            console_tokens.c.revoked == false(),
        )
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.disabled:
        return None
    return _user(row)
