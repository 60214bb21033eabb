"""Reading Atmos store values: AWS SSM parameters and Secrets Manager secrets, with boto3.

One side effect: `StoreReader.read_values` fetches what an instance's `!store` / `!store.get`
values name (`stacks_loader.stores` worked out which), once per name and run. Credentials,
and the endpoint unless the store sets one, come from the standard AWS environment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stackflow.stacks_loader.atmos_config import StoreConfig
from stackflow.stacks_loader.model import StoreRef
from stackflow.stacks_loader.stores import StoreRead, store_value

from stackflow.errors import StackflowError

_NOT_FOUND = ("ParameterNotFound", "ResourceNotFoundException")
_ROLE_SESSION = "stackflow-store-read"
_ROLE_REFRESH_S = 300.0  # assume the read role again this long before its credentials expire


class StoreReadError(StackflowError):
    """A store value could not be read and its `!store` gave no default."""


@dataclass(frozen=True)
class StoreValues:
    """The values read for one instance, by the store reference they replace."""

    instance: str
    values: dict[StoreRef, Any]


class _Missing(Exception):
    """The store has no such parameter or secret, or could not be asked (message says which)."""


# a client for a store and service: (store config, "ssm" | "secretsmanager" | "sts", credentials)
ClientFactory = Callable[[StoreConfig, str, Mapping[str, str] | None], Any]


def boto3_client(store: StoreConfig, service: str, credentials: Mapping[str, str] | None) -> Any:
    """A boto3 client in the store's region, at its endpoint when it sets one (else the AWS
    environment's, e.g. AWS_ENDPOINT_URL), with the given credentials or the default chain."""
    import boto3

    kwargs: dict[str, Any] = {"region_name": store.option("region")}
    if store.endpoint:
        kwargs["endpoint_url"] = store.endpoint
    return boto3.session.Session(**(credentials or {})).client(service, **kwargs)


class StoreReader:
    """Reads store values for a run: one client per store, each name read once per run."""

    def __init__(self, client_factory: ClientFactory = boto3_client) -> None:
        self._client_factory = client_factory
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], tuple[Any, float]] = {}  # (store, service) -> client, expiry
        self._raw: dict[tuple[str, str], str | _Missing] = {}  # (store, name) -> what the store said

    def read_values(self, reads: Mapping[StoreRef, StoreRead], instance: str) -> StoreValues:
        """Every value `reads` name; a read that fails without a default is a StoreReadError."""
        return StoreValues(instance, {ref: self.read_value(read, instance) for ref, read in reads.items()})

    def read_value(self, read: StoreRead, instance: str) -> Any:
        try:
            raw = self._fetch(read)
        except _Missing as exc:
            if read.default is not None:  # as Atmos: any failed read gives the default, unqueried
                return read.default
            raise StoreReadError(f"{instance}: {read.ref}: {exc}") from None
        try:
            return store_value(read, raw)
        except StackflowError as exc:
            raise StoreReadError(f"{instance}: {read.ref}: {exc}") from None

    def _fetch(self, read: StoreRead) -> str:
        key = (read.store.name, read.name)
        with self._lock:
            cached = self._raw.get(key)
        if cached is None:
            cached = self._ask(read)
            with self._lock:
                self._raw[key] = cached
        if isinstance(cached, _Missing):
            raise cached
        return cached

    def _ask(self, read: StoreRead) -> str | _Missing:
        """The stored string, or (cached like a value) the store's answer that it has none."""
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"{read.what} {read.name!r} in store {read.store.name!r} ({read.store.type})"
        try:
            client = self._client(read.store, read.service)
            if read.service == "ssm":
                return client.get_parameter(Name=read.name, WithDecryption=True)["Parameter"]["Value"]
            answer = client.get_secret_value(SecretId=read.name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_FOUND:
                return _Missing(f"no {where}")
            raise _Missing(f"reading {where} failed: {code or type(exc).__name__}: "
                           f"{exc.response.get('Error', {}).get('Message', '')}".rstrip(": ")) from None
        except (BotoCoreError, StoreReadError) as exc:  # no endpoint, no credentials, no role
            raise _Missing(f"reading {where} failed: {exc}") from None
        if answer.get("SecretString") is None:
            raise _Missing(f"{where} holds binary data, not a string")
        return answer["SecretString"]

    def _client(self, store: StoreConfig, service: str) -> Any:
        key = (store.name, service)
        with self._lock:
            client, expires = self._clients.get(key, (None, 0.0))
            if client is not None and time.time() < expires:
                return client
            credentials, expires = self._read_role(store)
            client = self._client_factory(store, service, credentials)
            self._clients[key] = (client, expires)
            return client

    def _read_role(self, store: StoreConfig) -> tuple[Mapping[str, str] | None, float]:
        """Credentials of the store's `read_role_arn` (STS AssumeRole), or the default chain's."""
        from botocore.exceptions import BotoCoreError, ClientError

        role = store.option("read_role_arn") if store.kind == "aws/ssm" else ""
        if not role:
            return None, float("inf")
        try:
            answer = self._client_factory(store, "sts", None).assume_role(
                RoleArn=role, RoleSessionName=_ROLE_SESSION)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreReadError(f"assuming read_role_arn {role} failed: {exc}") from None
        credentials = {"aws_access_key_id": answer["AccessKeyId"],
                       "aws_secret_access_key": answer["SecretAccessKey"],
                       "aws_session_token": answer["SessionToken"]}
        return credentials, answer["Expiration"].timestamp() - _ROLE_REFRESH_S
