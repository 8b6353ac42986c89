"""MLflow errors translated into CVNTrade's error tree, wherever we call MLflow.

A missing model/version/run is `NotFoundError`, a
rejected value `UserInputError`, anything else from MLflow or the network `DependencyError`
(the registry is down or broken: retry later).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cvntrade.errors import DependencyError, NotFoundError, UserInputError
from cvntrade.redaction import redact

MLFLOW_HTTP_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}
"""MLflow's HTTP retry budget for a tracking server: a dead server fails in ~2 s, a silent one in
~16 s (3 attempts x 5 s), instead of MLflow's defaults (7 retries, factor 2, 120 s: minutes)."""

_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}


def bound_mlflow_waits() -> None:
    """Give MLflow's HTTP client a bounded retry budget unless the operator chose one.

    MLflow reads these variables on every request, so setting them once in this process (before
    or after `import mlflow`) is enough. Values already present in the environment win.
    """
    import os

    for name, value in MLFLOW_HTTP_BOUNDS.items():
        os.environ.setdefault(name, value)


_INPUT_CODES = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST"}


@contextmanager
def translated_mlflow_errors(what: str) -> Iterator[None]:
    """Re-raise MLflow and connection errors inside the block as `CvnError`s about `what`."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import DBAPIError

    bound_mlflow_waits()
    try:
        yield
    except MlflowException as exc:
        code = str(exc.error_code)
        first_line = redact(str(exc.message).splitlines()[0] if exc.message else code)
        if code in _NOT_FOUND_CODES or "not found" in first_line.lower():
            raise NotFoundError(f"{what} not found in the registry") from None
        if code in _INPUT_CODES:
            raise UserInputError(f"{what}: {first_line}") from None
        raise DependencyError(f"model registry error for {what}: {first_line}") from None
    except DBAPIError as exc:  # the sqlite store itself is broken (corrupt file, wrong schema)
        raise UserInputError(
            f"model registry store unreadable for {what} (check MLFLOW_TRACKING_URI): "
            f"{redact(str(exc.orig)).splitlines()[0]}"
        ) from None
    except (OSError, ConnectionError) as exc:
        raise DependencyError(
            f"model registry unreachable for {what}: {redact(str(exc))}"
        ) from None
