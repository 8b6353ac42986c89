"""The console: FastAPI JSON API + server-rendered pages, with users, roles and audit."""

from cvntrade.console.users import ROLES, ConsoleUser

__all__ = ["ROLES", "ConsoleUser"]
