"""The doctor's audit-trail check: are the hash chains of the append-only tables intact?"""

from __future__ import annotations

from sqlalchemy import Engine

from cvntrade.doctor.checks import FAIL, OK, WARN, Check
from cvntrade.errors import CvnError

DOCTOR_CHAIN_ROWS = 500_000
"""Rows of the hash chains the doctor walks at most (oldest first), so it answers in seconds."""


def check_audit_chain(db: Engine, *, max_rows: int = DOCTOR_CHAIN_ROWS) -> Check:
    """Run `cvntrade audit verify` on at most `max_rows` rows: fail when a chain is broken, warn
    when it cannot be walked or is longer than that (the full walk is `cvntrade audit verify`).

    A broken chain means someone with database superuser rights rewrote the audit trail (or the
    config history): the trail can no longer be trusted from the named row on.
    """
    from cvntrade.db.verify import verify_chains

    name = "audit trail"
    try:
        report = verify_chains(db, max_rows=max_rows)
    except CvnError as exc:
        return Check(name, WARN, f"not verified: {exc}", "run `cvntrade audit verify`")
    counts = ", ".join(
        f"{c.table} {c.rows} of {c.head_rows} rows" if c.limited else f"{c.table} {c.rows} rows"
        for c in report.chains
    )
    broken = [c for c in report.chains if c.broken is not None]
    if not broken and report.limited:
        return Check(
            name,
            WARN,
            f"hash chains intact in the first {max_rows} rows walked ({counts}; "
            f"{report.seconds:.1f} s); the rest not verified here",
            "run `cvntrade audit verify` for the full walk",
        )
    if not broken:
        return Check(name, OK, f"hash chains intact ({counts}; {report.seconds:.1f} s)")
    first = broken[0]
    assert first.broken is not None
    return Check(
        name,
        FAIL,
        f"{first.table}: chain broken ({first.broken.kind.value}): {first.broken.detail}",
        "the trail was rewritten outside CVNTrade (superuser): `cvntrade audit verify` for "
        "details; compare with a backup and your recorded head hashes (docs/storage.md)",
    )
