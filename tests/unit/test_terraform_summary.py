"""`terraform show -json` → PlanSummary; error excerpts."""

from stackflow.tasks.terraform import PlanSummary, _error_excerpt


def test_counts_follow_terraforms_own_plan_line():
    doc = {"resource_changes": [
        {"address": "aws_vpc.a", "change": {"actions": ["create"]}},
        {"address": "aws_vpc.b", "change": {"actions": ["update"]}},
        {"address": "aws_vpc.c", "change": {"actions": ["delete", "create"]}},
        {"address": "aws_vpc.d", "change": {"actions": ["delete"]}},
        {"address": "aws_vpc.e", "change": {"actions": ["no-op"]}},
        {"address": "data.x.y", "change": {"actions": ["read"]}},
    ]}
    s = PlanSummary.from_plan_json(doc)
    assert (s.add, s.change, s.destroy) == (2, 1, 2)
    assert [r.address for r in s.resources] == ["aws_vpc.a", "aws_vpc.b", "aws_vpc.c", "aws_vpc.d"]
    assert s.has_changes


def test_no_resource_changes_means_no_changes():
    assert not PlanSummary.from_plan_json({}).has_changes


def test_error_excerpt_starts_at_the_error_and_drops_box_drawing():
    stderr = "\n╷\n│ Error: invalid CIDR address: 10.0.0.0/33\n│ \n│   with aws_vpc.this,\n╵\n"
    assert _error_excerpt(stderr, "").splitlines()[0] == "Error: invalid CIDR address: 10.0.0.0/33"


def test_error_excerpt_without_an_error_prefix_starts_at_the_failure():
    stderr = ("failed to lock s3 state: ConditionalCheckFailedException: The conditional request failed\n"
              "Lock Info:\n  ID:        x\n  Path:      \n")
    assert _error_excerpt(stderr, "").splitlines()[0].startswith("failed to lock s3 state")
