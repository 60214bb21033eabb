"""Where plan files wait between plan and apply: a local folder, or S3 when configured.

A plan is stored with its SHA-256, the commit and the instance's config fingerprint; `fetch_plan`
hands back a file only if all three still match, so apply changes exactly what was reviewed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from stackflow.errors import ConfigError, PlanIntegrityError


@dataclass(frozen=True)
class StoredPlan:
    instance: str
    uri: str
    sha256: str
    commit: str
    config_hash: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class PlanStore:
    """Plan files under a local folder or an `s3://bucket/prefix` location."""

    def __init__(self, location: str, *, s3_client: object | None = None) -> None:
        parsed = urlparse(location)
        self.location = location
        if parsed.scheme == "s3":
            if not parsed.netloc:
                raise ConfigError(f"plan store {location!r}: expected s3://BUCKET[/PREFIX]")
            self._bucket = parsed.netloc
            self._prefix = parsed.path.strip("/")
            self._s3 = s3_client
            self._root: Path | None = None
        elif parsed.scheme in ("", "file"):
            self._root = Path(parsed.path if parsed.scheme else location)
        else:
            raise ConfigError(f"plan store {location!r}: use a folder or s3://BUCKET/PREFIX")

    def _client(self) -> object:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    def put(self, plan_file: Path, key: str, *, instance: str, commit: str, config_hash: str) -> StoredPlan:
        sha = file_sha256(plan_file)
        if self._root is not None:
            dest = self._root / f"{key}.tfplan"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(plan_file, dest)
            uri = str(dest)
        else:
            object_key = "/".join(p for p in (self._prefix, f"{key}.tfplan") if p)
            self._client().upload_file(str(plan_file), self._bucket, object_key)  # type: ignore[attr-defined]
            uri = f"s3://{self._bucket}/{object_key}"
        stored = StoredPlan(instance, uri, sha, commit, config_hash)
        self._put_meta(key, stored)
        return stored

    def _put_meta(self, key: str, stored: StoredPlan) -> None:
        body = json.dumps(asdict(stored), indent=2)
        if self._root is not None:
            (self._root / f"{key}.json").write_text(body)
        else:
            object_key = "/".join(p for p in (self._prefix, f"{key}.json") if p)
            self._client().put_object(Bucket=self._bucket, Key=object_key, Body=body.encode())  # type: ignore[attr-defined]

    def fetch(self, stored: StoredPlan, dest: Path, *, commit: str, config_hash: str) -> Path:
        """Copy the stored plan to `dest` and verify it; raises `PlanIntegrityError`."""
        if stored.commit != commit:
            raise PlanIntegrityError(
                f"{stored.instance}: plan was made at commit {stored.commit[:12]}, "
                f"refusing to apply it at {commit[:12]}"
            )
        if stored.config_hash != config_hash:
            raise PlanIntegrityError(
                f"{stored.instance}: resolved config changed since the plan was made; re-plan"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        if stored.uri.startswith("s3://"):
            parsed = urlparse(stored.uri)
            self._client().download_file(parsed.netloc, parsed.path.lstrip("/"), str(dest))  # type: ignore[attr-defined]
        else:
            shutil.copyfile(stored.uri, dest)
        actual = file_sha256(dest)
        if actual != stored.sha256:
            dest.unlink(missing_ok=True)
            raise PlanIntegrityError(
                f"{stored.instance}: plan file {stored.uri} checksum {actual[:12]} does not match "
                f"the reviewed plan {stored.sha256[:12]}; nothing applied"
            )
        return dest
