"""How to log in to the console `cvntrade up` starts; never a silent default password.

With no console user at all, `up` creates `admin` (role admin) with a random password that is
printed once and stored only as its argon2 hash (audited `users.add`, like `cvntrade users
add`). With `--no-create-admin` it refuses instead, naming the command to run. When users
exist, nothing is created: `up` says to log in with one of them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from cvntrade.errors import UserInputError

ADMIN_USERNAME = "admin"
GENERATED_PASSWORD_BYTES = 15
"""20 URL-safe characters: about 120 bits."""


@dataclass(frozen=True, slots=True)
class ConsoleLogin:
    """Who can log in: the users that exist, or the admin just created with its password."""

    usernames: tuple[str, ...]
    created: str | None = None
    password: str | None = None

    def instructions(self, url: str) -> list[str]:
        """Lines telling the operator how to log in at `url` (the password at most once)."""
        if self.created is not None and self.password is not None:
            return [
                f"console: {url} — no console user existed, so `up` created {self.created!r} "
                "(role admin, audited users.add) with this password, shown only now:",
                f"    {self.password}",
                f"change it with `cvntrade users passwd {self.created}`; add operators with "
                "`cvntrade users add NAME --role operator`",
            ]
        shown = ", ".join(self.usernames[:5]) + (" …" if len(self.usernames) > 5 else "")
        return [
            f"console: {url} — log in with a console user ({shown}; `cvntrade users list`); "
            "API tokens: `cvntrade users token NAME`"
        ]


def ensure_login(engine: Engine, *, actor: str, create_admin: bool) -> ConsoleLogin:
    """The console's login situation; creates the first admin when there is no user at all.

    Refuses (exit 2) when there is no user and `create_admin` is False.
    """
    from cvntrade.console.users import add_user, list_users

    users = [u.username for u in list_users(engine) if not u.disabled]
    if users:
        return ConsoleLogin(tuple(users))
    if list_users(engine):
        raise UserInputError(
            "every console user is disabled: nobody could log in to the console; add one with "
            "`cvntrade users add NAME --role admin` (or pass --no-console)"
        )
    if not create_admin:
        raise UserInputError(
            "no console user exists: add one first with `cvntrade users add NAME --role admin` "
            "(or drop --no-create-admin, or pass --no-console)"
        )
    password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    add_user(engine, ADMIN_USERNAME, password, "admin", actor=actor)
    return ConsoleLogin((ADMIN_USERNAME,), created=ADMIN_USERNAME, password=password)
