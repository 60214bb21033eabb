"""How the flows are deployed to a Prefect server and triggered from CI."""
