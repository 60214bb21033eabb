"""Alembic environment: runs on the connection `Ledger` hands over (never reads alembic.ini).

`stackflow.tasks.ledger.store.migrate` opens that connection's transaction (taking PostgreSQL's
advisory lock, or SQLite's write lock) so concurrent first uses migrate one after the other.
"""

from alembic import context

from stackflow.tasks.ledger.models import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():  # inside the caller's transaction: adds none of its own
    context.run_migrations()
