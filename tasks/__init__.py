"""Prefect tasks and the side effects behind them: terraform, plan store, locks, ledger, github."""
