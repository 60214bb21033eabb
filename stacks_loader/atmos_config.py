"""`atmos.yaml`: where stacks and components live, and how stacks are named and merged.

Only the settings the loader needs are read; paths come out repo-relative (posix, `""` = root).
Environment overrides (`ATMOS_CLI_CONFIG_PATH`, `ATMOS_BASE_PATH`) come from the mapping passed in.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackflow.errors import ConfigError

from .atmos_config_imports import default_imports, with_imports
from .manifests import ManifestReader
from .merge import merge
from .schema import COMPARABLE_SECTIONS
from .source import SourceTree, normalize_relpath
from .yaml_functions import AppendList, EnvFunction, RepoRoot, settle

LIST_MERGE_STRATEGIES = ("replace", "append", "merge")
NAME_PATTERN_TOKENS = ("{namespace}", "{tenant}", "{environment}", "{stage}")
CONFIG_FILE_NAMES = ("atmos.yaml", ".atmos.yaml", "atmos.yml", ".atmos.yml")


@dataclass(frozen=True)
class AtmosConfig:
    """The parts of `atmos.yaml` that decide how stacks resolve."""

    config_file: str  # repo-relative path of the atmos.yaml that was read
    base_path: str = ""  # repo-relative, "" = repository root
    stacks_base_path: str = "stacks"  # repo-relative
    terraform_base_path: str = "components/terraform"  # repo-relative
    included_paths: tuple[str, ...] = ()  # globs relative to the stacks base path
    excluded_paths: tuple[str, ...] = ()
    name_pattern: str = ""
    name_template: str = ""
    list_merge_strategy: str = "replace"
    auto_generate_backend_file: bool = False
    workspaces_enabled: bool = True
    workspace_prefix_separator: str = "-"  # replaces "/" in generated backend key prefixes
    inherit_metadata: bool = True  # stacks.inherit.metadata
    terraform_command: str = "terraform"
    env: dict[str, Any] = field(default_factory=dict)  # atmos.yaml `env`, lowest precedence
    templates_enabled: bool = True  # templates.settings.enabled: render `{{ }}` in component values
    # templates.settings.evaluations: passes over a component's values, each rendering what the
    # one before left (a value that read another value's template)
    template_evaluations: int = 1
    # templates.settings.delimiters ["'{{", "}}'"] (Atmos' documented way to get typed values):
    # a component value that is one template renders to YAML read back typed; others are text
    quoted_templates: bool = False
    inherit_source: bool = True  # stacks.inherit.source: `source` and `provision` inherited from bases
    auth: dict[str, Any] = field(default_factory=dict)  # atmos.yaml `auth`, under every instance's auth
    # describe.affected.sections: the sections compared for `describe affected`, replacing
    # Atmos' defaults when set (metadata and settings are compared regardless); () = the defaults
    affected_sections: tuple[str, ...] = ()
    imported_files: tuple[str, ...] = ()  # repo-relative files atmos.yaml's `import:` merged in
    # integrations.atlantis.project_templates: template name -> its project `name` (context tokens)
    atlantis_project_templates: dict[str, str] = field(default_factory=dict)
    stores: dict[str, "StoreConfig"] = field(default_factory=dict)  # `stores:`, by name
    # settings.yaml.key_delimiter (Atmos 1.221, experimental): unquoted `a.b:` keys in stack
    # manifests are nested maps (`manifests.expand_key_delimiters`); "" = keys as written
    yaml_key_delimiter: str = ""
    # what atmos.yaml says that Atmos reads silently and stackflow warns about once per load
    notes: tuple[str, ...] = field(default=(), compare=False)

    def stacks_path(self, stack_relpath: str) -> str:
        """A path relative to the stacks base path, made repo-relative."""
        return posixpath.join(self.stacks_base_path, stack_relpath) if self.stacks_base_path else stack_relpath


def load_atmos_config(tree: SourceTree, environ: Mapping[str, str]) -> AtmosConfig:
    config_file = _find_config_file(tree, environ)
    reader = ManifestReader(tree, environ, cli_config=True)
    files_read: list[str] = []

    def read(path: str) -> Any:
        files_read.append(path)
        return _resolve_env(reader.read(path).data, environ)

    raw = read(config_file) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_file}: expected a mapping at the top level")
    # `!append` lists append to what the imports set, as in stack manifests; then plain lists
    raw = with_imports(tree, config_file, raw, read, environ)
    defaults: dict[str, Any] = {}
    for path in default_imports(tree, config_file):  # atmos.d/: merged plainly (their own imports are not read)
        data = read(path)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level (Atmos merges atmos.d/ files under "
                              f"{config_file})")
        defaults = merge(defaults, {key: value for key, value in data.items() if key != "import"})
    raw = settle(merge(defaults, raw) if defaults else raw, unset=False)
    raw = _with_environment(raw, environ)
    get = _Fields(config_file, raw)

    if environ.get("ATMOS_BASE_PATH"):
        base_path = _repo_path(tree, environ["ATMOS_BASE_PATH"], "", "ATMOS_BASE_PATH")
    else:
        declared = get.string("base_path")
        explicit_relative = declared in (".", "..") or declared.startswith(("./", "../"))
        anchor = posixpath.dirname(config_file) if explicit_relative else ""  # as Atmos: from atmos.yaml
        base_path = _repo_path(tree, declared, anchor, f"{config_file}: base_path")
    stacks_base = _repo_path(
        tree, get.string("stacks.base_path", "stacks"), base_path, f"{config_file}: stacks.base_path"
    )
    terraform_base = _repo_path(
        tree,
        get.string("components.terraform.base_path", "components/terraform"),
        base_path,
        f"{config_file}: components.terraform.base_path",
    )
    included = get.strings("stacks.included_paths")
    if not included:
        raise ConfigError(f"{config_file}: 'stacks.included_paths' is empty: no stack manifests to load")
    notes: list[str] = []
    name_pattern = get.string("stacks.name_pattern")
    if name_pattern:
        # Atmos' GetContextPrefix reads only these four tokens and drops any other part of the
        # pattern; with none left, a stack is named by its file (resolveStackName)
        parts = name_pattern.split("-")
        kept = [part for part in parts if part in NAME_PATTERN_TOKENS]
        if len(kept) < len(parts):
            dropped = ", ".join(repr(part) for part in parts if part not in NAME_PATTERN_TOKENS)
            what = f"names stacks by {'-'.join(kept)!r}" if kept else "names stacks by their file path"
            notes.append(f"{config_file}: stacks.name_pattern {name_pattern!r}: {dropped} is not one of "
                         f"{', '.join(NAME_PATTERN_TOKENS)}: dropped, as Atmos drops it (so it {what})")
        name_pattern = "-".join(kept)
    strategy = get.string("settings.list_merge_strategy", "replace") or "replace"
    if strategy not in LIST_MERGE_STRATEGIES:
        raise ConfigError(
            f"{config_file}: 'settings.list_merge_strategy' is {strategy!r}; "
            f"expected one of {', '.join(LIST_MERGE_STRATEGIES)}"
        )
    key_delimiter = _key_delimiter(config_file, get.value("settings.yaml.key_delimiter"),
                                   get.string("settings.experimental", "warn") or "warn", notes)
    delimiters = get.value("templates.settings.delimiters")
    if delimiters not in (None, ["{{", "}}"], ["'{{", "}}'"]):
        raise ConfigError(
            f"{config_file}: 'templates.settings.delimiters' {delimiters!r} is not supported (only the default "
            "[\"{{{{\", \"}}}}\"] and Atmos' documented [\"'{{{{\", \"}}}}'\"])"
        )
    evaluations = get.value("templates.settings.evaluations")
    if evaluations is not None and (not isinstance(evaluations, int) or isinstance(evaluations, bool)
                                    or evaluations < 0):
        raise ConfigError(f"{config_file}: 'templates.settings.evaluations' must be a whole number of passes, "
                          f"not {evaluations!r}")
    return AtmosConfig(
        config_file=config_file,
        base_path=base_path,
        stacks_base_path=stacks_base,
        terraform_base_path=terraform_base,
        included_paths=included,
        excluded_paths=get.strings("stacks.excluded_paths"),
        name_pattern=name_pattern,
        name_template=get.string("stacks.name_template"),
        list_merge_strategy=strategy,
        auto_generate_backend_file=get.boolean("components.terraform.auto_generate_backend_file", False),
        workspaces_enabled=get.boolean("components.terraform.workspaces_enabled", True),
        workspace_prefix_separator=get.string("components.terraform.workspace.prefix_separator", "-") or "-",
        inherit_metadata=get.boolean("stacks.inherit.metadata", True),
        terraform_command=get.string("components.terraform.command", "terraform") or "terraform",
        env=get.mapping("env"),
        templates_enabled=get.boolean("templates.settings.enabled", True),
        template_evaluations=evaluations or 1,  # Atmos: lo.Coalesce(evaluations, 1)
        quoted_templates=delimiters == ["'{{", "}}'"],
        inherit_source=get.boolean("stacks.inherit.source", True),
        auth=get.mapping("auth"),
        affected_sections=_affected_sections(config_file, get.strings("describe.affected.sections")),
        imported_files=tuple(f for f in files_read if f != config_file),
        atlantis_project_templates=_atlantis_project_names(config_file, get.mapping(
            "integrations.atlantis.project_templates")),
        stores=_stores(config_file, get.value("stores"), notes),
        yaml_key_delimiter=key_delimiter,
        notes=tuple(notes),
    )


def _atlantis_project_names(config_file: str, templates: dict[str, Any]) -> dict[str, str]:
    names = {}
    for key, template in templates.items():
        if not isinstance(template, dict):
            raise ConfigError(f"{config_file}: 'integrations.atlantis.project_templates.{key}' must be a mapping")
        name = template.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{config_file}: 'integrations.atlantis.project_templates.{key}.name' must be a string")
        names[str(key)] = name or ""
    return names


# Atmos' store backends (`pkg/store/registry.go`): each legacy `type` -> its canonical `kind`
STORE_KINDS = {
    "artifactory": "artifactory",
    "azure-key-vault": "azure/keyvault",
    "aws-ssm-parameter-store": "aws/ssm",
    "aws-secrets-manager": "aws/asm",
    "google/secretmanager": "gcp/secretmanager",
    "google-secret-manager": "gcp/secretmanager",
    "gsm": "gcp/secretmanager",
    "hashicorp-vault": "hashicorp/vault",
    "redis": "redis",
    "1password": "onepassword",
    "onepassword": "onepassword",
    "keychain": "keychain",
    "keyring": "keychain",
    "github-actions": "github/actions",
}
# the kinds stackflow reads, with the options Atmos decodes for each (`aws_ssm_param_store.go`,
# `aws_secrets_manager_store.go`); `write_role_arn` is accepted and unused (stackflow never writes)
STORE_OPTIONS = {
    "aws/ssm": ("prefix", "region", "stack_delimiter", "read_role_arn", "write_role_arn", "endpoint",
                "endpoint_url"),
    "aws/asm": ("prefix", "region", "stack_delimiter", "endpoint", "endpoint_url"),
}
_SECRET_BY_DEFAULT_KINDS = ("onepassword", "keychain", "github/actions")
_SECRET_INCAPABLE_KINDS = ("redis", "artifactory")
_STORE_FIELDS = ("type", "kind", "secret", "identity", "options")


@dataclass(frozen=True)
class StoreConfig:
    """One entry of atmos.yaml `stores:`: a named backend `!store` / `!store.get` read from."""

    name: str
    type: str  # as written (`type`, or `kind` when set), e.g. "aws-ssm-parameter-store"
    kind: str  # Atmos' canonical kind, e.g. "aws/ssm"
    options: dict[str, Any] = field(default_factory=dict)
    secret: bool = False  # a secret store: `!secret` only, `!store` on it is an error (as Atmos)
    identity: str = ""  # an Atmos auth identity to read as; stackflow does not log in through them

    @property
    def supported(self) -> bool:
        """stackflow reads AWS SSM Parameter Store and AWS Secrets Manager stores."""
        return self.kind in STORE_OPTIONS

    def option(self, name: str, default: str = "") -> str:
        value = self.options.get(name)
        return default if value is None else value

    @property
    def endpoint(self) -> str:
        """`endpoint`, else `endpoint_url` (Atmos: the first non-empty); "" = the AWS default."""
        return self.option("endpoint") or self.option("endpoint_url")


def _key_delimiter(config_file: str, raw: Any, experimental: str, notes: list[str]) -> str:
    """`settings.yaml.key_delimiter`, gated as Atmos gates experimental settings
    (`settings.experimental`: `warn`, the default, and `silence` allow it; `error` and `disable` stop)."""
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str):
        raise ConfigError(f"{config_file}: 'settings.yaml.key_delimiter' must be a string, not {raw!r}")
    if experimental in ("error", "disable"):
        raise ConfigError(f"{config_file}: 'settings.yaml.key_delimiter' is experimental and "
                          f"'settings.experimental' is {experimental!r} (Atmos stops here too; set it to 'warn')")
    if experimental != "silence":
        notes.append(f"{config_file}: settings.yaml.key_delimiter {raw!r} is experimental in Atmos: unquoted keys "
                     f"holding it are read as nested maps")
    return raw


def _stores(config_file: str, raw: Any, notes: list[str]) -> dict[str, StoreConfig]:
    """atmos.yaml `stores:` as typed configs; bad input is a one-line error naming the field, as a
    bad store makes Atmos fail before it reads any stack."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_file}: 'stores' must be a mapping of store name to its config")
    return {str(name): _store(config_file, str(name), entry, notes) for name, entry in raw.items()}


def _store(config_file: str, name: str, entry: Any, notes: list[str]) -> StoreConfig:
    where = f"{config_file}: 'stores.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}' must be a mapping (type, options)")
    unknown = sorted(str(key) for key in entry if key not in _STORE_FIELDS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}' is not a store field (expected: {', '.join(_STORE_FIELDS)})")
    for key in ("type", "kind", "identity"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ConfigError(f"{where}.{key}' must be a string")
    written = entry.get("kind") or entry.get("type") or ""  # as Atmos: `kind` wins over `type`
    if not written:
        raise ConfigError(f"{where}.type' is missing (e.g. aws-ssm-parameter-store, aws-secrets-manager)")
    kind = STORE_KINDS.get(written, written)
    if kind not in STORE_KINDS.values():
        raise ConfigError(f"{where}.{'kind' if entry.get('kind') else 'type'}' is {written!r}, not a store type "
                          f"Atmos knows ({', '.join(STORE_KINDS)})")
    secret = entry.get("secret", False)
    if secret is None:
        secret = False
    if not isinstance(secret, bool):
        raise ConfigError(f"{where}.secret' must be true or false")
    if secret and kind in _SECRET_INCAPABLE_KINDS:
        raise ConfigError(f"{where}.secret': a {written} store cannot be secret (it does not encrypt values at rest)")
    options = entry.get("options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ConfigError(f"{where}.options' must be a mapping")
    if kind in STORE_OPTIONS:
        for key, value in options.items():
            if key not in STORE_OPTIONS[kind]:  # Atmos' option decoding ignores it: so does stackflow, aloud
                notes.append(f"{where}.options.{key}' is not an option of a {written} store "
                             f"({', '.join(STORE_OPTIONS[kind])}): ignored, as Atmos ignores it")
                continue
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{where}.options.{key}' must be a string")
        if not options.get("region"):
            raise ConfigError(f"{where}.options.region' is required for a {written} store")
    return StoreConfig(name=name, type=written, kind=kind, options=dict(options),
                       secret=secret or kind in _SECRET_BY_DEFAULT_KINDS, identity=entry.get("identity") or "")


def _affected_sections(config_file: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """`describe.affected.sections`, each one a section stackflow resolves as Atmos does.

    Atmos compares any name found on the component; a section stackflow does not resolve
    (`locals`, `overrides`, `retry`, ...) could only be guessed at, so it is refused.
    """
    for name in names:
        if name not in COMPARABLE_SECTIONS:
            raise ConfigError(
                f"{config_file}: 'describe.affected.sections' has {name!r}, a section stackflow does not "
                f"resolve; it can compare: {', '.join(COMPARABLE_SECTIONS)}"
            )
    return tuple(dict.fromkeys(names))


# Atmos' environment overrides of atmos.yaml (`processEnvVars`): variable -> dotted field, kind
ENVIRONMENT_OVERRIDES: tuple[tuple[str, str, str], ...] = (
    ("ATMOS_STACKS_BASE_PATH", "stacks.base_path", "string"),
    ("ATMOS_STACKS_INCLUDED_PATHS", "stacks.included_paths", "list"),
    ("ATMOS_STACKS_EXCLUDED_PATHS", "stacks.excluded_paths", "list"),
    ("ATMOS_STACKS_NAME_PATTERN", "stacks.name_pattern", "string"),
    ("ATMOS_STACKS_NAME_TEMPLATE", "stacks.name_template", "string"),
    ("ATMOS_COMPONENTS_TERRAFORM_COMMAND", "components.terraform.command", "string"),
    ("ATMOS_COMPONENTS_TERRAFORM_BASE_PATH", "components.terraform.base_path", "string"),
    ("ATMOS_COMPONENTS_TERRAFORM_AUTO_GENERATE_BACKEND_FILE", "components.terraform.auto_generate_backend_file",
     "boolean"),
    ("ATMOS_SETTINGS_LIST_MERGE_STRATEGY", "settings.list_merge_strategy", "string"),
)
_GO_BOOLEANS = {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}


def _with_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """`raw` with the `ATMOS_*` variables set in `environ` in place of their fields (a copy)."""
    out = raw
    for variable, dotted, kind in ENVIRONMENT_OVERRIDES:
        text = environ.get(variable, "")
        if not text:
            continue
        value: Any = text
        if kind == "list":
            value = text.split(",")
        elif kind == "boolean":
            if text.lower() not in _GO_BOOLEANS:
                raise ConfigError(f"{variable}={text}: expected true or false")
            value = _GO_BOOLEANS[text.lower()]
        out = _set_dotted(out, dotted.split("."), value)
    return out


def _set_dotted(data: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    head, rest = keys[0], keys[1:]
    inner = data.get(head)
    if rest:
        value = _set_dotted(inner if isinstance(inner, dict) else {}, rest, value)
    return {**data, head: value}


class _Fields:
    """Typed reads of dotted paths in atmos.yaml; a wrong type names the file and the field."""

    def __init__(self, config_file: str, raw: dict[str, Any]) -> None:
        self.config_file = config_file
        self.raw = raw

    def value(self, dotted: str) -> Any:
        value: Any = self.raw
        for key in dotted.split("."):
            if value is None:
                return None
            if not isinstance(value, dict):
                raise ConfigError(f"{self.config_file}: '{dotted}': a parent of {key!r} is not a mapping")
            value = value.get(key)
        return value

    def string(self, dotted: str, default: str = "") -> str:
        value = self.value(dotted)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ConfigError(f"{self.config_file}: '{dotted}' must be a string")
        return value

    def boolean(self, dotted: str, default: bool) -> bool:
        value = self.value(dotted)
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ConfigError(f"{self.config_file}: '{dotted}' must be true or false")
        return value

    def strings(self, dotted: str) -> tuple[str, ...]:
        value = self.value(dotted) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.config_file}: '{dotted}' must be a list of strings")
        return tuple(value)

    def mapping(self, dotted: str) -> dict[str, Any]:
        value = self.value(dotted) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self.config_file}: '{dotted}' must be a mapping")
        return value


def _find_config_file(tree: SourceTree, environ: Mapping[str, str]) -> str:
    configured = environ.get("ATMOS_CLI_CONFIG_PATH", "")
    if configured:
        path = _repo_path(tree, configured, "", "ATMOS_CLI_CONFIG_PATH")
        if path.endswith((".yaml", ".yml")):
            if tree.is_file(path):
                return path
            raise ConfigError(f"ATMOS_CLI_CONFIG_PATH={configured}: no such file in the repository")
        candidates = [posixpath.join(path, name) if path else name for name in CONFIG_FILE_NAMES]
        where = f"ATMOS_CLI_CONFIG_PATH={configured}"
    else:
        candidates = list(CONFIG_FILE_NAMES)
        where = "the repository root"
    for candidate in candidates:
        if tree.is_file(candidate):
            return candidate
    # Geodesic-style repos keep it where Atmos' system-wide lookup finds it inside the container
    system = f"{_SYSTEM_CONFIG_DIR}/atmos.yaml"
    hint = (f" (the repository has {system}: set ATMOS_CLI_CONFIG_PATH={_SYSTEM_CONFIG_DIR}, where Atmos reads it "
            "as /usr/local/etc/atmos)" if not configured and tree.is_file(system) else "")
    raise ConfigError(f"no atmos.yaml found in {where}{hint}")


_SYSTEM_CONFIG_DIR = "rootfs/usr/local/etc/atmos"


def _repo_path(tree: SourceTree, path: str, anchor: str, what: str) -> str:
    """A configured path made repo-relative; absolute ones must lie inside the repository."""
    text = path.replace("\\", "/")
    if text.startswith("/") or re.match(r"[A-Za-z]:/", text):
        root = getattr(tree, "root", None)
        if isinstance(root, Path):
            try:
                text = Path(text).resolve().relative_to(root).as_posix()
            except ValueError:
                raise ConfigError(f"{what} {path!r} is outside the repository {root}") from None
            anchor = ""
        else:
            raise ConfigError(f"{what} {path!r} is absolute; use a path relative to the repository")
    try:
        return normalize_relpath(posixpath.join(anchor, text) if anchor else text, what=what)
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None


def _resolve_env(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, EnvFunction):
        return environ.get(value.name, value.default or "")
    if isinstance(value, RepoRoot):
        return ""  # the repository root, as a repo-relative path
    if isinstance(value, dict):
        return {k: _resolve_env(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        items = [_resolve_env(v, environ) for v in value]
        return AppendList(items) if type(value) is AppendList else items
    return value
