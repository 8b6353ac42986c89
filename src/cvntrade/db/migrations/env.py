"""Alembic environment: runs migrations on the connection handed over by `cvntrade.db.migrate`."""

from __future__ import annotations

from alembic import context

from cvntrade.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when alembic is driven by hand
    raise RuntimeError("run migrations through `cvntrade db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
