"""Asking AWS what `!aws.*` values name: the caller identity, the organization, the region.

One side effect: `AwsFactReader.read_facts` answers the facts an instance's vars need. One reader
serves a whole run, so STS GetCallerIdentity and Organizations DescribeOrganization are each asked
at most once per run, answer or failure (as Atmos caches them per invocation). Credentials and the
endpoint come from the standard AWS environment (a profile, AWS_ENDPOINT_URL, ...), as for stores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stackflow.stacks_loader.aws_facts import AWS_FACT_NAMES
from stackflow.stacks_loader.model import AwsFact

from stackflow.errors import StackflowError
from stackflow.settings import Settings

# STS answers in any region; without one, its global endpoint's (the SDKs' old default)
_STS_FALLBACK_REGION = "us-east-1"


class AwsFactError(StackflowError):
    """An `!aws.*` value could not be read (no region, no credentials, no organization...)."""


@dataclass(frozen=True)
class AwsFactValues:
    """The facts read for one instance, by the `!aws.*` value they replace."""

    instance: str
    values: dict[AwsFact, str]


class _Unreadable(Exception):
    """Why a fact has no value (message says which call failed and how)."""


# a client for a service ("sts" | "organizations") in a region
ClientFactory = Callable[[str, str], Any]


def boto3_client(service: str, region: str) -> Any:
    """A boto3 client with the default credential chain, at the environment's endpoint if any."""
    import boto3

    return boto3.session.Session().client(service, region_name=region)


def sdk_region(environ: Mapping[str, str]) -> str | None:
    """The region the AWS SDKs use: AWS_REGION, then AWS_DEFAULT_REGION (the Go SDK's order, so
    Atmos' and terraform's), then the profile's `region` in the shared config (boto3 reads it)."""
    import boto3

    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or boto3.session.Session().region_name


class AwsFactReader:
    """Reads `!aws.*` facts for a run: each AWS question asked once, whichever instances need it."""

    def __init__(
        self,
        client_factory: ClientFactory = boto3_client,
        environ: Mapping[str, str] | None = None,
        region: Callable[[Mapping[str, str]], str | None] = sdk_region,
    ) -> None:
        self._client_factory = client_factory
        self._environ = environ
        self._region_of = region
        self._lock = threading.RLock()  # re-entered: the identity's client asks for the region
        self._answers: dict[str, Any] = {}  # "region" | "identity" | "organization" -> answer or _Unreadable

    def read_facts(self, facts: Iterable[AwsFact], instance: str) -> AwsFactValues:
        """Every fact in `facts`; one that cannot be read is an AwsFactError naming the instance."""
        ordered = sorted(set(facts), key=lambda fact: AWS_FACT_NAMES.index(fact.name))
        return AwsFactValues(instance, {fact: self.read_fact(fact, instance) for fact in ordered})

    def read_fact(self, fact: AwsFact, instance: str) -> str:
        try:
            if fact.name == "region":
                return self._once("region", self._ask_region)
            if fact.name == "organization_id":
                return self._once("organization", self._ask_organization)
            return self._once("identity", self._ask_identity)[fact.name]
        except _Unreadable as exc:
            raise AwsFactError(f"{instance}: {fact}: {exc}") from None

    def _once(self, key: str, ask: Callable[[], Any]) -> Any:
        """`ask()`'s answer, asked the first time only (the lock makes concurrent instances wait
        for that one question rather than ask again)."""
        with self._lock:
            if key not in self._answers:
                try:
                    self._answers[key] = ask()
                except _Unreadable as exc:
                    self._answers[key] = exc
            answer = self._answers[key]
        if isinstance(answer, _Unreadable):
            raise answer
        return answer

    def _ask_region(self) -> str:
        region = self._region_of(self._environ if self._environ is not None else Settings.environ())
        if not region:
            raise _Unreadable("no AWS region is set (AWS_REGION, AWS_DEFAULT_REGION or the AWS profile's region)")
        return region

    def _client_region(self) -> str:
        try:
            return self._once("region", self._ask_region)
        except _Unreadable:
            return _STS_FALLBACK_REGION

    def _ask_identity(self) -> dict[str, str]:
        answer = self._call("sts", "STS GetCallerIdentity", lambda client: client.get_caller_identity())
        return {"account_id": answer.get("Account", ""), "caller_identity_arn": answer.get("Arn", ""),
                "caller_identity_user_id": answer.get("UserId", "")}

    def _ask_organization(self) -> str:
        answer = self._call("organizations", "Organizations DescribeOrganization",
                            lambda client: client.describe_organization())
        organization_id = (answer.get("Organization") or {}).get("Id")
        if not organization_id:
            raise _Unreadable("Organizations DescribeOrganization gave no organization id")
        return organization_id

    def _call(self, service: str, what: str, call: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(self._client_factory(service, self._client_region()))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", ""), " ".join(str(error.get("Message", "")).split())
            if code == "AWSOrganizationsNotInUseException":
                raise _Unreadable(f"the AWS account is not a member of an organization ({what}: {code})") from None
            raise _Unreadable(f"{what} failed: {code or type(exc).__name__}: {message}".rstrip(": ")) from None
        except BotoCoreError as exc:  # no credentials, no endpoint
            raise _Unreadable(f"{what} failed: {' '.join(str(exc).split())}") from None
