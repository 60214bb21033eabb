"""Values resolved per instance, after the merge: `!env`, `{{ … }}` templates, `!terraform.*` refs.

One walk over a section does all three; containers are rebuilt only along changed paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .component_outputs import PendingTemplate
from .deferred_merge import DeferredMerge

from .yaml_functions import (
    AppendList,
    EnvFunction,
    LiteralString,
    TemplateText,
    TerraformFunction,
    decode_template_text,
)


class ValueResolver:
    """What to do with each kind of deferred leaf; `path` is the dotted field (`vars.tags.name`).

    `clean` remembers containers (by identity) found to hold nothing to resolve: parsed data is
    shared between instances and never changes, so each shared subtree is walked once per load.
    """

    def __init__(
        self,
        env: Callable[[EnvFunction], str] | None = None,
        template: Callable[..., Any] | None = None,
        terraform: Callable[[TerraformFunction, str], Any] | None = None,
        clean: dict[tuple[int, int], Any] | None = None,
        scope: Any = None,
    ) -> None:
        self.env = env
        self.template = template
        self.terraform = terraform
        self.clean = clean if clean is not None else {}
        self._kind = (env is not None) + 2 * (template is not None) + 4 * (terraform is not None)
        # For `!env` only, a result depends on nothing but `scope` (the env section it reads):
        # remember it per (container, scope) as well.
        self._scope = scope if self._kind == 1 else _NO_SCOPE

    def configure(
        self,
        template: Callable[..., Any] | None,
        terraform: Callable[[TerraformFunction, str], Any] | None,
    ) -> None:
        """Change the callbacks (reusing one resolver for many instances)."""
        self.template = template
        self.terraform = terraform
        self._kind = (self.env is not None) + 2 * (template is not None) + 4 * (terraform is not None)

    def rescope(self, scope: Any) -> None:
        """For an `!env`-only resolver: what its callback now reads (see `scope`)."""
        self._scope = scope

    def resolve(self, value: Any, path: str, *keys: Any) -> Any:
        """`value` resolved; `path`/`keys` name where it is (`"vars", "tags"` → `vars.tags`)."""
        kind = type(value)
        if kind is dict:
            return self._dict(value, [path, *keys])
        if kind is list:
            return self._list(value, [path, *keys])
        return self._leaf(value, [path, *keys])

    def _dict(self, value: dict[Any, Any], parts: list[Any]) -> dict[Any, Any]:
        memo = (self._kind, id(value))
        if self.clean.get(memo) is value:
            return value
        scoped = None
        if self._scope is not _NO_SCOPE:
            scoped = (self._kind, id(value), id(self._scope))
            known = self.clean.get(scoped)
            if known is not None and known[0] is value and known[1] is self._scope:
                return known[2]
        template = self.template
        changes: dict[Any, tuple[Any, Any]] | None = None
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                new = item if template is None or "{{" not in item else template(item, _dotted([*parts, key]))
            elif kind is dict or kind is list:
                parts.append(key)
                new = self._dict(item, parts) if kind is dict else self._list(item, parts)
                parts.pop()
            elif kind in _PLAIN:
                new = item
            else:
                new = self._leaf(item, [*parts, key])
            new_key = key
            if template is not None and type(key) is str and "{{" in key:
                new_key = template(key, _dotted([*parts, key]))
            if new is not item or new_key is not key:
                if changes is None:
                    changes = {}
                changes[key] = (new_key, new)
        if changes is None:
            self.clean[memo] = value  # the reference keeps the id from being reused
            return value
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key in changes:
                new_key, item = changes[key]
                out[new_key] = item
            else:
                out[key] = item
        if scoped is not None:
            self.clean[scoped] = (value, self._scope, out)
        return out

    def _any(self, value: Any, parts: list[Any]) -> Any:
        kind = type(value)
        if kind is dict:
            return self._dict(value, parts)
        if kind is list:
            return self._list(value, parts)
        if kind is str:
            return value if self.template is None or "{{" not in value else self.template(value, _dotted(parts))
        return value if kind in _PLAIN else self._leaf(value, parts)

    def _list(self, value: list[Any], parts: list[Any]) -> list[Any]:
        memo = (self._kind, id(value))
        if self.clean.get(memo) is value:
            return value
        items = []
        changed = False
        for index, item in enumerate(value):
            kind = type(item)
            if kind is str and (self.template is None or "{{" not in item) or kind in _PLAIN:
                items.append(item)
                continue
            parts.append(_Index(index))
            if kind is dict:
                new = self._dict(item, parts)
            elif kind is list:
                new = self._list(item, parts)
            else:
                new = self._leaf(item, parts)
            parts.pop()
            changed = changed or new is not item
            items.append(new)
        if not changed:
            self.clean[memo] = value
            return value
        return items

    def _leaf(self, value: Any, parts: list[Any]) -> Any:
        if type(value) is LiteralString:
            return value
        if type(value) is DeferredMerge:  # every layer's value at one path: each resolved as if alone there
            return value.map(lambda item: self._any(item, parts))
        if type(value) is AppendList:  # an `!append` list not settled yet: its items resolve all the same
            return self._list(value, parts)
        if type(value) is TemplateText:
            if self.template is None:
                return value
            rendered = self.template(str(value), _dotted(parts), True)  # read back as JSON
            if type(rendered) is PendingTemplate:  # rendered after the load: read as JSON then
                return replace(rendered, decode=True)
            return decode_template_text(rendered) if type(rendered) is str else rendered
        if isinstance(value, str):
            if self.template is not None and "{{" in value:
                return self.template(value, _dotted(parts))
            return value
        if isinstance(value, EnvFunction) and self.env is not None:
            return self.env(value)
        if isinstance(value, TerraformFunction) and self.terraform is not None:
            return self.terraform(value, _dotted(parts))
        return value


_PLAIN = frozenset({int, float, bool, type(None)})
_NO_SCOPE = object()


class _Index(int):
    """A list position in a walked path (a dict key may be an int too)."""


def _dotted(parts: list[Any]) -> str:
    """`["vars", "tags", _Index(0)]` → `vars.tags[0]`."""
    out = str(parts[0])
    for part in parts[1:]:
        out += f"[{int(part)}]" if isinstance(part, _Index) else f".{part}"
    return out
