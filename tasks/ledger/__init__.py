"""The run ledger: every run, instance result, approval and lock event, in one database."""
