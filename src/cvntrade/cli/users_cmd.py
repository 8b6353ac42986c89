"""`cvntrade users`: console users (viewer < operator < admin), passwords and API tokens."""

from __future__ import annotations

import typer
from rich.table import Table

from cvntrade.cli.common import console, default_actor, open_engine, print_json

app = typer.Typer(
    help="Console users: roles viewer < operator < admin, argon2 passwords, API tokens.",
    no_args_is_help=True,
)


def _password(password_stdin: bool) -> str:
    if password_stdin:
        import sys

        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add_cmd(
    username: str = typer.Argument(..., help="Login name (lower case, e.g. alice)."),
    role: str = typer.Option("viewer", "--role", help="viewer, operator or admin."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from one line of stdin (no prompt)."
    ),
) -> None:
    """Add a console user (prompts for the password twice unless --password-stdin)."""
    from cvntrade.console.users import add_user

    user = add_user(open_engine(), username, _password(password_stdin), role, actor=default_actor())
    console.print(f"user {user.username} added with role {user.role} (audited)")


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List console users with role and state."""
    from cvntrade.console.users import list_users

    users = list_users(open_engine())
    if as_json:
        print_json(
            [{"username": u.username, "role": u.role, "disabled": u.disabled} for u in users]
        )
        return
    table = Table(title="console users")
    for column in ("username", "role", "state", "created (UTC)"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.username,
            u.role,
            "disabled" if u.disabled else "active",
            f"{u.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@app.command("disable")
def disable_cmd(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Disable a user: its sessions and API tokens stop working at once (audited)."""
    from cvntrade.console.users import disable_user

    disable_user(open_engine(), username, actor=default_actor())
    console.print(f"user {username} disabled; its API tokens are revoked (audited)")


@app.command("passwd")
def passwd_cmd(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from one line of stdin (no prompt)."
    ),
) -> None:
    """Set a user's password (audited; the hash never enters the audit log)."""
    from cvntrade.console.users import set_password

    set_password(open_engine(), username, _password(password_stdin), actor=default_actor())
    console.print(f"password of {username} changed (audited)")


@app.command("token")
def token_cmd(
    username: str = typer.Argument(..., help="Login name."),
    label: str = typer.Option("api", "--label", help="What the token is for."),
) -> None:
    """Create a bearer API token for USER; it is printed once (only its SHA-256 is stored)."""
    from cvntrade.console.users import create_token

    print(create_token(open_engine(), username, label=label, actor=default_actor()))
