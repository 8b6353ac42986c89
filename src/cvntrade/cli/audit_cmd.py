"""`cvntrade audit`: check that the audit trail is what was written (hash chain verify)."""

from __future__ import annotations

import re

import typer

from cvntrade.cli.common import console, line, open_engine, print_json, styled
from cvntrade.errors import ExitCode, UserInputError

app = typer.Typer(
    help=(
        "The audit trail: `audit_log` and `ftf_config_history` are append-only and chained by "
        "hash, so rewriting them (even as a database superuser) is detectable."
    ),
    no_args_is_help=True,
)

HEX64 = re.compile(r"[0-9a-f]{64}")


@app.command("verify")
def verify_cmd(
    anchors: list[str] = typer.Option(
        [],
        "--anchor",
        help=(
            "A head hash printed by an earlier verify and kept outside the database (repeat "
            "for several): it must still be in a chain, or history before it was rewritten."
        ),
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON: per table rows, head id/hash and the first problem."
    ),
) -> None:
    """Walk the hash chains of `audit_log` and `ftf_config_history` and report.

    Exit 0 when every row fits ("N rows, chain intact"); exit 1 naming the first broken row
    and what is wrong: changed (content edited), missing (rows deleted), inserted (a row that
    is not in the chain), reordered (rows moved to other ids), anchor (a recorded head hash
    is gone). Reads in pages within one snapshot; changes nothing. Keep the printed head hash
    somewhere else (a ticket, a log shipper) and pass it as --anchor next time: a superuser
    who recomputes every hash after an edit is caught only that way.
    """
    from cvntrade.db.verify import verify_chains

    wanted = [anchor.strip().lower() for anchor in anchors]
    for anchor in wanted:
        if not HEX64.fullmatch(anchor):
            raise UserInputError(
                f"invalid --anchor {anchor[:80]!r}: expected a 64-digit hex head hash "
                "(as printed by `cvntrade audit verify`)"
            )
    report = verify_chains(open_engine(), anchors=wanted)
    if as_json:
        print_json(
            {
                "intact": report.intact,
                "seconds": round(report.seconds, 3),
                "chains": [
                    {
                        "table": c.table,
                        "rows": c.rows,
                        "intact": c.intact,
                        "head_id": c.head_id,
                        "head_hash": c.head_hash,
                        "broken": None
                        if c.broken is None
                        else {
                            "kind": c.broken.kind.value,
                            "row_id": c.broken.row_id,
                            "detail": c.broken.detail,
                        },
                    }
                    for c in report.chains
                ],
                "missing_anchors": list(report.missing_anchors),
            }
        )
    else:
        for chain in report.chains:
            if chain.broken is None:
                console.print(
                    line(
                        f"{chain.table}: {chain.rows} row{'' if chain.rows == 1 else 's'}, ",
                        styled("chain intact", "green"),
                        f" (head {chain.head_hash}"
                        + (f" at row {chain.head_id})" if chain.head_id is not None else ")"),
                    ),
                    highlight=False,
                )
            else:
                where = "" if chain.broken.row_id is None else f" at row {chain.broken.row_id}"
                console.print(
                    line(
                        f"{chain.table}: ",
                        styled(f"chain BROKEN{where} ({chain.broken.kind.value})", "bold red"),
                        f": {chain.broken.detail}",
                    ),
                    highlight=False,
                )
        for anchor in report.missing_anchors:
            console.print(
                line(
                    styled("anchor missing", "bold red"),
                    f": {anchor} is in no chain: history before it was rewritten",
                ),
                highlight=False,
            )
        console.print(f"verified in {report.seconds:.2f} s", highlight=False)
    if not report.intact:
        raise typer.Exit(ExitCode.NEGATIVE)
