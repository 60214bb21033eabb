"""`settings.yaml.key_delimiter` (Atmos 1.221, experimental): dotted keys in stack manifests."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import InstanceRef

from .repos import ATMOS_YAML, ctx, load_repo

DELIMITED = ATMOS_YAML + "settings:\n  yaml:\n    key_delimiter: \".\"\n"
FILES = {
    "components/terraform/vpc/main.tf": 'variable "x" {}\n',
    "stacks/catalog/vpc.yaml": """
        components.terraform.vpc-base:
          metadata.type: abstract
          vars.cidr.block: 10.0.0.0/16
    """,
    "stacks/deploy/dev.yaml": ctx("""
        import: [catalog/vpc]
        components.terraform.vpc-main:
          metadata.component: vpc
          metadata.inherits: [vpc-base]
          vars:
            tags.team: core
            tags:
              owner: ops
            "quoted.key": kept
            ports.80: http
            a..b: as written
            .leading: as written
            size: 1
            size: 2
    """),
}


def test_unquoted_dotted_keys_are_nested_maps_when_a_delimiter_is_set(tmp_path):
    stacks = load_repo(tmp_path, FILES, atmos=DELIMITED)
    vpc = stacks.instances[InstanceRef("plat-ue1-dev", "vpc-main")]
    assert vpc.component_path == "components/terraform/vpc"
    assert vpc.vars["cidr"] == {"block": "10.0.0.0/16"}  # from the base, itself written dotted
    # a key met again merges with it (both maps) or replaces it (the later wins), as Atmos
    assert vpc.vars["tags"] == {"team": "core", "owner": "ops"} and vpc.vars["size"] == 2
    assert vpc.vars["quoted.key"] == "kept" and vpc.vars["ports"] == {"80": "http"}  # parts are strings
    assert vpc.vars["a..b"] == vpc.vars[".leading"] == "as written"
    assert any("key_delimiter '.' is experimental" in note for note in stacks.warnings)


def test_without_a_delimiter_dotted_keys_are_keys_and_repeats_are_errors(tmp_path):
    files = {**FILES, "stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc:
              vars:
                tags.team: core
    """)}
    stacks = load_repo(tmp_path / "plain", files)
    assert stacks.instances[InstanceRef("plat-ue1-dev", "vpc")].vars["tags.team"] == "core"
    with pytest.raises(ConfigError, match=r"stacks/deploy/dev.yaml:\d+: invalid YAML: .*duplicate key 'size'"):
        load_repo(tmp_path / "repeat", FILES)


@pytest.mark.parametrize("mode", ["error", "disable"])
def test_the_experimental_setting_stops_the_load_when_atmos_would(tmp_path, mode):
    with pytest.raises(ConfigError, match=f"atmos.yaml: 'settings.yaml.key_delimiter' is experimental and "
                                          f"'settings.experimental' is '{mode}'"):
        load_repo(tmp_path, FILES, atmos=DELIMITED + f"  experimental: {mode}\n")


def test_silence_keeps_the_delimiter_without_a_warning(tmp_path):
    stacks = load_repo(tmp_path, FILES, atmos=DELIMITED + "  experimental: silence\n")
    assert stacks.instances[InstanceRef("plat-ue1-dev", "vpc-main")].vars["tags"]["team"] == "core"
    assert not any("key_delimiter" in note for note in stacks.warnings)
