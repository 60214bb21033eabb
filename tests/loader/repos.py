"""Tiny Atmos repos written into a temp folder, one dict per test."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from stackflow.stacks_loader.resolve import StackSet, load_stacks

ATMOS_YAML = """\
base_path: "."
components:
  terraform:
    base_path: components/terraform
stacks:
  base_path: stacks
  included_paths: ["deploy/**/*"]
  excluded_paths: ["**/_defaults.yaml"]
  name_pattern: "{tenant}-{environment}-{stage}"
"""


def write_repo(root: Path, files: Mapping[str, str], *, atmos: str | None = ATMOS_YAML) -> Path:
    """Write `files` (repo-relative path → text, dedented) under `root`; add atmos.yaml unless given."""
    contents = dict(files)
    if atmos is not None and "atmos.yaml" not in contents:
        contents["atmos.yaml"] = atmos
    for rel, text in contents.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def load_repo(
    root: Path,
    files: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    *,
    atmos: str | None = ATMOS_YAML,
    allow_exec: bool = False,
) -> StackSet:
    """`write_repo` then `load_stacks` with `environ` (empty by default)."""
    return load_stacks(write_repo(root, files, atmos=atmos), environ or {}, allow_exec=allow_exec)


def ctx(body: str = "", *, tenant: str = "plat", environment: str = "ue1", stage: str = "dev") -> str:
    """A stack manifest body with the context vars that name it `plat-ue1-dev` (by default)."""
    body = textwrap.dedent(body)
    pairs = f"tenant: {tenant}, environment: {environment}, stage: {stage}"
    lines = body.splitlines(keepends=True)
    for index, line in enumerate(lines):  # the manifest has its own top-level vars: add to them
        if line.startswith("vars: {"):
            lines[index] = "vars: {" + pairs + ", " + line[len("vars: {"):]
            return "".join(lines)
        if line.rstrip() == "vars:":
            lines[index] = f"vars:\n  {pairs.replace(', ', chr(10) + '  ')}\n"
            return "".join(lines)
    return f"vars: {{{pairs}}}\n" + body
