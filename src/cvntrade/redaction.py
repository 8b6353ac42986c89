"""One redaction function for every boundary where text leaves the process or is stored.

Credentials live in URLs (`CVN_DATABASE_URL`, `MLFLOW_TRACKING_URI`, `user:password@host`) and
library exceptions happily repeat those URLs in their messages. Everything we print, log or store
that may carry a library's words goes through `redact`: error lines on stderr, audit rows,
incident notes, log records. It hides the password of any `scheme://user:password@` it sees and,
as a second net, every known secret value (the passwords of the two URLs and MLflow's token /
password variables) wherever it appears, even outside a URL.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
SECRET_ENV_URLS = ("CVN_DATABASE_URL", "MLFLOW_TRACKING_URI")
SECRET_ENV_VALUES = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")

# scheme://user:password@ — the password stops at the last '@' before the host part.
_URL_CREDENTIALS = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<password>[^\s'\"/]*)@"
)
_MIN_SECRET_LEN = 3  # never mask "a" or "" everywhere


def _password_of(url: str) -> set[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if not password:
        match = _URL_CREDENTIALS.search(url)
        password = match.group("password") if match else None
    if not password:
        return set()
    return {password, unquote(password)}


def known_secrets(environ: Any = None) -> frozenset[str]:
    """Secret values configured for this process (read from the environment on each call).

    Read here rather than from `Settings` because redaction must work even when the settings
    themselves are invalid (that error message is exactly the one that may quote the URL).
    """
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name in SECRET_ENV_URLS:
        if env.get(name):
            found |= _password_of(env[name])
    for name in SECRET_ENV_VALUES:
        if env.get(name):
            found.add(env[name])
    return frozenset(s for s in found if len(s) >= _MIN_SECRET_LEN)


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """`text` with URL passwords and every known secret value replaced by `***`."""
    if not text:
        return text
    cleaned = text
    secrets = sorted({*known_secrets(), *extra_secrets}, key=len, reverse=True)
    for secret in secrets:
        if secret and secret != MASK:
            cleaned = cleaned.replace(secret, MASK)
    return _URL_CREDENTIALS.sub(lambda m: m.group("head") + MASK + "@", cleaned)


def redact_data(value: Any) -> Any:
    """`redact` applied to every string inside a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            redact(str(k)) if isinstance(k, str) else k: redact_data(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message (and drops its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            import traceback

            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def install_log_redaction() -> None:
    """Attach `RedactingFilter` to every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
