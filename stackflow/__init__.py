"""stackflow: plan and apply Atmos-style Terraform stacks in dependency order on Prefect 3."""

__version__ = "0.1.0"
