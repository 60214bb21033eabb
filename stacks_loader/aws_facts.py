"""Atmos' `!aws.*` YAML functions: facts about the AWS identity a run acts as.

    !aws.account_id                STS GetCallerIdentity: Account
    !aws.caller_identity_arn       STS GetCallerIdentity: Arn
    !aws.caller_identity_user_id   STS GetCallerIdentity: UserId
    !aws.region                    the AWS SDK's region (AWS_REGION, AWS_DEFAULT_REGION, the profile's)
    !aws.organization_id           Organizations DescribeOrganization: Id

None takes arguments (Atmos' `processTagAwsValue` refuses anything after the tag). Atmos asks AWS
while it loads the stacks; stackflow's loader never calls AWS, so each is an `AwsFact` kept as
written, which the flow fills into `vars` as the instance starts (`tasks/aws_facts.py` asks AWS,
once per run); outside `vars` a run is refused (`selection.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args


from .model import AwsFact, AwsFactName
from .yaml_functions import FunctionArgsError, fill_kind, find_kind

AWS_FACT_NAMES: tuple[str, ...] = get_args(AwsFactName)


def is_aws_fact_tag(suffix: str) -> bool:
    """True for the tags (without `!`) this module reads: `aws.account_id`, `aws.region`, …"""
    return suffix.startswith("aws.") and suffix[4:] in AWS_FACT_NAMES


def parse_aws_fact(suffix: str, args: str, source_file: str = "", line: int = 0) -> AwsFact:
    """The `AwsFact` a tag means; anything written after it is an error, as in Atmos."""
    if args.strip():
        raise FunctionArgsError(f"!{suffix} takes no arguments, not {args.strip()!r}")
    return AwsFact(suffix[4:], source_file, line)  # type: ignore[arg-type]


def aws_facts_in(vars_: Mapping[str, Any]) -> frozenset[AwsFact]:
    """The facts an instance's `vars` need (usually none)."""
    return frozenset(find_kind(dict(vars_), AwsFact))


def fill_aws_facts(value: Any, values: Mapping[AwsFact, str]) -> Any:
    """A copy of `value` (copied along changed paths) with every `AwsFact` replaced by the value read for it."""
    return fill_kind(value, AwsFact, values)
