"""What happened to one instance in a run: the one shape shared by the CLI, artifacts and ledger."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["succeeded", "no changes", "failed", "skipped", "excluded"]

# The fields `deploy --format json` promises (a contract: extend, never rename).
JSON_FIELDS = (
    "stack", "component", "status", "reason", "cause",
    "add", "change", "destroy", "attempts", "duration_s",
)


@dataclass
class StackOutcome:
    stack: str
    component: str
    status: Status
    reason: str = ""  # why, in words: "ancestor failed", "run error", "locked"...
    cause: str = ""  # what: the failed ancestor (`stack/component`) or the error line
    add: int = 0
    change: int = 0
    destroy: int = 0
    attempts: int = 0
    duration_s: float = 0.0
    provisional: bool = False  # planned against a parent that is not applied yet
    resources: list[str] = field(default_factory=list)

    @property
    def instance(self) -> str:
        return f"{self.stack}/{self.component}"

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["duration_s"] = round(self.duration_s, 3)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "StackOutcome":
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})
