"""Keep secrets out of the ledger: every free text it stores goes through a `Redactor` first.

Two nets, applied in order:
1. known secret values, replaced wherever they appear: values of variables and outputs terraform
   marks `sensitive = true`, variables and environment entries whose names say secret
   (password, token, secret, private key...), added as the run learns them;
2. patterns that look like credentials whatever their origin: AWS access key ids and secret keys,
   GitHub / Slack / bearer tokens, JWTs, private key blocks, `password=...`-style pairs and the
   password in `scheme://user:password@host` URLs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4  # shorter values ("1", "on") would blank out ordinary text

SECRET_NAME = re.compile(
    r"passw(or)?d|secret|token|private[_-]?key|api[_-]?key|access[_-]?key|credential|"
    r"session[_-]?key|signing[_-]?key|(^|_)pwd($|_)",
    re.IGNORECASE,
)
_KEY_NAME = (r"[A-Za-z0-9_.-]*(?:passw(?:or)?d|secret|token|api[_-]?key|private[_-]?key|"
             r"access[_-]?key|credential)[A-Za-z0-9_.-]*")

# (pattern, replacement): replacements keep the label so the text still reads.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
                re.DOTALL), MASK),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})\b"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/-]{8,}=*"), rf"\1 {MASK}"),
    (re.compile(r"(?i)(x-amz-security-token=|x-amz-signature=|signature=)[^&\s\"']+"), rf"\1{MASK}"),
    (re.compile(r"(://[^/\s:@]+:)[^/\s@]+@"), rf"\1{MASK}@"),
    # `password = "x"`, `"client_secret": "x"`, `TOKEN=x`, `token: x` (not "(sensitive value)")
    (re.compile(
        rf"(?i)(\"?{_KEY_NAME}\"?\s*(?:=|:)\s*)(\"[^\"\n]*\"|'[^'\n]*'|(?!\(sensitive)[^\s,;'\"}}\]]+)"),
     rf"\1{MASK}"),
    # an AWS secret access key (40 chars of base64) standing alone
    (re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), MASK),
)


def _is_aws_secret_like(text: str) -> bool:
    return bool(re.search(r"[A-Z]", text) and re.search(r"[a-z]", text) and re.search(r"[0-9/+]", text))


def secret_strings(value: Any) -> list[str]:
    """Every leaf of a (possibly nested) value as the strings it could appear as in a message."""
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, Mapping):
        leaves = [s for v in value.values() for s in secret_strings(v)]
        return leaves + [json.dumps(value, sort_keys=True, default=str)]
    if isinstance(value, (list, tuple, set)):
        return [s for v in value for s in secret_strings(v)]
    return [str(value)]


class Redactor:
    """Replaces known secret values and credential-looking text with `[REDACTED]`; thread-safe."""

    def __init__(self, secrets: Iterable[Any] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._ordered: list[str] = []
        self.add(*secrets)

    def add(self, *values: Any) -> None:
        """Remember values (strings, numbers, nested lists/maps) as secrets from now on."""
        fresh = {s for v in values for s in secret_strings(v) if len(s.strip()) >= MIN_SECRET_LENGTH}
        with self._lock:
            if fresh - self._secrets:
                self._secrets |= fresh
                # longest first, so a secret containing another is masked whole
                self._ordered = sorted(self._secrets, key=len, reverse=True)

    def add_named(self, pairs: Mapping[str, Any], sensitive: Iterable[str] = ()) -> None:
        """Add the values of `pairs` whose name is in `sensitive` or looks like a secret's."""
        marked = set(sensitive)
        self.add(*(v for k, v in pairs.items() if k in marked or SECRET_NAME.search(str(k))))

    def __len__(self) -> int:
        return len(self._secrets)

    def redact(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            known = list(self._ordered)
        for secret in known:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, replacement in PATTERNS[:-1]:
            text = pattern.sub(replacement, text)
        return PATTERNS[-1][0].sub(
            lambda m: MASK if _is_aws_secret_like(m.group(0)) else m.group(0), text
        )

    def redact_all(self, texts: Iterable[str]) -> list[str]:
        return [self.redact(t) for t in texts]
