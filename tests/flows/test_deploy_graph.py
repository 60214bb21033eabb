"""The deploy flow's graph semantics, with fake steps (no terraform) on a real Prefect engine."""

from __future__ import annotations

import pytest
from prefect import flow

from stackflow.flows.deploy import run_graph
from stackflow.stacks_loader.graph import DependencyGraph
from stackflow.stacks_loader.model import AwsFact, InstanceRef, TerraformOutputRef
from stackflow.tasks.aws_facts import AwsFactReader
from tests.loader.repos import ctx, load_repo
from tests.unit.test_aws_facts import FakeAws

from .fake_steps import FakeSteps, RecordingSteps, make_instances

pytestmark = pytest.mark.usefixtures("prefect_api")

# a ← root; b, c children of a; d child of b; x independent branch
EDGES = {"s/b": ["s/a"], "s/c": ["s/a"], "s/d": ["s/b"], "s/x": []}


def _run(steps: FakeSteps, edges=EDGES, **kw):
    instances = make_instances(edges)
    graph = DependencyGraph.from_instances(instances)

    @flow(name="graph-test")
    def _f():
        return run_graph(graph, instances, steps, **kw)

    return {o.instance: o for o in _f()}


def test_parents_finish_before_children_start():
    steps = FakeSteps(durations={"s/a": 0.2, "s/b": 0.1})
    out = _run(steps)
    assert all(o.status == "succeeded" for o in out.values())
    for child, parents in EDGES.items():
        for parent in parents:
            assert steps.window(parent)[1] <= steps.window(child)[0], (parent, child)


def test_failed_parent_skips_children_but_not_siblings():
    steps = FakeSteps(fail={"s/b"})
    out = _run(steps)
    assert out["s/b"].status == "failed"
    assert "invalid CIDR" in out["s/b"].cause
    assert (out["s/d"].status, out["s/d"].reason, out["s/d"].cause) == ("skipped", "ancestor failed", "s/b")
    assert "s/d" not in steps.ran()  # its body never ran
    assert out["s/c"].status == "succeeded" and out["s/x"].status == "succeeded"


def test_fail_fast_starts_nothing_new_after_a_failure():
    steps = FakeSteps(fail={"s/a"}, durations={"s/a": 0.05})
    out = _run(steps, edges={"s/b": ["s/a"], "s/c": ["s/b"], "s/z": ["s/y"]}, parallelism=1, fail_fast=True)
    assert out["s/a"].status == "failed"
    assert {n for n, o in out.items() if o.status == "skipped"} >= {"s/b", "s/c"}
    assert len(steps.ran()) < 4


def test_transient_failure_is_retried_and_attempts_reported():
    steps = FakeSteps(flaky={"s/a": 2})
    out = _run(steps, edges={"s/a": []}, retries=3)
    assert out["s/a"].status == "succeeded"
    assert out["s/a"].attempts == 3


def test_non_transient_failure_is_not_retried():
    steps = FakeSteps(fail={"s/a"})
    out = _run(steps, edges={"s/a": []}, retries=3)
    assert out["s/a"].status == "failed" and out["s/a"].attempts == 1
    assert steps.calls["s/a"] == 1


def test_destroy_runs_children_before_parents():
    steps = FakeSteps()
    _run(steps, mode="destroy")
    order = steps.ran("apply")
    assert order.index("s/d") < order.index("s/b") < order.index("s/a")
    assert order.index("s/c") < order.index("s/a")


@pytest.mark.parametrize("mode", ["plan"])
def test_plan_mode_marks_children_of_changed_parents_provisional(mode):
    steps = FakeSteps()
    out = _run(steps, mode=mode)
    assert steps.ran("apply") == []
    assert not out["s/a"].provisional and out["s/b"].provisional and out["s/d"].provisional


def test_failed_validation_skips_the_later_stage_and_counts_as_failed(tmp_path):
    from stackflow.stacks_loader.model import Dependency, InstanceRef, StackInstance

    dev = StackInstance("dev", "vpc", "components/terraform/vpc", "dev.yaml", vars={"stage": "dev"},
                        settings={"stackflow": {"validate": "test \"$TF_OUTPUT_ID\" = nope"}})
    prod = StackInstance("prod", "vpc", "components/terraform/vpc", "prod.yaml", vars={"stage": "prod"},
                         dependencies=[Dependency(InstanceRef("dev", "vpc"), "settings.depends_on")])
    instances = {dev.ref: dev, prod.ref: prod}
    graph = DependencyGraph.from_instances(instances)
    steps = FakeSteps()

    @flow(name="graph-test")
    def _f():
        return run_graph(graph, instances, steps, repo=tmp_path)

    out = {o.instance: o for o in _f()}
    assert out["dev/vpc"].status == "failed" and "validation failed" in out["dev/vpc"].cause
    assert out["prod/vpc"].status == "skipped" and out["prod/vpc"].cause == "dev/vpc"


def test_locked_instance_is_planned_but_never_applied():
    from stackflow.stacks_loader.model import StackInstance

    locked = StackInstance("s", "db", "components/terraform/db", "s.yaml", metadata={"locked": True})
    instances = {locked.ref: locked}
    steps = FakeSteps()

    @flow(name="graph-test")
    def _f():
        return run_graph(DependencyGraph.from_instances(instances), instances, steps)

    (outcome,) = _f()
    assert outcome.status == "skipped" and "locked" in outcome.reason
    assert steps.ran("plan") == ["s/db"] and steps.ran("apply") == []


def test_failed_child_destroy_keeps_its_ancestors():
    steps = FakeSteps(fail={"s/d"})
    out = _run(steps, mode="destroy")
    assert out["s/d"].status == "failed"
    # b and a are ancestors of d: destroying them would orphan d's resources
    assert (out["s/b"].status, out["s/b"].cause) == ("skipped", "s/d")
    assert (out["s/a"].status, out["s/a"].cause) == ("skipped", "s/d")
    assert out["s/c"].status == "succeeded" and out["s/x"].status == "succeeded"
    assert "s/a" not in steps.ran("apply")


def test_a_plan_of_a_child_uses_the_yq_default_until_its_parent_is_applied():
    # A PR plan: the parent is only planned, so its outputs are not known. Without a default the
    # child waits (skipped, provisional); with `// default` it plans with the default, as Atmos.
    instances = make_instances({"s/with-default": ["s/a"], "s/without": ["s/a"]})
    parent = InstanceRef("s", "a")
    instances[InstanceRef("s", "with-default")].vars = {"id": TerraformOutputRef(parent, "id", default='"vpc-0"')}
    instances[InstanceRef("s", "without")].vars = {"id": TerraformOutputRef(parent, "id")}
    steps = RecordingSteps()
    planned = steps.planned

    graph = DependencyGraph.from_instances(instances)

    @flow(name="graph-test")
    def _f():
        return run_graph(graph, instances, steps, mode="plan")

    out = {o.instance: o for o in _f()}
    assert out["s/with-default"].status == "succeeded" and planned["s/with-default"] == {"id": "vpc-0"}
    waiting = ("skipped", "parent outputs not available until it is applied")
    assert (out["s/without"].status, out["s/without"].reason) == waiting
    assert "s/without" not in planned


def test_aws_facts_are_filled_into_the_vars_each_instance_plans_with_and_sts_is_asked_once():
    instances = make_instances({"s/child": ["s/a"], "s/b": [], "s/no-org": []})
    instances[InstanceRef("s", "a")].vars = {"account": AwsFact("account_id"), "region": AwsFact("region")}
    instances[InstanceRef("s", "b")].vars = {"tags": {"arn": AwsFact("caller_identity_arn")}}
    instances[InstanceRef("s", "no-org")].vars = {"org": AwsFact("organization_id")}
    instances[InstanceRef("s", "child")].vars = {"plain": 1}
    steps = RecordingSteps()
    planned = steps.planned

    fake = FakeAws(organization=None)
    graph = DependencyGraph.from_instances(instances)

    @flow(name="graph-test")
    def _f():
        return run_graph(graph, instances, steps, aws_reader=AwsFactReader(fake, {"AWS_REGION": "eu-west-1"}))

    out = {o.instance: o for o in _f()}
    assert planned["s/a"] == {"account": "123456789012", "region": "eu-west-1"}
    assert planned["s/b"] == {"tags": {"arn": "arn:aws:sts::123456789012:assumed-role/ci/run-7"}}
    assert planned["s/child"] == {"plain": 1} and out["s/child"].status == "succeeded"
    assert fake.asked.count("GetCallerIdentity") == 1
    assert (out["s/no-org"].status, out["s/no-org"].cause) == (
        "failed", "s/no-org: !aws.organization_id: the AWS account is not a member of an organization "
                  "(Organizations DescribeOrganization: AWSOrganizationsNotInUseException)")
    assert "s/no-org" not in planned
    assert isinstance(instances[InstanceRef("s", "a")].vars["account"], AwsFact)  # the instance keeps its facts


def test_exec_commands_run_as_each_instance_starts_and_a_failing_one_fails_only_it(tmp_path):
    from stackflow.stacks_loader.model import ExecRef
    from stackflow.tasks.exec_commands import ExecRunner

    (tmp_path / "ids.json").write_text('{"vpc": "vpc-123", "azs": ["a", "b"]}\n')
    instances = make_instances({"s/child": ["s/a"], "s/bad": []})
    instances[InstanceRef("s", "a")].vars = {"ids": ExecRef("cat ids.json", "stacks/s.yaml"),
                                             "who": {"name": ExecRef("printf 'x%s\\n\\n' \"$WHO\"", "stacks/s.yaml")}}
    instances[InstanceRef("s", "bad")].vars = {"v": ExecRef("echo oops >&2; exit 3", "stacks/s.yaml")}
    steps = RecordingSteps()
    planned = steps.planned

    graph = DependencyGraph.from_instances(instances)
    runner = ExecRunner(tmp_path, {"PATH": "/usr/bin:/bin", "WHO": "-ops"}, timeout_s=30)

    @flow(name="graph-test")
    def _f():
        return run_graph(graph, instances, steps, exec_runner=runner)

    out = {o.instance: o for o in _f()}
    # run in the repository with stackflow's environment; JSON read as JSON, trailing newlines dropped
    assert planned["s/a"] == {"ids": {"vpc": "vpc-123", "azs": ["a", "b"]}, "who": {"name": "x-ops"}}
    assert out["s/child"].status == "succeeded"
    assert (out["s/bad"].status, out["s/bad"].cause) == (
        "failed", "s/bad: stacks/s.yaml: !exec echo oops >&2; exit 3: exited with 3: oops")
    assert "s/bad" not in planned
    assert isinstance(instances[InstanceRef("s", "a")].vars["ids"], ExecRef)  # the instance keeps its command


def test_an_abstract_parent_read_by_terraform_state_is_read_before_its_readers_and_never_deployed(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                network: {metadata: {type: abstract}}
                app: {vars: {vpc: !terraform.state network .id, name: app}}
                other: {vars: {name: other}}
        """),
    })
    graph = stacks.graph()
    steps = RecordingSteps()

    @flow(name="graph-test")
    def _f():
        return run_graph(graph, stacks.instances, steps)

    out = {o.instance: o for o in _f()}
    assert set(out) == {"plat-ue1-dev/app", "plat-ue1-dev/other"}
    assert all(o.status == "succeeded" for o in out.values())
    assert steps.planned["plat-ue1-dev/app"]["vpc"] == "plat-ue1-dev/network"
    assert steps.ran("outputs") == ["plat-ue1-dev/network"]  # read once, first; never planned or applied
    assert "plat-ue1-dev/network" not in steps.ran("plan") + steps.ran("apply")
    assert steps.window("plat-ue1-dev/network")[1] <= steps.window("plat-ue1-dev/app")[0]
