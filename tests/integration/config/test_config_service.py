"""The ftf_config service on SQLite and PostgreSQL: atomic, versioned, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from cvntrade.audit import read_audit
from cvntrade.clock import fixed_clock
from cvntrade.config import config_history, read_config, set_config
from cvntrade.db.tables import audit_log, ftf_config_history
from cvntrade.errors import ConflictError, UserInputError

AT = dt.datetime(2026, 11, 24, 12, 0, 0)


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        history = conn.execute(select(func.count()).select_from(ftf_config_history)).scalar_one()
        audit = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    return history, audit


def test_set_changes_several_keys_in_one_version(engine: Engine) -> None:
    change = set_config(
        engine,
        {"CVN_LOSS_FUNCTION": "focal", "CVN_FOCAL_GAMMA": "2", "CVN_FOCAL_ALPHA": "0.25"},
        reason="focal promoted",
        actor="alice",
        clock=fixed_clock(AT),
    )
    assert change.before.version == 1
    assert change.after.version == 2
    assert change.changed_keys == ("CVN_LOSS_FUNCTION",)  # gamma 2.0 and alpha 0.25 were set
    current = read_config(engine)
    assert current.version == 2
    assert current.updated_at == AT
    assert current.env["CVN_LOSS_FUNCTION"] == "focal"
    assert current.env["CVN_FOCAL_GAMMA"] == "2.0"
    assert current.env["CVN_FOCAL_ALPHA"] == "0.25"
    [entry] = config_history(engine)
    assert (entry.version, entry.actor, entry.reason) == (2, "alice", "focal promoted")
    assert entry.diff == {"CVN_LOSS_FUNCTION": ("binary:logistic", "focal")}
    [audit] = read_audit(engine, target="ftf_config")
    assert (audit.actor, audit.action, audit.reason) == ("alice", "config.set", "focal promoted")
    assert audit.before["version"] == 1
    assert audit.after == {"version": 2, "CVN_LOSS_FUNCTION": "focal"}


def test_setting_current_values_changes_nothing(engine: Engine) -> None:
    before = _counts(engine)
    change = set_config(engine, {"CVN_LOSS_FUNCTION": "binary:logistic"}, reason="r", actor="a")
    assert not change.changed
    assert read_config(engine).version == 1
    assert _counts(engine) == before


def test_stale_expected_version_fails_and_changes_nothing(engine: Engine) -> None:
    set_config(engine, {"CVN_FOCAL_GAMMA": "1"}, reason="r", actor="a", expect_version=1)
    before = (read_config(engine), _counts(engine))
    with pytest.raises(ConflictError, match="expected 1, current is 2"):
        set_config(engine, {"CVN_FOCAL_GAMMA": "3"}, reason="r", actor="b", expect_version=1)
    assert (read_config(engine), _counts(engine)) == before


@pytest.mark.parametrize(
    ("changes", "reason", "actor", "message"),
    [
        ({"CVN_FOCAL_ALPHA": "1.2"}, "r", "a", "CVN_FOCAL_ALPHA"),
        ({"CVN_LOSS_FUNCTION": "focal", "CVN_NOPE": "1"}, "r", "a", "unknown config key"),
        ({"CVN_LOSS_FUNCTION": "focal"}, "  ", "a", "--reason"),
        ({"CVN_LOSS_FUNCTION": "focal"}, "r", "", "--actor"),
        ({}, "r", "a", "nothing to set"),
    ],
)
def test_invalid_change_is_rejected_before_any_write(
    engine: Engine, changes: dict[str, str], reason: str, actor: str, message: str
) -> None:
    before = (read_config(engine), _counts(engine))
    with pytest.raises(UserInputError, match=message):
        set_config(engine, changes, reason=reason, actor=actor)
    assert (read_config(engine), _counts(engine)) == before
