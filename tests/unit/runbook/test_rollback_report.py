"""Pure parts of the rollback: `--symbols` parsing and the operator's report."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cvntrade.errors import UserInputError
from cvntrade.registry import AliasIntent, Settlement
from cvntrade.runbook import (
    ALREADY_BINARY,
    MOVE,
    NO_LIVE_ENGINE,
    NOT_SWITCHED,
    SWITCHED,
    UNTAGGED,
    EngineReport,
    PropagationReport,
    RollbackResult,
    RollbackTiming,
    SymbolPropagation,
    SymbolRollback,
    parse_symbols,
)
from cvntrade.runbook.report import rollback_lines

NAME = "CVNTrade_XGBoost_{}_SL0.5_TP1_H4"
AT = dt.datetime(2026, 11, 24, 12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auto", None),
        (" AUTO ", None),
        ("BTCUSDC", ("BTCUSDC",)),
        ("BTCUSDC, ETHUSDC,BTCUSDC,", ("BTCUSDC", "ETHUSDC")),
    ],
)
def test_symbols_are_auto_or_a_validated_list_without_repeats(
    text: str, expected: tuple[str, ...] | None
) -> None:
    assert parse_symbols(text) == expected


@pytest.mark.parametrize(("text", "message"), [(",", "--symbols"), ("btc", "invalid symbol")])
def test_bad_symbols_are_refused(text: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        parse_symbols(text)


def _item(symbol: str, action: str, done: bool = False) -> SymbolRollback:
    command = f"cvntrade models set-alias --name {NAME.format(symbol)} --alias champion --version 2"
    return SymbolRollback(
        symbol,
        NAME.format(symbol),
        3 if action == MOVE else 2,
        "focal" if action == MOVE else ("binary" if action == ALREADY_BINARY else None),
        2,
        action,
        command if action == MOVE else None,
        done,
    )


def _result(*, dry_run: bool, propagation: PropagationReport | None) -> RollbackResult:
    symbols = (
        _item("BTCUSDC", MOVE, not dry_run),
        _item("ETHUSDC", ALREADY_BINARY),
        _item("XRPUSDC", UNTAGGED),
    )
    complete = propagation is None or propagation.complete
    return RollbackResult(
        dry_run=dry_run,
        strategy="SL0.5_TP1_H4",
        symbols_source="list",
        incident_id=3,
        attachment="attached to incident #3 (given)",
        config_loss_before="focal",
        config_version_before=4,
        config_version_after=4 if dry_run else 5,
        config_changed=not dry_run,
        symbols=symbols,
        propagation=propagation,
        timing=RollbackTiming(0.25, 1.5, 1.75, 60.0, 30.0, complete),
        changed=not dry_run,
    )


def test_dry_run_report_lists_the_exact_commands() -> None:
    lines = rollback_lines(_result(dry_run=True, propagation=None))
    assert lines[0] == "DRY RUN — nothing changed. The plan:"
    assert lines[1] == "config: CVN_LOSS_FUNCTION focal → binary:logistic (version 4 → 5)"
    assert lines[2].endswith(
        f"cvntrade models set-alias --name {NAME.format('BTCUSDC')} --alias champion --version 2"
    )
    assert "nothing to do" in lines[3]
    assert "left alone" in lines[4]


def test_report_names_laggards_and_the_sla_verdict() -> None:
    engines = (EngineReport("live@h:1", 3, AT, True, True),)
    propagation = PropagationReport(
        symbols=(
            SymbolPropagation("BTCUSDC", NAME.format("BTCUSDC"), 2, NOT_SWITCHED, None, engines),
            SymbolPropagation("ETHUSDC", NAME.format("ETHUSDC"), 2, NO_LIVE_ENGINE, None, ()),
            SymbolPropagation("SOLUSDC", NAME.format("SOLUSDC"), 2, SWITCHED, 0.4, ()),
        ),
        waited_s=1.5,
        wait_limit_s=1.5,
        heartbeat_max_age_s=10,
        complete=False,
    )
    text = "\n".join(rollback_lines(_result(dry_run=False, propagation=propagation)))
    assert "BTCUSDC v2: NOT switched within 1.5 s: live@h:1 serves v3 (stale)" in text
    assert "ETHUSDC v2: no live engine serves it" in text
    assert "SOLUSDC v2: switched after 0.40 s" in text
    assert "= 1.75 s — OUTSIDE the 60 s revert SLA" in text
    assert "NOT SWITCHED IN TIME: BTCUSDC;" in text


def _settled(state: str) -> Settlement:
    intent = AliasIntent(
        id=9,
        at=AT,
        model_name=NAME.format("BTCUSDC"),
        alias="champion",
        from_version=3,
        to_version=2,
        actor="oncall",
        reason="r",
        state="pending",
    )
    return Settlement(intent, state, 2 if state == "done" else None, "n")


def test_report_counts_the_alias_intents_reconciled_first() -> None:
    result = replace(
        _result(dry_run=False, propagation=None),
        reconciled=(_settled("done"), _settled("done"), _settled("abandoned")),
    )
    lines = rollback_lines(result)
    [line] = [ln for ln in lines if ln.startswith("alias intents reconciled")]
    assert line.startswith("alias intents reconciled: 1 abandoned, 2 done (")
    dry = replace(_result(dry_run=True, propagation=None), reconciled=(_settled("pending"),))
    assert any(ln.startswith("alias intents: 1 pending") for ln in rollback_lines(dry))
    plain = rollback_lines(_result(dry_run=False, propagation=None))
    assert not any(ln.startswith("alias intents") for ln in plain)
