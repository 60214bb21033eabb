"""The real deploy flow in its own process, with scripted steps in place of terraform.

    python -m tests.ledger.deploy_child REPO      (the script comes from $STACKFLOW_TEST_SCRIPT)
"""

from __future__ import annotations

import sys

import stackflow.flows.deploy as deploy_module

from .scripted_steps import ScriptedSteps

if __name__ == "__main__":
    deploy_module.TerraformSteps = ScriptedSteps  # type: ignore[misc]
    deploy_module.deploy(repo=sys.argv[1], all_instances=True, trigger="api", started_by="child")
