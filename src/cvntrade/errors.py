"""One exception tree for everything a user can see.

The branch says what to do: `UserInputError` means fix the input (CLI exit 2, HTTP 4xx),
`ConflictError` means somebody else changed the thing first (re-read and retry),
`DependencyError` means a service we rely on is down (retry or resume later).
Anything that is not a `CvnError` is a bug and is allowed to crash loudly.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The `cvntrade` exit codes: one meaning each (README "Exit codes" lists them)."""

    OK = 0
    NEGATIVE = 1
    """The command ran and its answer is "no": a gate fails (check, or promotion refused), the
    alert fires (`monitor check`), a rollback is done but an engine did not switch in time."""
    BAD_INPUT = 2
    """Bad argument, file, row or value (or an unmigrated database); nothing was changed."""
    CONFLICT = 3
    """Somebody changed the thing first (stale `--expect-version`); re-read and retry."""
    DEPENDENCY = 4
    """Database, registry or exchange unreachable; retry or resume later."""
    HALTED = 5
    """The ADR-71 system-wide halt is on."""
    DATA = 6
    """Stored data contradicts itself (e.g. an engine checkpoint's bar is missing)."""
    INTERNAL = 70
    """A bug: the traceback is printed; please report it."""
    ABORTED = 130
    """Interrupted (Ctrl-C) or a confirmation prompt was declined."""


class CvnError(Exception):
    """Root of every error CVNTrade raises on purpose."""

    exit_code: int = ExitCode.NEGATIVE
    http_status: int = 500


class UserInputError(CvnError):
    """The input (argument, file, row, value) is invalid; nothing was changed."""

    exit_code = ExitCode.BAD_INPUT
    http_status = 422


class NotFoundError(UserInputError):
    """A named thing (model, version, incident, key) does not exist."""

    http_status = 404


class ConflictError(CvnError):
    """An optimistic-concurrency check failed: the state moved on since it was read."""

    exit_code = ExitCode.CONFLICT
    http_status = 409


class NotInitialisedError(CvnError):
    """The database has not been migrated yet."""

    exit_code = ExitCode.BAD_INPUT
    http_status = 503


class DependencyError(CvnError):
    """A service we depend on (database, registry, exchange) is unreachable; retry later."""

    exit_code = ExitCode.DEPENDENCY
    http_status = 503


class TradingHaltedError(CvnError):
    """The system-wide halt (ADR-71) is on: trading refuses to start until it is lifted."""

    exit_code = ExitCode.HALTED
    http_status = 409


class DataError(CvnError):
    """Stored data is inconsistent with what an operation expects (e.g. a checkpoint's bar)."""

    exit_code = ExitCode.DATA
    http_status = 500


class GateRefusedError(CvnError):
    """A focal promotion whose FTF gate fails, without `--force --reason`: nothing was changed."""

    exit_code = ExitCode.NEGATIVE
    http_status = 409
