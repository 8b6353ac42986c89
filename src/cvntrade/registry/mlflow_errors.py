"""MLflow errors translated into CVNTrade's error tree, wherever we call MLflow.

A missing model/version/run is `NotFoundError`, a
rejected value `UserInputError`, anything else from MLflow or the network `DependencyError`
(the registry is down or broken: retry later).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cvntrade.errors import DependencyError, NotFoundError, UserInputError

_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}
_INPUT_CODES = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST"}


@contextmanager
def translated_mlflow_errors(what: str) -> Iterator[None]:
    """Re-raise MLflow and connection errors inside the block as `CvnError`s about `what`."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        code = str(exc.error_code)
        first_line = str(exc.message).splitlines()[0] if exc.message else code
        if code in _NOT_FOUND_CODES or "not found" in first_line.lower():
            raise NotFoundError(f"{what} not found in the registry") from None
        if code in _INPUT_CODES:
            raise UserInputError(f"{what}: {first_line}") from None
        raise DependencyError(f"model registry error for {what}: {first_line}") from None
    except (OSError, ConnectionError) as exc:
        raise DependencyError(f"model registry unreachable for {what}: {exc}") from None
