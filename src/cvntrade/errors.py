"""One exception tree for everything a user can see.

The branch says what to do: `UserInputError` means fix the input (CLI exit 2, HTTP 4xx),
`ConflictError` means somebody else changed the thing first (re-read and retry),
`DependencyError` means a service we rely on is down (retry or resume later).
Anything that is not a `CvnError` is a bug and is allowed to crash loudly.
"""

from __future__ import annotations


class CvnError(Exception):
    """Root of every error CVNTrade raises on purpose."""

    exit_code: int = 1
    http_status: int = 500


class UserInputError(CvnError):
    """The input (argument, file, row, value) is invalid; nothing was changed."""

    exit_code = 2
    http_status = 422


class NotFoundError(UserInputError):
    """A named thing (model, version, incident, key) does not exist."""

    http_status = 404


class ConflictError(CvnError):
    """An optimistic-concurrency check failed: the state moved on since it was read."""

    exit_code = 3
    http_status = 409


class NotInitialisedError(CvnError):
    """The database has not been migrated yet."""

    exit_code = 2
    http_status = 503


class DependencyError(CvnError):
    """A service we depend on (database, registry, exchange) is unreachable; retry later."""

    exit_code = 4
    http_status = 503


class TradingHaltedError(CvnError):
    """The system-wide halt (ADR-71) is on: trading refuses to start until it is lifted."""

    exit_code = 5
    http_status = 409


class DataError(CvnError):
    """Stored data is inconsistent with what an operation expects (e.g. a checkpoint's bar)."""

    exit_code = 6
    http_status = 500


class GateRefusedError(CvnError):
    """A focal promotion whose FTF gate fails, without `--force --reason`: nothing was changed."""

    exit_code = 1
    http_status = 409
