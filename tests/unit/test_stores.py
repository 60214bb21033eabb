"""Atmos `!store` / `!store.get`: arguments, names, values and refusals, without a store.

The expected names and values are Atmos' own (`pkg/function/parser/parser_test.go`,
`pkg/store/providers/keys.go`, the SSM and Secrets Manager stores' GetKey and decoding).
"""

from __future__ import annotations

import datetime
import json
import textwrap

import pytest
from stackflow.stacks_loader.atmos_config import StoreConfig, load_atmos_config
from stackflow.stacks_loader.model import StoreRef
from stackflow.stacks_loader.selection import select_target
from stackflow.stacks_loader.source import FolderTree
from stackflow.stacks_loader.stores import (
    StoreArgs,
    fill_stores,
    parse_store_args,
    plan_store_read,
    store_key,
    store_reads,
    store_value,
)
from stackflow.tasks.stores import StoreReader, StoreReadError

from stackflow.errors import ConfigError

SSM = StoreConfig("ssm", "aws-ssm-parameter-store", "aws/ssm", {"region": "us-east-1"})
ASM = StoreConfig("asm", "aws-secrets-manager", "aws/asm", {"region": "us-east-1"})
STORES = {"ssm": SSM, "asm": ASM}


def store(args: str) -> StoreRef:
    return StoreRef("store", args, "stacks/dev.yaml", 3)


def store_get(args: str) -> StoreRef:
    return StoreRef("store.get", args, "stacks/dev.yaml", 4)


# --- arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, expected", [
    ("ssm vpc id", StoreArgs("ssm", "id", "", "vpc")),
    ("ssm dev vpc id", StoreArgs("ssm", "id", "dev", "vpc")),
    ('ssm dev vpc id | default "not set" | query .config | .value',
     StoreArgs("ssm", "id", "dev", "vpc", "not set", ".config | .value")),
    ("ssm 'plat-ue1-dev' \"infra/vpc\" id | default 'it''s'", StoreArgs("ssm", "id", "plat-ue1-dev", "infra/vpc", "it's")),
    ('ssm vpc id | default ""', StoreArgs("ssm", "id", "", "vpc", "")),
    ("ssm vpc id | query .a | default 7", StoreArgs("ssm", "id", "", "vpc", "7", ".a")),
])
def test_store_arguments_are_parsed_as_atmos_parses_them(args, expected):
    assert parse_store_args(store(args)) == expected


def test_store_get_arguments_are_parsed_as_atmos_parses_them():
    assert parse_store_args(store_get("ssm app-key | query .value | .nested")) == StoreArgs(
        "ssm", "app-key", query=".value | .nested")
    assert parse_store_args(store_get('ssm app-key | default "disabled"')).default == "disabled"
    assert parse_store_args(store_get("ssm /global/key")) == StoreArgs("ssm", "/global/key")


@pytest.mark.parametrize("ref, message", [
    (store("ssm vpc"), "!store takes 3 or 4 words .*got 2"),
    (store("ssm a b c d e"), "got 6"),
    (store("ssm vpc id | default"), "at 1:14: expected option value"),
    (store("ssm vpc id | default value extra"), "at 1:28: default option accepts one value"),
    (store("ssm vpc id | unknown value"), "at 1:12: unexpected pipe"),
    (store('ssm vpc "id'), "at 1:9: unterminated quoted value"),
    (store_get("ssm"), "!store.get takes 2 words .*got 1"),
    (store_get("ssm key | query"), "expected option value"),
    (store_get("ssm key | default | query .value"), "expected option value"),
])
def test_bad_store_arguments_are_an_error_with_the_position(ref, message):
    with pytest.raises(ConfigError, match=message):
        parse_store_args(ref)


# --- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix, delimiter, stack, component, key, expected", [
    ("", "-", "plat-ue1-dev", "vpc", "id", "/plat/ue1/dev/vpc/id"),
    ("/acme", "-", "plat-ue1-dev", "vpc", "id", "/acme/plat/ue1/dev/vpc/id"),
    ("/acme/", "-", "plat-ue1-dev", "vpc", "id", "/acme/plat/ue1/dev/vpc/id"),
    ("acme", "-", "plat-ue1-dev", "vpc", "id", "acme/plat/ue1/dev/vpc/id"),  # no leading "/" added
    ("/acme", "_", "plat-ue1-dev", "vpc", "id", "/acme/plat-ue1-dev/vpc/id"),
    ("/acme", "_", "plat_ue1_dev", "infra/vpc", "id", "/acme/plat/ue1/dev/infra/vpc/id"),
    ("/acme//", "-", "dev", "vpc", "id", "/acme//dev/vpc/id"),  # Go's ReplaceAll: one pass, left to right
])
def test_store_names_follow_atmos_get_key(prefix, delimiter, stack, component, key, expected):
    assert store_key(prefix, delimiter, stack, component, key) == expected


def test_three_words_read_the_instances_own_stack_and_four_words_the_named_one():
    stores = {"ssm": StoreConfig("ssm", "aws-ssm-parameter-store", "aws/ssm",
                                 {"region": "us-east-1", "prefix": "/acme", "stack_delimiter": "-"})}
    assert plan_store_read(store("ssm vpc id"), "plat-ue1-dev", stores).name == "/acme/plat/ue1/dev/vpc/id"
    assert plan_store_read(store("ssm core-gbl-prod vpc id"), "plat-ue1-dev", stores).name == \
        "/acme/core/gbl/prod/vpc/id"


@pytest.mark.parametrize("kind, prefix, key, expected", [
    ("aws/ssm", "", "global/key", "/global/key"),  # an SSM name always starts with "/"
    ("aws/ssm", "", "/global/key", "/global/key"),
    ("aws/ssm", "acme", "key", "/acme/key"),
    ("aws/ssm", "/acme", "key", "/acme/key"),
    ("aws/asm", "", "app/key", "app/key"),  # a secret id is used as written
    ("aws/asm", "acme", "key", "acme/key"),
])
def test_store_get_reads_prefix_slash_key(kind, prefix, key, expected):
    config = StoreConfig("s", kind, kind, {"region": "us-east-1", "prefix": prefix})
    assert plan_store_read(store_get(f"s {key}"), "dev", {"s": config}).name == expected


# --- values ---------------------------------------------------------------------------------------
def read(ref: StoreRef, config: StoreConfig = SSM):
    return plan_store_read(ref, "dev", {config.name: config})


@pytest.mark.parametrize("raw, expected", [
    ('{"a": [1, 2]}', {"a": [1, 2]}),
    ('"quoted"', "quoted"),
    ("42", 42),
    ("true", True),
    ("plain text", "plain text"),  # not JSON: the raw string
    ("NaN", "NaN"),  # Go does not read NaN as JSON
    ("{broken", "{broken"),
])
def test_stored_strings_are_json_decoded_when_they_parse(raw, expected):
    assert store_value(read(store("ssm vpc id")), raw) == expected
    assert store_value(read(store("asm vpc id"), ASM), raw) == expected


def test_a_secret_ssm_store_keeps_json_scalars_as_written():
    secret = StoreConfig("vault", "aws-ssm-parameter-store", "aws/ssm", {"region": "us-east-1"}, secret=True)
    ref = store_get("vault /db/password")
    assert store_value(read(ref, secret), "1e5") == "1e5"
    assert store_value(read(ref, secret), '{"user": "u"}') == {"user": "u"}


def test_queries_are_the_yq_paths_of_terraform_output_and_missing_is_null():
    value = json.dumps({"config": {"subnets": ["a", "b"], "my-key": {"x": 1}}})
    assert store_value(read(store("ssm vpc id | query .config.subnets[1]")), value) == "b"
    assert store_value(read(store("ssm vpc id | query .config.subnets[-1]")), value) == "b"
    assert store_value(read(store('ssm vpc id | query .config["my-key"].x')), value) == 1
    assert store_value(read(store("ssm vpc id | query .")), value) == json.loads(value)
    assert store_value(read(store_get("ssm /list | query .[0]")), '["first"]') == "first"
    assert store_value(read(store("ssm vpc id | query .config.nope")), value) is None  # yq: null
    assert store_value(read(store("ssm vpc id | query .config.subnets[5]")), value) is None
    with pytest.raises(ConfigError, match="cannot index a list with 'name'"):
        store_value(read(store("ssm vpc id | query .config.subnets.name")), value)


def test_store_get_gives_its_default_for_a_stored_null():
    assert store_value(read(store_get("ssm /k | default off")), "null") == "off"
    assert store_value(read(store("ssm vpc id | default off")), "null") is None  # !store: as Atmos


def test_fill_stores_replaces_every_reference_and_keeps_the_rest():
    name, tags = store("ssm app name"), store("ssm app tags")
    vars_ = {"name": name, "nested": {"tags": [tags, "x"]}, "size": 1}
    assert fill_stores(vars_, {name: "orders", tags: {"team": "a"}}) == {
        "name": "orders", "nested": {"tags": [{"team": "a"}, "x"]}, "size": 1}
    assert vars_["name"] is name  # the instance's own vars are untouched
    assert list(store_reads(vars_, "dev", STORES)) == [name, tags]


# --- refusals at selection ------------------------------------------------------------------------
@pytest.mark.parametrize("ref, message", [
    (StoreRef("secret", "API_KEY"), "stackflow does not read Atmos stores marked secret"),
    (store("nope vpc id"), r"no store 'nope' in atmos.yaml `stores:` \(configured: asm, ssm\)"),
    (store("ssm vpc id | query .a | .b"), r"query '.a \| .b' is not a path stackflow reads"),
    (store("ssm vpc id | query keys"), "query 'keys' is not a path"),
    (store("ssm {{ .stack }} vpc id"), "a template in store arguments is not rendered"),
])
def test_what_cannot_be_read_is_named(ref, message):
    with pytest.raises(ConfigError, match=message):
        plan_store_read(ref, "dev", STORES)


def test_unsupported_secret_and_identity_stores_are_refused():
    stores = {
        "kv": StoreConfig("kv", "azure-key-vault", "azure/keyvault", {"vault_url": "x"}),
        "op": StoreConfig("op", "1password", "onepassword", {}, secret=True),
        "sec": StoreConfig("sec", "aws-ssm-parameter-store", "aws/ssm", {"region": "us-east-1"}, secret=True),
        "id": StoreConfig("id", "aws-ssm-parameter-store", "aws/ssm", {"region": "us-east-1"}, identity="ops"),
    }
    with pytest.raises(ConfigError, match="store 'kv' is a azure-key-vault store; stackflow reads only"):
        plan_store_read(store("kv vpc id"), "dev", stores)
    with pytest.raises(ConfigError, match="store 'op' is a secret store; Atmos reads it only with !secret"):
        plan_store_read(store("op vpc id"), "dev", stores)
    with pytest.raises(ConfigError, match="store 'sec' is a secret store"):
        plan_store_read(store("sec vpc id"), "dev", stores)
    assert plan_store_read(store_get("sec /db/password"), "dev", stores).name == "/db/password"  # as Atmos
    with pytest.raises(ConfigError, match="Atmos auth identity 'ops'"):
        plan_store_read(store_get("id /k"), "dev", stores)


STORES_YAML = """
    stores:
      ssm: {type: aws-ssm-parameter-store, options: {region: us-east-1, prefix: /acme}}
      vault: {kind: aws/asm, options: {region: us-east-1}}
      kv: {type: azure-key-vault, options: {vault_url: "https://x.vault.azure.net"}}
"""


def write(root, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def repo_files(vars_yaml: str, stores_yaml: str = STORES_YAML) -> dict[str, str]:
    return {
        "atmos.yaml": 'stacks: {base_path: stacks, included_paths: ["*.yaml"], name_pattern: "{stage}"}\n'
                      + textwrap.dedent(stores_yaml),
        "stacks/dev.yaml": "vars: {stage: dev}\ncomponents:\n  terraform:\n    app:\n"
                           + textwrap.indent(textwrap.dedent(vars_yaml).strip() + "\n", "      ")
                           + "    web: {vars: {size: 1}}\n",
    }


def test_readable_store_values_pass_selection_and_carry_the_stores(tmp_path):
    repo = write(tmp_path, repo_files("""
        vars:
          id: !store ssm vpc id | default none
          raw: !store.get vault app/key | query .token
    """))
    target = select_target(repo, {}, ["dev"])
    assert [str(r) for r in target.graph.order()] == ["dev/app", "dev/web"]
    assert target.stores["ssm"].option("prefix") == "/acme" and target.stores["vault"].kind == "aws/asm"


@pytest.mark.parametrize("vars_yaml, message", [
    ("vars: {api_key: !secret API_KEY}", r"vars.api_key: !secret API_KEY: stackflow does not read Atmos stores"),
    ("vars: {id: !store nope vpc id}", "vars.id: !store nope vpc id: no store 'nope'"),
    ("vars: {id: !store kv vpc id}", "vars.id: !store kv vpc id: store 'kv' is a azure-key-vault store"),
    ("vars: {id: !store ssm vpc id | query .a // 1}", r"vars.id: .*query '.a // 1' is not a path"),
    ("env: {ID: !store ssm vpc id}", "env.ID: !store ssm vpc id: stackflow fills store values in vars only"),
])
def test_a_run_needing_a_value_it_cannot_read_is_refused_naming_file_stack_component_and_path(
        tmp_path, vars_yaml, message):
    repo = write(tmp_path, repo_files(vars_yaml))
    with pytest.raises(ConfigError, match=r"^stacks/dev.yaml: stack 'dev' component 'app': " + message) as err:
        select_target(repo, {}, ["dev"])
    assert "\n" not in str(err.value) and "refused before anything is planned" in str(err.value)
    assert [str(r) for r in select_target(repo, {}, ["dev/web"]).graph.order()] == ["dev/web"]


# --- atmos.yaml `stores:` -------------------------------------------------------------------------
def stores_of(tmp_path, stores_yaml: str):
    write(tmp_path, {"atmos.yaml": 'stacks: {included_paths: ["*.yaml"]}\n' + textwrap.dedent(stores_yaml)})
    return load_atmos_config(FolderTree(tmp_path), {}).stores


def test_atmos_yaml_stores_are_typed_configs(tmp_path):
    stores = stores_of(tmp_path, STORES_YAML + """
      op: {type: 1password, options: {vault: x}}
    """)
    assert stores["ssm"] == StoreConfig("ssm", "aws-ssm-parameter-store", "aws/ssm",
                                        {"region": "us-east-1", "prefix": "/acme"})
    assert (stores["vault"].type, stores["vault"].kind, stores["vault"].supported) == ("aws/asm", "aws/asm", True)
    assert (stores["kv"].kind, stores["kv"].supported) == ("azure/keyvault", False)
    assert stores["op"].secret  # 1Password is a secret store by default, as in Atmos
    assert stores_of(tmp_path, "") == {}


@pytest.mark.parametrize("stores_yaml, message", [
    ("stores: [ssm]", "'stores' must be a mapping"),
    ("stores: {ssm: aws}", r"'stores.ssm' must be a mapping"),
    ("stores: {ssm: {options: {region: x}}}", r"'stores.ssm.type' is missing"),
    ("stores: {ssm: {type: etcd}}", r"'stores.ssm.type' is 'etcd', not a store type Atmos knows"),
    ("stores: {ssm: {type: aws-ssm-parameter-store, options: {prefix: /a}}}",
     r"'stores.ssm.options.region' is required for a aws-ssm-parameter-store store"),
    ("stores: {ssm: {type: aws-ssm-parameter-store, options: {region: 1}}}",
     r"'stores.ssm.options.region' must be a string"),
    ("stores: {ssm: {type: aws-ssm-parameter-store, optoins: {region: x}}}", r"'stores.ssm.optoins' is not a store field"),
    ("stores: {ssm: {type: aws-ssm-parameter-store, secret: yes please, options: {region: x}}}",
     r"'stores.ssm.secret' must be true or false"),
    ("stores: {cache: {type: redis, secret: true}}", r"'stores.cache.secret': a redis store cannot be secret"),
])
def test_bad_stores_are_one_line_errors_naming_atmos_yaml_and_the_field(tmp_path, stores_yaml, message):
    with pytest.raises(ConfigError, match=r"^atmos.yaml: " + message):
        stores_of(tmp_path, stores_yaml)


def test_an_option_atmos_does_not_read_is_ignored_as_in_atmos_with_a_warning(tmp_path):
    # Atmos decodes a store's options into its own struct, which drops any other key; a real repo
    # (an aws-ssm-parameter-store with `read_only: true`) relies on it
    (tmp_path / "atmos.yaml").write_text(
        "stacks: {base_path: stacks, included_paths: ['*.yaml'], name_pattern: '{stage}'}\n"
        "stores: {ssm: {type: aws-ssm-parameter-store, options: {region: x, read_only: true, prefx: /a}}}\n")
    atmos = load_atmos_config(FolderTree(tmp_path), {})
    assert atmos.stores["ssm"].options == {"region": "x", "read_only": True, "prefx": "/a"}
    assert atmos.stores["ssm"].option("prefix") == ""
    assert atmos.notes == (
        "atmos.yaml: 'stores.ssm.options.read_only' is not an option of a aws-ssm-parameter-store store "
        "(prefix, region, stack_delimiter, read_role_arn, write_role_arn, endpoint, endpoint_url): ignored, "
        "as Atmos ignores it",
        "atmos.yaml: 'stores.ssm.options.prefx' is not an option of a aws-ssm-parameter-store store "
        "(prefix, region, stack_delimiter, read_role_arn, write_role_arn, endpoint, endpoint_url): ignored, "
        "as Atmos ignores it",
    )


# --- reading, with the AWS clients faked ----------------------------------------------------------
class FakeClients:
    """SSM / Secrets Manager / STS clients over dicts, counting calls."""

    def __init__(self, parameters=None, secrets=None):
        self.parameters, self.secrets = parameters or {}, secrets or {}
        self.calls: list[tuple] = []

    def __call__(self, config, service, credentials):
        from botocore.exceptions import ClientError

        clients = self

        class Client:
            def get_parameter(self, Name, WithDecryption):
                clients.calls.append(("ssm", config.name, Name, WithDecryption, credentials))
                if Name not in clients.parameters:
                    raise ClientError({"Error": {"Code": "ParameterNotFound", "Message": ""}}, "GetParameter")
                return {"Parameter": {"Value": clients.parameters[Name]}}

            def get_secret_value(self, SecretId):
                clients.calls.append(("secretsmanager", config.name, SecretId))
                if SecretId not in clients.secrets:
                    raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}},
                                      "GetSecretValue")
                return {"SecretString": clients.secrets[SecretId]}

            def assume_role(self, RoleArn, RoleSessionName):
                clients.calls.append(("sts", RoleArn))
                expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
                return {"Credentials": {"AccessKeyId": "AK", "SecretAccessKey": "SK", "SessionToken": "T",
                                        "Expiration": expires}}

        return Client()


def test_values_are_read_once_per_run_with_decryption_and_missing_ones_give_their_default():
    fake = FakeClients(parameters={"/dev/app/name": "orders", "/dev/app/cfg": '{"size": 3}'},
                       secrets={"app/key": '{"token": "t-1"}'})
    reader = StoreReader(fake)
    refs = [store("ssm app name"), store("ssm app cfg | query .size"), store_get("asm app/key | query .token"),
            store("ssm app gone | default fallback")]
    reads = store_reads({f"v{i}": ref for i, ref in enumerate(refs)}, "dev", STORES)
    first = reader.read_values(reads, "dev/app").values
    assert [first[ref] for ref in refs] == ["orders", 3, "t-1", "fallback"]
    reader.read_values(reads, "dev/other")  # another instance of the same run: no new reads
    assert sorted(c[:4] for c in fake.calls if c[0] == "ssm") == [
        ("ssm", "ssm", "/dev/app/cfg", True), ("ssm", "ssm", "/dev/app/gone", True),
        ("ssm", "ssm", "/dev/app/name", True)]
    assert len(fake.calls) == 4


def test_a_missing_value_without_default_is_one_line_naming_instance_store_and_name():
    reader = StoreReader(FakeClients())
    reads = store_reads({"name": store("ssm app name")}, "dev", STORES)
    with pytest.raises(StoreReadError) as err:
        reader.read_values(reads, "dev/app")
    assert str(err.value) == ("dev/app: !store ssm app name: no parameter '/dev/app/name' in store 'ssm' "
                              "(aws-ssm-parameter-store)")
    reads = store_reads({"key": store_get("asm app/key")}, "dev", STORES)
    with pytest.raises(StoreReadError, match=r"^dev/app: !store.get asm app/key: no secret 'app/key' in store 'asm'"):
        reader.read_values(reads, "dev/app")


def test_the_read_role_is_assumed_once_and_its_credentials_used():
    fake = FakeClients(parameters={"/k": "v"})
    config = StoreConfig("ssm", "aws-ssm-parameter-store", "aws/ssm",
                         {"region": "us-east-1", "read_role_arn": "arn:aws:iam::1:role/reader"})
    reads = store_reads({"a": store_get("ssm /k"), "b": store_get("ssm /k | query .")}, "dev", {"ssm": config})
    assert StoreReader(fake).read_values(reads, "dev/app").values == {ref: "v" for ref in reads}
    assert fake.calls[0] == ("sts", "arn:aws:iam::1:role/reader")
    assert fake.calls[1][-1] == {"aws_access_key_id": "AK", "aws_secret_access_key": "SK", "aws_session_token": "T"}
    assert len(fake.calls) == 2
