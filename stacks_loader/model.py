"""The loader's values: what a resolved stack instance is, and its references to other instances.

Pure data; built by `stacks_loader.resolve`, read by the flows and tasks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, order=True)
class InstanceRef:
    """A component in a stack: the unit stackflow plans and applies (`plat-ue1-dev/vpc`)."""

    stack: str
    component: str

    def __hash__(self) -> int:
        # refs are graph nodes and dict keys hashed millions of times on big repos: hash once,
        # and make the common case a single attribute read
        try:
            return self._hash  # type: ignore[attr-defined]
        except AttributeError:
            cached = hash((self.stack, self.component))
            object.__setattr__(self, "_hash", cached)
            return cached

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # never pickle the cached hash: string hashes differ between processes
        return (InstanceRef, (self.stack, self.component))

    def __str__(self) -> str:
        return f"{self.stack}/{self.component}"

    @classmethod
    def parse(cls, text: str) -> "InstanceRef":
        """`stack/component`; the component may itself contain `/` (Atmos allows `infra/vpc`)."""
        stack, sep, component = text.partition("/")
        if not sep or not stack or not component:
            from stackflow.errors import ConfigError

            raise ConfigError(f"{text!r}: expected STACK/COMPONENT")
        return cls(stack, component)


@dataclass(frozen=True)
class TerraformOutputRef:
    """A deferred `!terraform.output` / `!terraform.state` value.

    It stays in the instance's `vars` until the flow replaces it with the parent's real output,
    right before the child plans. `path` is the yq-like path after the output name
    (e.g. `[0]` or `.ids[0]`), empty for the whole output; an empty `output` is every output
    (yq's `.`: `!terraform.state vpc .`), as a map.
    """

    parent: InstanceRef
    output: str
    path: str = ""
    function: Literal["terraform.output", "terraform.state"] = "terraform.output"
    source_file: str = ""
    # yq's `// default`, as JSON text (hashable): stands in when the output is missing, null or
    # false, or the parent has no outputs yet; None = no default
    default: str | None = None
    # a Sprig JSON encoder (`toJson`, `toRawJson`, `toPrettyJson`) the value goes through once
    # known: a template printed the output's JSON text (`'{{ toJson (atmos.Component …).outputs.x }}'`)
    encoding: str = ""
    # the encoder's arguments before the value, as given (`toJSONPretty "  "`: the indent)
    encoding_args: tuple[str, ...] = ()

    def __str__(self) -> str:
        # as it would be written again: `vpc_id`, `.subnet_ids[0]`, `.` (every output)
        expression = (f".{self.output}{self.path}" if self.path else self.output) if self.output else (self.path or ".")
        text = f"!{self.function} {self.parent.component} {self.parent.stack} {expression}"
        if self.encoding:
            text = " ".join([f"{text} | {self.encoding}", *map(json.dumps, self.encoding_args)])
        return text if self.default is None else f"{text} // {self.default}"


@dataclass(frozen=True)
class TerraformOutputText:
    """Text with deferred outputs printed into it (`vpc-{{ (atmos.Component "vpc" .stack).outputs.id }}`):
    the flow prints each parent's output in place (as Go prints a scalar) before the child plans."""

    parts: tuple[str | TerraformOutputRef, ...]
    # the printed text is then read as YAML, as Atmos reads back what its quoted delimiters
    # (templates.settings.delimiters ["'{{", "}}'"]) rendered: `{"a": 1}` a map, `8080` an int
    read_back: bool = False

    def __str__(self) -> str:
        return "".join(part if isinstance(part, str) else f"{{{{ {part} }}}}" for part in self.parts)


@dataclass(frozen=True)
class ExecRef:
    """A deferred `!exec` command, present only when loading with `allow_exec=True`.

    The pure loader never runs anything: the shell layer must run `command` and put its output
    in place of this value before the instance is planned.
    """

    command: str
    source_file: str = ""

    def __str__(self) -> str:
        return f"!exec {self.command}"


@dataclass(frozen=True)
class StoreRef:
    """An Atmos `!store`, `!store.get` or `!secret` value: read from a store (SSM, Secrets
    Manager, 1Password…) when the instance runs. Kept as written by the loader (`describe`, the
    graph and `describe affected` show it so); in `vars` the flow fills it right before the plan
    (`stores.py` works out the read, `tasks/stores.py` makes it). A run needing one that cannot be
    read (`!secret`, a store that is not AWS SSM or Secrets Manager…) is refused before any plan."""

    function: Literal["store", "store.get", "secret"]
    args: str
    source_file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"!{self.function} {self.args}"


AwsFactName = Literal["account_id", "caller_identity_arn", "caller_identity_user_id", "region", "organization_id"]


@dataclass(frozen=True)
class AwsFact:
    """An Atmos `!aws.account_id`, `!aws.caller_identity_arn`, `!aws.caller_identity_user_id`,
    `!aws.region` or `!aws.organization_id` value: a fact about the AWS identity the run acts as.
    Kept as written by the loader (`describe`, the graph and `describe affected` show it so); in
    `vars` the flow fills it as the instance starts (`aws_facts.py` finds them, `tasks/aws_facts.py`
    asks AWS, once per run). Elsewhere, a run needing one is refused before any plan."""

    name: AwsFactName
    source_file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"!aws.{self.name}"


@dataclass(frozen=True)
class Dependency:
    """One edge into an instance: `parent` must succeed before the dependent runs."""

    parent: InstanceRef
    via: Literal["settings.depends_on", "dependencies.components", "terraform.output"]
    # where it was declared, for error messages (e.g. "settings.depends_on.db" or "vars.vpc_id");
    # not part of the edge's identity
    entry: str = field(default="", compare=False)
    # a legacy `settings.depends_on` entry naming its stack: the (namespace, tenant, environment,
    # stage) Atmos' describe dependents also asks of the parent (the entry's, else the dependent's
    # own vars). The edge orders the deploy regardless; only that listing leaves it out. Not identity.
    context: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(slots=True)  # 20,000 of them in a big repo: no per-instance __dict__
class StackInstance:
    """A component in a stack, with every section resolved as Atmos resolves it."""

    stack: str
    component: str
    component_path: str  # folder terraform runs in, relative to the repo root, e.g. "components/terraform/vpc"
    stack_file: str  # manifest (relative to the stacks base path) that defines the stack
    vars: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    backend_type: str = ""
    backend: dict[str, Any] = field(default_factory=dict)  # the section for backend_type only
    providers: dict[str, Any] = field(default_factory=dict)
    workspace: str = "default"
    dependencies: list[Dependency] = field(default_factory=list)
    # files / folders (repo-relative) whose change marks this instance affected
    depends_on_files: list[str] = field(default_factory=list)
    depends_on_folders: list[str] = field(default_factory=list)
    # the Terraform binary to run (`command` section; Atmos default "terraform")
    command: str = "terraform"
    remote_state_backend_type: str = ""
    remote_state_backend: dict[str, Any] = field(default_factory=dict)
    # base components applied through `metadata.inherits` / `component:`, nearest first (Atmos order)
    inheritance: list[str] = field(default_factory=list)
    # every manifest (relative to the stacks base path) merged into this instance's stack; one
    # tuple shared by the instances of a stack manifest
    imports: tuple[str, ...] = ()
    # the merged `dependencies` section as written (Atmos compares it whole for
    # `stack.dependencies`); None when the resolver did not record it
    dependencies_section: dict[str, Any] | None = None
    # the folder of Atmos' base component name: the `component_path` of its describe output (the
    # name also names the state); differs from `component_path` when `metadata.component` comes
    # only from a base (Atmos still runs terraform in the inherited folder). "" = `component_path`
    base_component_path: str = ""
    # the sections stackflow resolves as Atmos does but does not act on (`schema.REPORTED_SECTIONS`:
    # required_providers, required_version, generate, auth, source, provision, hooks), by name,
    # every one present (empty when unset), for describe output and `describe affected`
    reported_sections: dict[str, Any] = field(default_factory=dict)
    # the deprecated top-level `component:` of its section, as written ("" when unset): Atmos'
    # `describe stacks --components X` also lists the components that name X there
    legacy_base: str = ""

    @property
    def described_path(self) -> str:
        """`component_path` as Atmos' describe stacks / affected / dependents report it."""
        return self.base_component_path or self.component_path

    @property
    def ref(self) -> InstanceRef:
        return InstanceRef(self.stack, self.component)

    @property
    def abstract(self) -> bool:
        return self.metadata.get("type") == "abstract"

    @property
    def enabled(self) -> bool:
        return self.metadata.get("enabled", True) is not False

    @property
    def locked(self) -> bool:
        return self.metadata.get("locked", False) is True

    @property
    def deployable(self) -> bool:
        # `enabled and not abstract`, read once: asked of every instance for every graph
        metadata = self.metadata
        return metadata.get("enabled", True) is not False and metadata.get("type") != "abstract"

    def __str__(self) -> str:
        return str(self.ref)
