"""The Terraform backend of an instance: the section of the chosen type, with Atmos' defaults.

S3 `workspace_key_prefix`, GCS `prefix` and AzureRM `key` default to `metadata.name`, else Atmos'
base component name (the component's own `metadata.component`, else its top-level `component:`
base, else its name: `StackResolver.base_name`), with `/` replaced by
`components.terraform.workspace.prefix_separator` (default `-`). Not the folder terraform runs in:
that one also reads `metadata.component` inherited from a base.
"""

from __future__ import annotations

from typing import Any

from stackflow.errors import ConfigError


def backend_section(
    backend_type: str,
    sections: dict[str, Any],
    *,
    what: str,
    where: str,
) -> dict[str, Any]:
    """`sections[backend_type]` (a copy); `what` is "backend" or "remote_state_backend"."""
    if not backend_type:
        return {}
    chosen = sections.get(backend_type)
    if chosen is None:
        others = sorted(k for k in sections if sections.get(k) is not None)
        if others:
            raise ConfigError(
                f"{where}: {what}_type is {backend_type!r} but {what} only configures "
                f"{', '.join(others)}; add a {backend_type!r} key or change {what}_type"
            )
        return {}
    if not isinstance(chosen, dict):
        raise ConfigError(f"{where}: {what}.{backend_type} must be a mapping")
    return dict(chosen)


def apply_backend_defaults(
    backend_type: str,
    backend: dict[str, Any],
    *,
    component: str,
    base_name: str,
    metadata: dict[str, Any],
    separator: str,
    global_backend: dict[str, Any],
    component_backend: dict[str, Any],
) -> None:
    """Fill the key prefix Atmos derives when it is not configured (mutates `backend`)."""
    name = metadata.get("name") or base_name or component
    prefix = name if separator == "/" else name.replace("/", separator)
    if backend_type == "s3":
        if not backend.get("workspace_key_prefix"):
            backend["workspace_key_prefix"] = prefix
    elif backend_type == "gcs":
        if not backend.get("prefix"):
            backend["prefix"] = prefix
    elif backend_type == "azurerm":
        own = (component_backend.get("azurerm") or {}).get("key")
        if isinstance(own, str):
            return
        global_key = (global_backend.get("azurerm") or {}).get("key")
        existing = backend.get("key")
        if isinstance(existing, str) and existing and existing != global_key:
            return  # authored on a base component: keep it
        parts = [global_key] if isinstance(global_key, str) else []
        backend["key"] = "/".join([*parts, f"{prefix}.terraform.tfstate"])
