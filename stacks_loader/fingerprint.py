"""A stable hash of an instance's resolved config, stored with its plan.

Apply refuses a plan whose fingerprint no longer matches the instance it is about to change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .model import StackInstance


def config_fingerprint(instance: StackInstance, resolved_vars: dict[str, Any]) -> str:
    """SHA-256 over everything that shapes the plan apart from the component's code."""
    doc = {
        "stack": instance.stack,
        "component": instance.component,
        "component_path": instance.component_path,
        "workspace": instance.workspace,
        "vars": resolved_vars,
        "env": instance.env,
        "backend_type": instance.backend_type,
        "backend": instance.backend,
        "providers": instance.providers,
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
