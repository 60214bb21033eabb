"""What a stack lock is keyed on: the instance's Terraform state, not its name.

Two instances (or two stack names) that point at the same state file share one lock, so the key
is the state's address as the backend lays it out, e.g.

    s3://acme-tfstate/vpc/plat-ue1-dev/terraform.tfstate     (workspace_key_prefix/workspace/key)
    s3://acme-tfstate/terraform.tfstate                      (the default workspace: key only)
    local:components/terraform/vpc:default                   (no backend: the component folder)

and the lock's name is a readable slug of it plus a short hash:
`stackflow-vpc-plat-ue1-dev-1a2b3c4d`. Pure: no Prefect, no network.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from typing import Any

from stackflow.errors import ConfigError

from .model import StackInstance

LOCK_PREFIX = "stackflow-"
_SLUG_MAX = 40
_LOCK_NAME = re.compile(r"^stackflow-(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?[0-9a-f]{8}$")
_NOISE_PARTS = {"", "env", "terraform.tfstate", "components", "terraform"}


def state_address(instance: StackInstance) -> str:
    """The canonical address of the state `instance` reads and writes."""
    kind = instance.backend_type
    backend = instance.backend or {}
    workspace = instance.workspace or "default"
    if not kind or kind == "local":
        return _local(instance, backend, workspace)
    if kind == "s3":
        return _s3(instance, backend, workspace)
    if kind == "gcs":
        bucket = _required(instance, backend, "bucket")
        prefix = _strip(backend.get("prefix"))
        return f"gs://{bucket}/" + "/".join(p for p in (prefix, f"{workspace}.tfstate") if p)
    if kind == "azurerm":
        account = _required(instance, backend, "storage_account_name")
        container = _required(instance, backend, "container_name")
        key = _required(instance, backend, "key")
        suffix = "" if workspace == "default" else f"env:{workspace}"
        return f"azurerm://{account}/{container}/{_strip(key)}{suffix}"
    if kind in ("remote", "cloud"):
        return _terraform_cloud(instance, backend, workspace)
    # any other backend: its whole section, hashed (it may hold credentials), and the workspace
    canonical = json.dumps(backend, sort_keys=True, default=str, separators=(",", ":"))
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:16]}:{workspace}"


def lock_name(address: str) -> str:
    """A valid, stable Prefect limit (and variable) name for `address`: slug + 8 hex digits."""
    if not address or not address.strip():
        raise ConfigError("cannot name a lock for an empty state address")
    digest = hashlib.sha256(address.encode()).hexdigest()[:8]
    slug = _slug(address)
    return f"{LOCK_PREFIX}{slug}-{digest}" if slug else f"{LOCK_PREFIX}{digest}"


def is_lock_name(text: str) -> bool:
    """Whether `text` has the shape `lock_name` produces (it may still name no lock)."""
    return bool(_LOCK_NAME.match(text))


def _s3(instance: StackInstance, backend: dict[str, Any], workspace: str) -> str:
    bucket = _required(instance, backend, "bucket")
    key = _strip(_required(instance, backend, "key"))
    if workspace == "default":
        return f"s3://{bucket}/{key}"
    prefix = _strip(backend.get("workspace_key_prefix")) or "env:"  # terraform's default
    return f"s3://{bucket}/{prefix}/{workspace}/{key}"


def _local(instance: StackInstance, backend: dict[str, Any], workspace: str) -> str:
    folder = posixpath.normpath(instance.component_path or ".")
    path = str(backend.get("path") or "")
    if path and path != "terraform.tfstate":
        folder = posixpath.normpath(posixpath.join(folder, path))
    return f"local:{folder}:{workspace}"


def _terraform_cloud(instance: StackInstance, backend: dict[str, Any], workspace: str) -> str:
    host = str(backend.get("hostname") or "app.terraform.io")
    org = _required(instance, backend, "organization")
    spaces = backend.get("workspaces") or {}
    if not isinstance(spaces, dict):
        raise ConfigError(f"{instance}: backend.{instance.backend_type}.workspaces must be a mapping")
    if spaces.get("name"):
        name = str(spaces["name"])
    elif spaces.get("prefix"):
        name = f"{spaces['prefix']}{workspace}"
    else:
        name = workspace
    return f"tfc://{host}/{org}/{name}"


def _required(instance: StackInstance, backend: dict[str, Any], field: str) -> str:
    value = backend.get(field)
    if value is None or not str(value).strip():
        raise ConfigError(
            f"{instance}: backend.{instance.backend_type}.{field} is not set; "
            "cannot name the lock of its state"
        )
    return str(value).strip()


def _strip(value: Any) -> str:
    return str(value or "").strip().strip("/")


def _slug(address: str) -> str:
    if "://" in address:
        host, _, body = address.split("://", 1)[1].partition("/")
    else:
        host, body = "", address.split(":", 1)[-1]
    parts = [p.removesuffix(".tfstate") for p in re.split(r"[/:]+", body)]
    parts = [p for p in parts if p.lower() not in _NOISE_PARTS and p]
    slug = _slugify("-".join(parts)) or _slugify(host)
    if len(slug) > _SLUG_MAX:  # keep the tail: the most specific part of a path
        slug = slug[-_SLUG_MAX:].lstrip("-")
    return slug


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
