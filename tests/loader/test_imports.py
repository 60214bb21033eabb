"""Imports: forms, paths, globs, nesting, context templates; files are parsed once."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.resolve import load_stacks

from .repos import ctx, load_repo, write_repo

DEV = "plat-ue1-dev"


def vars_of(stacks, component: str = "app", stack: str = DEV) -> dict:
    return stacks.instances[InstanceRef(stack, component)].vars


def test_import_accepts_strings_and_path_mappings(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/a.yaml": "vars: {a: 1}\n",
        "stacks/catalog/b.yaml": "vars: {b: 2}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - catalog/a
              - path: catalog/b
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["a"] == 1 and vars_of(stacks)["b"] == 2


def test_import_paths_are_relative_to_the_stacks_base_path_or_to_the_manifest(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/base.yaml": "vars: {from_base: yes}\n",
        "stacks/deploy/_shared.yaml": "vars: {from_sibling: yes}\n",
        "stacks/deploy/sub/_parent.yaml": "vars: {from_parent: yes}\n",
        "stacks/deploy/sub/dev.yaml": ctx("""
            import: [catalog/base, ../_shared, ./_parent]
            components: {terraform: {app: {}}}
        """),
    })
    assert {"from_base", "from_sibling", "from_parent"} <= set(vars_of(stacks))


def test_import_extension_is_optional_and_yml_is_found(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/a.yml": "vars: {a: yml}\n",
        "stacks/catalog/b.yaml": "vars: {b: yaml}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/a, catalog/b.yaml]
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["a"] == "yml" and vars_of(stacks)["b"] == "yaml"


def test_import_globs_match_in_sorted_order_including_double_star(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/apps/a.yaml": "components: {terraform: {a: {vars: {order: a}}}}\nvars: {last: a}\n",
        "stacks/catalog/apps/b.yaml": "components: {terraform: {b: {}}}\nvars: {last: b}\n",
        "stacks/catalog/apps/deep/c.yaml": "components: {terraform: {c: {}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: ["catalog/apps/**/*"]
        """),
    })
    assert {r.component for r in stacks.instances} == {"a", "b", "c"}
    assert vars_of(stacks, "a")["last"] == "b"


def test_nested_imports_merge_depth_first_before_the_importer(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/leaf.yaml": "vars: {level: leaf, leaf: yes}\n",
        "stacks/catalog/mid.yaml": "import: [catalog/leaf]\nvars: {level: mid}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/mid]
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["level"] == "mid" and vars_of(stacks)["leaf"] == "yes"


def test_the_same_file_imported_twice_is_merged_twice_without_error(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/a.yaml": "vars: {x: a}\n",
        "stacks/catalog/b.yaml": "vars: {x: b}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/a, catalog/b, catalog/a]
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["x"] == "a"  # the last import wins


def test_each_manifest_is_parsed_once_across_stacks(tmp_path):
    root = write_repo(tmp_path, {
        "stacks/catalog/shared.yaml": "components: {terraform: {app: {}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: [catalog/shared]\n"),
        "stacks/deploy/prod.yaml": ctx("import: [catalog/shared, catalog/shared]\n", stage="prod"),
    })
    stacks = load_stacks(root, {})
    assert len(stacks.instances) == 2
    assert stacks._importer.reader.parsed_files == 3


def test_import_context_is_substituted_into_the_imported_file(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/eks.yaml": """
            components:
              terraform:
                "eks-{{ .flavor }}":
                  metadata: {component: eks}
                  vars:
                    name: "eks-{{ .flavor }}"
                    size: {{ .size }}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - path: catalog/eks
                context: {flavor: blue, size: 3}
              - path: catalog/eks
                context: {flavor: green, size: 5}
        """),
    })
    assert vars_of(stacks, "eks-blue")["name"] == "eks-blue" and vars_of(stacks, "eks-blue")["size"] == 3
    assert vars_of(stacks, "eks-green")["size"] == 5
    assert stacks.instances[InstanceRef(DEV, "eks-green")].component_path == "components/terraform/eks"


def test_import_context_reaches_nested_imports_and_the_parent_context_wins(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/inner.yaml": "vars: {color: '{{ .color }}', shape: '{{ .shape }}'}\n",
        "stacks/catalog/outer.yaml": """
            import:
              - path: catalog/inner
                context: {color: red, shape: round}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - path: catalog/outer
                context: {color: blue}
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["color"] == "blue" and vars_of(stacks)["shape"] == "round"


def test_go_template_control_syntax_in_an_import_renders_with_the_context(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/eks.yaml": "vars: {x: '{{ if .on }}yes{{ else }}no{{ end }}', n: '{{ range .ids }}{{ . }};{{ end }}'}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - path: catalog/eks
                context: {on: true, ids: [a, b]}
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["x"] == "yes" and vars_of(stacks)["n"] == "a;b;"


def test_a_raw_string_escapes_a_template_from_the_import_context_to_the_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/eks.yaml": "components: {terraform: {app: {vars: {name: '{{ .flavor }}-{{`{{ .atmos_component }}`}}'}}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: [{path: catalog/eks, context: {flavor: blue}}]\n"),
    })
    assert vars_of(stacks)["name"] == "blue-app"


def test_an_unterminated_string_in_a_template_is_a_config_error_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"stacks/catalog/eks.yaml: unterminated quoted string in template action"):
        load_repo(tmp_path, {
            "stacks/catalog/eks.yaml": "vars: {x: '{{ \"x }}'}\n",
            "stacks/deploy/dev.yaml": ctx("import: [{path: catalog/eks, context: {on: true}}]\ncomponents: {terraform: {app: {}}}\n"),
        })


def test_template_pipes_and_sprig_functions_render_in_an_import(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/eks.yaml": "vars: {x: '{{ .name | upper | printf \"%s-1\" }}', y: '{{ .size | default 3 }}'}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - {path: catalog/eks, context: {name: a, size: 0}}
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["x"] == "A-1" and vars_of(stacks)["y"] == "3"  # quoted in the file: a string


def test_gomplate_and_atmos_template_functions_are_refused_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"stacks/catalog/eks.yaml: function atmos.Component is not supported"):
        load_repo(tmp_path, {
            "stacks/catalog/eks.yaml": "vars: {x: '{{ (atmos.Component \"vpc\" .stack).outputs.id }}'}\n",
            "stacks/deploy/dev.yaml": ctx("""
                import:
                  - {path: catalog/eks, context: {stack: dev}}
                components: {terraform: {app: {}}}
            """),
        })


def test_a_missing_context_value_names_the_file_and_the_value(tmp_path):
    with pytest.raises(ConfigError, match=r"stacks/catalog/eks.yaml: template value '.flavor' is not defined"):
        load_repo(tmp_path, {
            "stacks/catalog/eks.yaml": "vars: {x: '{{ .flavor }}'}\n",
            "stacks/deploy/dev.yaml": ctx("""
                import:
                  - {path: catalog/eks, context: {size: 1}}
                components: {terraform: {app: {}}}
            """),
        })


def test_skip_if_missing_ignores_an_absent_import(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - {path: catalog/not-yet, skip_if_missing: true}
            components: {terraform: {app: {}}}
        """),
    })
    assert InstanceRef(DEV, "app") in stacks.instances


def test_missing_import_names_the_importing_file_and_the_import(tmp_path):
    with pytest.raises(ConfigError, match=r"stacks/deploy/dev.yaml: import 'catalog/nope' not found"):
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("import: [catalog/nope]\n")})


def test_import_cycles_are_reported_with_the_chain(tmp_path):
    with pytest.raises(ConfigError, match=r"import cycle: stacks/catalog/a.yaml → stacks/catalog/b.yaml → stacks/catalog/a.yaml"):
        load_repo(tmp_path, {
            "stacks/catalog/a.yaml": "import: [catalog/b]\n",
            "stacks/catalog/b.yaml": "import: [catalog/a]\n",
            "stacks/deploy/dev.yaml": ctx("import: [catalog/a]\n"),
        })


def test_import_path_templates_use_values_from_earlier_imports(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/_region.yaml": "vars: {region_file: east}\n",
        "stacks/mixins/east.yaml": "vars: {mixin: east-loaded}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - catalog/_region
              - "mixins/{{ .vars.region_file }}"
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["mixin"] == "east-loaded"


def test_ignore_missing_template_values_leaves_the_template_for_the_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                "app-{{ .flavor }}":
                  vars: {label: "{{ .flavor }}-{{ .vars.stage }}"}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - path: catalog/app
                context: {flavor: blue}
                ignore_missing_template_values: true
        """),
    })
    assert vars_of(stacks, "app-blue")["label"] == "blue-dev"


def test_skip_templates_processing_defers_the_whole_file_to_the_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {label: '{{ .vars.stage }}'}}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import:
              - path: catalog/app
                context: {unused: 1}
                skip_templates_processing: true
        """),
    })
    assert vars_of(stacks)["label"] == "dev"


def test_an_import_with_an_extension_of_its_own_is_taken_as_written_as_atmos_does(tmp_path):
    # Go's filepath.Ext("service-?.*") is ".*": Atmos appends no ".yaml", so the glob finds both files
    stacks = load_repo(tmp_path, {
        "stacks/catalog/service-1.yaml": "components: {terraform: {svc1: {vars: {n: 1}}}}\n",
        "stacks/catalog/service-2.yml": "components: {terraform: {svc2: {vars: {n: 2}}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: ['catalog/service-?.*']\n"),
    })
    assert {ref.component for ref in stacks.instances} == {"svc1", "svc2"}
