"""Alembic migrations of the ledger schema, applied programmatically by `Ledger.open`."""
