"""Helpers shared by the console tests (constants, headers, CSRF extraction)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher, profiles

CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)
PASSWORD = "correct-horse-9"
USERNAMES = {"viewer": "victor", "operator": "olivia", "admin": "ada"}
ROLES = ("anonymous", "viewer", "operator", "admin")


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token` (none for anonymous)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a page's forms."""
    match = re.search(r'name="csrf_token" value="([0-9a-f]*)"', html)
    assert match is not None, "page has no CSRF field"
    return match.group(1)
