"""Settings come from CVN_* variables, with a SQLite default under CVN_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvntrade.errors import UserInputError
from cvntrade.settings import Settings, get_settings, redact_url


def test_defaults_put_sqlite_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CVN_HOME", str(tmp_path))
    monkeypatch.delenv("CVN_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.home == tmp_path
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'cvntrade.db'}"


def test_database_url_and_log_level_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CVN_DATABASE_URL", "postgresql+psycopg://u:secret@h/db")
    monkeypatch.setenv("CVN_LOG_LEVEL", "debug")
    settings = Settings()
    assert settings.effective_database_url == "postgresql+psycopg://u:secret@h/db"
    assert settings.log_level == "DEBUG"
    assert "secret" not in repr(settings)


def test_settings_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        Settings().home = Path("/elsewhere")  # type: ignore[misc]


def test_invalid_setting_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CVN_LOG_LEVEL", "LOUD")
    get_settings.cache_clear()
    try:
        with pytest.raises(UserInputError, match="CVN_LOG_LEVEL"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_redact_url_hides_password() -> None:
    assert redact_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"
