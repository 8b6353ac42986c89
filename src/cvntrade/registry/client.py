"""The small interface we need from a model registry, and its MLflow implementation.

MLflow errors are translated (`cvntrade.registry.mlflow_errors`): a missing model/version/alias
becomes `NotFoundError` (user input), an unreachable tracking server `DependencyError`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.registry.mlflow_errors import translated_mlflow_errors
from cvntrade.registry.records import ModelVersionInfo

if TYPE_CHECKING:
    from mlflow import MlflowClient


class Registry(Protocol):
    """What CVNTrade asks of a model registry."""

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        """Versions of `name`, newest first, with aliases filled in."""
        ...

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        """One version; `NotFoundError` when it does not exist."""
        ...

    def aliases(self, name: str) -> dict[str, int]:
        """Alias → version for model `name`."""
        ...

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point `alias` of `name` at `version`."""
        ...


def check_sqlite_store(tracking_uri: str, *, must_exist: bool = False) -> None:
    """Refuse a mistyped sqlite tracking URI instead of letting MLflow create an empty store.

    Always: the directory must exist (`UserInputError`, exit 2). With `must_exist` (commands
    that only read or move existing models): the store file too (`NotFoundError`, exit 2).
    """
    if not tracking_uri.startswith("sqlite:///"):
        return
    path = Path(tracking_uri.removeprefix("sqlite:///").split("?", 1)[0])
    if str(path) in ("", ":memory:") or path.is_file():
        return
    if not path.parent.is_dir():
        raise UserInputError(
            f"MLFLOW_TRACKING_URI points into {path.parent}, a directory that does not exist: "
            "check the URI (no registry was created)"
        )
    if must_exist:
        raise NotFoundError(
            f"no MLflow registry at {path} (check MLFLOW_TRACKING_URI): nothing is registered "
            "there and none was created"
        )


class MlflowRegistry:
    """`Registry` over MLflow's client (any tracking URI: sqlite store or tracking server)."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        """The MLflow client, created on first use (importing MLflow costs about a second)."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client

    def list_versions(self, name: str, max_results: int) -> list[ModelVersionInfo]:
        """Versions of `name`, newest first (aliases read from the model: mlflow#9783)."""
        with translated_mlflow_errors(f"model {name!r}"):
            model = self.client.get_registered_model(name)
            found = self.client.search_model_versions(
                f"name = '{_quote(name)}'",
                order_by=["version_number DESC"],
                max_results=max_results,
            )
        by_version = _aliases_by_version(model.aliases)
        return [_info(v, by_version) for v in found]

    def get_version(self, name: str, version: int) -> ModelVersionInfo:
        """One version; `NotFoundError` naming model and version when missing."""
        with translated_mlflow_errors(f"model {name!r} version {version}"):
            model = self.client.get_registered_model(name)
            found = self.client.get_model_version(name, str(version))
        return _info(found, _aliases_by_version(model.aliases))

    def aliases(self, name: str) -> dict[str, int]:
        """Alias → version for model `name`."""
        with translated_mlflow_errors(f"model {name!r}"):
            model = self.client.get_registered_model(name)
        return {alias: int(version) for alias, version in model.aliases.items()}

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point `alias` of `name` at `version` (MLflow moves it atomically)."""
        with translated_mlflow_errors(f"model {name!r} version {version}"):
            self.client.set_registered_model_alias(name, alias, str(version))


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _aliases_by_version(aliases: dict[str, Any]) -> dict[int, tuple[str, ...]]:
    by_version: dict[int, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(int(version), []).append(alias)
    return {v: tuple(sorted(a)) for v, a in by_version.items()}


def _info(version: Any, aliases: dict[int, tuple[str, ...]]) -> ModelVersionInfo:
    number = int(version.version)
    created = (
        dt.datetime.fromtimestamp(version.creation_timestamp / 1000, dt.UTC).replace(tzinfo=None)
        if version.creation_timestamp
        else None
    )
    return ModelVersionInfo(
        name=version.name,
        version=number,
        run_id=version.run_id,
        tags=dict(version.tags or {}),
        aliases=aliases.get(number, ()),
        created_at=created,
    )
