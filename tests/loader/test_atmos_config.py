"""atmos.yaml: base paths, which manifests are stacks, environment overrides."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.resolve import load_stacks

from .repos import ctx, load_repo, write_repo


def test_included_and_excluded_paths_choose_the_top_level_manifests(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": """
            stacks:
              base_path: stacks
              included_paths: ["orgs/**/*"]
              excluded_paths: ["**/_defaults.yaml", "orgs/**/skip-*"]
              name_pattern: "{tenant}-{environment}-{stage}"
        """,
        "stacks/orgs/_defaults.yaml": ctx("components: {terraform: {never: {}}}\n", stage="defaults"),
        "stacks/orgs/plat/dev.yaml": ctx("components: {terraform: {vpc: {}}}\n"),
        "stacks/orgs/plat/skip-me.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="skip"),
        "stacks/catalog/vpc.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="catalog"),
    })
    assert set(stacks.instances) == {InstanceRef("plat-ue1-dev", "vpc")}


def test_base_paths_are_read_from_atmos_yaml(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": """
            base_path: infra
            components: {terraform: {base_path: tf}}
            stacks: {base_path: config, included_paths: ["*.yaml"], name_pattern: "{stage}"}
        """,
        "infra/config/dev.yaml": "vars: {stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    })
    inst = stacks.instances[InstanceRef("dev", "vpc")]
    assert inst.component_path == "infra/tf/vpc" and inst.stack_file == "dev.yaml"
    assert stacks.atmos.stacks_base_path == "infra/config"


def test_atmos_base_path_from_environ_overrides_the_file(tmp_path):
    root = write_repo(tmp_path, {
        "atmos.yaml": """
            base_path: wrong
            components: {terraform: {base_path: components/terraform}}
            stacks: {base_path: stacks, included_paths: ["*.yaml"], name_pattern: "{stage}"}
        """,
        "right/stacks/dev.yaml": "vars: {stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    })
    stacks = load_stacks(root, {"ATMOS_BASE_PATH": "right"})
    assert stacks.instances[InstanceRef("dev", "vpc")].component_path == "right/components/terraform/vpc"


def test_atmos_cli_config_path_from_environ_locates_atmos_yaml(tmp_path):
    root = write_repo(tmp_path, {
        "config/atmos.yaml": """
            base_path: ..
            stacks: {base_path: stacks, included_paths: ["*.yaml"], name_pattern: "{stage}"}
        """,
        "stacks/dev.yaml": "vars: {stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    }, atmos=None)
    stacks = load_stacks(root, {"ATMOS_CLI_CONFIG_PATH": "config"})
    assert stacks.atmos.config_file == "config/atmos.yaml"
    assert InstanceRef("dev", "vpc") in stacks.instances


def test_atmos_yaml_reads_env_functions_from_the_given_environ(tmp_path):
    root = write_repo(tmp_path, {
        "atmos.yaml": """
            stacks:
              base_path: !env STACKS_DIR stacks
              included_paths: ["*.yaml"]
              name_pattern: "{stage}"
        """,
        "elsewhere/dev.yaml": "vars: {stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    }, atmos=None)
    assert InstanceRef("dev", "vpc") in load_stacks(root, {"STACKS_DIR": "elsewhere"}).instances


def test_auto_generate_backend_file_and_workspaces_enabled_are_read(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": """
            components:
              terraform:
                auto_generate_backend_file: true
                workspaces_enabled: false
            stacks: {included_paths: ["*.yaml"], name_pattern: "{stage}"}
        """,
        "stacks/dev.yaml": "vars: {stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    })
    assert stacks.atmos.auto_generate_backend_file is True
    assert stacks.instances[InstanceRef("dev", "vpc")].workspace == "default"


def test_no_atmos_yaml_is_an_error(tmp_path):
    (tmp_path / "stacks").mkdir()
    with pytest.raises(ConfigError, match="no atmos.yaml found in the repository root"):
        load_stacks(tmp_path, {})


def test_the_loader_never_writes_into_the_repository(tmp_path):
    root = write_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}\n"),
        "components/terraform/vpc/main.tf": "",
    })
    before = sorted((p, p.stat().st_mtime_ns) for p in root.rglob("*"))
    load_stacks(root, {}).graph()
    assert sorted((p, p.stat().st_mtime_ns) for p in root.rglob("*")) == before


def _atmos_with_imports(tmp_path, atmos: str, configs: dict[str, str]):
    files = {"stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}\n"), "atmos.yaml": atmos, **configs}
    return load_repo(tmp_path, files)


def test_atmos_yaml_imports_merge_in_order_and_the_importing_file_wins(tmp_path):
    stacks = _atmos_with_imports(tmp_path, """
        base_path: ./
        import:
          - configs.d/**/*
          - ./naming
        components: {terraform: {base_path: infra/terraform}}
    """, {
        "configs.d/stacks.yaml": "stacks: {base_path: stacks, included_paths: ['deploy/**/*'], name_pattern: '{stage}'}\n",
        # deeper files merge after shallower ones, so this wins over configs.d/stacks.yaml
        "configs.d/more/stacks.yml": "stacks: {name_pattern: '{environment}-{stage}'}\n",
        "configs.d/terraform.yaml": "components: {terraform: {base_path: from/import, command: tofu}}\n",
        "naming.yaml": "import: [nested/last.yaml]\n",
        "nested/last.yaml": "stacks: {name_pattern: '{tenant}-{environment}-{stage}'}\n",
    })
    atmos = stacks.atmos
    assert atmos.name_pattern == "{tenant}-{environment}-{stage}"  # the last import, through a nested one
    assert atmos.terraform_base_path == "infra/terraform" and atmos.terraform_command == "tofu"
    assert atmos.imported_files == ("configs.d/stacks.yaml", "configs.d/terraform.yaml", "configs.d/more/stacks.yml",
                                    "naming.yaml", "nested/last.yaml")
    assert InstanceRef("plat-ue1-dev", "vpc") in stacks.instances


@pytest.mark.parametrize(("imports", "message"), [
    ("[missing.yaml]", "atmos.yaml: import 'missing.yaml': no file missing.yaml"),
    ("['https://example.com/atmos.yaml']", "atmos.yaml: import 'https://example.com/atmos.yaml': remote atmos.yaml "
                                           "imports are not supported (the loader reads only the repository)"),
    ("[../outside.yaml]", "atmos.yaml: import '../outside.yaml' points outside the repository"),
    ("[loop.yaml]", "loop.yaml: import 'atmos.yaml': import cycle through atmos.yaml"),
    ("{a: b}", "atmos.yaml: 'import' must be a list of paths"),
])
def test_a_bad_atmos_yaml_import_is_one_line(tmp_path, imports, message):
    atmos = ("import: " + imports + "\nstacks: {base_path: stacks, included_paths: ['deploy/**/*'], "
             "name_pattern: '{tenant}-{environment}-{stage}'}\n")
    with pytest.raises(ConfigError) as exc:
        _atmos_with_imports(tmp_path, atmos, {"loop.yaml": "import: [atmos.yaml]\n"})
    assert str(exc.value) == message


def test_atmos_environment_variables_override_atmos_yaml_as_in_atmos(tmp_path):
    files = {"stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}\n"),
             "stacks/other/dev.yaml": ctx("components: {terraform: {db: {}}}\n", stage="other")}
    write_repo(tmp_path, files)
    stacks = load_stacks(tmp_path, {
        "ATMOS_COMPONENTS_TERRAFORM_COMMAND": "tofu",
        "ATMOS_STACKS_INCLUDED_PATHS": "deploy/**/*,other/**/*",
        "ATMOS_STACKS_NAME_TEMPLATE": "{{ .vars.stage }}",
        "ATMOS_SETTINGS_LIST_MERGE_STRATEGY": "append",
        "ATMOS_COMPONENTS_TERRAFORM_AUTO_GENERATE_BACKEND_FILE": "true",
    })
    assert stacks.atmos.terraform_command == "tofu" and stacks.instances[InstanceRef("dev", "vpc")].command == "tofu"
    assert set(stacks.instances) == {InstanceRef("dev", "vpc"), InstanceRef("other", "db")}
    assert stacks.atmos.list_merge_strategy == "append" and stacks.atmos.auto_generate_backend_file is True
    with pytest.raises(ConfigError, match=r"^ATMOS_COMPONENTS_TERRAFORM_AUTO_GENERATE_BACKEND_FILE=maybe: expected "
                                          r"true or false$"):
        load_stacks(tmp_path, {"ATMOS_COMPONENTS_TERRAFORM_AUTO_GENERATE_BACKEND_FILE": "maybe"})


def test_a_missing_atmos_yaml_points_at_a_geodesic_rootfs_one(tmp_path):
    # Geodesic-style repos keep atmos.yaml where Atmos' system-wide lookup finds it in the container
    (tmp_path / "rootfs/usr/local/etc/atmos").mkdir(parents=True)
    (tmp_path / "rootfs/usr/local/etc/atmos/atmos.yaml").write_text("stacks: {included_paths: ['*']}\n")
    with pytest.raises(ConfigError, match=r"^no atmos.yaml found in the repository root \(the repository has "
                                          r"rootfs/usr/local/etc/atmos/atmos.yaml: set "
                                          r"ATMOS_CLI_CONFIG_PATH=rootfs/usr/local/etc/atmos"):
        load_stacks(tmp_path, {})


def test_repo_root_in_atmos_yaml_is_the_repository_root_and_refused_in_stack_manifests(tmp_path):
    # Atmos documents `base_path: !repo-root` (the git root): the repository the loader reads
    stacks = load_repo(tmp_path / "ok", {
        "atmos.yaml": "base_path: !repo-root\nstacks: {base_path: stacks, included_paths: ['*.yaml'], "
                      "name_pattern: '{stage}'}\n",
        "stacks/dev.yaml": "vars: {stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    }, atmos=None)
    assert {str(ref) for ref in stacks.instances} == {"dev/vpc"}
    with pytest.raises(ConfigError, match=r"^stacks/dev.yaml:2: !repo-root is supported in atmos.yaml only"):
        load_repo(tmp_path / "bad", {
            "atmos.yaml": "stacks: {base_path: stacks, included_paths: ['*.yaml'], name_pattern: '{stage}'}\n",
            "stacks/dev.yaml": "vars: {stage: dev}\ncomponents: {terraform: {vpc: {vars: {root: !repo-root }}}}\n",
        }, atmos=None)


def test_atmos_d_folders_merge_under_atmos_yaml_as_in_atmos(tmp_path):
    # Atmos' mergeDefaultImports: atmos.d/ then .atmos.d/ at the repository root, then beside
    # atmos.yaml, every .yaml under them shallowest first; its explicit imports and itself win
    files = {
        "components/terraform/vpc/main.tf": 'variable "x" {}\n',
        "config/atmos.yaml": "base_path: ..\ncomponents: {terraform: {base_path: components/terraform}}\n",
        "atmos.d/stacks.yaml": "stacks: {base_path: wrong, name_pattern: '{stage}'}\n",
        "config/atmos.d/stacks.yaml": "stacks: {base_path: stacks, included_paths: ['deploy/*']}\n",
        "config/.atmos.d/nested/naming.yml": "stacks: {name_pattern: '{tenant}-{stage}'}\n",
        "stacks/deploy/dev.yaml": "vars: {tenant: plat, stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    }
    stacks = load_repo(tmp_path, files, {"ATMOS_CLI_CONFIG_PATH": "config"}, atmos=None)
    assert sorted(map(str, stacks.instances)) == ["plat-dev/vpc"]
    assert stacks.atmos.imported_files == ("atmos.d/stacks.yaml", "config/atmos.d/stacks.yaml",
                                           "config/.atmos.d/nested/naming.yml")
    files["config/atmos.yaml"] += "stacks: {name_pattern: '{stage}'}\n"  # atmos.yaml itself wins
    assert sorted(map(str, load_repo(tmp_path / "own", files, {"ATMOS_CLI_CONFIG_PATH": "config"},
                                     atmos=None).instances)) == ["dev/vpc"]
