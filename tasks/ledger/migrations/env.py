"""Alembic environment: runs on the connection `Ledger` hands over (never reads alembic.ini).

On PostgreSQL an advisory lock makes concurrent first uses migrate one after the other; on
SQLite the write transaction (BEGIN IMMEDIATE) does the same.
"""

from alembic import context

from stackflow.tasks.ledger.models import metadata

MIGRATION_LOCK = 7_351_802_114  # pg_advisory_xact_lock key: "stackflow ledger migrations"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.run_migrations()
