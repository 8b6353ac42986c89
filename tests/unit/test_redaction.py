"""`cvntrade.redaction`: URL passwords and known secrets are masked wherever they appear."""

from __future__ import annotations

import logging

import pytest

from cvntrade.redaction import RedactingFilter, known_secrets, redact, redact_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://bob:s3cret@db:5432/x", "postgres://bob:***@db:5432/x"),
        (
            "API request to http://u:hunter22@127.0.0.1:9/api failed",
            "API request to http://u:***@127.0.0.1:9/api failed",
        ),
        ("postgresql+psycopg://bob:p%40ss@h/db", "postgresql+psycopg://bob:***@h/db"),
        ("'sqlite:///home/x/cvntrade.db'", "'sqlite:///home/x/cvntrade.db'"),
        ("postgresql+psycopg://postgres@127.0.0.1/x", "postgresql+psycopg://postgres@127.0.0.1/x"),
        ("see https://example.com/a:b@c", "see https://example.com/a:b@c"),
        ("", ""),
    ],
)
def test_url_passwords_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_secrets_are_masked_even_outside_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CVN_DATABASE_URL", "postgresql://bob:p@ss@host/db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://u:Tr%40ck99@h:5000")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-123456")
    assert known_secrets() >= {"p@ss", "Tr@ck99", "Tr%40ck99", "tok-123456"}
    masked = redact("login p@ss failed; Tr@ck99; bearer tok-123456; postgresql://bob:p@ss@host/db")
    for secret in ("p@ss", "Tr@ck99", "tok-123456"):
        assert secret not in masked
    assert "postgresql://bob:***@host/db" in masked


def test_redact_data_walks_json_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://u:Secret77@h")
    value = {"summary": "x http://u:Secret77@h y", "list": ["Secret77", 3], "n": None}
    assert redact_data(value) == {"summary": "x http://u:***@h y", "list": ["***", 3], "n": None}


def test_log_records_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CVN_DATABASE_URL", "postgresql://bob:Secret77@h/db")
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "cannot use %s", ("Secret77",), None
    )
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "cannot use ***"
