"""Atmos `!aws.*` YAML functions: parsed as written, shown by describe, refused where stackflow
cannot fill them, and read from AWS (clients faked here) once per run.

The expected behaviour is Atmos' own (`internal/exec/yaml_func_aws.go`, `pkg/aws/identity`,
`pkg/aws/organization`): no arguments, STS GetCallerIdentity's Account / Arn / UserId, the SDK's
region, Organizations DescribeOrganization's Id, each asked once per invocation.
"""

from __future__ import annotations

import textwrap
import threading

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from stackflow.errors import ConfigError
from stackflow.stacks_loader.affected import affected_between_trees
from stackflow.stacks_loader.aws_facts import aws_facts_in, fill_aws_facts
from stackflow.stacks_loader.describe import describe_component
from stackflow.stacks_loader.model import AwsFact, InstanceRef
from stackflow.stacks_loader.selection import select_target
from stackflow.stacks_loader.source import FolderTree
from stackflow.tasks.aws_facts import AwsFactError, AwsFactReader, sdk_region
from tests.loader.repos import ctx, load_repo, write_repo

DEV = "plat-ue1-dev"
FILE = "stacks/deploy/dev.yaml"
ALL_FIVE = """
    components:
      terraform:
        app:
          vars:
            account: !aws.account_id
            tags:
              arn: !aws.caller_identity_arn
              user: !aws.caller_identity_user_id
            regions:
              - !aws.region
            org: !aws.organization_id
            quoted_empty: !aws.account_id ''
        web:
          vars: {size: 1}
"""


def app(stacks, component: str = "app"):
    return stacks.instances[InstanceRef(DEV, component)]


# --- parsing ----------------------------------------------------------------------------------------
def test_each_aws_function_is_kept_as_a_fact_of_its_own_name_with_file_and_line(tmp_path):
    vars_ = app(load_repo(tmp_path, {FILE: ctx(ALL_FIVE)})).vars
    assert vars_["account"] == AwsFact("account_id") and vars_["tags"] == {
        "arn": AwsFact("caller_identity_arn"), "user": AwsFact("caller_identity_user_id")}
    assert vars_["regions"] == [AwsFact("region")] and vars_["org"] == AwsFact("organization_id")
    assert vars_["quoted_empty"] == AwsFact("account_id")  # an empty scalar is no argument, as in Atmos
    assert (vars_["account"].source_file, vars_["account"].line) == (FILE, 7)
    assert (vars_["org"].source_file, vars_["org"].line) == (FILE, 13)


@pytest.mark.parametrize("value, message", [
    ("!aws.account_id 123", r"^stacks/deploy/dev.yaml:6: !aws.account_id takes no arguments, not '123'$"),
    ("!aws.region us-east-1", r"^stacks/deploy/dev.yaml:6: !aws.region takes no arguments, not 'us-east-1'$"),
    ("!aws.organization_id {id: o-1}", r"^stacks/deploy/dev.yaml:6: !aws.organization_id takes no arguments, "
                                       r"not a mapping$"),
    ("!aws.caller_identity_arn [a]", r"^stacks/deploy/dev.yaml:6: !aws.caller_identity_arn takes no arguments, "
                                     r"not a sequence$"),
    ("!aws.partition", r"^stacks/deploy/dev.yaml:6: YAML function !aws.partition is not supported \(supported: .*"
                       r"!aws.account_id / !aws.caller_identity_arn / !aws.caller_identity_user_id / !aws.region / "
                       r"!aws.organization_id\)$"),
])
def test_arguments_after_an_aws_function_are_an_error_naming_file_and_line(tmp_path, value, message):
    with pytest.raises(ConfigError, match=message):
        load_repo(tmp_path, {FILE: ctx(f"components:\n  terraform:\n    app:\n      vars:\n        x: {value}\n")})


# --- describe, the graph, describe affected ----------------------------------------------------------
def test_describe_shows_the_functions_as_written_and_they_add_no_dependency(tmp_path):
    stacks = load_repo(tmp_path, {FILE: ctx(ALL_FIVE)})
    described = describe_component(stacks, "app", DEV)["vars"]
    assert described["account"] == "!aws.account_id" and described["regions"] == ["!aws.region"]
    assert described["tags"] == {"arn": "!aws.caller_identity_arn", "user": "!aws.caller_identity_user_id"}
    assert described["org"] == "!aws.organization_id"
    assert app(stacks).dependencies == []
    assert sorted(str(ref) for ref in stacks.graph().nodes) == [f"{DEV}/app", f"{DEV}/web"]


def test_describe_affected_compares_the_function_not_where_it_is_written(tmp_path):
    before = "components:\n  terraform:\n    app:\n      vars:\n        id: !aws.account_id\n"
    moved = "# a comment moves it down a line\n" + before
    changed = before.replace("!aws.account_id", "!aws.caller_identity_arn")
    base = FolderTree(write_repo(tmp_path / "base", {FILE: ctx(before)}))

    def affected(head_text: str) -> dict[str, list[str]]:
        head = FolderTree(write_repo(tmp_path / "head", {FILE: ctx(head_text)}))
        found = affected_between_trees(base, head, [FILE])
        return {str(ref): list(item.reasons) for ref, item in found.affected.items()}

    assert affected(moved) == {}
    assert affected(changed) == {f"{DEV}/app": ["stack.vars"]}


# --- refused before anything is planned ---------------------------------------------------------------
def test_facts_in_vars_pass_selection(tmp_path):
    load_repo(tmp_path, {FILE: ctx(ALL_FIVE)})
    assert [str(r) for r in select_target(tmp_path, {}, [DEV]).graph.order()] == [f"{DEV}/app", f"{DEV}/web"]


@pytest.mark.parametrize("section, path", [
    ("providers: {aws: {region: !aws.region }}", "providers.aws.region: !aws.region"),
    ("env: {ACCOUNT: !aws.account_id }", "env.ACCOUNT: !aws.account_id"),
    ("backend_type: s3\n      backend: {s3: {bucket: !aws.organization_id }}", "backend.bucket: !aws.organization_id"),
])
def test_a_fact_outside_vars_refuses_the_run_naming_file_stack_component_and_path(tmp_path, section, path):
    load_repo(tmp_path, {FILE: ctx(f"components:\n  terraform:\n    app:\n      {section}\n"
                                   "    web:\n      vars: {size: 1}\n")})
    section_name = path.split(".")[0]
    expected = (f"{FILE}: stack '{DEV}' component 'app': {path}: stackflow fills !aws.* values in vars only, "
                f"not in {section_name}, so this run is refused before anything is planned (describe, the graph "
                "and describe affected work)")
    with pytest.raises(ConfigError) as err:
        select_target(tmp_path, {}, [DEV])
    assert str(err.value) == expected
    assert [str(r) for r in select_target(tmp_path, {}, [f"{DEV}/web"]).graph.order()] == [f"{DEV}/web"]


def test_a_fact_printed_into_a_template_is_refused_naming_file_stack_component_and_path(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_repo(tmp_path, {FILE: ctx("""
            components:
              terraform:
                app:
                  vars:
                    account: !aws.account_id
                    name: 'queue-{{ .vars.account }}'
        """)})
    assert str(err.value).startswith(f"{FILE}: stack '{DEV}' component 'app': vars.name: template value "
                                     "'.vars.account' is '!aws.account_id', known only when the stack runs: it can "
                                     "be given whole ('{{ .vars.account }}' alone), not printed into text")
    with pytest.raises(ConfigError, match=r"^stacks/deploy/dev.yaml: components.terraform.app.vars.name: reads "
                                          r"'!aws.region', a YAML function: .* not printed into text"):
        load_repo(tmp_path, {FILE: ctx("""
            locals:
              region: !aws.region
            components:
              terraform:
                app:
                  vars:
                    name: 'queue-{{ .locals.region }}'
        """)})


def test_a_local_holding_a_fact_gives_it_whole_to_vars(tmp_path):
    stacks = load_repo(tmp_path, {FILE: ctx("""
        locals:
          region: !aws.region
        components:
          terraform:
            app:
              vars:
                region: '{{ .locals.region }}'
    """)})
    assert app(stacks).vars["region"] == AwsFact("region")


# --- filling -------------------------------------------------------------------------------------------
def test_the_facts_vars_need_are_found_and_filled_everywhere_in_them():
    vars_ = {"account": AwsFact("account_id", "a.yaml", 3), "tags": {"arn": AwsFact("caller_identity_arn")},
             "regions": [AwsFact("region"), "us-west-2"], "size": 1}
    facts = aws_facts_in(vars_)
    assert facts == {AwsFact("account_id"), AwsFact("caller_identity_arn"), AwsFact("region")}
    values = {AwsFact("account_id"): "123456789012", AwsFact("caller_identity_arn"): "arn:aws:iam::123456789012:user/ci",
              AwsFact("region"): "eu-west-1"}
    assert fill_aws_facts(vars_, values) == {
        "account": "123456789012", "tags": {"arn": "arn:aws:iam::123456789012:user/ci"},
        "regions": ["eu-west-1", "us-west-2"], "size": 1}
    assert isinstance(vars_["account"], AwsFact)  # a copy: the instance keeps its facts for the next run
    with pytest.raises(ConfigError, match=r"^a.yaml: !aws.account_id: no value was read for it$"):
        fill_aws_facts(vars_, {})


# --- reading, with the AWS clients faked -------------------------------------------------------------
IDENTITY = {"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/ci/run-7",
            "UserId": "AROAEXAMPLE:run-7"}


class FakeAws:
    """STS and Organizations clients, counting questions and the regions clients were made in."""

    def __init__(self, identity=IDENTITY, organization: str | None = "o-a1b2c3d4e5", sts_error=None):
        self.identity, self.organization, self.sts_error = identity, organization, sts_error
        self.asked: list[str] = []
        self.regions: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str):
        self.regions.append((service, region))
        fake = self

        class Client:
            def get_caller_identity(self):
                with fake._lock:
                    fake.asked.append("GetCallerIdentity")
                if fake.sts_error is not None:
                    raise fake.sts_error
                return dict(fake.identity, ResponseMetadata={})

            def describe_organization(self):
                fake.asked.append("DescribeOrganization")
                if fake.organization is None:
                    raise ClientError({"Error": {"Code": "AWSOrganizationsNotInUseException",
                                                 "Message": "Your account is not a member of an organization."}},
                                      "DescribeOrganization")
                return {"Organization": {"Id": fake.organization, "MasterAccountId": "111111111111"}}

        return Client()


ALL_FACTS = [AwsFact("account_id"), AwsFact("caller_identity_arn"), AwsFact("caller_identity_user_id"),
             AwsFact("region"), AwsFact("organization_id")]


def test_every_fact_is_read_and_sts_and_organizations_are_asked_once_per_run():
    fake = FakeAws()
    reader = AwsFactReader(fake, environ={"AWS_REGION": "eu-central-1"})
    first = reader.read_facts(ALL_FACTS, "dev/app")
    assert first.instance == "dev/app" and first.values == {
        AwsFact("account_id"): "123456789012",
        AwsFact("caller_identity_arn"): "arn:aws:sts::123456789012:assumed-role/ci/run-7",
        AwsFact("caller_identity_user_id"): "AROAEXAMPLE:run-7",
        AwsFact("region"): "eu-central-1",
        AwsFact("organization_id"): "o-a1b2c3d4e5",
    }
    threads = [threading.Thread(target=reader.read_facts, args=(ALL_FACTS, f"dev/app-{i}")) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.asked == ["GetCallerIdentity", "DescribeOrganization"]
    assert fake.regions == [("sts", "eu-central-1"), ("organizations", "eu-central-1")]


def test_concurrent_instances_of_a_fresh_run_still_ask_sts_once():
    fake = FakeAws()
    reader = AwsFactReader(fake, environ={"AWS_REGION": "eu-central-1"})
    results = {}

    def read(i: int) -> None:
        results[i] = reader.read_facts([AwsFact("account_id")], f"dev/app-{i}").values[AwsFact("account_id")]

    threads = [threading.Thread(target=read, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results.values()) == {"123456789012"} and len(results) == 8
    assert fake.asked == ["GetCallerIdentity"]


def test_no_organization_is_one_line_naming_the_instance_and_asked_once():
    fake = FakeAws(organization=None)
    reader = AwsFactReader(fake, environ={"AWS_REGION": "us-east-1"})
    for instance in ("dev/app", "dev/web"):
        with pytest.raises(AwsFactError) as err:
            reader.read_facts([AwsFact("organization_id")], instance)
        assert str(err.value) == (f"{instance}: !aws.organization_id: the AWS account is not a member of an "
                                  "organization (Organizations DescribeOrganization: AWSOrganizationsNotInUseException)")
    assert fake.asked == ["DescribeOrganization"]  # the failure is remembered for the run, as Atmos does


@pytest.mark.parametrize("error, message", [
    (ClientError({"Error": {"Code": "ExpiredToken", "Message": "The security token\nhas expired."}},
                 "GetCallerIdentity"),
     "dev/app: !aws.account_id: STS GetCallerIdentity failed: ExpiredToken: The security token has expired."),
    (NoCredentialsError(), "dev/app: !aws.account_id: STS GetCallerIdentity failed: Unable to locate credentials"),
])
def test_a_failed_identity_call_is_one_line_and_not_asked_again(error, message):
    fake = FakeAws(sts_error=error)
    reader = AwsFactReader(fake, environ={"AWS_REGION": "us-east-1"})
    with pytest.raises(AwsFactError) as err:
        reader.read_facts([AwsFact("account_id")], "dev/app")
    assert str(err.value) == message
    with pytest.raises(AwsFactError, match=r"^dev/web: !aws.caller_identity_arn: STS GetCallerIdentity failed"):
        reader.read_facts([AwsFact("caller_identity_arn")], "dev/web")
    assert fake.asked == ["GetCallerIdentity"]


def test_an_unset_region_fails_only_aws_region_naming_the_instance(tmp_path, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    fake = FakeAws()
    reader = AwsFactReader(fake, environ={})
    with pytest.raises(AwsFactError) as err:
        reader.read_facts([AwsFact("region"), AwsFact("account_id")], "dev/app")
    assert str(err.value) == ("dev/app: !aws.region: no AWS region is set (AWS_REGION, AWS_DEFAULT_REGION or "
                              "the AWS profile's region)")
    # the identity does not need one: STS is asked at its global endpoint's region
    assert reader.read_facts([AwsFact("account_id")], "dev/app").values == {AwsFact("account_id"): "123456789012"}
    assert fake.regions == [("sts", "us-east-1")]


def test_the_region_is_the_sdks_aws_region_then_aws_default_region_then_the_profiles(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text(textwrap.dedent("""
        [default]
        region = ap-southeast-2
        [profile ops]
        region = sa-east-1
    """))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert sdk_region({}) == "ap-southeast-2"
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert sdk_region({}) == "sa-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert sdk_region({"AWS_DEFAULT_REGION": "eu-west-3"}) == "eu-west-3"
    assert sdk_region({"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-3"}) == "us-west-2"
    reader = AwsFactReader(FakeAws(), environ={"AWS_DEFAULT_REGION": "eu-west-3"})
    assert reader.read_facts([AwsFact("region")], "dev/app").values == {AwsFact("region"): "eu-west-3"}
