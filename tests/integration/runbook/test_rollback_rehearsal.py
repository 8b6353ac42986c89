"""Issue 16.6: drills cannot move production by accident.

An automatic rollback refuses a transient step-1 verdict (fewer than two negative symbols) and
changes nothing; one driven by drill rows is marked as a rehearsal in its result and audit row.
"""

from __future__ import annotations

import pytest
from runbook_support import ALL_SYMBOLS, MakeModels
from sqlalchemy import Engine

from cvntrade.audit import read_audit
from cvntrade.config import read_config, set_config
from cvntrade.drill import run_journal_drill
from cvntrade.errors import UserInputError
from cvntrade.registry import MlflowRegistry
from cvntrade.runbook import rollback


@pytest.mark.parametrize("scenario", ["single-symbol", "healthy"])
def test_automatic_rollback_refuses_a_transient_verdict(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels, scenario: str
) -> None:
    run_journal_drill(engine, scenario, actor="drill")
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal launch", actor="setup")
    names = make_models(ALL_SYMBOLS)
    audit_before = read_audit(engine)

    with pytest.raises(UserInputError, match=r"automatic rollback refused: .* transient"):
        rollback(engine, registry, reason="auto", actor="bot", wait_s=0)

    assert read_config(engine).loss_function == "focal"
    assert {registry.aliases(n)["champion"] for n in names.values()} == {3}
    assert read_audit(engine) == audit_before


def test_explicit_symbols_still_roll_back_a_single_symbol(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    run_journal_drill(engine, "single-symbol", actor="drill")
    names = make_models(("SOLUSDC",))
    result = rollback(engine, registry, reason="by hand", actor="me", symbols=["SOLUSDC"], wait_s=0)
    assert result.symbols[0].done
    assert registry.aliases(names["SOLUSDC"])["champion"] == 2


def test_automatic_rollback_on_drill_rows_is_marked_rehearsal(
    engine: Engine, registry: MlflowRegistry, make_models: MakeModels
) -> None:
    run_journal_drill(engine, "focal-regression", actor="drill")
    make_models(ALL_SYMBOLS)
    result = rollback(engine, registry, reason="practice", actor="me", wait_s=0)
    assert result.rehearsal
    [row] = read_audit(engine, action="runbook.rollback")
    assert row.after["rehearsal"] is True
    assert "REHEARSAL" in row.after["summary"]
