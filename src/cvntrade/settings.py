"""All environment settings, read once, in one place.

| variable | default | meaning |
|---|---|---|
| `CVN_HOME` | `~/.cvntrade` | where the embedded database, data and MLflow store live |
| `CVN_DATABASE_URL` | `sqlite:///$CVN_HOME/cvntrade.db` | SQLAlchemy URL (SQLite or PostgreSQL) |
| `CVN_LOG_LEVEL` | `WARNING` | Python logging level |
| `MLFLOW_TRACKING_URI` | `sqlite:///$CVN_HOME/mlflow.db` | MLflow tracking + registry store |
| `CVN_FEES_PCT` | `0.1` | round-trip trading fees, percent of notional |
| `CVN_SLIPPAGE_PCT` | `0.02` | round-trip slippage of simulations and paper fills, percent |
| `CVN_ALIAS_POLL_S` | `2.0` | how often the engine re-checks each champion alias, seconds |
| `CVN_CONSOLE_SECRET` | random per process | signs console session cookies (secret, redacted) |
| `CVN_OPERATIONS_FILE` | `$CVN_HOME/OPERATIONS.md` | operations log for incident reports |
| `CVN_AIRFLOW_BIN` | unset | `airflow` executable for `runbook remediate --via airflow` |
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """CVNTrade settings from `CVN_*` environment variables (frozen once read)."""

    model_config = SettingsConfigDict(env_prefix="CVN_", frozen=True, extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".cvntrade")
    database_url: str | None = None
    log_level: LogLevel = "WARNING"
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    fees_pct: float = Field(default=0.1, ge=0, le=5)
    slippage_pct: float = Field(default=0.02, ge=0, le=5)
    alias_poll_s: float = Field(default=2.0, gt=0, le=3600)
    alert_webhook_url: str | None = None  # CVN_ALERT_WEBHOOK_URL: built-in evaluator's webhook
    console_secret: SecretStr | None = None
    operations_file: Path | None = None  # CVN_OPERATIONS_FILE: where incident reports go
    airflow_bin: Path | None = None  # CVN_AIRFLOW_BIN: `runbook remediate --via airflow`

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("operations_file")
    @classmethod
    def _expand_operations_file(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().absolute()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: `CVN_DATABASE_URL`, else the SQLite file under `CVN_HOME`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'cvntrade.db'}"

    @property
    def effective_tracking_uri(self) -> str:
        """The MLflow store in use: `MLFLOW_TRACKING_URI`, else a SQLite store under `CVN_HOME`."""
        return self.mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def effective_operations_file(self) -> Path:
        """The operations log in use: `CVN_OPERATIONS_FILE`, else `OPERATIONS.md` in CVN_HOME."""
        return self.operations_file or self.home / "OPERATIONS.md"

    def __repr__(self) -> str:
        return (
            f"Settings(home={self.home!s}, database_url={redact_url(self.effective_database_url)})"
        )


def redact_url(url: str) -> str:
    """Hide the password of a database URL so it can be printed or logged."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from cvntrade.redaction import redact

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return redact(url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    from pydantic import ValidationError

    from cvntrade.errors import UserInputError

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CVN_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise UserInputError(f"invalid environment setting: {problems}") from None
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    from cvntrade.redaction import install_log_redaction

    install_log_redaction()
    if logging.getLevelName(settings.log_level) >= logging.WARNING:
        # Each bounded HTTP retry to the registry logs a WARNING; the final error is one line.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    return settings
