"""Prefect flows: compose the loader's graph with the tasks (which step after which, approvals)."""
