"""Bad input is a ConfigError (or CycleError) on one line naming the file, stack, component or field."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from stackflow.errors import ConfigError, CycleError

from .repos import ATMOS_YAML, ctx, load_repo

DEV_FILE = "stacks/deploy/dev.yaml"


@dataclass
class Case:
    id: str
    files: dict[str, str]
    expected: list[str]  # fragments the message must contain
    error: type[Exception] = ConfigError
    environ: dict[str, str] = field(default_factory=dict)
    graph: bool = False  # the error comes from stackset.graph()


def dev(body: str, **kw) -> dict[str, str]:
    return {DEV_FILE: ctx(body, **kw)}


def atmos(extra: str) -> dict[str, str]:
    return {"atmos.yaml": ATMOS_YAML + extra, DEV_FILE: ctx("components: {terraform: {vpc: {}}}\n")}


CASES = [
    Case("malformed-yaml", dev("components:\n  terraform: [vpc\n"), [DEV_FILE + ":", "invalid YAML"]),
    Case("duplicate-key", dev("components: {}\ncomponents: {}\n"), [DEV_FILE + ":3", "duplicate key 'components'"]),
    Case("missing-import", dev("import: [catalog/nope]\n"), [DEV_FILE, "import 'catalog/nope' not found"]),
    Case("import-cycle", {"stacks/catalog/a.yaml": "import: [catalog/a2]\n",
                          "stacks/catalog/a2.yaml": "import: [catalog/a]\n", **dev("import: [catalog/a]\n")},
         ["import cycle", "stacks/catalog/a.yaml", "stacks/catalog/a2.yaml"]),
    Case("self-import", {"stacks/catalog/a.yaml": "import: [catalog/a]\n", **dev("import: [catalog/a]\n")},
         ["stacks/catalog/a.yaml", "imports itself"]),
    Case("remote-import", dev("import: ['https://example.com/x.yaml']\n"), [DEV_FILE, "remote import"]),
    Case("import-not-a-path", dev("import: [42]\n"), [DEV_FILE, "'import[0]'"]),
    Case("import-without-path", dev("import: [{context: {a: 1}}]\n"), [DEV_FILE, "'import[0].path'"]),
    Case("import-outside-stacks", dev("import: [../../etc/passwd]\n"), [DEV_FILE, "outside"]),
    Case("import-unknown-field", dev("import: [{path: catalog/a, ttl: 1h}]\n"), [DEV_FILE, "'import[0].ttl'"]),
    Case("context-unknown-function", {"stacks/catalog/t.yaml": "vars: {x: '{{ .a | frobnicate }}'}\n",
                                      **dev("import: [{path: catalog/t, context: {a: 1}}]\n")},
         ["stacks/catalog/t.yaml", "function 'frobnicate' is not supported"]),
    Case("context-missing-value", {"stacks/catalog/t.yaml": "vars: {x: '{{ .b }}'}\n",
                                   **dev("import: [{path: catalog/t, context: {a: 1}}]\n")},
         ["stacks/catalog/t.yaml", "'.b' is not defined"]),
    Case("vars-is-a-list", {DEV_FILE: "vars: [a, b]\n"}, [DEV_FILE, "'vars' must be a mapping, not a list"]),
    Case("component-vars-is-a-string", dev("components: {terraform: {vpc: {vars: nope}}}\n"),
         [DEV_FILE, "'components.terraform.vpc.vars' must be a mapping"]),
    Case("backend-type-not-a-string", dev("terraform: {backend_type: 3}\n"),
         [DEV_FILE, "'terraform.backend_type' must be a string"]),
    Case("manifest-is-a-list", {DEV_FILE: "- a\n- b\n"}, [DEV_FILE, "must be a mapping"]),
    Case("inherits-not-a-list", dev("components: {terraform: {vpc: {metadata: {inherits: base}}}}\n"),
         [DEV_FILE, "'components.terraform.vpc.metadata.inherits' must be a list"]),
    Case("inherits-unknown-base", dev("components: {terraform: {vpc: {metadata: {inherits: [basee]}}}}\n"),
         [DEV_FILE, "component 'vpc' inherits from 'basee'", "not defined"]),
    Case("inheritance-cycle", dev("""
            components:
              terraform:
                a: {metadata: {inherits: [b]}}
                b: {metadata: {inherits: [a]}}
         """), [DEV_FILE, "inheritance cycle", "a → b → a"]),
    Case("metadata-type-invalid", dev("components: {terraform: {vpc: {metadata: {type: virtual}}}}\n"),
         [DEV_FILE, "'components.terraform.vpc.metadata.type'", "virtual"]),
    Case("metadata-enabled-not-bool", dev("components: {terraform: {vpc: {metadata: {enabled: yes}}}}\n"),
         [DEV_FILE, "'components.terraform.vpc.metadata.enabled' must be true or false"]),
    Case("component-folder-escapes", dev("components: {terraform: {vpc: {metadata: {component: ../../etc}}}}\n"),
         [DEV_FILE, "component 'vpc'", "metadata.component '../../etc' is outside"]),
    Case("stack-name-missing-var", {DEV_FILE: "vars: {tenant: plat, environment: ue1}\n"
                                              "components: {terraform: {vpc: {}}}\n"},
         [DEV_FILE, "component 'vpc'", "var 'stage' is not set", "the file path Atmos falls back to, 'deploy/dev', "
          "is not a safe stack name"]),
    # (one instance resolved two ways by two manifests of its stack: refused where it is needed,
    # test_sections.test_an_instance_two_manifests_resolve_differently_is_refused_where_needed)
    Case("locals-of-the-importer", {"stacks/catalog/vpc.yaml": "components: {terraform: {vpc: {vars: "
                                                              "{name: '{{ .locals.prefix }}-vpc'}}}}\n",
                                    **dev("import: [catalog/vpc]\nlocals: {prefix: acme}\n")},
         ["stacks/catalog/vpc.yaml", "component 'vpc': vars.name", "'{{ .locals.prefix }}-vpc'",
          "this file has no locals", "no component-level local 'prefix'"]),
    Case("unsafe-stack-name", dev("name: 'plat dev!'\ncomponents: {terraform: {vpc: {}}}\n"),
         [DEV_FILE, "'plat dev!'", "unsafe"]),
    Case("unsafe-component-name", dev("components: {terraform: {'../evil': {}}}\n"),
         [DEV_FILE, "component name '../evil'", "unsafe"]),
    Case("file-name-with-slash", {"atmos.yaml": "stacks: {included_paths: ['deploy/*']}\n",
                                  DEV_FILE: "components: {terraform: {vpc: {}}}\n"},
         [DEV_FILE, "'deploy/dev'", "contains '/'"]),
    Case("name-template-atmos-function", atmos('  name_template: "{{ (atmos.Component \\"vpc\\" \\"dev\\").outputs.id }}"\n'),
         [DEV_FILE, "stacks.name_template in atmos.yaml", "function atmos.Component is not supported"]),
    Case("list-merge-strategy-invalid", atmos("settings: {list_merge_strategy: deep}\n"),
         ["atmos.yaml", "'settings.list_merge_strategy'", "'deep'"]),
    Case("component-list-merge-strategy-invalid",
         dev("components: {terraform: {vpc: {settings: {list_merge_strategy: zip}}}}\n"),
         [DEV_FILE, "component 'vpc'", "list_merge_strategy 'zip'"]),
    Case("template-delimiters", atmos("templates: {settings: {delimiters: ['<<', '>>']}}\n"),
         ["atmos.yaml", "'templates.settings.delimiters'", "not supported"]),
    Case("template-evaluations", atmos("templates: {settings: {evaluations: two}}\n"),
         ["atmos.yaml", "'templates.settings.evaluations' must be a whole number of passes, not 'two'"]),
    Case("nested-template-value", dev("components: {terraform: {vpc: {vars: {a: '{{ .stack }}', b: '{{ .vars.a }}'}}}}\n"),
         [DEV_FILE, "component 'vpc'", "vars.b", "'.vars.a' is itself a template"]),
    Case("included-paths-empty", {"atmos.yaml": "stacks: {base_path: stacks}\n", DEV_FILE: "{}\n"},
         ["atmos.yaml", "'stacks.included_paths' is empty"]),
    Case("no-manifest-matches", {"atmos.yaml": "stacks: {included_paths: ['orgs/**/*']}\n", DEV_FILE: "{}\n"},
         ["atmos.yaml", "no stack manifests", "orgs/**/*"]),
    Case("cli-config-path-missing", {DEV_FILE: "{}\n"}, ["ATMOS_CLI_CONFIG_PATH=conf", "no atmos.yaml"],
         environ={"ATMOS_CLI_CONFIG_PATH": "conf"}),
    Case("base-path-outside-repo", {"atmos.yaml": "base_path: ../..\nstacks: {included_paths: ['*']}\n"},
         ["atmos.yaml: base_path", "outside the repository"]),
    Case("exec-refused", dev("components: {terraform: {vpc: {vars: {x: !exec date}}}}\n"),
         [DEV_FILE + ":2", "!exec is refused", "STACKFLOW_ALLOW_EXEC=true"]),
    Case("store-without-arguments", dev("components: {terraform: {vpc: {vars: {x: !store }}}}\n"),
         [DEV_FILE + ":2", "!store needs arguments"]),
    Case("unknown-tag", dev("components: {terraform: {vpc: {vars: {x: !random 1 9}}}}\n"),
         [DEV_FILE + ":2", "YAML function !random is not supported"]),
    Case("env-too-many-args", dev("components: {terraform: {vpc: {vars: {x: !env A b c}}}}\n"),
         [DEV_FILE + ":2", "!env: takes 1 or 2 arguments"]),
    Case("terraform-output-one-arg", dev("components: {terraform: {vpc: {vars: {x: !terraform.output vpc}}}}\n"),
         [DEV_FILE + ":2", "!terraform.output", "needs 2 or 3 arguments"]),
    # `// default` is supported (Atmos documents it); other yq operators are not
    Case("terraform-output-yq-pipe", dev("components: {terraform: {vpc: {vars: "
                                         "{x: !terraform.output vpc '.ids | length'}}}}\n"),
         [DEV_FILE + ":2", "is not supported", "no other yq operators"]),
    Case("terraform-output-outside-vars", dev("components: {terraform: {vpc: {settings: "
                                              "{x: !terraform.output net id}}}}\n"),
         [DEV_FILE + ":2", "component 'vpc'", "settings.x", "only supported in vars"]),
    Case("include-missing-file", dev("components: {terraform: {vpc: {vars: {x: !include ./nope.json}}}}\n"),
         [DEV_FILE + ":2", "!include './nope.json'", "not found"]),
    Case("overrides-unknown-section", dev("overrides: {backend: {s3: {}}}\n"),
         [DEV_FILE, "'overrides.backend' cannot be overridden"]),
    Case("global-metadata-component", dev("metadata: {component: vpc}\n"),
         [DEV_FILE, "'metadata.component' is not allowed at the stack level"]),
    Case("backend-type-mismatch", dev("terraform: {backend_type: s3, backend: {gcs: {bucket: b}}}\n"
                                      "components: {terraform: {vpc: {}}}\n"),
         [DEV_FILE, "component 'vpc'", "backend_type is 's3' but backend only configures gcs"]),
    Case("dependency-legacy-fields", dev("components: {terraform: {vpc: {dependencies: "
                                         "{components: [{name: a, tenant: x}]}}}}\n"),
         [DEV_FILE, "component 'vpc'", "dependencies.components[0].tenant", "use 'stack'"]),
    Case("dependency-name-conflict", dev("components: {terraform: {vpc: {dependencies: "
                                         "{components: [{name: a, component: b}]}}}}\n"),
         [DEV_FILE, "dependencies.components[0] sets both name 'a' and component 'b'"]),
    Case("depends-on-without-component", dev("components: {terraform: {vpc: {settings: "
                                             "{depends_on: {1: {stage: prod}}}}}}\n"),
         [DEV_FILE, "component 'vpc'", "settings.depends_on.1 needs 'component'"]),
    Case("dependency-file-absolute", dev("components: {terraform: {vpc: {dependencies: {files: [/etc/passwd]}}}}\n"),
         [DEV_FILE, "component 'vpc'", "'/etc/passwd' is absolute"]),
    Case("template-prints-a-map", dev("components: {terraform: {vpc: {vars: {name: '{{ .vars }}'}}}}\n"),
         [DEV_FILE, "stack 'plat-ue1-dev' component 'vpc'", "vars.name", "'.vars' is a dict, not a scalar"]),
    Case("template-undefined-in-terraform-output",
         dev("components:\n  terraform:\n    vpc:\n      vars:\n        id: !terraform.output net {{ .vars.nope }} id\n"),
         [DEV_FILE, "component 'vpc'", "'.vars.nope' is not defined"]),
    Case("atmos-component-printed-whole",
         dev("components: {terraform: {vpc: {}, app: {vars: {id: 'x-{{ atmos.Component \"vpc\" .stack }}'}}}}\n"),
         [DEV_FILE, "component 'app'", "vars.id", "is not an output"]),
    Case("atmos-component-section-of-unknown-component",
         dev("components: {terraform: {app: {vars: {c: '{{ (atmos.Component \"db\" .stack).vars.cidr }}'}}}}\n"),
         [DEV_FILE, "component 'app'", "vars.c", "stack 'plat-ue1-dev' has no component 'db'"]),
    Case("atmos-component-unknown-section",
         dev("components: {terraform: {vpc: {}, app: {vars: {c: '{{ (atmos.Component \"vpc\" .stack).varz.cidr }}'}}}}\n"),
         [DEV_FILE, "component 'app'", "vars.c", "has no section 'varz'"]),
    Case("atmos-component-section-read-in-settings",
         dev("components: {terraform: {vpc: {}, app: {settings: {c: '{{ (atmos.Component \"vpc\" .stack).vars.x }}'}}}}\n"),
         [DEV_FILE, "component 'app'", "settings.c", "in vars and env only"]),
    Case("atmos-component-read-cycle",
         dev("components: {terraform: {a: {vars: {x: '{{ (atmos.Component \"b\" .stack).vars.y }}'}}, "
             "b: {vars: {y: '{{ (atmos.Component \"a\" .stack).vars.x }}'}}}}\n"),
         ["atmos.Component reads form a cycle", "plat-ue1-dev/a → plat-ue1-dev/b → plat-ue1-dev/a"]),
    Case("atmos-component-output-outside-vars",
         dev("components: {terraform: {vpc: {}, app: {env: {ID: '{{ (atmos.Component \"vpc\" .stack).outputs.id }}'}}}}\n"),
         [DEV_FILE, "component 'app'", "env.ID", "only supported in vars"]),
    Case("atmos-component-output-given-to-a-function",
         dev("components: {terraform: {vpc: {}, app: {vars: {id: '{{ (atmos.Component \"vpc\" .stack).outputs.id | upper }}'}}}}\n"),
         [DEV_FILE, "component 'app'", "vars.id", "upper cannot take"]),
    Case("atmos-component-unknown-parent",
         dev("components: {terraform: {app: {vars: {id: '{{ (atmos.Component \"db\" .stack).outputs.id }}'}}}}\n"),
         [DEV_FILE, "component 'app'", "vars.id", "has no component 'db'"], graph=True),
    Case("graph-unknown-parent", dev("components: {terraform: {app: {dependencies: {components: [{name: db}]}}}}\n"),
         [DEV_FILE, "component 'app'", "dependencies.components[0]", "has no component 'db'"], graph=True),
    Case("graph-abstract-parent", dev("""
            components:
              terraform:
                base: {metadata: {type: abstract}}
                app: {settings: {depends_on: {1: {component: base}}}}
         """), [DEV_FILE, "component 'app'", "settings.depends_on.1", "abstract"], graph=True),
    Case("graph-cycle", dev("""
            components:
              terraform:
                a: {settings: {depends_on: {1: {component: b}}}}
                b: {settings: {depends_on: {1: {component: a}}}}
         """), ["dependency cycle", "plat-ue1-dev/a", "plat-ue1-dev/b"], error=CycleError, graph=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_one_line_config_error_naming_where(tmp_path, case: Case):
    with pytest.raises(case.error) as caught:
        stacks = load_repo(tmp_path, case.files, environ=case.environ)
        if case.graph:
            stacks.graph()
        else:
            pytest.fail("load_stacks did not raise")
    message = str(caught.value)
    assert "\n" not in message
    for fragment in case.expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_there_are_at_least_thirty_bad_input_cases():
    assert len(CASES) >= 30
